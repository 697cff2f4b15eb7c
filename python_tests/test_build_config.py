"""CMake configuration: METARL_FAST_CUDA=OFF|AUTO|ON configure cleanly (ON/AUTO need nvcc), and CUDA
architectures are explicit (never 'native')."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CMAKE = shutil.which("cmake")
NVCC = shutil.which("nvcc") or (os.path.exists("/usr/local/cuda/bin/nvcc") and "/usr/local/cuda/bin/nvcc")

pytestmark = pytest.mark.skipif(CMAKE is None, reason="cmake not on PATH")


def configure(tmp_path, *defines):
    import pybind11

    cmd = [CMAKE, "-S", str(REPO), "-B", str(tmp_path / "build"), f"-DPython_EXECUTABLE={sys.executable}",
           f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", *defines]
    env = dict(os.environ)
    if NVCC:
        env["CUDACXX"] = NVCC
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def test_configure_without_cuda(tmp_path):
    r = configure(tmp_path, "-DMETARL_FAST_CUDA=OFF")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CUDA:" not in r.stdout
    assert "MuJoCo wheel:" in r.stdout


@pytest.mark.skipif(not NVCC, reason="nvcc not installed")
@pytest.mark.parametrize("mode", ["ON", "AUTO"])
def test_configure_with_cuda(tmp_path, mode):
    r = configure(tmp_path, f"-DMETARL_FAST_CUDA={mode}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "architectures 80-real;90-real;90-virtual" in r.stdout


@pytest.mark.skipif(not NVCC, reason="nvcc not installed")
def test_native_architectures_are_refused(tmp_path):
    r = configure(tmp_path, "-DMETARL_FAST_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES=native")
    assert r.returncode != 0
    assert "Set CMAKE_CUDA_ARCHITECTURES explicitly" in r.stdout + r.stderr


def test_bad_mode_is_refused(tmp_path):
    r = configure(tmp_path, "-DMETARL_FAST_CUDA=maybe")
    assert r.returncode != 0
    assert "METARL_FAST_CUDA must be AUTO, ON or OFF" in r.stdout + r.stderr


def _has_cuda_kernels() -> bool:
    from metarl_fast import _C

    return bool(_C.has_cuda)


@pytest.mark.skipif(not _has_cuda_kernels(), reason="this build has no CUDA kernels")
@pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd not on PATH")
def test_cuda_build_links_the_runtime_statically():
    """A CUDA build needs only the driver: no libcudart to find at run time (the CUDA runtime is linked statically), and asking
    for the devices without a driver or a GPU answers a count instead of raising."""
    from metarl_fast import _C

    out = subprocess.run([shutil.which("ldd"), _C.__file__], capture_output=True, text=True, timeout=60).stdout
    assert "libcudart" not in out, out
    assert "libcuda.so" not in out, out  # the driver is loaded at run time by the static runtime
    assert isinstance(_C.cuda_device_count(), int)

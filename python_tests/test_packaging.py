"""Packaging: the compiled module loads libmujoco through its RPATH (no `import mujoco` first),
the MuJoCo version matches the headers and the wheel's pin, and `pip wheel .` installs into a fresh
environment (skipped offline, failed under CI=true)."""
import importlib.metadata
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import metarl_fast
from conftest import require_package_index

REPO = Path(__file__).resolve().parents[1]

IMPORT_CHECK = r"""
import sys
import metarl_fast
assert "mujoco" not in sys.modules, "metarl_fast must not need `import mujoco` to find libmujoco"
from metarl_fast import _C
assert _C.mujoco_header_version() == _C.mujoco_library_version()
import torch
spec = metarl_fast.PolicySpec(3, 2, (4,))
theta = spec.init_params(seed=torch.Generator().manual_seed(0)).double()
obs = torch.zeros(1, 2, 3, dtype=torch.float64)
act = torch.zeros(1, 2, 2, dtype=torch.float64)
lp = metarl_fast.kernels.log_prob(spec, theta, obs, act, backend="cpp")
assert abs(lp[0, 0].item() - (-1.8378770664093453)) < 1e-12, lp  # −log 2π with σ = 1 and μ = 0
print("OK", metarl_fast.__file__, _C.mujoco_version_string(), _C.policy_isa())
"""


def run_check(python: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    proc = subprocess.run([python, "-c", IMPORT_CHECK], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_import_in_fresh_interpreter_outside_source_tree(tmp_path):
    out = run_check(sys.executable, tmp_path)
    assert out.startswith("OK")


def test_mujoco_versions_match_the_build_and_the_wheels_pin():
    """Headers, loaded library, the version recorded at build time and the installed
    distribution's requirement on mujoco-core are one version of the supported 4.0.x line."""
    from metarl_fast._build_info import MUJOCO_VERSION

    C = metarl_fast._C
    major, minor, patch = map(int, MUJOCO_VERSION.split("."))
    assert (major, minor) == (4, 0)
    assert C.mujoco_header_version() == C.mujoco_library_version() == major * 1_000_000 + minor * 1_000 + patch
    assert C.mujoco_version_string().startswith(MUJOCO_VERSION)
    assert importlib.metadata.version("mujoco-core") == MUJOCO_VERSION
    assert f"mujoco-core=={MUJOCO_VERSION}" in importlib.metadata.requires("metarl_fast")


def test_wheel_installs_into_fresh_venv(tmp_path):
    """Build the wheel exactly as a user would and import it from a new virtual environment."""
    require_package_index()
    wheelhouse = tmp_path / "wheelhouse"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["METARL_FAST_CUDA"] = "OFF"  # the CPU wheel; CUDA configuration is tested by test_build_config
    # Its own build directory: the project's build-dir is inside the source tree (used by -e installs).
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(wheelhouse),
                            f"--config-settings=build-dir={tmp_path / 'build'}"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheels = list(wheelhouse.glob("metarl_fast-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q"]
    # torch first, pinned, so the wheel's `torch>=2.1` does not pull a CUDA build.
    for args in (["torch==2.13.0"], [str(wheels[0])]):
        r = subprocess.run(pip + args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = run_check(py, tmp_path)
    assert str(env_dir) in out, out  # imported from the venv, not the source tree
    # the isolated build took the newest 4.0.x mujoco-core; the wheel pins exactly it, and pip installed it
    pins = subprocess.run([py, "-c", "import importlib.metadata as m; from metarl_fast._build_info import "
                           "MUJOCO_VERSION as b; print(b, m.version('mujoco-core'), "
                           "*[r for r in m.requires('metarl_fast') if r.startswith('mujoco-core')])"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300).stdout.split()
    assert len(pins) == 3 and pins[0] == pins[1] and pins[2] == f"mujoco-core=={pins[0]}", pins
    # every subpackage is in the wheel, and the command works: the README's main job, one iteration
    cli = subprocess.run([str(env_dir / "bin" / "metarl-fast"), "train", "--preset", "quick", "--iterations", "1",
                          "--quiet", "--out", str(tmp_path / "run")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert cli.returncode == 0 and "done: 1 iterations" in cli.stdout, cli.stdout[-2000:] + cli.stderr[-2000:]


def test_every_path_the_build_reads_is_tracked_by_git():
    """The build reads tools/packaging (dynamic metadata), CMakeLists.txt, csrc/ and the package from
    the checkout. A file there that .gitignore hides works here and breaks every fresh clone (CI):
    it happened once, when `build/` in .gitignore also matched tools/build/."""
    import tomllib

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    roots = [entry["provider"]["path"] for entry in pyproject["tool"]["dynamic-metadata"]]
    roots += ["CMakeLists.txt", "csrc", "metarl_fast", "pyproject.toml"]
    for root in roots:
        files = [p for p in (REPO / root).rglob("*") if p.is_file()] if (REPO / root).is_dir() else [REPO / root]
        assert files, f"{root} is named by the build but holds no file"
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", *[str(p.relative_to(REPO)) for p in files]],
            cwd=REPO, capture_output=True, text=True).stdout.split()
        generated = [p for p in ignored if "__pycache__" in p or p.endswith((".so", ".pyc"))]
        assert sorted(set(ignored) - set(generated)) == [], f"ignored by .gitignore but read by the build: {ignored}"

"""The MuJoCo version policy: metarl_fast builds against any mujoco-core of the 4.0.x line and
then needs exactly that one. Another one installed gives one line naming the fix, before the
dynamic loader can fail with a bare "cannot open shared object file"."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metarl_fast._build_info import MUJOCO_VERSION
from metarl_fast._mujoco_check import MujocoVersionError, check_installed_mujoco, installed_mujoco, mismatch_message

OTHER = "4.0.9" if MUJOCO_VERSION != "4.0.9" else "4.0.8"


def test_the_installed_mujoco_is_the_built_one():
    version, libraries = installed_mujoco()
    assert version == MUJOCO_VERSION
    assert libraries == [f"libmujoco.so.{MUJOCO_VERSION}"]
    assert mismatch_message(MUJOCO_VERSION, version, libraries) is None
    check_installed_mujoco()  # no error


@pytest.mark.parametrize("installed, libraries, says", [
    (OTHER, [f"libmujoco.so.{OTHER}"], f"but libmujoco.so.{OTHER} is installed (mujoco-core {OTHER})"),
    (None, [f"libmujoco.so.{OTHER}"], f"but libmujoco.so.{OTHER} is installed:"),
    (None, [], "but no libmujoco is installed:"),
    (OTHER, [], f"but no libmujoco is installed (mujoco-core {OTHER} has none)"),
])
def test_a_mismatch_is_one_line_naming_both_fixes(installed, libraries, says):
    message = mismatch_message("4.0.0", installed, libraries)
    assert "\n" not in message
    assert message.startswith("metarl_fast was built against MuJoCo 4.0.0 (libmujoco.so.4.0.0)")
    assert says in message
    assert "pip install mujoco-core==4.0.0" in message
    assert ("pip install --no-build-isolation" in message) == bool(libraries or installed)


def _fake_mujoco(tmp_path: Path, version: str) -> dict:
    """An environment whose `mujoco` package (first on PYTHONPATH) holds libmujoco.so.<version>."""
    package = tmp_path / "fake" / "mujoco"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / f"libmujoco.so.{version}").write_bytes(b"")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"))
    env.pop("METARL_FAST_TRACEBACK", None)
    return env


def test_the_command_line_prints_one_line_naming_the_fix(tmp_path):
    env = _fake_mujoco(tmp_path, OTHER)
    command = shutil.which("metarl-fast", path=os.path.dirname(sys.executable))
    assert command, "the metarl-fast console script is installed beside this interpreter"
    for argv in ([command, "info"], [sys.executable, "-m", "metarl_fast.cli", "train", "--preset", "quick"],
                 [sys.executable, "-m", "metarl_fast.bench", "kernels"]):
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (argv, proc.stderr)
        assert lines[0].startswith(f"metarl-fast: error: metarl_fast was built against MuJoCo {MUJOCO_VERSION}")
        assert f"pip install mujoco-core=={MUJOCO_VERSION}" in lines[0]
        assert not (tmp_path / "runs").exists()


def test_importing_raises_an_import_error_naming_the_fix(tmp_path):
    env = _fake_mujoco(tmp_path, OTHER)
    script = ("try:\n    import metarl_fast\nexcept ImportError as e:\n"
              "    print('RAISED', type(e).__name__, isinstance(e, ImportError), e)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("RAISED MujocoVersionError True metarl_fast was built against MuJoCo"), proc.stdout
    assert issubclass(MujocoVersionError, ImportError)

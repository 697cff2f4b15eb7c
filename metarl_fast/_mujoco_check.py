"""The MuJoCo that metarl_fast was built against, checked before the compiled core loads.

``_C`` links one ``libmujoco.so.X.Y.Z`` (the mujoco-core it was built with, recorded in
``_build_info.MUJOCO_VERSION`` and pinned in the wheel's requirements). When another mujoco-core
is installed — e.g. after ``pip install -U mujoco`` — the dynamic loader would fail with a bare
``cannot open shared object file``. This check runs first and names the fix in one line.
"""
from __future__ import annotations

import glob
import importlib.metadata
import importlib.util
import os


class MujocoVersionError(ImportError):
    """The installed mujoco-core is not the one metarl_fast was built against (the message names the fix)."""


def installed_mujoco() -> tuple[str | None, list[str]]:
    """(the mujoco-core distribution's version or None, the libmujoco.so.* file names beside the
    ``mujoco`` package), found without importing mujoco."""
    try:
        version: str | None = importlib.metadata.version("mujoco-core")
    except importlib.metadata.PackageNotFoundError:
        version = None
    spec = importlib.util.find_spec("mujoco")
    libraries = []
    if spec is not None and spec.origin:
        libraries = sorted(os.path.basename(p) for p in glob.glob(os.path.join(os.path.dirname(spec.origin),
                                                                               "libmujoco.so.*")))
    return version, libraries


def mismatch_message(built: str, installed: str | None, libraries: list[str]) -> str | None:
    """None when ``libmujoco.so.<built>`` is installed, else the one-line error naming the fix."""
    if f"libmujoco.so.{built}" in libraries:
        return None
    if libraries:
        found = f"{', '.join(libraries)} is installed" + (f" (mujoco-core {installed})" if installed else "")
    else:
        found = "no libmujoco is installed" + (f" (mujoco-core {installed} has none)" if installed else "")
    rebuild = ("or rebuild metarl_fast against the installed one (from its source directory: "
               "pip install scikit-build-core pybind11 ninja && pip install --no-build-isolation --no-deps "
               "--force-reinstall .)") if installed or libraries else ""
    return (f"metarl_fast was built against MuJoCo {built} (libmujoco.so.{built}) but {found}: "
            f"pip install mujoco-core=={built} (with mujoco=={built} if the mujoco package is installed) {rebuild}"
            ).rstrip()


def check_installed_mujoco() -> None:
    """Raises MujocoVersionError (an ImportError) naming the fix when the MuJoCo this build links
    against is not installed. Does nothing for a build without the recorded version."""
    try:
        from ._build_info import MUJOCO_VERSION
    except ImportError:  # a source tree without a build: _C's own import error says more
        return
    message = mismatch_message(MUJOCO_VERSION, *installed_mujoco())
    if message:
        raise MujocoVersionError(message)

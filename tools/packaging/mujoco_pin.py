"""Build-time metadata provider (scikit-build-core, ``[[tool.dynamic-metadata]]``): the wheel's
runtime requirement on mujoco-core is the version this build compiles and links against.

The version is read where CMake reads it (cmake/MujocoWheel.cmake): the single
``libmujoco.so.X.Y.Z`` inside the ``mujoco`` package of the build environment, so that the
recorded pin and the library ``_C`` is linked to cannot disagree.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
from typing import Any, Mapping


def mujoco_build_version() -> str:
    """X.Y.Z of the libmujoco in the build environment's ``mujoco`` package (RuntimeError if none or several)."""
    spec = importlib.util.find_spec("mujoco")
    if spec is None or not spec.origin:
        raise RuntimeError("mujoco-core is not installed in the build environment (pip install 'mujoco-core>=4.0,<4.1')")
    libraries = glob.glob(os.path.join(os.path.dirname(spec.origin), "libmujoco.so.*"))
    versions = [m.group(1) for m in (re.search(r"libmujoco\.so\.(\d+\.\d+\.\d+)$", p) for p in libraries) if m]
    if len(versions) != 1:
        raise RuntimeError(f"expected exactly one libmujoco.so.X.Y.Z in {os.path.dirname(spec.origin)}, found {libraries}")
    return versions[0]


def dynamic_metadata(settings: Mapping[str, Any], project: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``dependencies`` fragment: ``mujoco-core==<build version>`` (added to the static list)."""
    if settings:
        raise RuntimeError(f"mujoco_pin takes no settings, got {sorted(settings)}")
    return {"dependencies": [f"mujoco-core=={mujoco_build_version()}"]}

"""metarl_fast: C++-accelerated gradient-based meta-reinforcement learning. The compiled kernels
run on the CPU, or, in a build with CUDA kernels, on the GPU (docs/kernels.md); their torch
references run on any device.

The compiled core ``metarl_fast._C`` is torch-free; ``metarl_fast.kernels`` validates inputs and
dispatches to it (or to the pure-torch reference in ``metarl_fast.reference``). Subpackages: envs
(task families), sampling (sampler backends), algos (the algorithms and the runner), experts
(GMPS's experts and demonstrations), cli (the ``metarl-fast`` command), bench (benchmarks).
"""
from __future__ import annotations

import os as _os
import sys as _sys

from ._mujoco_check import MujocoVersionError, check_installed_mujoco

try:
    check_installed_mujoco()
    from . import _C
except ImportError as _e:
    _error = _e if isinstance(_e, MujocoVersionError) or "libmujoco" not in str(_e) else \
        MujocoVersionError(f"{_e}; reinstall the mujoco-core that metarl_fast was built against (metarl-fast info "
                           "shows it) or rebuild metarl_fast")
    if _sys.argv[:1] == ["-m"] or _os.path.basename(_sys.argv[0]) == "metarl-fast":
        # a command line (metarl-fast, python -m metarl_fast.bench ...): one error line, no traceback
        print(f"metarl-fast: error: {_error}", file=_sys.stderr)
        raise SystemExit(2) from None
    raise _error from None
from .runtime import __version__, check_mujoco_link, get_num_threads, set_num_threads  # noqa: E402

check_mujoco_link()

from .policies import GaussianMLPPolicy, PolicySpec, TabularSoftmaxPolicy  # noqa: E402
from . import kernels, reference  # noqa: E402
from . import envs  # noqa: E402  (registers the families' gymnasium ids)

MujocoError = _C.MujocoError  # a MuJoCo error raised inside the simulator (e.g. in a worker thread)


def load(path: str):
    """A trained meta-policy (MetaPolicy: ``.adapt(tasks, steps)``, ``.act(obs)`` in the env's
    control units, ``.rollout``) from a run directory or a checkpoint file; see
    ``metarl_fast.algos.run.meta_policy``."""
    from .algos.run.meta_policy import load as _load

    return _load(path)


__all__ = [
    "GaussianMLPPolicy",
    "MujocoError",
    "MujocoVersionError",
    "PolicySpec",
    "TabularSoftmaxPolicy",
    "envs",
    "get_num_threads",
    "kernels",
    "load",
    "reference",
    "set_num_threads",
]

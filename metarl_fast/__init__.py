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
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from .algos.run.meta_policy import MetaPolicy

MujocoError = _C.MujocoError
# bound in C++ (csrc/bindings/sim_bindings.cc) without one: its docstring is set here
MujocoError.__doc__ = """An error MuJoCo raised inside the simulator (a RuntimeError).

Raised when MuJoCo fails loading a model or stepping one (e.g. a stack or arena too small for the
model), also inside a worker thread of the C++ pool: the error crosses the thread and is raised in
the Python thread that called the rollout. The pool keeps working afterwards. MuJoCo's warnings
are not raised but counted (``_C.mujoco_warning_count()``, ``_C.last_mujoco_warning()``).
"""


def load(path: str | _os.PathLike[str], sampler: str | None = None) -> MetaPolicy:
    """A trained meta-policy (MetaPolicy: ``.adapt(tasks, steps)``, ``.act(obs)`` in the env's
    control units, ``.rollout``) from a run directory or a checkpoint file; its rollouts sample with
    the run's sampler, or `sampler` (a name of ``sampling.sampler_names()``). See
    ``metarl_fast.algos.run.meta_policy.load``."""
    from .algos.run.meta_policy import load as _load

    return _load(path, sampler)


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

"""metarl_fast: C++-accelerated gradient-based meta-reinforcement learning (CUDA kernels are not
yet available: the compiled kernels run on the CPU, their torch references on any device).

The compiled core ``metarl_fast._C`` is torch-free; ``metarl_fast.kernels`` validates inputs and
dispatches to it (or to the pure-torch reference in ``metarl_fast.reference``). Subpackages: envs
(task families), sampling (sampler backends), algos (the algorithms and the runner), experts
(GMPS's experts and demonstrations), cli (the ``metarl-fast`` command), bench (benchmarks).
"""
from __future__ import annotations

from . import _C
from .runtime import __version__, check_mujoco_link, get_num_threads, set_num_threads

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
    "PolicySpec",
    "TabularSoftmaxPolicy",
    "envs",
    "get_num_threads",
    "kernels",
    "load",
    "reference",
    "set_num_threads",
]

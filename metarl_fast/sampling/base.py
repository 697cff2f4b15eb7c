"""The sampler interface: every backend turns (parameters, tasks) into the same Batch.

A backend keys each environment's random stream by (seed, task, trajectory), never by a worker, so
a backend gives the same batch for the same seed whatever its thread or worker count. The C++ pool
and the Python loop use different streams, so a run's numbers depend on the backend that steps its
environments; the Ray sampler runs the family's own local backend in its actors and gives the
local batch bit for bit.
"""
from __future__ import annotations

import abc
import contextlib

import torch

from ..envs import Batch, TaskBatch, TaskFamily
from ..policies import PolicySpec


def policy_backend_of(config) -> str:
    """The policy-mean kernel of a run's Python loop: the torch reference in a pure-torch run
    (meta_gradient=autograd), else the compiled kernel (each row independent of the batch shape)."""
    return "torch" if config.meta_gradient == "autograd" else "auto"


class Sampler(abc.ABC):
    """Collects trajectories of one task family with a Gaussian MLP policy.

    Args: family (a TaskFamily), spec (the policy; its obs_dim/act_dim match the family).
    """

    def __init__(self, family: TaskFamily, spec: PolicySpec) -> None:
        if not isinstance(family, TaskFamily):
            raise TypeError(f"{type(self).__name__}: family must be a TaskFamily, got {type(family).__name__}")
        if spec.obs_dim != family.obs_dim or spec.act_dim != family.act_dim:
            raise ValueError(f"{type(self).__name__}: spec has obs_dim={spec.obs_dim}, act_dim={spec.act_dim} but "
                             f"{family.name} needs obs_dim={family.obs_dim}, act_dim={family.act_dim}")
        self.family, self.spec = family, spec

    @abc.abstractmethod
    def sample(self, params: torch.Tensor, tasks: TaskBatch, rollouts_per_task: int, horizon: int, seed: int,
               streams=None) -> Batch:
        """B = rollouts_per_task trajectories of `horizon` steps on each of the T tasks.

        The package calls it with rollouts_per_task positional (a subclass may name it as it likes);
        the built-in samplers also accept the deprecated keyword ``trajs_per_task=``.

        Args:
            params: [P] (one policy for all tasks) or [T, P] (one per task), float32 or float64 (the
                standard Gaussian MLP layout of ``spec``).
            tasks: a TaskBatch of the family, len T.
            rollouts_per_task: B ≥ 1.
            horizon: H ≥ 0 (trajectories that terminate earlier are masked).
            seed: a non-negative int; the batch is a function of (seed, params, tasks, B, H).
            streams: [T] the random stream of each task's first trajectory (None: t·B): a piece of a
                batch, as TaskFamily.rollout takes it (the local backends; Ray sends its pieces).
        Returns:
            Batch [T, B, H, ...] in params' dtype (``means`` filled when the backend keeps them).
        """

    def describe(self) -> str:
        """One line for the run's log: the backend and its workers."""
        return type(self).__name__

    def close(self) -> None:
        """Releases the backend's workers or environments (a no-op for in-process backends)."""

    def __del__(self) -> None:
        # at interpreter exit the workers (Ray, a process pool) may already be gone: nothing to release
        with contextlib.suppress(Exception):
            self.close()

"""The objective protocol every meta-gradient is assembled from (meta_objective.MetaObjective).

A surrogate is a per-task objective J_i(θ_i) on one step's data (maximised), with the compiled
pieces the explicit meta-gradient needs and a differentiable torch value the autograd reference
differentiates through the unrolled update:

    grad(params [T, P], backend) → ∇J_i(θ_i)        [T, P]   (compiled kernels; "torch": reference)
    value(params [T, P])         → J_i(θ_i)         [T]      (differentiable to any order)
    hvp(params, v [T, P], backend) → ∇²J_i(θ_i) v_i  [T, P]   (inner surrogates only)

The MAML family's surrogates are in algos/maml/surrogates.py, GMPS's in algos/gmps/objectives.py.
"""
from __future__ import annotations

import abc
from typing import ClassVar

import torch

from .. import kernels, reference
from ..policies import PolicySpec
from .processing import StepData


class Surrogate(abc.ABC):
    """A per-task surrogate J_i(θ_i) (an outer objective when it has no hvp).

    Class attributes a subclass may set: ``curvature`` — "naive" or "lvc" when the Hessian is the
    score-function surrogate's with per-sample weights ``data.adv_weights`` (the fused TRPO-MAML
    Fisher operator then applies), else None; ``needs_dice_baseline`` — the advantage pipeline
    must fit DiCE's time-only baseline for it.
    """

    curvature: ClassVar[str | None] = None
    needs_dice_baseline: ClassVar[bool] = False

    def __init__(self, spec: PolicySpec, data) -> None:
        self.spec, self.data = spec, data

    @classmethod
    def build(cls, spec: PolicySpec, data: StepData, settings=None) -> "Surrogate":
        """The surrogate on one step's data, with the algorithm's settings (e.g. PPO's clip)."""
        return cls(spec, data)

    @abc.abstractmethod
    def grad(self, params: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇J_i(θ_i) → [T, P]."""

    @abc.abstractmethod
    def value(self, params: torch.Tensor) -> torch.Tensor:
        """J_i(θ_i) → [T], differentiable (torch)."""


class InnerSurrogate(Surrogate):
    """A surrogate whose gradient is an adaptation step: its Hessian is the step's Jacobian."""

    @abc.abstractmethod
    def hvp(self, params: torch.Tensor, v: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇²J_i(θ_i) v_i → [T, P] (symmetric)."""


def kl_penalty_grad(spec: PolicySpec, params: torch.Tensor, data: StepData, backend: str = "auto") -> torch.Tensor:
    """∇θ mean-over-valid-steps KL(π_old ‖ π_θ) of each task → [T, P] (compiled)."""
    return kernels.kl_grad(spec, params, data.flat(data.obs), data.flat(data.old_mean), data.old_log_std,
                           data.mean_weights, backend=backend)


def kl_penalty_value(spec: PolicySpec, params: torch.Tensor, data: StepData) -> torch.Tensor:
    """mean-over-valid-steps KL(π_old ‖ π_θ) → [T], differentiable (torch)."""
    return reference.gaussian_kl(spec, params, data.flat(data.obs), data.flat(data.old_mean), data.old_log_std,
                                 data.mean_weights)


def mean_kl(spec: PolicySpec, params: torch.Tensor, data: StepData, backend: str = "auto") -> torch.Tensor:
    """mean-over-valid-steps KL(π_old ‖ π_params) of each task → [T] (compiled; no history)."""
    return kernels.gaussian_kl(spec, params, data.flat(data.obs), data.flat(data.old_mean), data.old_log_std,
                               data.mean_weights, backend=backend)

"""What an algorithm is to the runner: a MetaAlgorithm plug-in (one class, one registry row in
algos/run/registry.py; docs/extending.md), and the meta-parameters with Adam that several share.

An algorithm owns its parameters, step sizes, optimiser, data (demonstrations, experts) and resume
state, and talks to the world through a RunContext (algos/run/context.py): the config, the task
family, the policy spec, the sampler, derived seeds and the timestep counter. The runner owns the
loop, logging, checkpoints and resumption.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar

import torch


@dataclass
class IterationLog:
    """What one meta-iteration reports (the runner adds Itr, n_timesteps, timings and SPS).

    returns: the average return after 0, 1, ..., K adaptation steps (columns Step_k-AverageReturn;
    NaN where not measured this iteration); stats: algorithm columns (GradNorm, MeanKL, ...);
    times: seconds spent "sampling", in the "inner" steps and in the "outer" step; sampled_steps:
    environment steps sampled during the "sampling" time (for SPS); success: the success rate after
    0, 1, ..., K adaptation steps (columns Step_k-SuccessRate, written for families that report
    success, e.g. Meta-World; NaN where not measured).
    """

    returns: list[float]
    stats: dict[str, float] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    sampled_steps: int = 0
    success: list[float] = field(default_factory=list)


class MetaAlgorithm(abc.ABC):
    """A meta-RL algorithm, constructed as ``cls(ctx, **registry_kwargs)``.

    ``settings`` is the dataclass of its own config section (algos/settings.py; None when it has
    none); the run's values are ``ctx.config.section``.
    """

    settings: ClassVar[type | None] = None
    # torch's intra-op threads while it trains when the config leaves torch_threads at 0 (None: torch's
    # own default, every physical core). 1 where torch's work is small next to the C++ sampler and
    # kernels, whose pool it would otherwise fight for the cores (docs/algos.md, "Threads").
    torch_threads: ClassVar[int | None] = 1
    # the devices its parameters and meta-steps can live on (config `device`)
    devices: ClassVar[tuple[str, ...]] = ("cpu",)

    @abc.abstractmethod
    def meta_parameters(self) -> torch.Tensor:
        """The current meta-parameters θ [P_alg] (a copy)."""

    def policy_params(self, params: torch.Tensor) -> torch.Tensor:
        """The standard Gaussian MLP parameters ([P] or [T, P]) that the sampler evaluates for the
        algorithm's parameters `params` ([P_alg] or [T, P_alg]); the identity unless the
        algorithm reparametrises the policy."""
        return params

    @abc.abstractmethod
    def run_iteration(self, ctx) -> IterationLog:
        """One meta-iteration: sample through ctx, update θ."""

    @abc.abstractmethod
    def adapt(self, ctx, batch, params: torch.Tensor) -> torch.Tensor:
        """One meta-test adaptation step from `params` [T, P_alg] on `batch` (sampled with
        ``policy_params(params)`` on T fresh tasks) → the adapted parameters [T, P_alg]."""

    @abc.abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to resume exactly (tensors, optimiser state, counters of its own)."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restores ``state_dict()``'s result (or the trainer checkpoint of earlier versions:
        keys theta, optimizer, alpha, kl_coeff)."""


class MetaParameters:
    """θ [P] as an nn.Parameter, optionally one learned inner step size per parameter α [P] (the
    papers' code's trainable step sizes, initialised to inner_lr), and Adam over both."""

    def __init__(self, theta: torch.Tensor, inner_lr: float, trainable_step_sizes: bool, outer_lr: float) -> None:
        self.theta = torch.nn.Parameter(theta)
        self.inner_lr = inner_lr
        params = [self.theta]
        self.alpha_param = None
        if trainable_step_sizes:
            self.alpha_param = torch.nn.Parameter(torch.full_like(theta, inner_lr))
            params.append(self.alpha_param)
        self.optimizer = torch.optim.Adam(params, lr=outer_lr)

    @property
    def trainable(self) -> bool:
        return self.alpha_param is not None

    @property
    def alpha(self) -> float | torch.Tensor:
        """The inner step size: inner_lr, or the learned per-parameter step sizes [P] (a copy)."""
        return self.inner_lr if self.alpha_param is None else self.alpha_param.detach().clone()

    def current(self) -> torch.Tensor:
        """θ [P] (a copy)."""
        return self.theta.detach().clone()

    def ascend(self, grad) -> torch.Tensor:
        """One Adam ascent step on J, given ∇θ J [P] or (∇θ J, ∂J/∂α) with trainable step sizes;
        returns ∇θ J."""
        self.optimizer.zero_grad()
        if self.alpha_param is not None:
            grad, g_alpha = grad
            self.alpha_param.grad = -g_alpha.to(self.alpha_param.dtype)
        self.theta.grad = -grad.to(self.theta.dtype)  # maximise J
        self.optimizer.step()
        return grad

    def set(self, theta: torch.Tensor) -> None:
        """θ ← theta (a TRPO step)."""
        with torch.no_grad():
            self.theta.copy_(theta)

    def state_dict(self) -> dict:
        return {"theta": self.current(), "optimizer": self.optimizer.state_dict(),
                "alpha": None if self.alpha_param is None else self.alpha_param.detach().clone()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.theta.copy_(state["theta"])
            if self.alpha_param is not None:
                self.alpha_param.copy_(state["alpha"])
        self.optimizer.load_state_dict(state["optimizer"])

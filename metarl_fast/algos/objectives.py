"""The surrogate objectives of the MAML family, per task group, as the papers' code scales them
(a mean over each task's valid steps): inner objectives (whose gradient is the adaptation step and
whose Hessian is its Jacobian) and outer objectives (evaluated at the adapted parameters).

Each objective offers the compiled pieces the explicit meta-gradient is assembled from
(``grad``/``hvp``, via metarl_fast.kernels) and a differentiable torch ``value`` (via
metarl_fast.reference) that the autograd reference differentiates through the unrolled update.

Shapes: params [T, P] (one row per task group); the data of one step is a StepData.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import kernels, reference
from ..policies import PolicySpec

INNER_KINDS = ("naive", "lvc", "lr", "dice")
OUTER_KINDS = ("vpg", "lr", "clip", "dice")


@dataclass
class StepData:
    """One sampling step of every task group (trajectories [T, B, H, ...], valid steps first).

    obs, act: [T, B, H, obs_dim], [T, B, H, act_dim]; mask, rewards, log_prob (the sampling
    policy's), advantages (processed: baseline, GAE, normalisation): [T, B, H]; old_mean
    [T, B, H, act_dim] and old_log_std [T, act_dim]: the sampling policy, for KL penalties;
    dice_baseline [T, H]: the time-only baseline of DiCE objectives (or None).
    """

    obs: torch.Tensor
    act: torch.Tensor
    mask: torch.Tensor
    rewards: torch.Tensor
    log_prob: torch.Tensor
    advantages: torch.Tensor
    old_mean: torch.Tensor | None = None
    old_log_std: torch.Tensor | None = None
    dice_baseline: torch.Tensor | None = None
    gamma: float = 0.99
    reduction: str = "steps"   # surrogates: "steps" mean over valid steps (ProMP code), "trajectories"
                               # mean over trajectories of the sum over time (SG-MRL's ∇̃J)
    mean_return: torch.Tensor | None = None  # [T] J̃: mean discounted return of the trajectories

    @property
    def num_tasks(self) -> int:
        return self.mask.shape[0]

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """[T, B, H, ...] → [T, B·H, ...]."""
        T = self.num_tasks
        return x.reshape(T, -1, *x.shape[3:]) if x.dim() > 3 else x.reshape(T, -1)

    @property
    def inv_count(self) -> torch.Tensor:
        """[T, 1] 1 / (valid steps of each task): a mean over all N·H steps."""
        return 1.0 / self.mask.reshape(self.num_tasks, -1).sum(-1, keepdim=True).clamp_min(1.0)

    @property
    def scale(self) -> torch.Tensor:
        """[T, 1] the surrogates' scale: 1/count ("steps") or 1/B ("trajectories")."""
        if self.reduction == "trajectories":
            return torch.full_like(self.inv_count, 1.0 / self.mask.shape[1])
        return self.inv_count

    @property
    def score_term_weights(self) -> torch.Tensor:
        """[T, B·H] per-sample weights of SG-MRL's score term Σ_{τ∈D} ∇log π(τ): the paper's sum
        ("trajectories"), or its per-step-mean analogue for the code's scaling ("steps")."""
        w = self.flat(self.mask)
        return (w if self.reduction == "trajectories" else w * self.inv_count).contiguous()

    @property
    def mean_weights(self) -> torch.Tensor:
        """[T, B·H] mask / count: per-sample weights of a mean over valid steps."""
        return (self.flat(self.mask) * self.inv_count).contiguous()

    @property
    def adv_weights(self) -> torch.Tensor:
        """[T, B·H] advantage · mask · scale."""
        return (self.flat(self.advantages) * self.flat(self.mask) * self.scale).contiguous()

    def dice_terms(self):
        """(rewards, baseline) scaled by the surrogate scale (DiCE is linear in them)."""
        s = self.scale.unsqueeze(-1)  # [T, 1, 1]
        rew = (self.rewards * s).contiguous()
        base = None if self.dice_baseline is None else (self.dice_baseline * s[:, :, 0]).contiguous()
        return rew, base


class Objective:
    """A per-task surrogate J_i(θ_i) of one step's data."""

    def __init__(self, kind: str, spec: PolicySpec, data: StepData, clip_eps: float = 0.3) -> None:
        if kind not in INNER_KINDS + OUTER_KINDS:
            raise ValueError(f"objective kind must be one of {sorted(set(INNER_KINDS + OUTER_KINDS))}, got {kind!r}")
        self.kind, self.spec, self.data, self.clip_eps = kind, spec, data, clip_eps

    # ---- compiled pieces
    def grad(self, params: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇J_i(θ_i) → [T, P] (backend: as metarl_fast.kernels; "torch" is the autograd reference)."""
        d, s = self.data, self.spec
        if self.kind in ("naive", "lvc", "vpg"):
            return kernels.score_vjp(s, params, d.flat(d.obs), d.flat(d.act), d.adv_weights, backend=backend)
        if self.kind == "lr":
            return kernels.lr_grad(s, params, d.obs, d.act, d.log_prob, self._scaled_adv(), mask=d.mask,
                                   backend=backend)
        if self.kind == "clip":
            return kernels.ppo_clip_grad(s, params, d.obs, d.act, d.log_prob, self._scaled_adv(), self.clip_eps,
                                         mask=d.mask, backend=backend)
        rew, base = d.dice_terms()
        return kernels.dice_grad(s, params, d.obs, d.act, rew, d.mask, d.gamma, baseline=base, backend=backend)

    def hvp(self, params: torch.Tensor, v: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇²J_i(θ_i) v_i → [T, P] (inner objectives; backend as grad)."""
        d, s = self.data, self.spec
        if self.kind in ("naive", "lvc"):
            return kernels.surrogate_hvp(s, params, d.flat(d.obs), d.flat(d.act), d.adv_weights, v, self.kind,
                                         backend=backend)
        if self.kind == "lr":
            return kernels.lr_hvp(s, params, d.obs, d.act, d.log_prob, self._scaled_adv(), v, mask=d.mask,
                                  backend=backend)
        if self.kind == "dice":
            rew, base = d.dice_terms()
            return kernels.dice_hvp(s, params, d.obs, d.act, rew, d.mask, v, d.gamma, baseline=base, backend=backend)
        raise ValueError(f"objective {self.kind!r} has no Hessian-vector product (it is an outer objective)")

    def _scaled_adv(self) -> torch.Tensor:
        return (self.data.advantages * self.data.scale.unsqueeze(-1)).contiguous()

    # ---- differentiable torch value (the reference)
    def value(self, params: torch.Tensor) -> torch.Tensor:
        """J_i(θ_i) → [T], differentiable to any order in params."""
        d, s = self.data, self.spec
        if self.kind in ("naive", "lvc", "vpg"):
            lp = reference.log_prob(s, params, d.flat(d.obs), d.flat(d.act))
            surrogate = torch.exp(lp - lp.detach()) if self.kind == "lvc" else lp
            return (d.adv_weights * surrogate).sum(-1)
        if self.kind == "lr":
            return reference.lr_objective(s, params, d.obs, d.act, d.log_prob, self._scaled_adv(), d.mask)
        if self.kind == "clip":
            return reference.ppo_clip_objective(s, params, d.obs, d.act, d.log_prob, self._scaled_adv(),
                                                self.clip_eps, d.mask)
        rew, base = d.dice_terms()
        return reference.dice_objective(s, params, d.obs, d.act, rew, d.mask, d.gamma, base)


def kl_penalty_grad(spec: PolicySpec, params: torch.Tensor, data: StepData) -> torch.Tensor:
    """∇θ mean-over-valid-steps KL(π_old ‖ π_θ) of each task → [T, P] (compiled)."""
    return kernels.kl_grad(spec, params, data.flat(data.obs), data.flat(data.old_mean), data.old_log_std,
                           data.mean_weights)


def kl_penalty_value(spec: PolicySpec, params: torch.Tensor, data: StepData) -> torch.Tensor:
    """mean-over-valid-steps KL(π_old ‖ π_θ) → [T], differentiable (torch)."""
    return reference.gaussian_kl(spec, params, data.flat(data.obs), data.flat(data.old_mean), data.old_log_std,
                                 data.mean_weights)

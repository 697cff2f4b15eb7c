"""The surrogates of the MAML family, per task group, scaled as the papers' code scales them (a
mean over each task's valid steps; see StepData.scale). Each is one class behind the Surrogate
protocol (algos/objectives.py):

    ScoreFunction    Σ w log π · A           ("naive": the plain score-function surrogate; its Hessian
                                              is H₂ only — MAML's inner step; also VPG's outer objective)
    Lvc              Σ w π/⊥π · A            (LVC, ProMP §4.1: Hessian H₁ + H₂ at the sampling policy)
    LikelihoodRatio  Σ w π/π_old · A         (J^LR: ProMP's inner objective, TRPO's outer surrogate)
    Dice             the DiCE objective       (ProMP §4.2: the exact Hessian in expectation)
    PpoClip          PPO's clipped J^CLIP    (ProMP's outer objective)

Shapes: params [T, P] (one row per task group); the data of one step is a StepData.
"""
from __future__ import annotations

import torch

from ... import kernels, reference
from ..objectives import InnerSurrogate, Surrogate


def _scaled_adv(data) -> torch.Tensor:
    return data.advantages * data.scale.unsqueeze(-1)


class ScoreFunction(InnerSurrogate):
    """Σ_n w_n log π_θ(a_n|s_n) A_n (w = mask × scale): gradient Σ w A ∇log π, Hessian Σ w A ∇²log π."""

    curvature = "naive"

    def grad(self, params, backend="auto"):
        d = self.data
        return kernels.score_vjp(self.spec, params, d.flat(d.obs), d.flat(d.act), d.adv_weights, backend=backend)

    def hvp(self, params, v, backend="auto"):
        d = self.data
        return kernels.surrogate_hvp(self.spec, params, d.flat(d.obs), d.flat(d.act), d.adv_weights, v, self.curvature,
                                     backend=backend)

    def _surrogate(self, lp: torch.Tensor) -> torch.Tensor:
        return lp

    def value(self, params):
        d = self.data
        lp = reference.log_prob(self.spec, params, d.flat(d.obs), d.flat(d.act))
        return (d.adv_weights * self._surrogate(lp)).sum(-1)


class Lvc(ScoreFunction):
    """Σ_n w_n π_θ/⊥π_θ A_n (the same gradient as ScoreFunction at the sampling policy; Hessian with
    the score outer-product term H₁)."""

    curvature = "lvc"

    def _surrogate(self, lp: torch.Tensor) -> torch.Tensor:
        return torch.exp(lp - lp.detach())


class LikelihoodRatio(InnerSurrogate):
    """J^LR = Σ_n w_n exp(log π_θ − log π_old) A_n with the recorded sampling log-probs."""

    def grad(self, params, backend="auto"):
        d = self.data
        return kernels.lr_grad(self.spec, params, d.obs, d.act, d.log_prob, _scaled_adv(d), mask=d.mask,
                               backend=backend)

    def hvp(self, params, v, backend="auto"):
        d = self.data
        return kernels.lr_hvp(self.spec, params, d.obs, d.act, d.log_prob, _scaled_adv(d), v, mask=d.mask,
                              backend=backend)

    def value(self, params):
        d = self.data
        return reference.lr_objective(self.spec, params, d.obs, d.act, d.log_prob, _scaled_adv(d), d.mask)


class Dice(InnerSurrogate):
    """The DiCE objective on the step's trajectories, with the time-only baseline inside the magic box."""

    needs_dice_baseline = True

    def grad(self, params, backend="auto"):
        d = self.data
        rew, base = d.dice_terms()
        return kernels.dice_grad(self.spec, params, d.obs, d.act, rew, d.mask, d.gamma, baseline=base,
                                 backend=backend)

    def hvp(self, params, v, backend="auto"):
        d = self.data
        rew, base = d.dice_terms()
        return kernels.dice_hvp(self.spec, params, d.obs, d.act, rew, d.mask, v, d.gamma, baseline=base,
                                backend=backend)

    def value(self, params):
        d = self.data
        rew, base = d.dice_terms()
        return reference.dice_objective(self.spec, params, d.obs, d.act, rew, d.mask, d.gamma, base)


class PpoClip(Surrogate):
    """J^CLIP = Σ_n w_n min(ρ_n A_n, clip(ρ_n, 1 − ε, 1 + ε) A_n) (an outer objective)."""

    def __init__(self, spec, data, clip_eps: float = 0.3) -> None:
        super().__init__(spec, data)
        self.clip_eps = clip_eps

    @classmethod
    def build(cls, spec, data, settings=None):
        return cls(spec, data) if settings is None else cls(spec, data, settings.clip_eps)

    def grad(self, params, backend="auto"):
        d = self.data
        return kernels.ppo_clip_grad(self.spec, params, d.obs, d.act, d.log_prob, _scaled_adv(d), self.clip_eps,
                                     mask=d.mask, backend=backend)

    def value(self, params):
        d = self.data
        return reference.ppo_clip_objective(self.spec, params, d.obs, d.act, d.log_prob, _scaled_adv(d),
                                            self.clip_eps, d.mask)


# the surrogates by the names the papers and the variants table use
INNER_SURROGATES = {"naive": ScoreFunction, "lvc": Lvc, "lr": LikelihoodRatio, "dice": Dice}
OUTER_SURROGATES = {"vpg": ScoreFunction, "lr": LikelihoodRatio, "clip": PpoClip, "dice": Dice}

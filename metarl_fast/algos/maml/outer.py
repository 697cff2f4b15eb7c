"""The outer (meta-) optimisers of the MAML family, one class each: a step of Adam on the
meta-gradient (VPG variants), ProMP's several Adam steps with KL penalties on the same data, and a
TRPO meta-step (natural gradient by conjugate gradient on the Fisher through the adaptation, then
a backtracking line search on the post-update surrogate under the KL bound)."""
from __future__ import annotations

import abc
from typing import ClassVar

import torch

from ... import kernels
from ...phases import phase
from ..meta_objective import MetaObjective


class OuterStep(abc.ABC):
    """``step(algo, meta, theta)`` updates algo's meta-parameters from the iteration's
    MetaObjective at θ [P] (the parameters the data was sampled with) and returns log columns."""

    adam_based: ClassVar[bool] = True     # updates θ with Adam (so learned step sizes can train)
    kl_penalty: ClassVar[bool] = False    # the meta-objective carries ProMP's KL penalties

    @abc.abstractmethod
    def step(self, algo, meta: MetaObjective, theta: torch.Tensor) -> dict:
        """One meta-step; returns the statistics to log."""


class AdamStep(OuterStep):
    """θ ← Adam(θ, −∇θ J) (and α with trainable step sizes)."""

    def step(self, algo, meta, theta):
        with phase("meta-gradient"):
            g = algo.meta_gradient(meta, theta)
        with phase("adam"):
            g = algo.params.ascend(g)
        return {"GradNorm": float(g.norm())}


class PrompStep(OuterStep):
    """ProMP: promp_steps Adam steps on J^CLIP(θ + α∇J^LR(θ)) − η KL on the same batch; then the
    mean pre-update KL, and (adaptive_kl) η halved or doubled towards target_kl as the ProMP code."""

    kl_penalty = True

    def step(self, algo, meta, theta):
        s, params = algo.settings_of_run, algo.params
        for _ in range(s.promp_steps):
            if params.trainable:
                meta.alpha = params.alpha
            with phase("meta-gradient"):
                g = algo.meta_gradient(meta, params.current())
            with phase("adam"):
                g = params.ascend(g)
        with phase("pre-update KL"):
            kl = meta.pre_update_kl(params.current())
        coeff = algo.kl_coeff
        if s.adaptive_kl:
            if kl < s.target_kl / 1.5:
                algo.kl_coeff /= 2
            elif kl > 1.5 * s.target_kl:
                algo.kl_coeff *= 2
        return {"MeanKL": kl, "KLCoeff": coeff, "GradNorm": float(g.norm())}


class TrpoStep(OuterStep):
    """TRPO-MAML's meta-step: x = F⁻¹g by cg_iters of CG on the Fisher of the post-update KL through
    the inner steps, then the TRPO line search on −J^LR(θ') with KL(θ') ≤ max_kl. The step length's
    xᵀ(F + damping)x is CG's own x·(g − r) (the same quantity up to rounding, without one more
    product of the operator)."""

    adam_based = False

    def step(self, algo, meta, theta):
        s = algo.settings_of_run
        with phase("meta-gradient"):
            g = algo.meta_gradient(meta, theta)
        with phase("conjugate gradient"):
            op = meta.fisher_operator(theta)
            x, info = kernels.conjugate_gradient(op, g, s.cg_iters, 1e-10, s.cg_damping, return_info=True)
        dHd = info.curvature.item()

        def loss(candidate):
            with phase("loss"):
                return meta.trpo_loss(candidate)

        def kl(candidate):
            with phase("KL"):
                return meta.post_update_kl(candidate)

        with phase("line search"):
            res = kernels.trpo_step(theta, -x, loss, kl, s.max_kl, dHd=dHd)
        algo.params.set(res.params)
        return {"MeanKL": res.kl, "LossBefore": res.loss_before, "LossAfter": res.loss,
                "TRPO-Accepted": int(res.accepted), "TRPO-Backtracks": res.backtracks, "GradNorm": float(g.norm())}

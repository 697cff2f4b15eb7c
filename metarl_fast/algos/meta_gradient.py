"""The meta-objective of the MAML family and its gradient, assembled explicitly from kernels.

For K inner steps θ^{k+1} = θ^k + α ∇J_in^k(θ^k) (θ^0 = θ shared by the T task groups), the
meta-objective (maximised) is

    J(θ) = mean_i [ J_out,i(θ^K_i) − Σ_k c_k KL_k,i(θ^k_i) ] + mean_i credit_i · mean log π_θ(D^0_i)

(the KL terms are ProMP's penalties on each step's pre-update data; the last term is E-MAML's).
SG-MRL (formulation II, Fallah et al.) adds ⊥J̃_i · Σ_{τ∈D^k_i} log π(τ; θ^k_i) for every inner step k
(J̃_i the mean return of the post-update batch; a sum over the inner batch, no baseline).
Its gradient is assembled backwards, one Hessian-vector product per task per inner step:

    g_K = ∇J_out(θ^K),   g_k = g_{k+1} + H_k (α ⊙ g_{k+1}) − c_k ∇KL_k(θ^k),   ∇J = mean_i g_0,i (+ E-MAML)

with H_k the Hessian of step k's inner surrogate (symmetric for every curvature offered, so the
transpose of the step's Jacobian I + diag(α) H_k is I + H_k diag(α)). α is a scalar or, with the
papers' code's trainable inner step size, one step size per parameter [P]; then
∂J/∂α = mean_i Σ_k g_{k+1,i} ⊙ ∇J_in^k(θ^k_i). ``reference_gradient`` computes the same quantity with autograd
through the unrolled update (create_graph), the pure-torch reference the tests hold it equal to.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import kernels
from ..policies import PolicySpec
from .objectives import Objective, kl_penalty_grad, kl_penalty_value


@dataclass
class MetaObjective:
    """spec; inner: K inner objectives (one per step, each on its own data); outer: the objective at
    θ^K; alpha: inner step size, a float or one per parameter ([P] tensor); kl_coeffs: c_k per inner
    step (empty: none); emaml_credit: [T] or None."""

    spec: PolicySpec
    inner: list[Objective]
    outer: Objective
    alpha: float | torch.Tensor
    kl_coeffs: list[float] = field(default_factory=list)
    emaml_credit: torch.Tensor | None = None
    sgmrl_credit: torch.Tensor | None = None  # [T] J̃_i: weight of SG-MRL's score term on every inner batch
    jacobian: str = "pathwise"    # SG-MRL: "pathwise" (I + α mean ∇²ν, correct; digest B.5) or
                                  # "paper_literal" (I + α ∇̃²J with the score outer product, eq. 10/13)
    first_order: bool = False     # drop the Hessian factors (FO-MAML / the SG-MRL experiments)

    @property
    def num_tasks(self) -> int:
        return self.outer.data.num_tasks

    @property
    def _alpha(self):
        return self.alpha.detach() if isinstance(self.alpha, torch.Tensor) else self.alpha

    def adapt(self, theta: torch.Tensor, inner_grads: list | None = None) -> list[torch.Tensor]:
        """[θ^0, ..., θ^K], each [T, P] (compiled inner gradients; appended to inner_grads if given)."""
        thetas = [theta.detach().expand(self.num_tasks, -1).contiguous()]
        for objective in self.inner:
            g = objective.grad(thetas[-1])
            if inner_grads is not None:
                inner_grads.append(g)
            thetas.append((thetas[-1] + self._alpha * g).contiguous())
        return thetas

    def gradient(self, theta: torch.Tensor, thetas: list[torch.Tensor] | None = None, with_alpha: bool = False,
                 reduce: bool = True):
        """∇θ J → [P], explicit (compiled kernels; one HVP per task per inner step). With
        with_alpha, also ∂J/∂α ([P] for a per-parameter α, a 0-d tensor for a scalar one).
        reduce=False returns each task group's term [T, P] (whose mean is ∇θ J) instead."""
        inner_grads: list[torch.Tensor] = []
        if thetas is None or with_alpha:
            thetas = self.adapt(theta, inner_grads)
        g = self.outer.grad(thetas[-1])
        g_alpha = torch.zeros_like(g)
        for k in reversed(range(len(self.inner))):
            if with_alpha:
                g_alpha = g_alpha + g * inner_grads[k]
            if not self.first_order:
                v = (self._alpha * g).contiguous()
                step = self.inner[k].hvp(thetas[k], v)
                if self.jacobian == "paper_literal":
                    step = step + self._score_outer_product(thetas[k], self.inner[k].data, v)
                g = g + step
            if self.kl_coeffs and self.kl_coeffs[k]:
                g = g - self.kl_coeffs[k] * kl_penalty_grad(self.spec, thetas[k], self.inner[k].data)
            if self.sgmrl_credit is not None:
                d = self.inner[k].data
                w = (d.score_term_weights * self.sgmrl_credit.unsqueeze(-1)).contiguous()
                g = g + kernels.score_vjp(self.spec, thetas[k], d.flat(d.obs), d.flat(d.act), w)
        if self.emaml_credit is not None:
            d = self.inner[0].data
            w = (d.mean_weights * self.emaml_credit.unsqueeze(-1)).contiguous()
            g = g + kernels.score_vjp(self.spec, thetas[0], d.flat(d.obs), d.flat(d.act), w)
        if not reduce:
            return g
        if not with_alpha:
            return g.mean(0)
        g_alpha = g_alpha.mean(0)
        return g.mean(0), (g_alpha if isinstance(self.alpha, torch.Tensor) else g_alpha.sum())

    def _score_outer_product(self, theta: torch.Tensor, d, v: torch.Tensor) -> torch.Tensor:
        """(1/|D|) Σ_τ ∇log q(τ) (∇ν(τ)·v): the score outer-product part of SG-MRL's ∇̃²J as the paper
        writes it (u = ∇ν ∇log qᵀ + ∇²ν, transposed), per task → [T, P]."""
        T, B, H = d.mask.shape
        obs, act = d.flat(d.obs), d.flat(d.act)
        jvp = kernels.score_jvp(self.spec, theta, obs, act, v).reshape(T, B, H)
        per_traj = (jvp * d.adv_weights.reshape(T, B, H)).sum(-1, keepdim=True)  # ∇ν(τ)·v, scaled
        w = (per_traj * d.mask).reshape(T, B * H).contiguous()
        return kernels.score_vjp(self.spec, theta, obs, act, w)

    def value(self, theta: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """J(θ) as a differentiable scalar: autograd through the unrolled inner updates."""
        if self.jacobian != "pathwise":
            raise ValueError("the paper-literal SG-MRL estimator is not the gradient of an objective; "
                             "only its explicit form exists")
        with torch.enable_grad():
            th = theta.expand(self.num_tasks, -1)
            penalty = torch.zeros(self.num_tasks, dtype=theta.dtype, device=theta.device)
            score_terms = torch.zeros_like(penalty)
            start = th
            for k, objective in enumerate(self.inner):
                if self.kl_coeffs and self.kl_coeffs[k]:
                    penalty = penalty + self.kl_coeffs[k] * kl_penalty_value(self.spec, th, objective.data)
                if self.sgmrl_credit is not None:
                    d = objective.data
                    lp = kernels.log_prob(self.spec, th, d.flat(d.obs), d.flat(d.act), backend="torch")
                    score_terms = score_terms + self.sgmrl_credit * (d.score_term_weights * lp).sum(-1)
                (g,) = torch.autograd.grad(objective.value(th).sum(), th,
                                           create_graph=create_graph and not self.first_order)
                if self.first_order:
                    g = g.detach()
                th = th + self.alpha * g
            total = self.outer.value(th) - penalty + score_terms
            if self.emaml_credit is not None:
                d = self.inner[0].data
                lp = kernels.log_prob(self.spec, start, d.flat(d.obs), d.flat(d.act), backend="torch")
                total = total + self.emaml_credit * (d.mean_weights * lp).sum(-1)
            return total.mean()

    def reference_gradient(self, theta: torch.Tensor, with_alpha: bool = False):
        """∇θ J by autograd through the unrolled update (the pure-torch reference) → [P]; with
        with_alpha also ∂J/∂α (as `gradient`)."""
        alpha = self.alpha
        with torch.enable_grad():
            leaf = theta.detach().clone().requires_grad_(True)
            a = (alpha.detach() if isinstance(alpha, torch.Tensor) else torch.tensor(float(alpha), dtype=theta.dtype))
            a = a.clone().requires_grad_(with_alpha)
            self.alpha = a
            try:
                value = self.value(leaf)
            finally:
                self.alpha = alpha
            if not with_alpha:
                (g,) = torch.autograd.grad(value, leaf)
                return g
            g, ga = torch.autograd.grad(value, (leaf, a))
        return g, ga

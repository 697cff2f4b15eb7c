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

TRPO's pieces live here too: the Fisher of the post-update KL through the inner steps
(``fisher_operator``), the post-update KL and TRPO's surrogate loss at any θ, and ProMP's
pre-update KL. The adapted parameters θ^1..θ^K are computed once per θ and reused: the sampler
computed them while collecting the post-update data, and the meta-gradient, the Fisher operator and
the line search at the same θ read them back (``adaptation``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .. import kernels
from ..policies import PolicySpec
from .objectives import InnerSurrogate, Surrogate, kl_penalty_grad, kl_penalty_value, mean_kl


@dataclass
class Adaptation:
    """The inner steps from θ: thetas [θ^0, ..., θ^K] (each [T, P]) and grads [∇J_in^k(θ^k)] (each
    [T, P]), for the θ [P] and step size α they were computed with (and, once used by a
    MetaObjective, its inner surrogates)."""

    theta: torch.Tensor
    alpha: float | torch.Tensor
    thetas: list[torch.Tensor]
    grads: list[torch.Tensor]
    inner: tuple | None = None  # the ids of the inner surrogates (None: those of the first user)

    def matches(self, theta: torch.Tensor, alpha, inner: tuple) -> bool:
        if self.inner is None:
            self.inner = inner
        if self.inner != inner or not torch.equal(theta.detach(), self.theta):
            return False
        if isinstance(alpha, torch.Tensor) or isinstance(self.alpha, torch.Tensor):
            return isinstance(alpha, torch.Tensor) and isinstance(self.alpha, torch.Tensor) and \
                torch.equal(alpha, self.alpha)
        return alpha == self.alpha


@dataclass
class MetaObjective:
    """spec; inner: K inner surrogates (one per step, each on its own data); outer: the objective
    at θ^K; alpha: inner step size, a float or one per parameter ([P] tensor); kl_coeffs: c_k per
    inner step (empty: none); emaml_credit: [T] or None; backend: the kernels' backend ("auto":
    compiled, "torch": the reference everywhere); adapted: the Adaptation computed while sampling
    (reused at the same θ and α)."""

    spec: PolicySpec
    inner: list[InnerSurrogate]
    outer: Surrogate
    alpha: float | torch.Tensor
    kl_coeffs: list[float] = field(default_factory=list)
    emaml_credit: torch.Tensor | None = None
    sgmrl_credit: torch.Tensor | None = None  # [T] J̃_i: weight of SG-MRL's score term on every inner batch
    jacobian: str = "pathwise"    # SG-MRL: "pathwise" (I + α mean ∇²ν, correct; docs/sgmrl.md) or
                                  # "paper_literal" (I + α ∇̃²J with the score outer product, eq. 10/13)
    first_order: bool = False     # drop the Hessian factors (FO-MAML / the SG-MRL experiments)
    backend: str = "auto"
    adapted: Adaptation | None = None

    @property
    def num_tasks(self) -> int:
        return self.outer.data.num_tasks

    @property
    def _alpha(self):
        return self.alpha.detach() if isinstance(self.alpha, torch.Tensor) else self.alpha

    def adaptation(self, theta: torch.Tensor) -> Adaptation:
        """The inner steps from θ [P] (reused when θ and α are those of the last computation)."""
        alpha = self._alpha
        inner = tuple(id(o) for o in self.inner)
        if self.adapted is not None and self.adapted.matches(theta, alpha, inner):
            return self.adapted
        thetas, grads = self._inner_steps(theta, len(self.inner))
        self.adapted = Adaptation(theta.detach().clone(), alpha.clone() if isinstance(alpha, torch.Tensor) else alpha,
                                  thetas, grads, inner)
        return self.adapted

    def _inner_steps(self, theta: torch.Tensor, steps: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The first `steps` inner steps from θ [P]: ([θ^0, ..., θ^steps], [∇J_in^0, ...]), each [T, P]."""
        thetas = [theta.detach().expand(self.num_tasks, -1).contiguous()]
        grads = []
        for objective in self.inner[:steps]:
            g = objective.grad(thetas[-1], self.backend)
            grads.append(g)
            thetas.append(thetas[-1] + self._alpha * g)
        return thetas, grads

    def adapt(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """[θ^0, ..., θ^K], each [T, P]."""
        return self.adaptation(theta).thetas

    def gradient(self, theta: torch.Tensor, with_alpha: bool = False, reduce: bool = True):
        """∇θ J → [P], explicit (compiled kernels; one HVP per task per inner step). With
        with_alpha, also ∂J/∂α ([P] for a per-parameter α, a 0-d tensor for a scalar one).
        reduce=False returns each task group's term [T, P] (whose mean is ∇θ J) instead."""
        a = self.adaptation(theta)
        thetas, inner_grads = a.thetas, a.grads
        b = self.backend
        g = self.outer.grad(thetas[-1], b)
        g_alpha = torch.zeros_like(g)
        for k in reversed(range(len(self.inner))):
            if with_alpha:
                g_alpha = g_alpha + g * inner_grads[k]
            if not self.first_order:
                v = self._alpha * g
                step = self.inner[k].hvp(thetas[k], v, b)
                if self.jacobian == "paper_literal":
                    step = step + self._score_outer_product(thetas[k], self.inner[k].data, v)
                g = g + step
            if self.kl_coeffs and self.kl_coeffs[k]:
                g = g - self.kl_coeffs[k] * kl_penalty_grad(self.spec, thetas[k], self.inner[k].data, b)
            if self.sgmrl_credit is not None:
                d = self.inner[k].data
                w = d.score_term_weights * self.sgmrl_credit.unsqueeze(-1)
                g = g + kernels.score_vjp(self.spec, thetas[k], d.flat(d.obs), d.flat(d.act), w, backend=b)
        if self.emaml_credit is not None:
            d = self.inner[0].data
            w = d.mean_weights * self.emaml_credit.unsqueeze(-1)
            g = g + kernels.score_vjp(self.spec, thetas[0], d.flat(d.obs), d.flat(d.act), w, backend=b)
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
        jvp = kernels.score_jvp(self.spec, theta, obs, act, v, backend=self.backend).reshape(T, B, H)
        per_traj = (jvp * d.adv_weights.reshape(T, B, H)).sum(-1, keepdim=True)  # ∇ν(τ)·v, scaled
        w = (per_traj * d.mask).reshape(T, B * H)
        return kernels.score_vjp(self.spec, theta, obs, act, w, backend=self.backend)

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
            a = (alpha.detach() if isinstance(alpha, torch.Tensor) else torch.tensor(float(alpha), dtype=theta.dtype, device=theta.device))
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

    # ---- TRPO's and ProMP's pieces
    def fisher_operator(self, theta: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """v [P] ↦ mean_i Jᵢᵀ F'ᵢ Jᵢ v: the Hessian of the post-update KL through the inner steps
        (J = Π (I + α H_k), F' the Fisher at θ^K on the post-update states). With one inner step of a
        weighted score-function curvature and the compiled backend, the fused C++ operator
        (MamlTrpoFvpOperator, usable by conjugate_gradient's C++ loop); else a Python matvec over
        the kernels. α is a scalar here (TRPO meta-steps have no trainable step sizes)."""
        thetas = self.adapt(theta)
        post, alpha = self.outer.data, float(self._alpha)
        curvature = self.inner[0].curvature if len(self.inner) == 1 else None
        if curvature is not None and self.backend != "torch":
            d = self.inner[0].data
            return kernels.MamlTrpoFvpOperator(self.spec, theta, d.flat(d.obs), d.flat(d.act), d.adv_weights, alpha,
                                               thetas[-1], post.flat(post.obs), curvature, 0.0, post.mean_weights,
                                               task_mean=True, backend=self.backend)
        b = self.backend

        def matvec(v):
            u = [v.expand(self.num_tasks, -1)]
            for k, o in enumerate(self.inner):
                u.append(u[-1] + alpha * o.hvp(thetas[k], u[-1], b))
            w = kernels.kl_fvp(self.spec, thetas[-1], post.flat(post.obs), u[-1], 0.0, post.mean_weights, backend=b)
            for k in reversed(range(len(self.inner))):
                w = w + alpha * self.inner[k].hvp(thetas[k], w, b)
            return w.mean(0)

        return matvec

    def post_update_kl(self, theta: torch.Tensor) -> float:
        """mean_i KL(π_old ‖ π_θ^K_i) on the post-update data (the TRPO meta-step's constraint)."""
        return float(mean_kl(self.spec, self.adapt(theta)[-1], self.outer.data, self.backend).mean())

    def trpo_loss(self, theta: torch.Tensor) -> float:
        """−mean_i [J^LR_i(θ^K_i) on the post-update data (+ E-MAML's term)]: the loss TRPO's line
        search decreases."""
        post, b = self.outer.data, self.backend
        value = kernels.lr_objective(self.spec, self.adapt(theta)[-1], post.obs, post.act, post.log_prob,
                                     post.advantages * post.scale.unsqueeze(-1), mask=post.mask, backend=b)
        if self.emaml_credit is not None:
            d = self.inner[0].data
            lp = kernels.log_prob(self.spec, theta.expand(self.num_tasks, -1), d.flat(d.obs), d.flat(d.act),
                                  backend=b)
            value = value + self.emaml_credit * (d.mean_weights * lp).sum(-1)
        return -float(value.mean())

    def pre_update_kl(self, theta: torch.Tensor) -> float:
        """mean over inner steps and tasks of KL(π_θo ‖ π_θ^k) on each step's pre-update data (the
        quantity ProMP's penalty and its adaptive coefficient watch)."""
        a, alpha = self.adapted, self._alpha
        if a is not None and a.matches(theta, alpha, tuple(id(o) for o in self.inner)):
            thetas = a.thetas
        else:  # θ^0 … θ^{K−1}: the last inner step is not needed here
            thetas, _ = self._inner_steps(theta, len(self.inner) - 1)
        kls = [mean_kl(self.spec, thetas[k], o.data, self.backend).mean() for k, o in enumerate(self.inner)]
        return float(torch.stack(kls).mean())

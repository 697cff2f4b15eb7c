"""The meta-objective of the MAML family and its gradient, assembled explicitly from kernels.

For K inner steps θ^{k+1} = θ^k + α ∇J_in^k(θ^k) (θ^0 = θ shared by the T task groups), the
meta-objective (maximised) is

    J(θ) = mean_i [ J_out,i(θ^K_i) − Σ_k c_k KL_k,i(θ^k_i) ] + mean_i credit_i · mean log π_θ(D^0_i)

(the KL terms are ProMP's penalties on each step's pre-update data; the last term is E-MAML's).
Its gradient is assembled backwards, one Hessian-vector product per task per inner step:

    g_K = ∇J_out(θ^K),   g_k = (I + α H_k) g_{k+1} − c_k ∇KL_k(θ^k),   ∇J = mean_i g_0,i (+ E-MAML)

with H_k the Hessian of step k's inner surrogate (symmetric for every curvature offered, so the
Jacobian's transpose is itself). ``reference_gradient`` computes the same quantity with autograd
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
    θ^K; alpha: inner step size; kl_coeffs: c_k per inner step (empty: none); emaml_credit: [T] or
    None."""

    spec: PolicySpec
    inner: list[Objective]
    outer: Objective
    alpha: float
    kl_coeffs: list[float] = field(default_factory=list)
    emaml_credit: torch.Tensor | None = None

    @property
    def num_tasks(self) -> int:
        return self.outer.data.num_tasks

    def adapt(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """[θ^0, ..., θ^K], each [T, P] (compiled inner gradients)."""
        thetas = [theta.detach().expand(self.num_tasks, -1).contiguous()]
        for objective in self.inner:
            thetas.append((thetas[-1] + self.alpha * objective.grad(thetas[-1])).contiguous())
        return thetas

    def gradient(self, theta: torch.Tensor, thetas: list[torch.Tensor] | None = None) -> torch.Tensor:
        """∇θ J → [P], explicit (compiled kernels; one HVP per task per inner step)."""
        thetas = thetas if thetas is not None else self.adapt(theta)
        g = self.outer.grad(thetas[-1])
        for k in reversed(range(len(self.inner))):
            g = g + self.alpha * self.inner[k].hvp(thetas[k], g.contiguous())
            if self.kl_coeffs and self.kl_coeffs[k]:
                g = g - self.kl_coeffs[k] * kl_penalty_grad(self.spec, thetas[k], self.inner[k].data)
        if self.emaml_credit is not None:
            d = self.inner[0].data
            w = (d.mean_weights * self.emaml_credit.unsqueeze(-1)).contiguous()
            g = g + kernels.score_vjp(self.spec, thetas[0], d.flat(d.obs), d.flat(d.act), w)
        return g.mean(0)

    def value(self, theta: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
        """J(θ) as a differentiable scalar: autograd through the unrolled inner updates."""
        with torch.enable_grad():
            th = theta.expand(self.num_tasks, -1)
            penalty = torch.zeros(self.num_tasks, dtype=theta.dtype, device=theta.device)
            start = th
            for k, objective in enumerate(self.inner):
                if self.kl_coeffs and self.kl_coeffs[k]:
                    penalty = penalty + self.kl_coeffs[k] * kl_penalty_value(self.spec, th, objective.data)
                (g,) = torch.autograd.grad(objective.value(th).sum(), th, create_graph=create_graph)
                th = th + self.alpha * g
            total = self.outer.value(th) - penalty
            if self.emaml_credit is not None:
                d = self.inner[0].data
                lp = kernels.log_prob(self.spec, start, d.flat(d.obs), d.flat(d.act), backend="torch")
                total = total + self.emaml_credit * (d.mean_weights * lp).sum(-1)
            return total.mean()

    def reference_gradient(self, theta: torch.Tensor) -> torch.Tensor:
        """∇θ J by autograd through the unrolled update (the pure-torch reference) → [P]."""
        with torch.enable_grad():
            leaf = theta.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(self.value(leaf), leaf)
        return g

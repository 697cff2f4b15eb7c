"""BO-MRL with function approximation (Gaussian MLP policies; the paper's practical algorithm,
App. D, Eqs. 7–8; digest papers-gmps-bomrl.md B.2–B.3): the lower level solved on one batch from
π_φ, and the hypergradient by conjugate gradient on the lower level's Hessian.

Lower level (one task, data B from π_φ, Q the Monte-Carlo return-to-go of B):
    θ' = argmax_θ  mean_n h(π_θ(a_n|s_n)/π_φ(a_n|s_n)) Q_n − λ D²(π_φ, π_θ),   h(x) = 2/(1 + e^{−2(x−1)})
with D² one of  "kl_phi_pi" = mean_s KL(π_φ ‖ π_θ) (D1), "kl_pi_phi" = mean_s KL(π_θ ‖ π_φ) (D2),
"l2" = ‖θ − φ‖² (D3), solved with Adam (50 iterations, the paper's choice).

Hypergradient (Eq. 8, the ∇φQ term dropped as in the paper):
    ∇φJ ≈ −Bᵀ H⁻¹ g,   H = ∇²_θ [D² − (1/λ) mean ρ_θ Q] at θ' (unclipped ratio), B = ∇φ∇θ D² at θ',
    g = (1/(1−γ)) mean ∇log π_θ'(a'|s') Q' on fresh post-adaptation data
H⁻¹g by CG on Hessian-vector products; Bᵀx as one mixed second-order VJP, −∇φ[(∇θD²|θ')ᵀ x].
Shapes: parameters [P] for one task (batched over tasks by the caller).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import kernels, reference
from ..policies import PolicySpec

DISTANCES = ("kl_phi_pi", "kl_pi_phi", "l2")


def h_clip(x: torch.Tensor) -> torch.Tensor:
    """The paper's sigmoid clipping of the ratio: h(1) = 1, h'(1) = 1, 0 < h < 2."""
    return 2.0 / (1.0 + torch.exp(-2.0 * (x - 1.0)))


@dataclass
class LowerLevel:
    """One task's lower-level problem. obs [N, obs_dim], act [N, act_dim], log_prob_phi [N] (the
    sampling log-probs), q [N] (Monte-Carlo Q of π_φ), phi [P]."""

    spec: PolicySpec
    obs: torch.Tensor
    act: torch.Tensor
    log_prob_phi: torch.Tensor
    q: torch.Tensor
    lam: float
    distance: str = "kl_phi_pi"

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {self.distance!r}")
        if not self.lam > 0:
            raise ValueError(f"lam must be > 0, got {self.lam!r}")

    def _lp(self, theta):
        return reference.log_prob(self.spec, theta, self.obs.unsqueeze(0), self.act.unsqueeze(0))[0]

    def distance_sq(self, phi: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """D²(π_φ, π_θ) on the batch's states (differentiable in both)."""
        if self.distance == "l2":
            return ((theta - phi) ** 2).sum()
        obs = self.obs.unsqueeze(0)
        mu_phi, mu_theta = (reference.policy_mean(self.spec, p, obs)[0] for p in (phi, theta))
        ls_phi, ls_theta = (self.spec.unflatten(p)["log_std"] for p in (phi, theta))
        if self.distance == "kl_pi_phi":  # KL(π_θ ‖ π_φ): swap the roles
            mu_phi, mu_theta, ls_phi, ls_theta = mu_theta, mu_phi, ls_theta, ls_phi
        kl = ls_theta - ls_phi + (torch.exp(2 * ls_phi) + (mu_phi - mu_theta) ** 2) / (2 * torch.exp(2 * ls_theta)) - 0.5
        return kl.sum(-1).mean()

    def objective(self, phi: torch.Tensor, theta: torch.Tensor, clipped: bool = True) -> torch.Tensor:
        """mean h(ρ) Q − λ D² (clipped=False: the plain ratio, the form Eq. 8's Hessian uses)."""
        ratio = torch.exp(self._lp(theta) - self.log_prob_phi)
        return ((h_clip(ratio) if clipped else ratio) * self.q).mean() - self.lam * self.distance_sq(phi, theta)

    def solve(self, phi: torch.Tensor, iterations: int = 50, lr: float = 1e-2) -> torch.Tensor:
        """θ' by Adam on the clipped objective from θ = φ (the paper: 50 iterations)."""
        theta = phi.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        phi = phi.detach()
        for _ in range(iterations):
            opt.zero_grad()
            (-self.objective(phi, theta)).backward()
            opt.step()
        return theta.detach()

    def hessian_vector(self, phi: torch.Tensor, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """H v, H = ∇²_θ [D² − (1/λ) mean ρ_θ Q] at θ (unclipped ratio), by double backward."""
        with torch.enable_grad():
            th = theta.detach().clone().requires_grad_(True)
            L = -self.objective(phi.detach(), th, clipped=False) / self.lam
            (g,) = torch.autograd.grad(L, th, create_graph=True)
            (hv,) = torch.autograd.grad(g @ v, th)
        return hv

    def mixed_vjp(self, phi: torch.Tensor, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Bᵀ x = ∇φ [(∇θ D²(φ, θ)|θ)ᵀ x] → [P]."""
        with torch.enable_grad():
            ph = phi.detach().clone().requires_grad_(True)
            th = theta.detach().clone().requires_grad_(True)
            (gt,) = torch.autograd.grad(self.distance_sq(ph, th), th, create_graph=True)
            (b,) = torch.autograd.grad(gt @ x, ph)
        return b


def post_update_gradient(spec: PolicySpec, theta: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                         q: torch.Tensor, gamma: float) -> torch.Tensor:
    """g = (1/(1−γ)) mean_n ∇log π_θ(a_n|s_n) Q_n on the post-adaptation batch → [P] (compiled)."""
    w = (q / (q.numel() * (1 - gamma))).reshape(1, -1).contiguous()
    return kernels.score_vjp(spec, theta, obs.unsqueeze(0).contiguous(), act.unsqueeze(0).contiguous(), w)[0]


def hypergradient(lower: LowerLevel, phi: torch.Tensor, theta: torch.Tensor, g: torch.Tensor,
                  cg_iters: int = 10, damping: float = 0.0, residual_tol: float = 1e-10) -> torch.Tensor:
    """∇φJ ≈ −Bᵀ H⁻¹ g (Eq. 8) with H⁻¹ g by conjugate gradient → [P]."""
    x = kernels.conjugate_gradient(lambda v: lower.hessian_vector(phi, theta, v), g, cg_iters, residual_tol, damping)
    return -lower.mixed_vjp(phi, theta, x)

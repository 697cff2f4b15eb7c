"""BO-MRL's lower level with function approximation (Gaussian MLP policies; the paper's practical
algorithm, App. D, Eqs. 7–8): the lower level solved on one batch from π_φ, and the hypergradient
by conjugate gradient on the lower level's Hessian.

Lower level (one task, data B from π_φ, Q the Monte-Carlo return-to-go of B):
    θ' = argmax_θ  mean_n h(π_θ(a_n|s_n)/π_φ(a_n|s_n)) Q_n − λ D²(π_φ, π_θ),   h(x) = 2/(1 + e^{−2(x−1)})
with D² one of  "kl_phi_pi" = mean_s KL(π_φ ‖ π_θ) (D1), "kl_pi_phi" = mean_s KL(π_θ ‖ π_φ) (D2),
"l2" = ‖θ − φ‖² (D3), solved with Adam (50 iterations, the paper's choice).

Hypergradient (Eq. 8, the ∇φQ term dropped as in the paper):
    ∇φJ ≈ −Bᵀ H⁻¹ g,   H = ∇²_θ [D² − (1/λ) mean ρ_θ Q] at θ' (unclipped ratio), B = ∇φ∇θ D² at θ',
    g = (1/(1−γ)) mean ∇log π_θ'(a'|s') Q' on fresh post-adaptation data (post_update_gradients)
H⁻¹g by CG on Hessian-vector products; Bᵀx as one mixed second-order VJP, −∇φ[(∇θD²|θ')ᵀ x].
Shapes: parameters [P] for one task (batched over tasks by the caller).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ... import kernels, reference
from ...policies import PolicySpec

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

    def hessian_vector(self, phi: torch.Tensor, theta: torch.Tensor, v: torch.Tensor,
                       compiled: bool = True) -> torch.Tensor:
        """H v, H = ∇²_θ [D² − (1/λ) mean ρ_θ Q] at θ (unclipped ratio).

        compiled: the importance-sampling part is the J^LR Hessian kernel (lr_hvp, weights ρQ/N);
        D1's KL part is the naive-curvature HVP kernel at two sigma-point actions per state (exact,
        see _kl_phi_pi_hvp); D3's is 2v; D2's KL part is double backward. compiled=False: everything
        by double backward (the reference)."""
        if not compiled:
            with torch.enable_grad():
                th = theta.detach().clone().requires_grad_(True)
                L = -self.objective(phi.detach(), th, clipped=False) / self.lam
                (g,) = torch.autograd.grad(L, th, create_graph=True)
                (hv,) = torch.autograd.grad(g @ v, th)
            return hv
        n = self.q.numel()
        is_hv = kernels.lr_hvp(self.spec, theta.unsqueeze(0), self.obs.unsqueeze(0), self.act.unsqueeze(0),
                               self.log_prob_phi.unsqueeze(0), (self.q / n).unsqueeze(0), v.unsqueeze(0))[0]
        if self.distance == "l2":
            d_hv = 2.0 * v
        elif self.distance == "kl_phi_pi":
            d_hv = self._kl_phi_pi_hvp(phi, theta, v)
        else:
            with torch.enable_grad():
                th = theta.detach().clone().requires_grad_(True)
                (g,) = torch.autograd.grad(self.distance_sq(phi.detach(), th), th, create_graph=True)
                (d_hv,) = torch.autograd.grad(g @ v, th)
        return d_hv - is_hv / self.lam

    def _kl_phi_pi_hvp(self, phi: torch.Tensor, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """∇²_θ mean_s KL(π_φ ‖ π_θ) v, exact at any θ, with the compiled naive-HVP kernel.

        KL(π_φ‖π_θ) = E_{a~π_φ}[log π_φ(a|s) − log π_θ(a|s)], so its Hessian in θ is
        −E_{a~π_φ}[∇²_θ log π_θ(a|s)]. log π_θ(a|s) is a sum over action dimensions of quadratics in
        a_j, so the expectation is exact at the two actions μ_φ(s) ± σ_φ (each with weight ½)."""
        n = self.obs.shape[0]
        mu = reference.policy_mean(self.spec, phi.detach(), self.obs.unsqueeze(0))[0]
        sigma = torch.exp(self.spec.unflatten(phi.detach())["log_std"])
        obs2 = torch.cat([self.obs, self.obs]).unsqueeze(0)
        act2 = torch.cat([mu + sigma, mu - sigma]).unsqueeze(0)
        w = torch.full((1, 2 * n), -0.5 / n, dtype=theta.dtype)
        return kernels.surrogate_hvp(self.spec, theta.unsqueeze(0), obs2, act2, w, v.unsqueeze(0), "naive")[0]

    def mixed_vjp(self, phi: torch.Tensor, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Bᵀ x = ∇φ [(∇θ D²(φ, θ)|θ)ᵀ x] → [P]."""
        with torch.enable_grad():
            ph = phi.detach().clone().requires_grad_(True)
            th = theta.detach().clone().requires_grad_(True)
            (gt,) = torch.autograd.grad(self.distance_sq(ph, th), th, create_graph=True)
            (b,) = torch.autograd.grad(gt @ x, ph)
        return b


def post_update_gradients(spec: PolicySpec, thetas: torch.Tensor, batch, q: torch.Tensor,
                          gamma: float) -> torch.Tensor:
    """g_i = (1/(1−γ)) mean_n ∇log π_θ'_i(a_n|s_n) Q_n over each task's valid post-adaptation steps
    → [T, P], one compiled call for every task. thetas [T, P]; batch a Batch [T, B, H]; q [T, B, H]."""
    T = thetas.shape[0]
    mask = batch.mask.reshape(T, -1)
    w = q.reshape(T, -1) * mask / (mask.sum(-1, keepdim=True).clamp_min(1) * (1 - gamma))
    return kernels.score_vjp(spec, thetas, batch.obs.reshape(T, -1, spec.obs_dim),
                             batch.actions.reshape(T, -1, spec.act_dim), w)


def lower_levels(spec: PolicySpec, batch, q: torch.Tensor, lam: float, distance: str) -> list[LowerLevel]:
    """One LowerLevel per task from a batch sampled with π_φ (its valid steps only)."""
    out = []
    for i in range(batch.mask.shape[0]):
        m = batch.mask[i].reshape(-1) > 0
        out.append(LowerLevel(spec, batch.obs[i].reshape(-1, spec.obs_dim)[m],
                              batch.actions[i].reshape(-1, spec.act_dim)[m], batch.log_prob[i].reshape(-1)[m],
                              q[i].reshape(-1)[m], lam, distance))
    return out


def hypergradient(lower: LowerLevel, phi: torch.Tensor, theta: torch.Tensor, g: torch.Tensor,
                  cg_iters: int = 10, damping: float = 0.0, residual_tol: float = 1e-10) -> torch.Tensor:
    """∇φJ ≈ −Bᵀ H⁻¹ g (Eq. 8) with H⁻¹ g by conjugate gradient → [P]."""
    x = kernels.conjugate_gradient(lambda v: lower.hessian_vector(phi, theta, v), g, cg_iters, residual_tol, damping)
    return -lower.mixed_vjp(phi, theta, x)


def q_estimates(batch, discount: float, kind: str) -> torch.Tensor:
    """Monte-Carlo Q [T, B, H] (the paper: the discounted return-to-go), or with kind="advantage" the
    same minus the per-task linear feature baseline (an option the paper does not mention; useful
    when rewards are negative, where mean ratio·Q then only pushes every ratio down)."""
    q = kernels.discounted_returns(batch.rewards, batch.mask, discount)
    if kind == "advantage":
        q = (q - kernels.linear_feature_baseline(batch.obs, q, batch.mask)) * batch.mask
    return q

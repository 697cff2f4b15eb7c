"""Pure-torch reference of the advantage kernels (see metarl_fast.kernels.advantages for the
argument documentation). Inputs are assumed validated. Returns, GAE and the normalisation are
plain torch arithmetic, differentiable when an input requires grad; the baseline fits are constants
of the data (the kernels refuse inputs that require grad there).

Trajectory tensors are [T, B, H] (task groups, trajectories, horizon) with a 0/1 mask whose valid
steps form a prefix of each trajectory. Outputs are zero on masked steps.
"""
from __future__ import annotations

import torch


def _discounts(gamma: float, horizon: int, like: torch.Tensor) -> torch.Tensor:
    return gamma ** torch.arange(horizon, dtype=like.dtype, device=like.device)


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float,
                       from_start: bool = False) -> torch.Tensor:
    """R_t = Σ_{t'≥t} γ^{t'−t} r_t' over valid steps → [T, B, H]; from_start: γ^t R_t."""
    r = (rewards * mask).to(torch.float64)
    out = torch.zeros_like(r)
    acc = torch.zeros_like(r[..., 0])
    for h in range(r.shape[-1] - 1, -1, -1):
        acc = mask[..., h].to(torch.float64) * (r[..., h] + gamma * acc)
        out[..., h] = acc
    if from_start:
        out = out * _discounts(gamma, r.shape[-1], out)
    return out.to(rewards.dtype)


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """GAE(γ, λ) with V = 0 after the last valid step (no bootstrap) → [T, B, H]."""
    m = mask.to(torch.float64)
    v = values.to(torch.float64) * m
    next_v = torch.cat([v[..., 1:], torch.zeros_like(v[..., :1])], dim=-1)
    delta = (rewards.to(torch.float64) + gamma * next_v - v) * m
    out = torch.zeros_like(delta)
    acc = torch.zeros_like(delta[..., 0])
    for h in range(delta.shape[-1] - 1, -1, -1):
        acc = m[..., h] * (delta[..., h] + gamma * lam * acc)
        out[..., h] = acc
    return out.to(rewards.dtype)


def normalize_per_task(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x − mean) / (std + eps) over each group's valid entries (population std) → x's shape."""
    T = x.shape[0]
    xf = x.reshape(T, -1).to(torch.float64)
    m = mask.reshape(T, -1).to(torch.float64)
    count = m.sum(-1, keepdim=True)
    mean = (m * xf).sum(-1, keepdim=True) / count.clamp_min(1)
    std = torch.sqrt((m * (xf - mean) ** 2).sum(-1, keepdim=True) / count.clamp_min(1))
    return (m * (xf - mean) / (std + eps)).reshape(x.shape).to(x.dtype)


def baseline_features(obs: torch.Tensor | None, horizon: int, device: torch.device | None = None) -> torch.Tensor:
    """[clip(o,±10), clip(o,±10)², t/100, (t/100)², (t/100)³, 1] → [T, B, H, 2·obs_dim + 4] (float64).

    obs [T, B, H, obs_dim], or None for the time-only features (then [1, 1, H, 4], on `device`).
    """
    if obs is None:
        t = torch.arange(horizon, dtype=torch.float64, device=device).reshape(1, 1, horizon, 1) / 100.0
        return torch.cat([t, t**2, t**3, torch.ones_like(t)], dim=-1)
    o = obs.to(torch.float64).clamp(-10, 10)
    t = (torch.arange(horizon, dtype=torch.float64, device=obs.device) / 100.0).reshape(1, 1, horizon, 1)
    t = t.expand(*o.shape[:-1], 1)
    return torch.cat([o, o**2, t, t**2, t**3, torch.ones_like(t)], dim=-1)


def _ridge_fit(features: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group ridge coefficients [T, K] (float64) and the ridge used [T] (NaN where every try failed)."""
    T = targets.shape[0]
    K = features.shape[-1]
    F = features.expand(*targets.shape, K).reshape(T, -1, K) * mask.reshape(T, -1, 1).to(torch.float64)
    y = targets.reshape(T, -1).to(torch.float64)
    gram = F.transpose(1, 2) @ F
    rhs = (F.transpose(1, 2) @ y.unsqueeze(-1)).squeeze(-1)
    coeffs = torch.zeros(T, K, dtype=torch.float64, device=targets.device)
    ridge_used = torch.full((T,), float("nan"), dtype=torch.float64, device=targets.device)
    eye = torch.eye(K, dtype=torch.float64, device=targets.device)
    for t in range(T):
        ridge = 1e-5
        for _ in range(5):
            chol, info = torch.linalg.cholesky_ex(gram[t] + ridge * eye)
            if int(info) == 0:
                c = torch.cholesky_solve(rhs[t].unsqueeze(-1), chol).squeeze(-1)
                if bool(torch.isfinite(c).all()):
                    coeffs[t] = c
                    ridge_used[t] = ridge
                    break
            ridge *= 10.0
    return coeffs, ridge_used


@torch.no_grad()
def linear_feature_baseline(obs: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-group ridge fit of returns on baseline_features(obs) → fitted values [T, B, H]."""
    features = baseline_features(obs, returns.shape[-1])
    coeffs, _ = _ridge_fit(features, returns, mask)
    values = (features * coeffs[:, None, None, :]).sum(-1) * mask.to(torch.float64)
    return values.to(returns.dtype)


@torch.no_grad()
def linear_time_baseline(targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-group ridge fit of targets on [t/100, (t/100)², (t/100)³, 1] → values [T, H] (time only)."""
    H = targets.shape[-1]
    features = baseline_features(None, H, targets.device)
    coeffs, _ = _ridge_fit(features, targets, mask)
    return (features[0, 0] @ coeffs.T).T.to(targets.dtype)

"""Independent float64 ground truth for the policy kernels.

Written without metarl_fast.policies or metarl_fast.reference: its own MLP evaluation from the
documented flat layout, and torch.func per-sample derivatives (jacrev / forward-over-reverse /
full Hessians), a different method from both backends under test.
"""
from __future__ import annotations

import math

import torch
from torch.func import grad, hessian, jacrev, jvp, vmap


def split(spec, theta):
    """theta [P] → list of (W [out, in], b [out]) and log_std [act_dim], from the documented layout."""
    sizes = (spec.obs_dim, *spec.hidden, spec.act_dim)
    layers, off = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = theta[off : off + fan_out * fan_in].reshape(fan_out, fan_in)
        off += fan_out * fan_in
        b = theta[off : off + fan_out]
        off += fan_out
        layers.append((W, b))
    log_std = theta[off : off + spec.act_dim]
    assert off + spec.act_dim == theta.shape[0]
    return layers, log_std


def mean_one(spec, theta, s):
    """μ_θ(s) for one observation s [obs_dim]."""
    layers, _ = split(spec, theta)
    h = s
    for i, (W, b) in enumerate(layers):
        h = W @ h + b
        if i < len(layers) - 1:
            h = torch.tanh(h) if spec.activation == "tanh" else torch.clamp(h, min=0)
    return h


def logp_one(spec, theta, s, a):
    _, log_std = split(spec, theta)
    mu = mean_one(spec, theta, s)
    z = (a - mu) / torch.exp(log_std)
    return -0.5 * (z**2).sum() - log_std.sum() - 0.5 * spec.act_dim * math.log(2 * math.pi)


def kl_one(spec, theta, s, old_mu, old_log_std):
    _, log_std = split(spec, theta)
    mu = mean_one(spec, theta, s)
    return (log_std - old_log_std
            + (torch.exp(2 * old_log_std) + (old_mu - mu) ** 2) / (2 * torch.exp(2 * log_std)) - 0.5).sum()


def rows(x, T):
    """[P] → [T, P] (shared) or identity for [T, P]."""
    return x.expand(T, -1) if x.dim() == 1 else x


class Truth:
    """Ground truth for one task group t (all float64)."""

    def __init__(self, spec, params, obs, act=None):
        self.spec = spec
        self.T = obs.shape[0]
        self.params = rows(params.double(), self.T)
        self.obs = obs.double()
        self.act = None if act is None else act.double()

    def mean(self, t):
        return vmap(lambda s: mean_one(self.spec, self.params[t], s))(self.obs[t])

    def logp(self, t):
        return vmap(lambda s, a: logp_one(self.spec, self.params[t], s, a))(self.obs[t], self.act[t])

    def jac(self, t):
        """[N, P] per-sample score ∇θ log π_n."""
        f = lambda th, s, a: logp_one(self.spec, th, s, a)  # noqa: E731
        return vmap(jacrev(f), in_dims=(None, 0, 0))(self.params[t], self.obs[t], self.act[t])

    def hvp_naive(self, t, w, v):
        """Σ_n w_n ∇²log π_n v by forward-over-reverse on Σ_n w_n log π_n."""
        f = lambda th: (vmap(lambda s, a: logp_one(self.spec, th, s, a))(self.obs[t], self.act[t]) * w).sum()  # noqa: E731
        return jvp(grad(f), (self.params[t],), (v,))[1]

    def hessians(self, t):
        """[N, P, P] per-sample ∇²log π_n (small nets only)."""
        f = lambda th, s, a: logp_one(self.spec, th, s, a)  # noqa: E731
        return vmap(hessian(f), in_dims=(None, 0, 0))(self.params[t], self.obs[t], self.act[t])

    def kl(self, t, old_mean, old_log_std):
        f = lambda th: vmap(lambda s, m: kl_one(self.spec, th, s, m, old_log_std))(self.obs[t], old_mean).mean()  # noqa: E731
        return f

    def fvp(self, t, v):
        """Hessian of mean_n KL(π_θ_old ‖ π_θ) at θ = θ_old, times v."""
        theta = self.params[t]
        old_mean = self.mean(t).detach()
        _, old_log_std = split(self.spec, theta)
        f = self.kl(t, old_mean, old_log_std.detach())
        return jvp(grad(f), (theta,), (v,))[1]


def rel_err(actual, expected):
    """Norm-wise relative error ‖actual − expected‖ / max(‖expected‖, tiny)."""
    actual, expected = actual.double(), expected.double()
    denom = max(expected.norm().item(), 1e-30)
    return (actual - expected).norm().item() / denom

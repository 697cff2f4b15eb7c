"""Estimator expectations on an exactly enumerable MDP (ProMP §4, the estimators' expectations; docs/estimators.md).

A tabular 2-state / 2-action MDP with horizon 3 and a softmax policy: all 64 trajectories are
enumerated, and each estimator's expectation Σ_τ p(τ) est(τ) is formed by scaling trajectory τ's
rewards by p(τ) (the estimators are linear in the rewards). The estimators are the torch twins in
metarl_fast.reference, the same code the Gaussian kernels are tested against, here parameterised by
a TabularSoftmaxPolicy. Ground truth (J, its Hessian, H₁, H₂) comes from closed-form trajectory
probabilities and torch.autograd.functional in float64.
"""
import itertools

import pytest
import torch

from metarl_fast import TabularSoftmaxPolicy, reference

S, A, H, GAMMA = 2, 2, 3, 0.9
DT = torch.float64


def make_mdp(seed):
    g = torch.Generator().manual_seed(seed)
    P = torch.rand(S, A, S, generator=g, dtype=DT)
    P = P / P.sum(-1, keepdim=True)
    r = torch.randn(S, A, generator=g, dtype=DT)
    mu = torch.tensor([0.6, 0.4], dtype=DT)
    theta = torch.randn(S * A, generator=g, dtype=DT)
    return P, r, mu, theta


def trajectories():
    """Every (s0, a0, s1, a1, s2, a2)."""
    return list(itertools.product(range(S), range(A), range(S), range(A), range(S), range(A)))


def traj_prob(theta, P, mu, tau):
    pi = torch.softmax(theta.reshape(S, A), -1)
    s = tau[0::2]
    a = tau[1::2]
    p = mu[s[0]]
    for t in range(H):
        p = p * pi[s[t], a[t]]
        if t + 1 < H:
            p = p * P[s[t], a[t], s[t + 1]]
    return p


def exact_objective(theta, P, r, mu):
    """J(θ) = Σ_τ p_θ(τ) Σ_t γ^t r(s_t, a_t)."""
    total = torch.zeros((), dtype=DT)
    for tau in trajectories():
        ret = sum(GAMMA**t * r[tau[2 * t], tau[2 * t + 1]] for t in range(H))
        total = total + traj_prob(theta, P, mu, tau) * ret
    return total


def batch(theta, P, r, mu):
    """One task group per trajectory (T = 64, B = 1): one-hot obs/act, p(τ)-scaled rewards, p(τ)."""
    taus = trajectories()
    T = len(taus)
    obs = torch.zeros(T, 1, H, S, dtype=DT)
    act = torch.zeros(T, 1, H, A, dtype=DT)
    rew = torch.zeros(T, 1, H, dtype=DT)
    prob = torch.stack([traj_prob(theta, P, mu, tau) for tau in taus])
    for i, tau in enumerate(taus):
        for t in range(H):
            obs[i, 0, t, tau[2 * t]] = 1
            act[i, 0, t, tau[2 * t + 1]] = 1
            rew[i, 0, t] = r[tau[2 * t], tau[2 * t + 1]]
    return obs, act, rew, prob


def exact_h1_h2(theta, P, r, mu):
    """H₁ = E[Σ_t g_t g_tᵀ R_t], H₂ = E[Σ_t ∇²log π_t R_t], R_t = Σ_{t'≥t} γ^{t'} r_t' (closed-form log π)."""
    H1 = torch.zeros(S * A, S * A, dtype=DT)
    H2 = torch.zeros_like(H1)
    for tau in trajectories():
        p = traj_prob(theta, P, mu, tau)
        for t in range(H):
            s, a = tau[2 * t], tau[2 * t + 1]
            logpi = lambda th: torch.log_softmax(th.reshape(S, A)[s], -1)[a]  # noqa: E731
            g = torch.autograd.functional.jacobian(logpi, theta)
            h = torch.autograd.functional.hessian(logpi, theta)
            R = sum(GAMMA**k * r[tau[2 * k], tau[2 * k + 1]] for k in range(t, H))
            H1 += p * R * torch.outer(g, g)
            H2 += p * R * h
    return H1, H2


def full_matrix(hvp):
    """Stacks hvp(e_k) (each summed over the task groups) into a P×P matrix."""
    cols = [hvp(torch.eye(S * A, dtype=DT)[k]).sum(0) for k in range(S * A)]
    return torch.stack(cols, dim=1)


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module", params=[0, 1, 2])
def mdp(request):
    P, r, mu, theta = make_mdp(request.param)
    exact_H = torch.autograd.functional.hessian(lambda th: exact_objective(th, P, r, mu), theta)
    exact_g = torch.autograd.functional.jacobian(lambda th: exact_objective(th, P, r, mu), theta)
    H1, H2 = exact_h1_h2(theta, P, r, mu)
    obs, act, rew, prob = batch(theta, P, r, mu)
    return dict(theta=theta, H=exact_H, g=exact_g, H1=H1, H2=H2, obs=obs, act=act, rew=rew, prob=prob)


POLICY = TabularSoftmaxPolicy(S, A)


def weighted(m):
    """Per-trajectory rewards scaled by p(τ): estimator sums over groups become expectations."""
    return m["rew"] * m["prob"].reshape(-1, 1, 1)


def test_dice_hessian_is_exact_in_expectation(mdp):
    mask = torch.ones_like(mdp["rew"])
    est = full_matrix(lambda v: reference.dice_hvp(POLICY, mdp["theta"], mdp["obs"], mdp["act"], weighted(mdp),
                                                   mask, v, GAMMA))
    assert rel(est, mdp["H"]) < 1e-10


def test_dice_with_time_only_baseline_stays_exact(mdp):
    mask = torch.ones_like(mdp["rew"])
    b = torch.tensor([0.7, -1.3, 2.1], dtype=DT)
    baseline = mdp["prob"].reshape(-1, 1) * b  # row τ: p(τ)·b_t, so c_t = p(τ)(γ^t r_t − b_t)
    est = full_matrix(lambda v: reference.dice_hvp(POLICY, mdp["theta"], mdp["obs"], mdp["act"], weighted(mdp),
                                                   mask, v, GAMMA, baseline))
    assert rel(est, mdp["H"]) < 1e-10
    grad = reference.dice_grad(POLICY, mdp["theta"], mdp["obs"], mdp["act"], weighted(mdp), mask, GAMMA,
                               baseline).sum(0)
    assert rel(grad, mdp["g"]) < 1e-10


def _from_start_returns(m):
    mask = torch.ones_like(m["rew"])
    return reference.discounted_returns(weighted(m), mask, GAMMA, from_start=True).reshape(len(m["prob"]), H)


def test_lvc_hessian_is_h1_plus_h2_and_misses_h12(mdp):
    R = _from_start_returns(mdp)
    obs, act = mdp["obs"].reshape(-1, H, S), mdp["act"].reshape(-1, H, A)
    est = full_matrix(lambda v: reference.surrogate_hvp(POLICY, mdp["theta"], obs, act, R, v, "lvc"))
    assert rel(est, mdp["H1"] + mdp["H2"]) < 1e-10
    assert rel(est, mdp["H"]) > 0.05  # the LVC bias H₁₂ + H₁₂ᵀ is far from negligible at a random θ


def test_naive_hessian_is_h2(mdp):
    R = _from_start_returns(mdp)
    obs, act = mdp["obs"].reshape(-1, H, S), mdp["act"].reshape(-1, H, A)
    est = full_matrix(lambda v: reference.surrogate_hvp(POLICY, mdp["theta"], obs, act, R, v, "naive"))
    assert rel(est, mdp["H2"]) < 1e-10
    assert rel(est, mdp["H"]) > 0.05


def test_lr_derivatives_equal_lvc_at_sampling_policy(mdp):
    R = _from_start_returns(mdp)
    obs, act = mdp["obs"].reshape(-1, H, S), mdp["act"].reshape(-1, H, A)
    old = reference.log_prob(POLICY, mdp["theta"], obs, act)
    lvc_H = full_matrix(lambda v: reference.surrogate_hvp(POLICY, mdp["theta"], obs, act, R, v, "lvc"))
    lr_H = full_matrix(lambda v: reference.lr_hvp(POLICY, mdp["theta"], obs, act, old, R, v))
    assert rel(lr_H, lvc_H) < 1e-12
    lr_g = reference.lr_grad(POLICY, mdp["theta"], obs, act, old, R).sum(0)
    assert rel(lr_g, mdp["g"]) < 1e-10  # and all of them are the exact policy gradient in expectation
    dice_g = reference.dice_grad(POLICY, mdp["theta"], mdp["obs"], mdp["act"], weighted(mdp),
                                 torch.ones_like(mdp["rew"]), GAMMA).sum(0)
    naive_g = reference.score_vjp(POLICY, mdp["theta"], obs, act, R).sum(0)
    assert rel(dice_g, lr_g) < 1e-12 and rel(naive_g, lr_g) < 1e-12

"""Estimator bias where it is known exactly: a small tabular MDP whose trajectories can all be
enumerated (ProMP §4; the MDP of python_tests/test_estimator_enumeration.py), for
``metarl-fast diagnose --exact-mdp``.

With one inner step θ' = θ + α ∇J(θ), the exact meta-gradient is ∇θ J(θ') = (I + α ∇²J(θ)) ∇J(θ').
An estimator replaces ∇²J(θ) by its curvature estimate Ĥ (and ∇J(θ') by an unbiased sample), so
its expectation is (I + α E[Ĥ]) ∇J(θ') with E[Ĥ] in closed form (ProMP §4): DiCE's is ∇²J = H₁ +
H₂ + H₁₂ + H₁₂ᵀ (unbiased), LVC's and J^LR's are H₁ + H₂ (they miss H₁₂ + H₁₂ᵀ), the naive
score-function surrogate's is H₂. Here every expectation is formed exactly, by weighting each of the
(S·A)^H trajectories by its probability (the estimators are linear in the rewards). A sampled
estimate draws its curvature Ĥ from trajectories sampled from the MDP and uses the exact ∇J(θ')
(an unbiased sample of it would add noise, not bias, and the bias is what is measured). The
estimators are the pure-torch twins of the kernels (metarl_fast.reference) on a tabular softmax
policy.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from ... import reference
from ...policies import TabularSoftmaxPolicy

DT = torch.float64
EXACT_ESTIMATORS = ("naive", "lvc", "lr", "dice")


@dataclass
class EnumerableMDP:
    """S states, A actions, horizon H, discount γ; P [S, A, S], r [S, A], μ [S] (float64), and the
    policy parameters θ [S·A] at which the estimators are compared."""

    P: torch.Tensor
    r: torch.Tensor
    mu: torch.Tensor
    theta: torch.Tensor
    horizon: int = 3
    gamma: float = 0.9

    @classmethod
    def random(cls, seed: int = 0, num_states: int = 2, num_actions: int = 2, horizon: int = 3,
               gamma: float = 0.9) -> "EnumerableMDP":
        """A random MDP (transition rows, rewards ~ N(0, 1), a random θ) from `seed`."""
        g = torch.Generator().manual_seed(seed)
        P = torch.rand(num_states, num_actions, num_states, generator=g, dtype=DT)
        mu = torch.rand(num_states, generator=g, dtype=DT) + 0.5
        return cls(P / P.sum(-1, keepdim=True), torch.randn(num_states, num_actions, generator=g, dtype=DT),
                   mu / mu.sum(), torch.randn(num_states * num_actions, generator=g, dtype=DT), horizon, gamma)

    @property
    def policy(self) -> TabularSoftmaxPolicy:
        return TabularSoftmaxPolicy(self.P.shape[0], self.P.shape[1])

    def trajectories(self) -> list[tuple[int, ...]]:
        """Every (s0, a0, ..., s_{H−1}, a_{H−1})."""
        S, A = self.P.shape[:2]
        return list(itertools.product(*([range(S), range(A)] * self.horizon)))

    def probabilities(self, theta: torch.Tensor, taus) -> torch.Tensor:
        """p_θ(τ) for each trajectory → [N] (differentiable in θ)."""
        S, A = self.P.shape[:2]
        pi = torch.softmax(theta.reshape(S, A), -1)
        out = []
        for tau in taus:
            p = self.mu[tau[0]]
            for t in range(self.horizon):
                s, a = tau[2 * t], tau[2 * t + 1]
                p = p * pi[s, a]
                if t + 1 < self.horizon:
                    p = p * self.P[s, a, tau[2 * t + 2]]
            out.append(p)
        return torch.stack(out)

    def objective(self, theta: torch.Tensor) -> torch.Tensor:
        """J(θ) = Σ_τ p_θ(τ) Σ_t γ^t r(s_t, a_t) (exact, differentiable)."""
        taus = self.trajectories()
        _, _, rew = self.one_hot(taus)
        disc = self.gamma ** torch.arange(self.horizon, dtype=DT)
        return (self.probabilities(theta, taus) * (rew * disc).sum(-1)).sum()

    def one_hot(self, taus) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """obs [N, H, S], act [N, H, A] one-hot and rewards [N, H] of trajectories."""
        S, A = self.P.shape[:2]
        idx = torch.tensor(taus, dtype=torch.long).reshape(len(taus), self.horizon, 2)
        obs = torch.nn.functional.one_hot(idx[..., 0], S).to(DT)
        act = torch.nn.functional.one_hot(idx[..., 1], A).to(DT)
        return obs, act, self.r[idx[..., 0], idx[..., 1]]

    def sample(self, theta: torch.Tensor, n: int, generator: torch.Generator) -> list[tuple[int, ...]]:
        """n trajectories drawn from p_θ."""
        S, A = self.P.shape[:2]
        pi = torch.softmax(theta.reshape(S, A), -1)
        s = torch.multinomial(self.mu, n, replacement=True, generator=generator)
        cols = []
        for t in range(self.horizon):
            a = torch.multinomial(pi[s], 1, generator=generator).squeeze(1)
            cols += [s, a]
            if t + 1 < self.horizon:
                s = torch.multinomial(self.P[s, a], 1, generator=generator).squeeze(1)
        return [tuple(int(x) for x in row) for row in torch.stack(cols, 1)]


def curvature(mdp: EnumerableMDP, estimator: str, taus, weights: torch.Tensor) -> torch.Tensor:
    """The estimator's curvature estimate Ĥ [P, P] from trajectories `taus` weighted by `weights`
    [N] (p(τ) for the expectation, 1/N for a sample mean)."""
    obs, act, rew = mdp.one_hot(taus)
    theta, policy, N, H, P = mdp.theta, mdp.policy, len(taus), mdp.horizon, mdp.theta.numel()
    w_rew = rew * weights.reshape(-1, 1)
    mask = torch.ones_like(rew)
    if estimator == "dice":
        def hvp(v):
            return reference.dice_hvp(policy, theta, obs.unsqueeze(1), act.unsqueeze(1), w_rew.unsqueeze(1),
                                      mask.unsqueeze(1), v, mdp.gamma).sum(0)
    else:
        R = reference.discounted_returns(w_rew.unsqueeze(1), mask.unsqueeze(1), mdp.gamma,
                                         from_start=True).reshape(N, H)
        obs_f, act_f = obs.reshape(1, N * H, -1), act.reshape(1, N * H, -1)
        R_f = R.reshape(1, N * H)
        if estimator == "lr":
            old = reference.log_prob(policy, theta, obs_f, act_f)

            def hvp(v):
                return reference.lr_hvp(policy, theta, obs_f, act_f, old, R_f, v).sum(0)
        elif estimator in ("lvc", "naive"):
            def hvp(v):
                return reference.surrogate_hvp(policy, theta, obs_f, act_f, R_f, v, estimator).sum(0)
        else:
            raise ValueError(f"unknown estimator {estimator!r} for the exact MDP; valid: {', '.join(EXACT_ESTIMATORS)}")
    return torch.stack([hvp(torch.eye(P, dtype=DT)[k]) for k in range(P)], dim=1)


@dataclass
class ExactBias:
    """One estimator on the exact MDP: rel_error_hessian = ‖E[Ĥ] − ∇²J‖/‖∇²J‖; rel_error and cosine
    of its expected meta-gradient against the exact one; sampled_rel_error: of the mean of
    `resamples` sampled meta-gradients (each from `trajs` trajectories) against its expectation
    (→ 0 as samples grow), and rel_std_norm of those samples."""

    estimator: str
    rel_error_hessian: float
    rel_error: float
    cosine: float
    sampled_rel_error: float
    rel_std_norm: float
    resamples: int
    trajs: int


def exact_bias(mdp: EnumerableMDP, estimators=EXACT_ESTIMATORS, alpha: float = 0.5, resamples: int = 200,
               trajs: int = 200, seed: int = 0) -> tuple[list[ExactBias], np.ndarray]:
    """Each estimator's bias on `mdp` (module docstring) and the exact meta-gradient [P]."""
    from .diagnostics import cosine, relative_std

    theta = mdp.theta
    hess = torch.autograd.functional.hessian(mdp.objective, theta)
    grad = torch.autograd.functional.jacobian(mdp.objective, theta)
    post_grad = torch.autograd.functional.jacobian(mdp.objective, theta + alpha * grad)
    exact = (torch.eye(theta.numel(), dtype=DT) + alpha * hess) @ post_grad
    taus = mdp.trajectories()
    prob = mdp.probabilities(theta, taus).detach()
    rows = []
    for e in estimators:
        expected_h = curvature(mdp, e, taus, prob)
        expected = (torch.eye(theta.numel(), dtype=DT) + alpha * expected_h) @ post_grad
        g = torch.Generator().manual_seed(seed)
        samples = []
        for _ in range(resamples):
            drawn = mdp.sample(theta, trajs, g)
            h = curvature(mdp, e, drawn, torch.full((trajs,), 1.0 / trajs, dtype=DT))
            samples.append(((torch.eye(theta.numel(), dtype=DT) + alpha * h) @ post_grad).numpy())
        samples = np.stack(samples)
        rows.append(ExactBias(e, float((expected_h - hess).norm() / hess.norm()),
                              float((expected - exact).norm() / exact.norm()), cosine(expected.numpy(), exact.numpy()),
                              float(np.linalg.norm(samples.mean(0) - expected.numpy()) / np.linalg.norm(expected)),
                              relative_std(samples)[2], resamples, trajs))
    return rows, exact.numpy()


def describe(mdp: EnumerableMDP, seed: int, alpha: float = 0.5) -> str:
    """The MDP in words: "seed 0: 2 states, 2 actions, horizon 3, γ = 0.9, α = 0.5"."""
    S, A = mdp.P.shape[:2]
    return f"seed {seed}: {S} states, {A} actions, horizon {mdp.horizon}, γ = {mdp.gamma:g}, α = {alpha:g}"


def plot_exact(rows: list[ExactBias], path: str, title: str) -> bool:
    """Bars per estimator, titled: the bias of its expected meta-gradient (relative to the exact one)
    and the relative std ‖std‖/‖mean‖ of one sampled estimate, both on log axes; False without
    matplotlib."""
    from .diagnostics import _pyplot, save_figure

    plt = _pyplot()
    if plt is None:
        return False
    names = [r.estimator for r in rows]
    panels = (("rel_error", "bias of the expected meta-gradient: ‖E[ĝ] − g‖ / ‖g‖\n"
               "(g the exact meta-gradient; E[ĝ] formed exactly, no sampling)",
               "relative error (dimensionless, log scale)"),
              ("rel_std_norm", f"relative std of one estimate ({rows[0].trajs} trajectories)\n‖std‖/‖mean‖ "
               f"over {rows[0].resamples} sampled estimates", "‖std‖/‖mean‖ (dimensionless, log scale)"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    floor = 1e-17  # a bias of exactly 0 drawn at the floor of the log axis (its label says 0)
    for ax, (field, heading, ylabel) in zip(axes, panels):
        values = [getattr(r, field) for r in rows]
        bars = ax.bar(names, [max(v, floor) for v in values], color=[f"C{i}" for i in range(len(names))])
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], fontsize=8)
        ax.set_yscale("log")
        top = max(max(values), floor)
        ax.set_ylim(min(max(min(values), floor), top) / 10, top * 10)
        ax.set_title(heading, fontsize=9)
        ax.set_xlabel("estimator")
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, title)
    plt.close(fig)
    return True

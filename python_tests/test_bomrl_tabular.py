"""BO-MRL, tabular: the lower levels Alg^(1..3), the Proposition-1 hypergradients against finite
differences of φ ↦ J(Alg(π_φ)) (exact DP), the App. C gradient of Q, the lemmas that make cheap
exact tests, and the paper's Frozen-Lake theory check (App. N.3; docs/bomrl.md)."""
import pytest
import torch

from metarl_fast import tabular as tb
from metarl_fast.algos.bomrl import tabular as bo

DT = torch.float64


@pytest.fixture(scope="module")
def task():
    return tb.frozen_lake_tasks(1, size=4, hole_prob=0.3, seed=1)[0]


def random_logits(seed, scale=0.5):
    return scale * torch.randn(16, 4, generator=torch.Generator().manual_seed(seed), dtype=DT)


def test_frozen_lake_tasks_and_exact_evaluation(task):
    grid = task.grid
    assert grid[0, 0] == "S" and grid[-1, -1] == "G"
    pi = tb.softmax_policy(random_logits(0))
    ev = tb.evaluate(task, pi)
    assert abs(float(ev.nu.sum()) - 1) < 1e-12
    # Bellman consistency and J = E_rho V
    P_pi = torch.einsum("sa,sat->st", pi, task.P)
    assert torch.allclose(ev.V, (pi * task.R).sum(-1) + task.gamma * P_pi @ ev.V, atol=1e-12)
    Q_star, pi_star = tb.optimal(task)
    assert float(tb.evaluate(task, pi_star).J) >= float(ev.J)
    mc = tb.monte_carlo_q(task, pi, rollouts=4000, horizon=60, seed=0)
    assert float((mc - ev.Q).abs().max()) < 0.05  # ±1 rewards, 4000 rollouts: SE ≲ 0.016


def test_grad_q_matches_autograd(task):
    phi = random_logits(1)
    jac = torch.autograd.functional.jacobian(lambda p: tb.evaluate(task, tb.softmax_policy(p)).Q, phi)
    assert torch.allclose(tb.grad_q_wrt_logits(task, tb.softmax_policy(phi)), jac, atol=1e-12)


@pytest.mark.parametrize("distance,lam", [(1, 0.5), (2, 0.5), (3, 0.5), (2, 0.25)])
def test_hypergradients_match_finite_differences(task, distance, lam):
    phi = random_logits(2)
    g = bo.hypergradient(task, phi, distance, lam)

    def F(p):
        return float(tb.evaluate(task, bo.adapt(task, p, distance, lam)).J)

    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        v = torch.randn(phi.shape, generator=gen, dtype=DT)
        h = 1e-5
        fd = (F(phi + h * v) - F(phi - h * v)) / (2 * h)
        assert abs(float((g * v).sum()) - fd) < 1e-6 * max(1.0, abs(fd)), (float((g * v).sum()), fd)
    g_nodq = bo.hypergradient(task, phi, distance, lam, with_dq=False)
    assert float((g - g_nodq).abs().max()) > 1e-5  # the data's dependence on φ matters


def test_lower_levels_solve_their_problems(task):
    phi = random_logits(4)
    pi_phi = tb.softmax_policy(phi)
    ev = tb.evaluate(task, pi_phi)
    lam = 3.0
    A = ev.A
    pi1 = bo.alg1(pi_phi, A, lam)
    assert torch.allclose(pi1.sum(-1), torch.ones(16, dtype=DT), atol=1e-12)
    # KKT of max Σ π A − λ KL(π_φ ‖ π) on the simplex: A + λ π_φ/π = μ(s) for every action
    k = lam * pi_phi / pi1 + A
    assert torch.allclose(k, k[:, :1].expand_as(k), atol=1e-9)
    # Lemma 5's ratio bounds, in the form the KKT condition proves: π'/π_φ = λ/(λ + Σπ'A − A(a)), so
    # with the per-state advantage range Δ(s) = max A − min A (≤ 2 max|A|),
    # λ/(λ + Δ) ≤ π'/π_φ ≤ λ/(λ − Δ). (A version with max|A| in place of Δ can fail:
    # this very task gives a ratio 0.763 < 3/(3 + max|A|) = 0.780.)
    spread = (A.max(-1).values - A.min(-1).values).unsqueeze(-1)
    ratio = pi1 / pi_phi
    assert bool((ratio >= lam / (lam + spread) - 1e-12).all()) and bool((ratio <= lam / (lam - spread) + 1e-12).all())
    # Alg^(2): stationary point of Σ π Q − λ KL(π ‖ π_φ) on the simplex
    pi2 = bo.alg2(pi_phi, ev.Q, lam)
    k2 = ev.Q - lam * (torch.log(pi2) - torch.log(pi_phi))
    assert torch.allclose(k2, k2[:, :1].expand_as(k2), atol=1e-10)
    # Alg^(3): the gradient of its objective vanishes at θ'
    theta = bo.alg3(phi, ev.Q, ev.nu, 0.5).requires_grad_(True)
    (grad,) = torch.autograd.grad(bo.alg3_objective(theta, phi, ev.Q, ev.nu, 0.5), theta)
    assert float(grad.abs().max()) < 1e-8


@pytest.mark.parametrize("distance", [1, 2])
def test_monotone_improvement_under_lemma_1(distance):
    """With λ ≥ 2γA_max/((1−γ)ε), one-time adaptation never decreases J (minorisation-maximisation)."""
    for seed, m in enumerate(tb.frozen_lake_tasks(4, size=4, hole_prob=0.2, seed=5)):
        phi = random_logits(10 + seed, scale=1.0)
        ev = tb.evaluate(m, tb.softmax_policy(phi))
        eps = float(ev.nu[~m.terminal].min())
        lam = 2 * m.gamma * float(ev.A.abs().max()) / ((1 - m.gamma) * eps)
        j_new = float(tb.evaluate(m, bo.adapt(m, phi, distance, lam)).J)
        assert j_new >= float(ev.J) - 1e-12


@pytest.mark.parametrize("hole_prob,lam", [(0.3, 0.5), (0.1, 0.25)])
def test_frozen_lake_theory_check(hole_prob, lam):
    """After meta-training, the expected optimality gap of one-time Alg^(2) is below the paper's
    bound and below the no-adaptation gap (both task-variance settings, 20 tasks, γ = 0.8)."""
    tasks = tb.frozen_lake_tasks(20, size=4, hole_prob=hole_prob, seed=0)
    r = bo.theory_check(tasks, distance=2, lam=lam, iterations=30)
    assert r["history"][-1] > r["history"][0]  # meta-training improves the meta-objective
    assert r["gap_alg"] <= r["bound"]
    assert r["gap_alg"] < r["gap_none"]
    curve = bo.adaptation_curve(tasks, r["phi"], 2, lam, steps=3)
    assert curve[1] > curve[0]

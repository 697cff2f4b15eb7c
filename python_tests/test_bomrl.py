"""BO-MRL with function approximation: the lower level and the Eq. 8 hypergradient. The CG
hypergradient equals the dense solve (explicit Hessian and mixed Jacobian by autograd) on a tiny
Gaussian policy in float64, for the three distances."""
import pytest
import torch

import metarl_fast
from metarl_fast import reference as R
from types import SimpleNamespace

from metarl_fast.algos.bomrl.lower_level import LowerLevel, h_clip, hypergradient, post_update_gradients

DT = torch.float64


def problem(distance, seed=0, hidden=()):
    spec = metarl_fast.PolicySpec(2, 1, hidden)
    g = torch.Generator().manual_seed(seed)
    phi = spec.init_params(seed=g, dtype=DT) + 0.1 * torch.randn(spec.num_params, generator=g, dtype=DT)
    obs = torch.randn(40, 2, generator=g, dtype=DT)
    mean = R.policy_mean(spec, phi, obs.unsqueeze(0))[0]
    act = mean + torch.randn(40, 1, generator=g, dtype=DT) * torch.exp(spec.unflatten(phi)["log_std"])
    lp = R.log_prob(spec, phi, obs.unsqueeze(0), act.unsqueeze(0))[0]
    q = torch.randn(40, generator=g, dtype=DT)
    lower = LowerLevel(spec, obs, act, lp, q, lam=2.0, distance=distance)
    return spec, lower, phi


def test_h_clip():
    x = torch.tensor([1.0, -5.0, 50.0], dtype=DT, requires_grad=True)
    y = h_clip(x)
    yd = y.detach()
    assert abs(float(yd[0]) - 1) < 1e-15 and 0 < float(yd[1]) < 2 and 0 < float(yd[2]) <= 2
    (g,) = torch.autograd.grad(y[0], x)
    assert abs(float(g[0]) - 1) < 1e-15


@pytest.mark.parametrize("distance", ["kl_phi_pi", "kl_pi_phi", "l2"])
@pytest.mark.parametrize("hidden,damping", [((), 0.0), ((3,), 0.1)])
def test_cg_hypergradient_equals_dense_solve(distance, hidden, damping):
    """A linear policy gives a positive-definite lower-level Hessian; with a hidden layer (whose
    weights the KL does not pin down) the solve is damped, H + δI, in both the dense and CG forms."""
    spec, lower, phi = problem(distance, hidden=hidden)
    theta = lower.solve(phi, iterations=200, lr=1e-2)
    assert float(lower.objective(phi, theta)) > float(lower.objective(phi, phi))  # the lower level improves
    gen = torch.Generator().manual_seed(1)
    post = SimpleNamespace(obs=torch.randn(1, 3, 10, 2, generator=gen, dtype=DT),
                           actions=torch.randn(1, 3, 10, 1, generator=gen, dtype=DT),
                           mask=torch.ones(1, 3, 10, dtype=DT))
    g = post_update_gradients(spec, theta.unsqueeze(0), post, torch.randn(1, 3, 10, generator=gen, dtype=DT), 0.99)[0]
    P = spec.num_params
    # dense: H by autograd, B by autograd, a direct solve
    H = torch.autograd.functional.hessian(lambda th: -lower.objective(phi, th, clipped=False) / lower.lam, theta)
    B = torch.autograd.functional.jacobian(
        lambda ph: torch.autograd.functional.jacobian(lambda th: lower.distance_sq(ph, th), theta, create_graph=True),
        phi)  # B[i, j] = ∂²D²/∂θ_i ∂φ_j
    H = H + damping * torch.eye(P, dtype=DT)
    assert float(torch.linalg.eigvalsh(H).min()) > 0, "the (damped) lower-level Hessian must be positive definite"
    dense = -B.T @ torch.linalg.solve(H, g)
    cg = hypergradient(lower, phi, theta, g, cg_iters=4 * P, damping=damping, residual_tol=1e-28)
    assert torch.allclose(cg, dense, rtol=1e-7, atol=1e-10), (cg - dense).abs().max()


@pytest.mark.parametrize("distance", ["kl_phi_pi", "kl_pi_phi", "l2"])
def test_compiled_hessian_vector_equals_double_backward(distance):
    spec, lower, phi = problem(distance, hidden=(4,))
    theta = lower.solve(phi, iterations=30)
    v = torch.randn(spec.num_params, generator=torch.Generator().manual_seed(2), dtype=DT)
    assert torch.allclose(lower.hessian_vector(phi, theta, v), lower.hessian_vector(phi, theta, v, compiled=False),
                          rtol=1e-10, atol=1e-12)


def test_post_update_gradients_match_per_task_autograd():
    """The batched compiled g_i equals (1/(1−γ)) mean over each task's valid steps of ∇log π·Q."""
    spec = metarl_fast.PolicySpec(2, 1, (4,))
    gen = torch.Generator().manual_seed(7)
    thetas = spec.init_params(seed=gen, dtype=DT) + 0.1 * torch.randn(3, spec.num_params, generator=gen, dtype=DT)
    lengths = torch.tensor([[5, 2], [1, 5], [3, 4]])
    mask = (torch.arange(5) < lengths.unsqueeze(-1)).to(DT)
    batch = SimpleNamespace(obs=torch.randn(3, 2, 5, 2, generator=gen, dtype=DT) * mask.unsqueeze(-1),
                            actions=torch.randn(3, 2, 5, 1, generator=gen, dtype=DT) * mask.unsqueeze(-1), mask=mask)
    q = torch.randn(3, 2, 5, generator=gen, dtype=DT) * mask
    got = post_update_gradients(spec, thetas, batch, q, 0.9)
    for i in range(3):
        m = mask[i].reshape(-1) > 0
        th = thetas[i].clone().requires_grad_(True)
        lp = R.log_prob(spec, th, batch.obs[i].reshape(1, -1, 2)[:, m], batch.actions[i].reshape(1, -1, 1)[:, m])[0]
        (want,) = torch.autograd.grad((lp * q[i].reshape(-1)[m]).mean() / (1 - 0.9), th)
        assert torch.allclose(got[i], want, rtol=1e-10, atol=1e-12)


def test_bad_arguments():
    spec, lower, phi = problem("l2")
    with pytest.raises(ValueError, match="distance"):
        LowerLevel(spec, lower.obs, lower.act, lower.log_prob_phi, lower.q, 1.0, "kl_both")
    with pytest.raises(ValueError, match="lam"):
        LowerLevel(spec, lower.obs, lower.act, lower.log_prob_phi, lower.q, 0.0)


def test_bomrl_meta_iteration_respects_the_trust_region():
    from metarl_fast.algos.run import Runner, TrainConfig

    config = TrainConfig.build(algo="bomrl", env="Point2DNav", meta_batch_size=4, rollouts_per_task=4, horizon=15,
                               hidden=(8,), iterations=2, max_kl=5e-3, cg_damping=0.1, q="advantage",
                               lower_iters=20, dtype="float64")
    runner = Runner(config, verbose=False)
    before = runner.algorithm.meta_parameters()
    rows = runner.train(progress=False)
    assert len(rows) == 2 and {"Step_0-AverageReturn", "Step_1-AverageReturn", "MeanKL"} <= set(rows[0])
    assert all(r["MeanKL"] <= config.section.max_kl for r in rows)
    assert not torch.equal(before, runner.algorithm.meta_parameters())
    with pytest.raises(ValueError, match="bomrl"):
        TrainConfig.build(algo="bomrl", meta_gradient="autograd")


def test_bomrl_meta_test_uses_one_time_adaptations(tmp_path):
    from metarl_fast.algos.run.evaluation import evaluate
    from metarl_fast.cli import main

    out = tmp_path / "run"
    assert main(["train", "--algo", "bomrl", "--env", "Point2DNav", "--iterations", "1", "--out", str(out), "--quiet",
                 "--set", "meta_batch_size=3", "--set", "rollouts_per_task=3", "--set", "horizon=10",
                 "--set", "hidden=8", "--set", "lower_iters=10", "--set", "cg_damping=0.1"]) == 0
    rows = evaluate(str(out), num_tasks=3, steps=2, write=False).summary
    assert [r["step"] for r in rows] == [0, 1, 2] and all(torch.isfinite(torch.tensor(r["mean_return"])) for r in rows)

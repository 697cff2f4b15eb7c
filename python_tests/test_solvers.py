"""Conjugate gradient (Python matvec and fused operators), the fused operators against autograd
through the inner step, and the TRPO line search's guarantees."""
import math

import pytest
import torch

import metarl_fast
from metarl_fast import kernels as K
from metarl_fast import reference as R


def random_spd(T, P, cond, seed):
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(T, P, P, generator=g, dtype=torch.float64))
    eig = torch.logspace(0, math.log10(cond), P, dtype=torch.float64)
    return Q @ torch.diag_embed(eig.expand(T, P)) @ Q.transpose(1, 2)


# Moderate conditioning: in floating point CG loses its finite-termination property on log-spaced
# spectra (κ = 100 at P = 20 leaves ~1e-4 error after P iterations, for textbook CG as well).
@pytest.mark.parametrize("P,cond", [(5, 10.0), (20, 10.0), (40, 30.0)])
def test_cg_solves_spd_systems_within_p_iterations(P, cond):
    T = 4
    A = random_spd(T, P, cond, seed=P)
    b = torch.randn(T, P, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x, info = K.conjugate_gradient(lambda v: (A @ v.unsqueeze(-1)).squeeze(-1), b, iters=P, residual_tol=1e-20,
                                   return_info=True)
    expected = torch.linalg.solve(A, b)
    assert torch.allclose(x, expected, rtol=1e-8, atol=1e-8)
    assert bool((info.iterations <= P).all())
    # with the default tolerance every system stops once r·r < 1e-10
    x, info = K.conjugate_gradient(lambda v: (A @ v.unsqueeze(-1)).squeeze(-1), b, iters=10 * P, return_info=True)
    assert bool((info.residual < 1e-10).all()) and bool((info.iterations <= P + 2).all())
    true_residual = b - (A @ x.unsqueeze(-1)).squeeze(-1)
    assert float((true_residual**2).sum(-1).max()) < 1e-9


def test_cg_damping_and_single_system():
    A = random_spd(1, 8, 50.0, seed=3)[0]
    b = torch.randn(8, dtype=torch.float64)
    x = K.conjugate_gradient(lambda v: A @ v, b, iters=50, residual_tol=1e-24, damping=0.5)
    assert x.shape == (8,)
    assert torch.allclose(x, torch.linalg.solve(A + 0.5 * torch.eye(8, dtype=torch.float64), b), rtol=1e-9)


def test_cg_zero_rhs_and_indefinite_operator():
    A = torch.diag(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    b = torch.stack([torch.zeros(3, dtype=torch.float64), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)])
    x, info = K.conjugate_gradient(lambda v: v @ A, b, return_info=True)
    assert torch.equal(x[0], torch.zeros(3, dtype=torch.float64)) and int(info.iterations[0]) == 0
    assert int(info.status[1]) == 1 and torch.isfinite(x).all()


def policy_setup(T=3, N=50, M=40, od=6, ad=2, hidden=(16, 16), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    spec = metarl_fast.PolicySpec(od, ad, hidden)
    P = spec.num_params
    theta = spec.init_params(seed=g, dtype=torch.float64) + 0.05 * torch.randn(P, generator=g, dtype=torch.float64)
    pre_obs = torch.randn(T, N, od, generator=g, dtype=torch.float64)
    pre_act = torch.randn(T, N, ad, generator=g, dtype=torch.float64)
    pre_w = torch.randn(T, N, generator=g, dtype=torch.float64) / N
    post_obs = torch.randn(T, M, od, generator=g, dtype=torch.float64)
    d = dict(theta=theta, pre_obs=pre_obs, pre_act=pre_act, pre_w=pre_w, post_obs=post_obs)
    return spec, {k: x.to(dtype) for k, x in d.items()}


def inner_step(spec, theta, x, alpha, curvature):
    """θ'_i(θ) = θ + α ∇J_in,i(θ), differentiable in θ (create_graph), → [T, P]."""
    T = x["pre_obs"].shape[0]
    lp = R.log_prob(spec, theta.expand(T, -1), x["pre_obs"], x["pre_act"])
    surrogate = torch.exp(lp - lp.detach()) if curvature == "lvc" else lp
    J = (x["pre_w"] * surrogate).sum(-1)  # [T]
    grads = [torch.autograd.grad(J[i], theta, create_graph=True)[0] for i in range(T)]
    return theta + alpha * torch.stack(grads)


@pytest.mark.parametrize("curvature", ["naive", "lvc"])
def test_maml_trpo_operator_is_the_hessian_of_the_post_update_kl(curvature):
    """Independent ground truth: the Hessian at θ₀ of mean_i KL(π_{θ'_i(θ₀)} ‖ π_{θ'_i(θ)}) by double
    backward through the inner step; at θ₀ it equals (I + αH) F' (I + αH) exactly."""
    spec, x = policy_setup()
    alpha = 0.3
    theta0 = x["theta"]
    pass_params = inner_step(spec, theta0.clone().requires_grad_(True), x, alpha, curvature).detach()
    old_mean = R.policy_mean(spec, pass_params, x["post_obs"])
    old_ls = spec.unflatten(pass_params)["log_std"]

    def kl_of(theta):
        adapted = inner_step(spec, theta, x, alpha, curvature)
        return R.gaussian_kl(spec, adapted, x["post_obs"], old_mean, old_ls).mean()

    v = torch.randn(spec.num_params, dtype=torch.float64)
    theta = theta0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(kl_of(theta), theta, create_graph=True)
    (expected,) = torch.autograd.grad(g @ v, theta)
    op = K.MamlTrpoFvpOperator(spec, theta0, x["pre_obs"], x["pre_act"], x["pre_w"], alpha, pass_params,
                               x["post_obs"], curvature)
    assert torch.allclose(op(v), expected, rtol=1e-9, atol=1e-11)
    op.backend = "torch"
    assert torch.allclose(op(v), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("task_mean", [False, True])
def test_fused_operators_match_torch_and_cg_matches_reference_loop(dtype, task_mean):
    spec, x = policy_setup(dtype=dtype, seed=1)
    T, P = x["pre_obs"].shape[0], spec.num_params
    per_task = x["theta"] + 0.01 * torch.randn(T, P, generator=torch.Generator().manual_seed(2)).to(dtype)
    post_w = (torch.rand(T, x["post_obs"].shape[1], generator=torch.Generator().manual_seed(5)) / 20).to(dtype)
    ops = [
        K.KlFvpOperator(spec, per_task, x["post_obs"], 0.1, task_mean=task_mean),
        K.KlFvpOperator(spec, per_task, x["post_obs"], 0.1, post_w, task_mean=task_mean),
        K.SurrogateHvpOperator(spec, per_task, x["pre_obs"], x["pre_act"], x["pre_w"], "lvc", task_mean=task_mean),
        K.MamlTrpoFvpOperator(spec, x["theta"], x["pre_obs"], x["pre_act"], x["pre_w"], 0.1, per_task,
                              x["post_obs"], "naive", 0.1, task_mean=task_mean),
        K.MamlTrpoFvpOperator(spec, x["theta"], x["pre_obs"], x["pre_act"], x["pre_w"], 0.1, per_task,
                              x["post_obs"], "lvc", 0.1, post_w, task_mean=task_mean),
    ]
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for op in ops:
        v = torch.randn(op.shape, generator=torch.Generator().manual_seed(3)).to(dtype)
        op.backend = "cpp"
        y_cpp = op(v)
        op.backend = "torch"
        y_ref = op(v)
        assert y_cpp.shape == op.shape
        assert float((y_cpp - y_ref).abs().max()) <= tol * max(1.0, float(y_ref.abs().max())), type(op).__name__
    # CG on the positive-definite ones: the C++ loop and the torch loop agree iteration by iteration
    for op in (ops[0], ops[1], ops[3], ops[4]):
        b = torch.randn(op.shape, generator=torch.Generator().manual_seed(4)).to(dtype)
        x_cpp, info_cpp = K.conjugate_gradient(op, b, iters=10, return_info=True, backend="cpp")
        x_ref, info_ref = K.conjugate_gradient(op, b, iters=10, return_info=True, backend="torch")
        assert torch.equal(info_cpp.iterations, info_ref.iterations)
        scale = float(x_ref.abs().max())
        assert float((x_cpp - x_ref).abs().max()) <= (1e-8 if dtype == torch.float64 else 2e-3) * scale


def _relative_error(a, b):
    return float((a - b).abs().max()) / max(1e-300, float(b.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("T,N,hidden", [(1, 1, (5,)), (3, 67, (8, 8)), (2, 3001, (16, 9, 4))])
def test_cached_operator_products_equal_the_kernels(dtype, T, N, hidden):
    """An operator computes the v-independent part of its products once and reads it back
    afterwards. The forward activations alone change nothing: with the input-layer contraction off,
    every product and the CG loop give exactly what the uncached kernels give. The contraction (the
    default) regroups the Hessian's sums: the same products up to rounding, bit-identical from the
    first product on, so a fresh and a warm operator solve alike."""
    spec = metarl_fast.PolicySpec(5, 3, hidden)
    g = torch.Generator().manual_seed(7)
    P = spec.num_params
    theta = (spec.init_params(seed=g) + 0.1 * torch.randn(T, P, generator=g)).to(dtype)
    obs, act = torch.randn(T, N, 5, generator=g).to(dtype), torch.randn(T, N, 3, generator=g).to(dtype)
    w = (torch.randn(T, N, generator=g) / N).to(dtype)
    post = (theta + 0.01 * torch.randn(T, P, generator=g).to(dtype)).contiguous()
    vs = [torch.randn(T, P, generator=g).to(dtype) for _ in range(3)]
    rounding = 1e-13 if dtype == torch.float64 else 2e-6  # measured: at most 7e-16 and 3e-7
    for curvature in ("naive", "lvc"):
        exact = K.SurrogateHvpOperator(spec, theta, obs, act, w, curvature, regroup=False)
        contracted = K.SurrogateHvpOperator(spec, theta, obs, act, w, curvature)
        fvp = K.KlFvpOperator(spec, post, obs, 0.1, w.abs())
        for v in vs:  # the first product fills the caches, the others read them
            kernel = K.surrogate_hvp(spec, theta, obs, act, w, v, curvature)
            assert torch.equal(exact(v), kernel)
            assert _relative_error(contracted(v), kernel) <= rounding
            assert torch.equal(fvp(v), K.kl_fvp(spec, post, obs, v, 0.1, w.abs()))
        assert torch.equal(contracted(vs[0]), K.SurrogateHvpOperator(spec, theta, obs, act, w, curvature)(vs[0]))

        def maml(**kw):
            return K.MamlTrpoFvpOperator(spec, theta[0], obs, act, w, 0.1, post, obs, curvature, **kw)

        b = vs[0].mean(0)
        fresh = maml()
        first = fresh(b)
        assert torch.equal(fresh(b), first)
        x_warm = K.conjugate_gradient(fresh, b, iters=4)
        assert torch.equal(K.conjugate_gradient(maml(), b, iters=4), x_warm)
        recompute = maml(cache=False)
        assert _relative_error(recompute(b), first) <= rounding
        forward_only = maml(regroup=False)
        assert torch.equal(K.conjugate_gradient(forward_only, b, iters=4), K.conjugate_gradient(recompute, b, iters=4))
        fresh.cache = False  # switching the cache off frees it and computes the products directly
        assert torch.equal(fresh(b), recompute(b)) and fresh.compiled().cache is False


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("obs_dim,hidden", [(2, (64, 64)), (4, (7,)), (3, (9, 6, 5)), (7, (8, 8)), (8, (8, 8))])
def test_contracted_hessian_products_match_autograd(activation, obs_dim, hidden):
    """The input-layer contraction's products (the second application on) against the torch
    reference's autograd Hessian in float64, for both activations, one to three hidden layers, and
    observation sizes on both sides of the limit (obs_dim + 1 ≤ 8) past which it is not used; and
    bit-identical whatever the number of threads."""
    spec = metarl_fast.PolicySpec(obs_dim, 2, hidden, activation)
    g = torch.Generator().manual_seed(obs_dim)
    T, N, P = 3, 300, spec.num_params
    theta = (spec.init_params(seed=g) + 0.3 * torch.randn(T, P, generator=g)).double()
    obs, act = torch.randn(T, N, obs_dim, generator=g).double(), torch.randn(T, N, 2, generator=g).double()
    w = torch.randn(T, N, generator=g).double() / N
    vs = [torch.randn(T, P, generator=g).double() for _ in range(3)]
    for curvature in ("naive", "lvc"):
        results = {}
        for threads in (1, 2):
            before = metarl_fast.get_num_threads()
            metarl_fast.set_num_threads(threads)
            try:
                op = K.SurrogateHvpOperator(spec, theta, obs, act, w, curvature)
                results[threads] = [op(v) for v in vs]
            finally:
                metarl_fast.set_num_threads(before)
        for v, y1, y2 in zip(vs, results[1], results[2]):
            assert torch.equal(y1, y2)
            assert _relative_error(y1, R.surrogate_hvp(spec, theta, obs, act, w, v, curvature)) <= 1e-13  # measured 2.5e-15


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("act_dim,hidden", [(1, (64, 64)), (2, (64, 64)), (2, (96, 64, 32)), (2, (32, 32))])
def test_fisher_products_through_the_output_jacobian_match_autograd(activation, act_dim, hidden):
    """The Fisher operator's products through the stored output Jacobian ∂μ/∂z₁ (used with at least
    two hidden layers and act_dim ≤ width₁ / 32: the first three cases; the last one takes the plain
    path) against the torch reference's autograd Fisher in float64, weighted and unweighted, from the
    first product on; and bit-identical whatever the number of threads."""
    spec = metarl_fast.PolicySpec(3, act_dim, hidden, activation)
    g = torch.Generator().manual_seed(act_dim + len(hidden))
    T, N, P = 3, 300, spec.num_params
    theta = (spec.init_params(seed=g) + 0.3 * torch.randn(T, P, generator=g)).double()
    obs = torch.randn(T, N, 3, generator=g).double()
    w = torch.rand(T, N, generator=g).double() / N
    vs = [torch.randn(T, P, generator=g).double() for _ in range(3)]
    for weights in (None, w):
        results = {}
        for threads in (1, 2):
            before = metarl_fast.get_num_threads()
            metarl_fast.set_num_threads(threads)
            try:
                op = K.KlFvpOperator(spec, theta, obs, 0.1, weights)
                results[threads] = [op(v) for v in vs]
            finally:
                metarl_fast.set_num_threads(before)
        for v, y1, y2 in zip(vs, results[1], results[2]):
            assert torch.equal(y1, y2)
            assert _relative_error(y1, R.kl_fvp(spec, theta, obs, v, 0.1, weights)) <= 1e-13


@pytest.mark.parametrize("backend", ["cpp", "torch"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cg_curvature_is_x_times_the_operator_at_x(backend, dtype):
    """CgInfo.curvature, x·(b − r) from CG's own residual, equals xᵀ(A + damping·I)x by one more
    product (what TRPO's step length needed before), for the fused C++ loop and the torch loop."""
    spec, x = policy_setup(dtype=dtype, seed=3)
    op = K.MamlTrpoFvpOperator(spec, x["theta"], x["pre_obs"], x["pre_act"], x["pre_w"], 0.1, x["theta"] + 0.01,
                               x["post_obs"], "naive")
    b = torch.randn(op.shape, generator=torch.Generator().manual_seed(4)).to(dtype)
    sol, info = K.conjugate_gradient(op, b, iters=10, damping=0.1, return_info=True, backend=backend)
    explicit = float((sol.double() * (op(sol) + 0.1 * sol).double()).sum())
    assert info.curvature.shape == (1,) and info.curvature.dtype == torch.float64
    assert abs(float(info.curvature[0]) - explicit) <= (1e-10 if dtype == torch.float64 else 1e-4) * abs(explicit)


def test_cg_on_kl_fvp_converges_to_the_solution():
    spec, x = policy_setup(seed=5, hidden=(8,))
    op = K.KlFvpOperator(spec, x["theta"], x["post_obs"], damping=1e-2)
    b = torch.randn(op.shape, dtype=torch.float64)
    sol, info = K.conjugate_gradient(op, b, iters=500, residual_tol=1e-20, return_info=True)
    assert torch.allclose(op(sol), b, rtol=1e-7, atol=1e-8)
    assert bool((info.status == 0).all())


def test_operators_reject_bad_input():
    spec, x = policy_setup()
    op = K.KlFvpOperator(spec, x["theta"], x["post_obs"])
    with pytest.raises(ValueError, match="v must have shape"):
        op(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="damping"):
        K.KlFvpOperator(spec, x["theta"], x["post_obs"], damping=-1.0)
    with pytest.raises(ValueError, match="curvature"):
        K.SurrogateHvpOperator(spec, x["theta"], x["pre_obs"], x["pre_act"], x["pre_w"], "dice")
    with pytest.raises(ValueError, match="task groups"):
        K.MamlTrpoFvpOperator(spec, x["theta"], x["pre_obs"], x["pre_act"], x["pre_w"], 0.1, x["theta"],
                              x["post_obs"][:1])
    with pytest.raises(ValueError, match="b must have shape"):
        K.conjugate_gradient(op, torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="PolicyOperator"):
        K.conjugate_gradient(lambda v: v, torch.ones(3, dtype=torch.float64), backend="cpp")
    with pytest.raises(ValueError, match="iters"):
        K.conjugate_gradient(lambda v: v, torch.ones(3, dtype=torch.float64), iters=-1)


# ---- TRPO line search ----------------------------------------------------------------------------

def quadratic_problem(P, seed):
    g = torch.Generator().manual_seed(seed)
    F = random_spd(1, P, 20.0, seed)[0]
    grad = torch.randn(P, generator=g, dtype=torch.float64)
    curv = random_spd(1, P, 5.0, seed + 100)[0]
    theta = torch.randn(P, generator=g, dtype=torch.float64)
    loss = lambda th: float(grad @ (th - theta) + 0.5 * (th - theta) @ curv @ (th - theta) * 30)  # noqa: E731
    # a KL that is quadratic near θ plus a quartic term, so the quadratic model under-predicts it
    kl = lambda th: float(0.5 * (th - theta) @ F @ (th - theta) + 5 * ((th - theta) ** 4).sum())  # noqa: E731
    return theta, grad, F, loss, kl


@pytest.mark.parametrize("seed", range(20))
def test_trpo_step_never_exceeds_the_kl_bound(seed):
    P = 6
    theta, grad, F, loss, kl = quadratic_problem(P, seed)
    d = torch.linalg.solve(F, grad)
    delta = 0.01 * (seed % 4 + 1)
    res = K.trpo_step(theta, d, loss, kl, delta, matvec=lambda v: F @ v)
    assert kl(res.params) <= delta
    if res.accepted:
        assert res.loss < res.loss_before and res.kl <= delta and res.step_size > 0
        assert res.step_size == pytest.approx(res.initial_step_size * 0.8**res.backtracks)
    else:
        assert torch.equal(res.params, theta)
    assert res.initial_step_size == pytest.approx(math.sqrt(2 * delta / (d @ F @ d + 1e-8)))


def test_trpo_step_rejects_when_the_loss_never_improves():
    theta, grad, F, loss, kl = quadratic_problem(4, 0)
    d = -torch.linalg.solve(F, grad)  # an ascent direction of the loss
    res = K.trpo_step(theta, d, loss, kl, 0.01, dHd=float(d @ F @ d))
    assert not res.accepted and torch.equal(res.params, theta) and res.backtracks == 15 and res.step_size == 0


def test_trpo_step_takes_the_full_step_when_it_is_safe():
    P = 5
    F = torch.eye(P, dtype=torch.float64)
    theta = torch.zeros(P, dtype=torch.float64)
    d = torch.ones(P, dtype=torch.float64)
    res = K.trpo_step(theta, d, lambda th: float(th.sum()), lambda th: float(0.5 * th @ th), 0.02,
                      matvec=lambda v: F @ v)
    assert res.accepted and res.backtracks == 0
    assert res.kl == pytest.approx(0.02 / (1 + 1e-8 / 5), rel=1e-6)


def test_trpo_step_rejects_bad_input():
    theta = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="max_kl"):
        K.trpo_step(theta, theta, float, float, 0.0, dHd=1.0)
    with pytest.raises(ValueError, match="direction"):
        K.trpo_step(theta, torch.zeros(4, dtype=torch.float64), float, float, 0.01, dHd=1.0)
    with pytest.raises(ValueError, match="dHd or matvec"):
        K.trpo_step(theta, theta, float, float, 0.01)

"""Every policy kernel, compiled and torch backends, against the independent float64 ground truth."""
import pytest
import torch

import metarl_fast
from metarl_fast import kernels as K
from metarl_fast import reference

from conftest import POLICY_CASES, TOL, make_inputs
from ground_truth import Truth, rel_err, rows, split

BACKENDS = ["cpp", "torch"]
# The compiled instruction-set variants this CPU can run ("generic" always can).
ISAS = [isa for isa in ("avx512", "avx2", "generic") if metarl_fast._C.policy_isa_available(isa)]
DTYPES = [torch.float64, torch.float32]


def truth_for(op, spec, x):
    """Expected output of `op` on inputs x (cast to float64), computed per task group."""
    x64 = {k: v.double() for k, v in x.items()}
    tr = Truth(spec, x64["params"], x64["obs"], x64["act"])
    T = x64["obs"].shape[0]
    v = rows(x64["v"], T)
    out = []
    for t in range(T):
        if op == "policy_mean":
            out.append(tr.mean(t))
        elif op == "log_prob":
            out.append(tr.logp(t))
        elif op == "score_vjp":
            out.append(tr.jac(t).T @ x64["weights"][t])
        elif op == "score_jvp":
            out.append(tr.jac(t) @ v[t])
        elif op in ("hvp_naive", "hvp_lvc"):
            w = x64["weights"][t]
            h = tr.hvp_naive(t, w, v[t])
            if op == "hvp_lvc":
                J = tr.jac(t)
                h = h + J.T @ (w * (J @ v[t]))
            out.append(h)
        elif op in ("gaussian_kl", "kl_grad"):
            ols = rows(x64["old_log_std"], T)[t]
            f = tr.kl(t, x64["old_mean"][t], ols)
            out.append(f(tr.params[t]) if op == "gaussian_kl" else torch.func.grad(f)(tr.params[t]))
        elif op == "kl_fvp":
            out.append(tr.fvp(t, v[t]) + 0.25 * v[t])
    return torch.stack(out)


def call(op, spec, x, backend):
    if op == "policy_mean":
        return K.policy_mean(spec, x["params"], x["obs"], backend=backend)
    if op == "log_prob":
        return K.log_prob(spec, x["params"], x["obs"], x["act"], backend=backend)
    if op == "score_vjp":
        return K.score_vjp(spec, x["params"], x["obs"], x["act"], x["weights"], backend=backend)
    if op == "score_jvp":
        return K.score_jvp(spec, x["params"], x["obs"], x["act"], x["v"], backend=backend)
    if op in ("hvp_naive", "hvp_lvc"):
        return K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"],
                               curvature=op[4:], backend=backend)
    if op == "gaussian_kl":
        return K.gaussian_kl(spec, x["params"], x["obs"], x["old_mean"], x["old_log_std"], backend=backend)
    if op == "kl_grad":
        return K.kl_grad(spec, x["params"], x["obs"], x["old_mean"], x["old_log_std"], backend=backend)
    if op == "kl_fvp":
        return K.kl_fvp(spec, x["params"], x["obs"], x["v"], damping=0.25, backend=backend)
    raise AssertionError(op)


OPS = ["policy_mean", "log_prob", "score_vjp", "score_jvp", "hvp_naive", "hvp_lvc", "gaussian_kl", "kl_grad",
       "kl_fvp"]


@pytest.mark.parametrize("case", POLICY_CASES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("op", OPS)
def test_kernel_matches_ground_truth(case, dtype, op):
    spec, x = make_inputs(*case, dtype=dtype)
    expected = truth_for(op, spec, x)
    for backend in BACKENDS:
        got = call(op, spec, x, backend)
        assert got.dtype == dtype and got.shape == expected.shape, (backend, got.shape, expected.shape)
        err = rel_err(got, expected)
        assert err < TOL[dtype], f"{op} backend={backend} {dtype}: relative error {err:.3e}"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("act_dim", [1, 4])
def test_every_instruction_set_variant(isa, dtype, act_dim):
    """Each compiled ISA variant this CPU can run gives the ground-truth answer, with the output
    layer's tangent as dot products (one action: every variant with vectors of 8 lanes or more) and
    over padded lanes (four actions)."""
    spec, x = make_inputs(3, 150, 9, act_dim, (37, 21), "tanh", True, dtype=dtype, seed=3)
    metarl_fast._C.set_policy_isa(isa)
    try:
        for op in OPS:
            err = rel_err(call(op, spec, x, "cpp"), truth_for(op, spec, x))
            assert err < TOL[dtype], f"{isa} {op}: {err:.3e}"
    finally:
        metarl_fast._C.set_policy_isa("auto")


def test_full_hessian_small_net():
    """On a tiny net, both HVP curvatures equal the explicit per-sample Hessians and scores."""
    spec, x = make_inputs(2, 11, 3, 2, (4, 3), "tanh", True, dtype=torch.float64, seed=5)
    tr = Truth(spec, x["params"], x["obs"], x["act"])
    for t in range(2):
        Hs, J, w, v = tr.hessians(t), tr.jac(t), x["weights"][t], x["v"][t]
        naive = torch.einsum("n,npq,q->p", w, Hs, v)
        lvc = naive + torch.einsum("n,np,nq,q->p", w, J, J, v)
        got_naive = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"], "naive")[t]
        got_lvc = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"], "lvc")[t]
        assert rel_err(got_naive, naive) < 1e-10
        assert rel_err(got_lvc, lvc) < 1e-10


@pytest.mark.parametrize("curvature", ["lvc", "naive"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_hvp_symmetry(curvature, backend):
    """u·Hv = v·Hu for the surrogate Hessian (both curvatures are symmetric matrices)."""
    spec, x = make_inputs(3, 200, 6, 3, (16, 16), "tanh", True, dtype=torch.float64, seed=7)
    u = torch.randn(x["v"].shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    Hv = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"], curvature, backend=backend)
    Hu = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], u, curvature, backend=backend)
    lhs, rhs = (u * Hv).sum(-1), (x["v"] * Hu).sum(-1)
    assert torch.allclose(lhs, rhs, rtol=1e-11, atol=1e-11 * lhs.abs().max().item())


@pytest.mark.parametrize("backend", BACKENDS)
def test_fvp_is_symmetric_positive_semidefinite(backend):
    """Build the whole Fisher matrix column by column (one task group per column) and check it."""
    spec, x = make_inputs(1, 40, 3, 2, (5, 4), "tanh", False, dtype=torch.float64, seed=11)
    P = spec.num_params
    obs = x["obs"].expand(P, -1, -1).contiguous()
    F = K.kl_fvp(spec, x["params"], obs, torch.eye(P, dtype=torch.float64), backend=backend)
    assert torch.allclose(F, F.T, atol=1e-12)
    eig = torch.linalg.eigvalsh(F)
    assert eig.min().item() > -1e-12 * eig.max().item()
    # log_std block of the Fisher is exactly 2·I; μ–log_std cross terms vanish.
    ls = spec.layout[-1].offset
    assert torch.allclose(F[ls:, ls:], 2 * torch.eye(spec.act_dim, dtype=torch.float64))
    assert torch.allclose(F[:ls, ls:], torch.zeros(ls, spec.act_dim, dtype=torch.float64))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_kl_and_gradient_vanish_at_old_params(backend, dtype):
    spec, x = make_inputs(3, 120, 5, 3, (16,), "relu", True, dtype=dtype, seed=13)
    old_mean = K.policy_mean(spec, x["params"], x["obs"], backend=backend)
    old_log_std = spec.unflatten(x["params"])["log_std"].contiguous()
    kl = K.gaussian_kl(spec, x["params"], x["obs"], old_mean, old_log_std, backend=backend)
    g = K.kl_grad(spec, x["params"], x["obs"], old_mean, old_log_std, backend=backend)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert kl.abs().max().item() < tol
    assert g.abs().max().item() < tol


def test_kl_fvp_equals_hessian_of_kl_at_old_params():
    """Gauss-Newton FVP == autograd Hessian of KL(π_old ‖ π_θ) at θ = θ_old (float64)."""
    spec, x = make_inputs(2, 50, 4, 2, (8, 8), "tanh", True, dtype=torch.float64, seed=17)
    tr = Truth(spec, x["params"], x["obs"])
    for t in range(2):
        _, ls = split(spec, tr.params[t])
        f = tr.kl(t, tr.mean(t), ls.detach())
        H = torch.func.hessian(f)(tr.params[t])
        got = K.kl_fvp(spec, x["params"], x["obs"], x["v"])[t]
        assert rel_err(got, H @ x["v"][t]) < 1e-10


def test_lvc_hvp_is_hessian_of_likelihood_ratio_surrogate():
    """With weights = advantages, the lvc HVP is the Hessian of Σ A π_θ/π_θo at θ = θ_o."""
    spec, x = make_inputs(2, 64, 4, 2, (8,), "tanh", True, dtype=torch.float64, seed=19)
    theta0 = x["params"]
    logp0 = K.log_prob(spec, theta0, x["obs"], x["act"])

    def surrogate(th):
        lp = K.log_prob(spec, th, x["obs"], x["act"], backend="torch")
        return (x["weights"] * torch.exp(lp - logp0)).sum()

    H_v = torch.autograd.functional.hvp(surrogate, theta0, x["v"])[1]
    got = K.surrogate_hvp(spec, theta0, x["obs"], x["act"], x["weights"], x["v"], "lvc")
    assert rel_err(got, H_v) < 1e-10


def test_float32_tanh_large_preactivations():
    """The float32 fast tanh stays accurate where it saturates (|pre-activation| up to ~30)."""
    spec, x = make_inputs(2, 300, 6, 2, (32, 32), "tanh", True, dtype=torch.float64, seed=23)
    x["obs"] = x["obs"] * 15
    x32 = {k: v.float() for k, v in x.items()}
    expected = K.policy_mean(spec, x32["params"].double(), x32["obs"].double())
    assert rel_err(K.policy_mean(spec, x32["params"], x32["obs"]), expected) < 1e-5
    lp = K.log_prob(spec, x32["params"], x32["obs"], x32["act"])
    assert rel_err(lp, K.log_prob(spec, x32["params"].double(), x32["obs"].double(), x32["act"].double())) < 1e-5


@pytest.mark.parametrize("isa", ISAS)
def test_float32_tanh_is_accurate_to_a_few_ulp(isa):
    """μ = tanh(s) through a 1-unit net: the fast float32 tanh is within 4 eps (relative) of exact."""
    spec = metarl_fast.PolicySpec(1, 1, (1,))
    theta = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])  # W0 = 1, b0 = 0, W1 = 1, b1 = 0, log_std = 0
    s = torch.linspace(-12, 12, 100_001).reshape(1, -1, 1)
    metarl_fast._C.set_policy_isa(isa)
    try:
        got = K.policy_mean(spec, theta, s, backend="cpp")[0, :, 0].double()
    finally:
        metarl_fast._C.set_policy_isa("auto")
    exact = torch.tanh(s[0, :, 0].double())
    rel = ((got - exact).abs() / exact.abs().clamp(min=1e-30)).max().item()
    assert rel < 4 * torch.finfo(torch.float32).eps, rel


def test_policy_module_matches_kernels():
    spec = metarl_fast.PolicySpec(5, 2, (8, 8))
    policy = metarl_fast.GaussianMLPPolicy(spec, init_std=0.5, seed=0, dtype=torch.float64)
    assert torch.allclose(policy.log_std, torch.full((2,), 0.5, dtype=torch.float64).log())
    obs = torch.randn(1, 30, 5, dtype=torch.float64)
    act = policy.sample(obs, seed=torch.Generator().manual_seed(0))
    expected = K.log_prob(spec, policy.params.detach(), obs, act)
    assert torch.allclose(policy.log_prob(obs, act), expected, rtol=1e-12, atol=1e-12)
    assert torch.equal(policy.sample(obs, deterministic=True), policy(obs)[0].detach())


def test_isa_list_is_not_empty_and_best_is_in_use():
    assert "generic" in ISAS and metarl_fast._C.policy_isa() == ISAS[0]


def test_kernels_and_reference_are_twins():
    """Same names, same parameters (the kernels add only the keyword `backend`; trpo_step is
    orchestration over callables with one implementation, so it has no backend)."""
    import inspect

    from metarl_fast import reference

    assert set(reference.__all__) <= set(K.__all__)
    for name in reference.__all__:
        kernel_params = list(inspect.signature(getattr(K, name)).parameters)
        reference_params = list(inspect.signature(getattr(reference, name)).parameters)
        extra = [] if name == "trpo_step" else ["backend"]
        assert kernel_params == reference_params + extra, name


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_weighted_kl_kernels(dtype):
    """KL, its gradient and its Fisher with per-sample weights: against autograd, and weights 1/N
    give the unweighted (mean) kernels."""
    spec, x = make_inputs(3, 70, 5, 2, (8, 6), "tanh", True, dtype, seed=4)
    w = torch.rand(3, 70, dtype=dtype)
    args = (spec, x["params"], x["obs"], x["old_mean"], x["old_log_std"])
    tol = TOL[dtype]
    for name in ("gaussian_kl", "kl_grad"):
        got = getattr(K, name)(*args, w, backend="cpp")
        want = getattr(reference, name)(*args, w)
        assert torch.allclose(got, want, rtol=tol, atol=tol), name
        mean = getattr(K, name)(*args, torch.full_like(w, 1 / 70), backend="cpp")
        assert torch.allclose(mean, getattr(K, name)(*args, backend="cpp"), rtol=tol, atol=tol), name
    got = K.kl_fvp(spec, x["params"], x["obs"], x["v"], 0.1, w, backend="cpp")
    want = reference.kl_fvp(spec, x["params"], x["obs"], x["v"], 0.1, w)
    assert torch.allclose(got, want, rtol=tol, atol=tol * float(want.abs().max()))


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6, 1e8])
def test_float32_derivatives_stay_accurate_for_saturated_units(scale):
    """With observations of size 1e6–1e8 most tanh units saturate: their derivative must be 0, as
    it is for torch (the float32 fast tanh once returned a σ' of ~1e-7 there, which times the inputs
    gave score_vjp relative errors of 0.17 to 22). Relative error against float64 within twice
    torch's own float32 error."""
    spec = metarl_fast.PolicySpec(6, 2, (32, 32))
    g = torch.Generator().manual_seed(0)
    p = spec.init_params(seed=g, dtype=torch.float64)
    obs = torch.randn(2, 200, 6, generator=g, dtype=torch.float64) * scale
    act = torch.randn(2, 200, 2, generator=g, dtype=torch.float64)
    w = torch.randn(2, 200, generator=g, dtype=torch.float64)
    v = torch.randn(spec.num_params, generator=g, dtype=torch.float64)
    for name, args in (("score_vjp", (act, w)), ("surrogate_hvp", (act, w, v)), ("kl_fvp", (v,))):
        exact = getattr(reference, name)(spec, p, obs, *args)
        f32 = [x.float() for x in (p, obs, *args)]
        ours = getattr(K, name)(spec, *f32, backend="cpp").double()
        torch32 = getattr(reference, name)(spec, *f32).double()
        rel = float((ours - exact).norm() / exact.norm())
        bound = float((torch32 - exact).norm() / exact.norm())
        assert rel <= 2 * bound + 1e-6, (name, rel, bound)

"""The CUDA kernels (csrc/cuda): their block programs emulated on the host against the CPU kernels
(every op, float32 and float64, shared and per-task parameters, T=1, N=1, odd sizes, many
chunks), the launch plan, the dispatch rules, and — marked `cuda`, skipped without a GPU — the
kernels on the device against the CPU kernels, determinism, autograd through them, and large N."""
import pytest
import torch

from metarl_fast import _C, kernels
from metarl_fast.kernels import _validation, cuda
from metarl_fast.policies import PolicySpec

from conftest import POLICY_CASES, TOL, make_inputs

HAS_GPU = torch.cuda.is_available() and cuda.device_count() > 0
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA GPU and metarl_fast built with CUDA")

# op → (the public kernel's name and the arguments it takes besides spec, params, obs)
OPS = {
    "policy_mean": ("policy_mean", ()),
    "log_prob": ("log_prob", ("act",)),
    "score_vjp": ("score_vjp", ("act", "weights")),
    "score_jvp": ("score_jvp", ("act", "v")),
    "hvp_naive": ("surrogate_hvp", ("act", "weights", "v")),
    "hvp_lvc": ("surrogate_hvp", ("act", "weights", "v")),
    "gaussian_kl": ("gaussian_kl", ("old_mean", "old_log_std")),
    "kl_grad": ("kl_grad", ("old_mean", "old_log_std")),
    "kl_fvp": ("kl_fvp", ("v",)),
}


def _public(op, spec, x, backend, weighted=False):
    fn, args = OPS[op]
    kw = {"backend": backend}
    if op in ("hvp_naive", "hvp_lvc"):
        kw["curvature"] = op[4:]
    if op == "kl_fvp":
        kw["damping"] = 0.1
    if weighted:
        kw["weights"] = x["weights"].abs()
    return getattr(kernels, fn)(spec, x["params"], x["obs"], *[x[a] for a in args], **kw)


def _emulated(op, spec, x, weighted=False):
    _, args = OPS[op]
    kw = {a: x[a] for a in args}
    if op == "kl_fvp":
        kw["damping"] = 0.1
    if weighted:
        kw["weights"] = x["weights"].abs()
    return cuda.policy_op(op, spec, params=x["params"], obs=x["obs"], emulate=True, **kw)


def _close(got, want, dtype):
    scale = want.abs().max().clamp_min(1.0)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert ((got - want).abs().max() / scale).item() < TOL[dtype]


# ---- the block programs, emulated on the host ------------------------------------------------------

@pytest.mark.parametrize("case", POLICY_CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_emulated_programs_equal_cpu_kernels(case, dtype):
    spec, x = make_inputs(*case, dtype=dtype)
    for op in OPS:
        _close(_emulated(op, spec, x), _public(op, spec, x, "cpp"), dtype)
    for op in ("gaussian_kl", "kl_grad", "kl_fvp"):
        _close(_emulated(op, spec, x, weighted=True), _public(op, spec, x, "cpp", weighted=True), dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_emulated_dice_split_hvp_equals_cpu_kernel(dtype):
    spec, x = make_inputs(3, 41, 6, 2, (9, 8), "tanh", True, dtype=dtype, seed=3)
    w2 = torch.randn(3, 41, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    args = (x["params"], x["obs"], x["act"], x["weights"], w2, x["v"], *kernels.ops.spec_args(spec))
    want = kernels.ops.OPS.hvp_split(*args)
    got = cuda.policy_op("hvp_split", spec, params=x["params"], obs=x["obs"], act=x["act"], weights=x["weights"],
                         weights2=w2, v=x["v"], emulate=True)
    _close(got, want, dtype)


def test_emulated_many_chunks_and_partial_tiles():
    """N large enough for dozens of work items whose sample ranges end inside a tile."""
    spec, x = make_inputs(2, 1601, 4, 2, (16, 16), "tanh", False, dtype=torch.float64, seed=5)
    layout = cuda.plan("hvp_lvc", spec, torch.float64, 2, 1601)
    assert layout["chunks"] > 20 and 1601 % layout["tile"] != 0
    for op in ("hvp_lvc", "score_vjp", "gaussian_kl", "kl_fvp"):
        _close(_emulated(op, spec, x), _public(op, spec, x, "cpp"), torch.float64)


def test_emulated_programs_equal_float64_autograd():
    """Ground truth independent of both engines: torch autograd in float64 (HVP of the LVC surrogate)."""
    spec, x = make_inputs(2, 23, 3, 2, (5, 4), "tanh", True, dtype=torch.float64, seed=7)
    from metarl_fast import reference

    theta = x["params"].clone().requires_grad_(True)
    lp = reference.log_prob(spec, theta, x["obs"], x["act"])
    surrogate = (x["weights"] * torch.exp(lp - lp.detach())).sum()
    (g,) = torch.autograd.grad(surrogate, theta, create_graph=True)
    (hv,) = torch.autograd.grad((g * x["v"]).sum(), theta)
    _close(_emulated("hvp_lvc", spec, x), hv, torch.float64)


def _trajectories(T, B, H, dtype, seed=0, D=3):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, H + 1, (T, B), generator=g)
    lengths[0, 0] = H  # one full trajectory
    mask = (torch.arange(H)[None, None, :] < lengths[..., None]).to(dtype)
    r = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)
    return dict(rewards=r(T, B, H) * mask, values=r(T, B, H), mask=mask, obs=r(T, B, H, D) * 4,
                jvp=r(T, B, H), baseline=r(T, H))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 17), (2, 20, 100)], ids=["T1B1H1", "T3B5H17", "T2B20H100"])
def test_emulated_sample_programs_equal_cpu_kernels(dtype, shape):
    T, B, H = shape
    x = _trajectories(T, B, H, dtype)
    ops = kernels.ops.OPS
    emu = dict(emulate=True)
    for from_start in (False, True):
        _close(cuda.discounted_returns(x["rewards"], x["mask"], 0.97, from_start, **emu),
               ops.discounted_returns(x["rewards"], x["mask"], 0.97, from_start), dtype)
    _close(cuda.gae(x["rewards"], x["values"], x["mask"], 0.99, 0.95, **emu),
           ops.gae(x["rewards"], x["values"], x["mask"], 0.99, 0.95), dtype)
    flat = (T, 1, B * H)
    _close(cuda.normalize_per_task(x["values"].reshape(flat), x["mask"].reshape(flat), 1e-8, **emu),
           ops.normalize_per_task(x["values"].reshape(flat), x["mask"].reshape(flat), 1e-8), dtype)
    lp, old, adv = (x["values"].reshape(T, -1) * 0.1, x["jvp"].reshape(T, -1) * 0.1, x["rewards"].reshape(T, -1))
    for mask in (None, x["mask"].reshape(T, -1)):
        for clip in (-1.0, 0.2):
            for got, want in zip(cuda.ratio_weights(lp, old, adv, mask, clip, **emu),
                                 ops.ratio_weights(lp, old, adv, mask, clip)):
                _close(got, want, dtype)
    for baseline in (None, x["baseline"]):
        for jvp in (None, x["jvp"]):
            got = cuda.dice_weights(x["rewards"], x["mask"], baseline, 0.99, jvp, **emu)
            want = ops.dice_weights(x["rewards"], x["mask"], baseline, 0.99, jvp)
            _close(got[0], want[0], dtype)
            _close(got[2], want[2], dtype)
            if jvp is not None:
                _close(got[1], want[1], dtype)
    _close(cuda.emaml_credit(x["rewards"].reshape(T, -1), x["mask"].reshape(T, -1), **emu),
           ops.emaml_credit(x["rewards"].reshape(T, -1), x["mask"].reshape(T, -1)), dtype)
    for obs, predict_mask in ((x["obs"], x["mask"]), (None, None)):
        got_v, got_r = cuda.linear_baseline(obs, x["rewards"], x["mask"], predict_mask, **emu)
        want_v, want_r = ops.linear_baseline(obs, x["rewards"], x["mask"], predict_mask)
        assert torch.equal(got_r, want_r)
        _close(got_v, want_v, dtype)


def test_emulated_baseline_fit_of_a_wide_observation():
    """obs_dim 100: 204 features, a Gram matrix whose tile of steps no longer fits 64 rows."""
    x = _trajectories(2, 6, 40, torch.float64, seed=4, D=100)
    got_v, got_r = cuda.linear_baseline(x["obs"], x["rewards"], x["mask"], x["mask"], emulate=True)
    want_v, want_r = kernels.ops.OPS.linear_baseline(x["obs"], x["rewards"], x["mask"], x["mask"])
    assert torch.equal(got_r, want_r)
    _close(got_v, want_v, torch.float64)


def _operators(dtype, task_mean):
    spec, x = make_inputs(3, 45, 5, 2, (8, 7), "tanh", True, dtype=dtype, seed=9)
    _, post = make_inputs(3, 31, 5, 2, (8, 7), "tanh", True, dtype=dtype, seed=10)
    w = x["weights"] * 0.05
    return [
        kernels.KlFvpOperator(spec, x["params"], x["obs"], 0.01, task_mean=task_mean),
        kernels.KlFvpOperator(spec, x["params"], x["obs"], 0.0, x["weights"].abs() / 45, task_mean=task_mean),
        kernels.SurrogateHvpOperator(spec, x["params"], x["obs"], x["act"], w, "lvc", task_mean=task_mean),
        kernels.MamlTrpoFvpOperator(spec, x["params"], x["obs"], x["act"], w, 0.1, post["params"], post["obs"],
                                    "naive", 0.01, task_mean=task_mean),
    ], spec


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task_mean", [False, True], ids=["rows", "task-mean"])
def test_emulated_operators_and_device_cg_equal_cpu_solver(dtype, task_mean):
    ops, spec = _operators(dtype, task_mean)
    for op in ops:
        shape = op.shape
        v = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)
        _close(op.device_apply(v, emulate=True), op(v), dtype)
        if isinstance(op, kernels.SurrogateHvpOperator):
            continue  # indefinite: CG stops on non-positive curvature; covered below
        x, info = op.device_solve(v, 10, 1e-10, 0.001, emulate=True)
        want, want_info = kernels.conjugate_gradient(op, v, 10, 1e-10, 0.001, return_info=True, backend="cpp")
        _close(x, want, dtype) if dtype == torch.float64 else \
            assert_residual_small(op, x, v, want)
        assert torch.equal(info.status, want_info.status)
        # xᵀ(A + damping)x from the loop's own residual (TRPO's step length), against one more product
        rows = x.reshape(-1, x.shape[-1]).double()
        explicit = (rows * (op(x) + 0.001 * x).reshape(rows.shape).double()).sum(-1)
        torch.testing.assert_close(info.curvature, explicit, rtol=1e-8 if dtype == torch.float64 else 1e-3, atol=0.0)
        if dtype == torch.float64:
            assert torch.equal(info.iterations, want_info.iterations)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_emulated_forward_cache_gives_the_same_products(dtype):
    """The second product loads the stored activations (bit-identical results); a pair changed in
    place recomputes them."""
    spec, x = make_inputs(2, 45, 5, 2, (8, 7), "tanh", True, dtype=dtype, seed=12)
    cache = cuda.ForwardCache()
    common = dict(params=x["params"], obs=x["obs"], act=x["act"], weights=x["weights"], emulate=True)
    plain = [cuda.policy_op("hvp_lvc", spec, v=x["v"] * k, **common) for k in (1, 2)]
    cached = [cuda.policy_op("hvp_lvc", spec, v=x["v"] * k, cache=cache, **common) for k in (1, 2)]
    assert cache.filled
    for a, b in zip(plain, cached):
        assert torch.equal(a, b)
    # kl_fvp on the same pair reads the same activations
    assert torch.equal(cuda.policy_op("kl_fvp", spec, params=x["params"], obs=x["obs"], v=x["v"], cache=cache,
                                      emulate=True),
                       cuda.policy_op("kl_fvp", spec, params=x["params"], obs=x["obs"], v=x["v"], emulate=True))
    x["obs"].mul_(1.5)  # in place: the stored activations are stale and must be recomputed
    _close(cuda.policy_op("hvp_lvc", spec, v=x["v"], cache=cache, **common),
           cuda.policy_op("hvp_lvc", spec, v=x["v"], **common), dtype)
    cache.release()
    assert cache.storage is None


def assert_residual_small(op, x, b, want):
    """float32 CG amplifies rounding differences: both solutions must solve the system as well."""
    res = lambda y: ((op(y) + 0.001 * y - b).norm() / b.norm()).item()
    assert res(x) <= max(2 * res(want), 1e-3)


def test_emulated_cg_stops_each_system_as_the_cpu_solver_does():
    """Early convergence (a tolerance met at different iterations) and non-positive curvature."""
    ops, spec = _operators(torch.float64, False)
    hvp = ops[2]
    b = torch.randn(hvp.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for op, tol in ((hvp, 1e-10), (ops[0], 1e-3)):
        x, info = op.device_solve(b, 25, tol, 0.0, emulate=True)
        want, want_info = kernels.conjugate_gradient(op, b, 25, tol, 0.0, return_info=True, backend="cpp")
        for got_, want_ in zip((info.iterations, info.status), (want_info.iterations, want_info.status)):
            assert torch.equal(got_, want_)
        # 25 iterations on an indefinite operator amplify the products' last-bit differences
        assert ((x - want).abs().max() / want.abs().max()).item() < 1e-4
        # final r·r: the same magnitude (its last digits are rounding noise of the late iterations)
        torch.testing.assert_close(info.residual, want_info.residual, rtol=0.25, atol=1e-9 * (b * b).sum().item())


# ---- the launch plan --------------------------------------------------------------------------------

def test_plan_depends_on_sizes_only_and_fits_shared_memory():
    spec = PolicySpec(20, 6, (64, 64))
    for op in OPS:
        for dtype in (torch.float32, torch.float64):
            a = cuda.plan(op, spec, dtype, 40, 2000)
            assert a == cuda.plan(op, spec, dtype, 40, 2000)
            assert 1 <= a["tile"] <= 64 and a["tile"] & (a["tile"] - 1) == 0
            assert a["smem_bytes"] <= 96 * 1024
            assert 1 <= a["chunks"] <= -(-2000 // a["tile"])
    a = cuda.plan("hvp_lvc", spec, torch.float64, 40, 2000)
    # partial sums, then the packed rows of params and v (per task here)
    assert a["workspace_bytes"] == 40 * a["chunks"] * spec.num_params * 8 + 2 * 40 * spec.num_params * 8
    shared = cuda.plan("hvp_lvc", spec, torch.float32, 40, 2000, per_task_params=False, per_task_v=False)
    assert shared["workspace_bytes"] == 40 * shared["chunks"] * spec.num_params * 8 + 2 * spec.num_params * 4
    assert cuda.plan("kl_fvp", spec, torch.float32, 3, 100, weighted=True)["wsum_elems"] == \
        3 * cuda.plan("kl_fvp", spec, torch.float32, 3, 100)["chunks"]
    # a wide network gets a smaller tile, never more than the budget
    wide = cuda.plan("hvp_lvc", PolicySpec(300, 30, (1024, 1024)), torch.float64, 1, 10)
    assert wide["tile"] < 16 and wide["smem_bytes"] <= 96 * 1024
    # at most 512 MiB of partial sums
    big = cuda.plan("hvp_lvc", PolicySpec(100, 10, (512, 512)), torch.float64, 100, 10 ** 6)
    assert big["partial_elems"] * 8 <= 512 << 20


def test_plan_refuses_what_cannot_run():
    with pytest.raises(ValueError, match="at most 65535 task groups"):
        cuda.plan("log_prob", PolicySpec(3, 1, (4,)), torch.float32, 70000, 10)
    with pytest.raises(ValueError, match="hidden layers"):
        cuda.plan("log_prob", PolicySpec(3, 1, (4,) * 8), torch.float32, 1, 10)
    with pytest.raises(ValueError, match="too wide"):
        cuda.plan("hvp_lvc", PolicySpec(3, 1, (20000,)), torch.float64, 1, 10)
    with pytest.raises(ValueError, match="unknown policy op"):
        cuda.plan("nope", PolicySpec(3, 1, (4,)), torch.float32, 1, 10)


# ---- dispatch rules ---------------------------------------------------------------------------------

def test_backend_cuda_refuses_cpu_tensors_and_auto_keeps_cuda_on_the_reference():
    spec, x = make_inputs(1, 4, 3, 1, (5,), "tanh", False, dtype=torch.float64)
    with pytest.raises(ValueError, match="backend='cuda' needs CUDA tensors"):
        kernels.log_prob(spec, x["params"], x["obs"], x["act"], backend="cuda")
    cuda_dev = torch.device("cuda", 0)
    assert not _validation.AUTO_USES_CUDA_KERNELS  # flipped by the first verified GPU run only
    assert _validation.resolve_backend("f", "auto", cuda_dev) == "torch"
    assert _validation.resolve_backend("f", "auto", torch.device("cpu")) == "cpp"
    with pytest.raises(ValueError, match="needs CPU tensors"):
        _validation.resolve_backend("f", "cpp", cuda_dev)
    with pytest.raises(ValueError, match="backend='cpp' has no derivative"):
        _validation.resolve_backend("f", "cpp", torch.device("cpu"), blocked={"obs"})


def test_backend_cuda_refuses_inputs_that_require_grad(monkeypatch):
    monkeypatch.setattr(_C, "has_cuda", True)  # the rule, whether or not this build has the kernels
    with pytest.raises(ValueError, match="backend='cuda' has no derivative with respect to obs"):
        _validation.resolve_backend("f", "cuda", torch.device("cuda", 0), blocked={"obs"})
    assert _validation.resolve_backend("f", "cuda", torch.device("cuda", 0)) == "cuda"


def test_use_cuda_kernels_opts_auto_in_for_cuda_tensors_only():
    cuda_dev, cpu = torch.device("cuda", 0), torch.device("cpu")
    with kernels.use_cuda_kernels():
        assert _validation.resolve_backend("f", "auto", cuda_dev) == ("cuda" if _C.has_cuda else "torch")
        assert _validation.resolve_backend("f", "auto", cpu) == "cpp"
        assert _validation.resolve_backend("f", "auto", cuda_dev, blocked={"obs"}) == "torch"  # autograd first
        with kernels.use_cuda_kernels(False):
            assert _validation.resolve_backend("f", "auto", cuda_dev) == "torch"
    assert _validation.resolve_backend("f", "auto", cuda_dev) == "torch"


def test_use_cuda_kernels_in_a_build_without_cuda_raises(monkeypatch):
    monkeypatch.setattr(_C, "has_cuda", False)
    with pytest.raises(RuntimeError, match="this build of metarl_fast has no CUDA kernels"):
        with kernels.use_cuda_kernels():
            pass
    with kernels.use_cuda_kernels(False):  # opting out needs no kernels
        assert not _validation.auto_uses_cuda_kernels()


def test_backend_cuda_in_a_build_without_cuda_says_so(monkeypatch):
    monkeypatch.setattr(_C, "has_cuda", False)
    with pytest.raises(RuntimeError, match="built with CUDA"):
        _validation.resolve_backend("f", "cuda", torch.device("cuda", 0))
    monkeypatch.setattr(_validation, "AUTO_USES_CUDA_KERNELS", True)
    assert _validation.resolve_backend("f", "auto", torch.device("cuda", 0)) == "torch"


def test_the_cuda_entry_points_refuse_cpu_tensors_and_emulation_refuses_others():
    spec = PolicySpec(3, 1, (4,))
    args = dict(params=torch.zeros(spec.num_params), obs=torch.zeros(1, 2, 3), act=torch.zeros(1, 2, 1))
    with pytest.raises(ValueError, match="need CUDA tensors"):
        cuda.policy_op("log_prob", spec, **args)
    with pytest.raises(ValueError, match="emulate=True runs on CPU tensors"):
        cuda.discounted_returns(torch.zeros(1, 1, 2, device="meta"), torch.ones(1, 1, 2, device="meta"), 0.9, False,
                                emulate=True)
    torch.testing.assert_close(cuda.policy_op("log_prob", spec, emulate=True, **args),
                               kernels.log_prob(spec, **args, backend="cpp"))


# ---- on the GPU ---------------------------------------------------------------------------------------

def _to(x, device):
    return {k: v.to(device) for k, v in x.items()}


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("case", POLICY_CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_gpu_kernels_equal_cpu_kernels(case, dtype):
    spec, x = make_inputs(*case, dtype=dtype)
    xg = _to(x, "cuda")
    for op in OPS:
        for weighted in ((False, True) if op in ("gaussian_kl", "kl_grad", "kl_fvp") else (False,)):
            want = _public(op, spec, x, "cpp", weighted)
            got = _public(op, spec, xg, "cuda", weighted)
            assert got.device.type == "cuda"
            _close(got.cpu(), want, dtype)
            # and the torch reference on the same device
            _close(got, _public(op, spec, xg, "torch", weighted), dtype)


@pytest.mark.cuda
@needs_gpu
def test_gpu_kernels_are_deterministic_and_handle_large_n():
    spec, x = make_inputs(4, 50_000, 20, 6, (64, 64), "tanh", True, dtype=torch.float32, seed=11)
    xg = _to(x, "cuda")
    for op in ("hvp_lvc", "kl_fvp", "score_vjp", "gaussian_kl"):
        first = _public(op, spec, xg, "cuda")
        for _ in range(3):
            assert torch.equal(first, _public(op, spec, xg, "cuda"))
        want = _public(op, spec, _to(x, "cpu"), "cpp")
        assert ((first.cpu() - want).abs().max() / want.abs().max().clamp_min(1)).item() < 1e-3


@pytest.mark.cuda
@needs_gpu
def test_gpu_autograd_through_the_kernels_matches_the_reference():
    """log_prob twice differentiable through the CUDA kernels: a MAML inner step's meta-gradient."""
    spec, x = make_inputs(2, 33, 4, 2, (8, 8), "tanh", True, dtype=torch.float64, seed=2)
    xg = _to(x, "cuda")

    def meta_grad(backend):
        theta = xg["params"].clone().requires_grad_(True)
        lp = kernels.log_prob(spec, theta, xg["obs"], xg["act"], backend=backend)
        (g,) = torch.autograd.grad((xg["weights"] * lp).sum(), theta, create_graph=True)
        adapted = theta + 0.1 * g
        out = kernels.log_prob(spec, adapted, xg["obs"], xg["act"], backend=backend).sum()
        return torch.autograd.grad(out, theta)[0]

    _close(meta_grad("cuda"), meta_grad("torch"), torch.float64)


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_gpu_advantages_and_estimators_equal_cpu_kernels(dtype):
    T, B, H = 3, 20, 100
    x = _trajectories(T, B, H, dtype, D=4)
    spec = PolicySpec(4, 2, (16, 16))
    g = torch.Generator().manual_seed(4)
    params = (spec.init_params(seed=g, dtype=torch.float64) * 1.0).to(dtype)
    act = torch.randn(T, B, H, 2, generator=g, dtype=torch.float64).to(dtype)
    v = torch.randn(spec.num_params, generator=g, dtype=torch.float64).to(dtype)
    old_lp = kernels.log_prob(spec, params, x["obs"].reshape(T, -1, 4), act.reshape(T, -1, 2)) + 0.05

    def both(fn, *args, **kw):
        want = fn(*args, **kw, backend="cpp")
        got = fn(*[a.cuda() if isinstance(a, torch.Tensor) else a for a in args],
                 **{k: a.cuda() if isinstance(a, torch.Tensor) else a for k, a in kw.items()}, backend="cuda")
        for w_, g_ in zip(want if isinstance(want, tuple) else (want,), got if isinstance(got, tuple) else (got,)):
            assert g_.device.type == "cuda"
            _close(g_.cpu(), w_, dtype)

    both(kernels.discounted_returns, x["rewards"], x["mask"], 0.99)
    both(kernels.gae, x["rewards"], x["values"], x["mask"], 0.99, 0.95)
    both(kernels.normalize_per_task, x["values"], x["mask"])
    both(kernels.linear_time_baseline, x["rewards"], x["mask"])
    both(kernels.lr_grad, spec, params, x["obs"], act, old_lp.reshape(T, B, H), x["values"], mask=x["mask"])
    both(kernels.ppo_clip_grad, spec, params, x["obs"], act, old_lp.reshape(T, B, H), x["values"], 0.2,
         mask=x["mask"])
    both(kernels.dice_hvp, spec, params, x["obs"], act, x["rewards"], x["mask"], v, 0.99, baseline=x["baseline"])
    both(kernels.emaml_credit, x["rewards"], x["mask"])
    # the feature baseline: the same fit up to the Gram matrix's conditioning
    want = kernels.linear_feature_baseline(x["obs"], x["rewards"], x["mask"], backend="cpp")
    got = kernels.linear_feature_baseline(x["obs"].cuda(), x["rewards"].cuda(), x["mask"].cuda(), backend="cuda").cpu()
    rss = lambda fit: (((x["rewards"] - fit) * x["mask"]) ** 2).sum().item()
    assert abs(rss(got) - rss(want)) <= 1e-4 * max(1.0, rss(want))


@pytest.mark.cuda
@needs_gpu
@pytest.mark.parametrize("task_mean", [False, True], ids=["rows", "task-mean"])
def test_gpu_operators_and_cg_equal_cpu_solver(task_mean):
    ops, spec = _operators(torch.float64, task_mean)
    for op in ops:
        gpu_op = type(op).__new__(type(op))
        gpu_op.__dict__.update({k: (v.cuda() if isinstance(v, torch.Tensor) else v) for k, v in op.__dict__.items()})
        gpu_op.pre_args = tuple(t.cuda() for t in op.pre_args) if hasattr(op, "pre_args") else None
        gpu_op.device, gpu_op.backend, gpu_op._compiled = torch.device("cuda", 0), "cuda", None
        b = torch.randn(op.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        _close(gpu_op(b.cuda()).cpu(), op(b), torch.float64)
        if isinstance(op, kernels.SurrogateHvpOperator):
            continue
        x, info = kernels.conjugate_gradient(gpu_op, b.cuda(), 10, 1e-10, 0.001, return_info=True, backend="cuda")
        want, want_info = kernels.conjugate_gradient(op, b, 10, 1e-10, 0.001, return_info=True, backend="cpp")
        _close(x.cpu(), want, torch.float64)
        assert torch.equal(info.iterations.cpu(), want_info.iterations)

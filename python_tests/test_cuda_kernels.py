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
    assert a["workspace_bytes"] == 40 * a["chunks"] * spec.num_params * 8
    assert cuda.plan("kl_fvp", spec, torch.float32, 3, 100, weighted=True)["wsum_elems"] == \
        3 * cuda.plan("kl_fvp", spec, torch.float32, 3, 100)["chunks"]
    # a wide network gets a smaller tile, never more than the budget
    wide = cuda.plan("hvp_lvc", PolicySpec(300, 30, (1024, 1024)), torch.float64, 1, 10)
    assert wide["tile"] < 16 and wide["smem_bytes"] <= 96 * 1024
    # at most 512 MiB of partial sums
    big = cuda.plan("hvp_lvc", PolicySpec(100, 10, (512, 512)), torch.float64, 100, 10 ** 6)
    assert big["workspace_bytes"] <= 512 << 20


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
    with pytest.raises(ValueError, match="no derivative"):
        _validation.resolve_backend("f", "cuda", cuda_dev, blocked={"obs"}) if _C.has_cuda else \
            _validation.resolve_backend("f", "cpp", torch.device("cpu"), blocked={"obs"})


def test_backend_cuda_in_a_build_without_cuda_says_so(monkeypatch):
    monkeypatch.setattr(_C, "has_cuda", False)
    with pytest.raises(RuntimeError, match="built with CUDA"):
        _validation.resolve_backend("f", "cuda", torch.device("cuda", 0))
    monkeypatch.setattr(_validation, "AUTO_USES_CUDA_KERNELS", True)
    assert _validation.resolve_backend("f", "auto", torch.device("cuda", 0)) == "torch"


def test_device_count_is_safe_without_a_gpu():
    assert cuda.device_count() >= 0
    if not HAS_GPU:
        with pytest.raises(ValueError, match="need CUDA tensors"):
            cuda.policy_op("log_prob", PolicySpec(3, 1, (4,)), params=torch.zeros(PolicySpec(3, 1, (4,)).num_params),
                           obs=torch.zeros(1, 2, 3), act=torch.zeros(1, 2, 1))


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

"""Bad input gets a clear exception naming the argument; never a crash or a silent wrong result."""
import pytest
import torch

from metarl_fast import PolicySpec, kernels as K

from conftest import make_inputs

T, N = 3, 10
SPEC, X = make_inputs(T, N, 4, 2, (8,), "tanh", True, dtype=torch.float32, seed=0)
P = SPEC.num_params


def good(**override):
    d = dict(X)
    d.update(override)
    return d


def run_hvp(d, backend="cpp"):
    return K.surrogate_hvp(SPEC, d["params"], d["obs"], d["act"], d["weights"], d["v"], backend=backend)


CASES = [
    # (override, exception, message fragment)
    (dict(params=X["params"][:, :-1]), ValueError, "params must have shape [P] or [T, P]"),
    (dict(params=X["params"][:2]), ValueError, "params must have shape [P] or [T, P] = [3,"),
    (dict(params=X["params"].double()), TypeError, "obs has dtype torch.float32 but params has torch.float64"),
    (dict(params=X["params"].half()), TypeError, "params must be float32 or float64"),
    (dict(params=X["params"].numpy()), TypeError, "params must be a torch.Tensor"),
    (dict(params=torch.full_like(X["params"], float("nan"))), ValueError, "params contains NaN"),
    (dict(obs=X["obs"][..., :3]), ValueError, "obs must have shape [T, N, obs_dim]"),
    (dict(obs=X["obs"][0]), ValueError, "obs must have shape [T, N, obs_dim]"),
    (dict(obs=X["obs"][:, :0]), ValueError, "at least one task group and one sample"),
    (dict(obs=X["obs"].to(torch.int32)), TypeError, "obs must be float32 or float64"),
    (dict(act=X["act"][:, :-1]), ValueError, "act must have shape [T, N, act_dim] = [3, 10, 2]"),
    (dict(act=X["act"].double()), TypeError, "act has dtype"),
    (dict(weights=X["weights"][:, None]), ValueError, "weights must have shape [T, N] = [3, 10]"),
    (dict(v=X["v"][:, :5]), ValueError, "v must have shape [P] or [T, P]"),
    (dict(v=X["v"].clone().fill_(float("inf"))), ValueError, "v contains NaN or infinite"),
    (dict(obs=X["obs"].clone().fill_(float("nan"))), ValueError, "obs contains NaN or infinite"),
    (dict(act=X["act"].clone().fill_(float("inf"))), ValueError, "act contains NaN or infinite"),
    (dict(weights=X["weights"].clone().fill_(float("nan"))), ValueError, "weights contains NaN or infinite"),
    (dict(act=None), TypeError, "act is required (a torch.Tensor), got None"),
    (dict(weights=None), TypeError, "weights is required"),
    (dict(v=None), TypeError, "v is required"),
]


@pytest.mark.parametrize("override, exc, fragment", CASES)
def test_bad_input_is_rejected(override, exc, fragment):
    with pytest.raises(exc) as info:
        run_hvp(good(**override))
    assert fragment in str(info.value)
    assert str(info.value).startswith("surrogate_hvp:")


def test_bad_input_rejected_for_torch_backend_too():
    with pytest.raises(ValueError, match="weights must have shape"):
        run_hvp(good(weights=X["weights"][:, :3]), backend="torch")


def test_unknown_backend_and_curvature():
    with pytest.raises(ValueError, match="backend must be one of"):
        run_hvp(good(), backend="gpu")
    with pytest.raises(ValueError, match="curvature must be one of"):
        K.surrogate_hvp(SPEC, X["params"], X["obs"], X["act"], X["weights"], X["v"], curvature="dice")


def test_spec_type_and_values():
    with pytest.raises(TypeError, match="spec must be a PolicySpec"):
        K.log_prob((4, 2), X["params"], X["obs"], X["act"])
    with pytest.raises(ValueError, match="activation"):
        PolicySpec(4, 2, (8,), "sigmoid")
    with pytest.raises(ValueError, match="hidden"):
        PolicySpec(4, 2, (8, 0))
    with pytest.raises(ValueError, match="obs_dim"):
        PolicySpec(0, 2)


def test_kl_inputs():
    with pytest.raises(ValueError, match="old_mean must have shape"):
        K.gaussian_kl(SPEC, X["params"], X["obs"], X["old_mean"][:, :4], X["old_log_std"])
    with pytest.raises(ValueError, match="old_log_std must have shape"):
        K.kl_grad(SPEC, X["params"], X["obs"], X["old_mean"], X["old_log_std"][:, :1])
    with pytest.raises(ValueError, match="damping must be a finite number"):
        K.kl_fvp(SPEC, X["params"], X["obs"], X["v"], damping=-1.0)
    with pytest.raises(ValueError, match="damping must be a finite number"):
        K.kl_fvp(SPEC, X["params"], X["obs"], X["v"], damping=float("nan"))


def test_cpp_backend_refuses_inputs_it_cannot_differentiate_and_auto_falls_back():
    """(The derivatives themselves: test_autograd.py.)"""
    obs = X["obs"].clone().requires_grad_(True)
    with pytest.raises(ValueError, match="backend='cpp' has no derivative with respect to obs"):
        K.log_prob(SPEC, X["params"], obs, X["act"], backend="cpp")
    lp = K.log_prob(SPEC, X["params"], obs, X["act"])  # auto → the differentiable reference
    lp.sum().backward()
    assert obs.grad is not None and torch.isfinite(obs.grad).all()


def test_cpp_backend_refuses_non_cpu_device():
    meta = {k: v.to("meta") for k, v in X.items()}
    with pytest.raises(ValueError, match="backend='cpp' needs CPU tensors"):
        K.log_prob(SPEC, meta["params"].clone(), meta["obs"], meta["act"], backend="cpp")


def test_mixed_devices_are_rejected():
    with pytest.raises(ValueError, match="act is on meta but params is on cpu"):
        K.log_prob(SPEC, X["params"], X["obs"], X["act"].to("meta"))


def test_private_entry_points_check_sizes():
    """Even the private _C functions raise on mis-shaped arrays instead of reading out of bounds, and
    which arrays an op takes comes from the C++ op-traits table."""
    import numpy as np

    from metarl_fast import _C

    p = X["params"].numpy()
    obs, act, w = X["obs"].numpy(), X["act"].numpy(), X["weights"].numpy()
    spec = SPEC.native
    assert _C.log_prob(spec, p, obs, act).shape == (T, N)  # well-formed
    assert _C.policy_op_inputs()["score_vjp"] == ["params", "obs", "act", "weights"]
    assert _C.policy_op_inputs()["gaussian_kl"] == ["params", "obs", "weights", "old_mean", "old_log_std"]
    for bad, fragment in [(dict(act=act[:, :5].copy()), "act has"), (dict(params=p[:2].copy()), "params must be"),
                          (dict(obs=obs[..., :3].copy()), "obs must be"),
                          (dict(spec=_C.MlpSpec(4, 2, [9], "tanh")), "params must be")]:
        args = {**dict(spec=spec, params=p, obs=obs, act=act), **bad}
        with pytest.raises(ValueError, match=fragment):
            _C.log_prob(**args)
    with pytest.raises(TypeError):  # a float64 array where params is float32: no silent conversion
        _C.score_vjp(spec, p, obs, act, w.astype(np.float64))
    with pytest.raises(ValueError, match="activation"):
        _C.MlpSpec(4, 2, [8], "gelu")


def test_any_strided_input_gives_the_contiguous_result():
    """The public kernels take views (transposes, slices, expanded rows, a slice of a vmap result)
    and return what they return on contiguous copies, bit for bit, as new contiguous tensors."""
    spec, x = SPEC, X
    obs_t = x["obs"].transpose(0, 1).contiguous().transpose(0, 1)
    assert not obs_t.is_contiguous()
    strided_w = torch.stack([x["weights"], x["weights"]], -1)[..., 0]
    assert not strided_w.is_contiguous() and torch.equal(strided_w, x["weights"])
    a = K.surrogate_hvp(spec, x["params"], obs_t, x["act"], strided_w, x["v"])
    b = K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], x["weights"], x["v"])
    assert torch.equal(a, b) and a.is_contiguous()
    rows = x["params"][:1].expand(T, -1)  # expanded rows (stride 0)
    assert torch.equal(K.score_vjp(spec, rows, obs_t, x["act"], strided_w),
                       K.score_vjp(spec, rows.contiguous(), x["obs"], x["act"], x["weights"]))
    from metarl_fast import reference

    both = torch.func.vmap(lambda p, o: torch.cat([reference.policy_mean(spec, p, o.unsqueeze(0))[0]] * 2, -1))(
        x["params"], x["obs"])  # [T, N, 2·act_dim]
    old_mean = both[..., :spec.act_dim]  # a slice of a vmap result
    ls = spec.unflatten(x["params"])["log_std"]  # a strided view of params
    assert not old_mean.is_contiguous() and not ls.is_contiguous()
    assert torch.equal(K.gaussian_kl(spec, x["params"], x["obs"], old_mean, ls),
                       K.gaussian_kl(spec, x["params"], x["obs"], old_mean.contiguous(), ls.contiguous()))
    rew = torch.rand(T, 4, 6, dtype=torch.float64)
    wide = torch.cat([rew, rew], -1)[..., :6]
    mask = torch.ones(T, 4, 6, dtype=torch.float64)
    assert not wide.is_contiguous()
    assert torch.equal(K.gae(wide, wide, mask, 0.9, 0.95), K.gae(rew, rew, mask, 0.9, 0.95))
    op = K.KlFvpOperator(spec, x["params"], obs_t, damping=0.1)
    assert torch.equal(K.conjugate_gradient(op, strided_w @ torch.ones(N, P) / N),
                       K.conjugate_gradient(K.KlFvpOperator(spec, x["params"], x["obs"], damping=0.1),
                                            (x["weights"] @ torch.ones(N, P) / N).contiguous()))


def test_empty_batches_and_missing_inputs_of_the_estimators_and_advantages():
    """H = 0 (an empty batch) and None for a required tensor: a clear error, not a reshape error."""
    r0, m0 = torch.zeros(2, 3, 0), torch.ones(2, 3, 0)
    for call in (lambda: K.discounted_returns(r0, m0, 0.99), lambda: K.gae(r0, r0, m0, 0.99, 0.9),
                 lambda: K.linear_feature_baseline(torch.zeros(2, 3, 0, 4), r0, m0),
                 lambda: K.linear_time_baseline(r0, m0)):
        with pytest.raises(ValueError, match=r"at least one task group, trajectory and step \[T, B, H\], got shape \[2, 3, 0\]"):
            call()
    with pytest.raises(ValueError, match="at least one task group of at least one entry"):
        K.normalize_per_task(r0, m0)
    with pytest.raises(ValueError, match="at least one task group of at least one entry"):
        K.emaml_credit(r0, m0)
    spec = PolicySpec(obs_dim=4, act_dim=2, hidden=(8,))
    theta = spec.init_params()
    obs, act, r = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 2), torch.randn(2, 3, 5)
    with pytest.raises(TypeError, match="lr_grad: old_log_prob is required"):
        K.lr_grad(spec, theta, obs, act, None, r)
    with pytest.raises(TypeError, match="lr_grad: advantages is required"):
        K.lr_grad(spec, theta, obs, act, r, None)
    with pytest.raises(TypeError, match="dice_objective: mask is required"):
        K.dice_objective(spec, theta, obs, act, r, None, 0.99)
    with pytest.raises(TypeError, match="emaml_grad: mask is required"):
        K.emaml_grad(spec, theta, obs, act, None, torch.ones(2))
    with pytest.raises(TypeError, match="kl_fvp: v is required"):
        K.kl_fvp(spec, theta, obs[:, 0], None)
    with pytest.raises(TypeError, match="gaussian_kl: old_mean is required"):
        K.gaussian_kl(spec, theta, obs[:, 0], None, torch.zeros(2))


def test_score_jvp_reference_with_shared_params_and_per_task_vectors():
    """The reference's forward-mode product works on a shared θ [P] with per-task v [T, P] (it
    used to fail writing into an expanded view) and equals the compiled kernel."""
    spec = PolicySpec(obs_dim=4, act_dim=2, hidden=(8,))
    g = torch.Generator().manual_seed(0)
    theta = spec.init_params(seed=g, dtype=torch.float64)
    obs, act = torch.randn(3, 6, 4, generator=g, dtype=torch.float64), torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
    v = torch.randn(3, spec.num_params, generator=g, dtype=torch.float64)
    torch.testing.assert_close(K.score_jvp(spec, theta, obs, act, v, backend="torch"),
                               K.score_jvp(spec, theta, obs, act, v, backend="cpp"), rtol=1e-10, atol=1e-12)


def test_the_native_finiteness_scan_finds_every_bad_value_at_any_position():
    """_C.all_finite against torch.isfinite for NaN, ±inf at every position of arrays whose lengths
    are and are not multiples of its 16 lanes; huge finite values are finite."""
    from metarl_fast import _C

    for n in (1, 15, 16, 17, 33, 100):
        for dtype in (torch.float32, torch.float64):
            x = torch.full((n,), 3e38 if dtype == torch.float32 else 1e308, dtype=dtype)
            assert _C.all_finite(x.numpy())
            for pos in range(n):
                for bad in (float("nan"), float("inf"), -float("inf")):
                    y = x.clone()
                    y[pos] = bad
                    assert not _C.all_finite(y.numpy()), (n, dtype, pos, bad)


def test_unclear_inputs_get_messages_naming_the_argument():
    """What used to surface as pybind's 'incompatible function arguments' or a NoneType error."""
    import metarl_fast
    from metarl_fast.kernels import conjugate_gradient, trpo_step

    p = torch.zeros(4, dtype=torch.float64)
    for bad in (torch.zeros(4, dtype=torch.int64), torch.zeros(4, dtype=torch.float16), torch.zeros(4, dtype=torch.bool)):
        with pytest.raises(TypeError, match="trpo_step: params must be float32 or float64"):
            trpo_step(bad, bad, lambda x: 0.0, lambda x: 0.0, 0.01, dHd=1.0)
        with pytest.raises(TypeError, match="trpo_step: direction must be float32 or float64"):
            trpo_step(p, bad, lambda x: 0.0, lambda x: 0.0, 0.01, dHd=1.0)
    with pytest.raises(ValueError, match=r"conjugate_gradient: iters must be an int in \[0, 2147483647\]"):
        conjugate_gradient(lambda v: v, p, iters=2**63 + 7)
    with pytest.raises(ValueError, match="more than .* threads, 8 per CPU"):
        metarl_fast.set_num_threads(2**31)
    before = metarl_fast.get_num_threads()
    with pytest.raises(ValueError, match="more than .* threads"):
        metarl_fast.set_num_threads(100000)
    assert metarl_fast.get_num_threads() == before  # nothing started
    with pytest.raises(TypeError, match=r"PolicySpec.hidden must be a sequence of positive ints"):
        PolicySpec(3, 2, None)
    with pytest.raises(ValueError, match="a layer of 1099511627776 units is more than 1048576"):
        PolicySpec(3, 2, (2**40,))
    with pytest.raises(ValueError, match="parameters, more than"):
        PolicySpec(3, 2, (1 << 20, 1 << 20))

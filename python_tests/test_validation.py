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
    (dict(obs=X["obs"].transpose(0, 1).contiguous().transpose(0, 1)), ValueError, "obs must be contiguous"),
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


def test_cpp_backend_refuses_autograd_inputs_and_auto_falls_back():
    params = X["params"].clone().requires_grad_(True)
    with pytest.raises(ValueError, match="backend='cpp' returns no autograd history"):
        K.log_prob(SPEC, params, X["obs"], X["act"], backend="cpp")
    lp = K.log_prob(SPEC, params, X["obs"], X["act"])  # auto → differentiable torch path
    lp.sum().backward()
    assert params.grad is not None and torch.isfinite(params.grad).all()


def test_cpp_backend_refuses_non_cpu_device():
    meta = {k: v.to("meta") for k, v in X.items()}
    with pytest.raises(ValueError, match="backend='cpp' needs CPU tensors"):
        K.log_prob(SPEC, meta["params"].clone(), meta["obs"], meta["act"], backend="cpp")


def test_mixed_devices_are_rejected():
    with pytest.raises(ValueError, match="act is on meta but params is on cpu"):
        K.log_prob(SPEC, X["params"], X["obs"], X["act"].to("meta"))


def test_private_entry_point_checks_sizes():
    """Even the private _C entry point raises on mis-sized arrays instead of reading out of bounds."""
    import numpy as np

    from metarl_fast import _C

    p = X["params"].numpy()
    obs, act = X["obs"].numpy(), X["act"].numpy()
    out = np.empty((T, N), np.float32)
    args = dict(op=int(_C.PolicyOp.log_prob), obs_dim=4, act_dim=2, hidden=[8], activation=0, params=p,
                params_per_task=True, obs=obs, act=act, weights=None, weights2=None, v=None, v_per_task=False, old_mean=None,
                old_log_std=None, old_log_std_per_task=False, damping=0.0, out=out)
    _C.policy_kernel(**args)  # well-formed
    for bad, fragment in [(dict(act=act[:, :5].copy()), "act has"), (dict(act=None), "act is required"),
                          (dict(params=p[:2].copy()), "params has"), (dict(out=out[:1].copy()), "out has"),
                          (dict(op=99), "unknown op"), (dict(hidden=[9]), "params has")]:
        with pytest.raises(ValueError, match=fragment):
            _C.policy_kernel(**{**args, **bad})

"""The compiled kernels as torch custom operators (``torch.ops.metarl_fast.*``).

Registered with ``torch.library``, each op is opaque to ``torch.compile`` (a fake implementation
gives its result's shape, so a compiled function that calls kernels traces without graph breaks)
and honest under autograd: where the derivative is itself a kernel it is registered —

    log_prob(θ, s, a)        ∂/∂θ: score_vjp(w = ḡ)              ∂/∂a: (μ − a)/σ² · ḡ
    policy_mean(θ, s)        ∂/∂θ: Σ_n J_nᵀ ḡ_n (score_vjp at a pseudo-action; once differentiable)
    score_vjp(θ, s, a, w)    ∂/∂θ: hvp_naive(w, v = ḡ)            ∂/∂w: score_jvp(v = ḡ)
    score_jvp(θ, s, a, v)    ∂/∂θ: hvp_naive(w = ḡ, v)            ∂/∂v: score_vjp(w = ḡ)
    hvp_naive/lvc(θ, s, a, w, v)   ∂/∂v: the same op at v = ḡ (H is symmetric)
    gaussian_kl(θ, s, μ_old, ℓ_old, w)   ∂/∂θ: kl_grad(w · ḡ)
    kl_fvp(θ, s, v, λ, w)    ∂/∂v: kl_fvp(v = ḡ) (F + λI is symmetric)

— so log_prob is differentiable twice through kernels, score_vjp and score_jvp once (the MAML
inner step θ' = θ + α score_vjp(θ) has its exact meta-gradient). Every other input that requires
grad (observations, weights of an HVP, the KL's old policy, a kernel's derivative taken once more
than the table allows) raises instead of returning a silently detached tensor.

Arguments: tensors as metarl_fast.kernels documents them (already validated; any strides), and the
policy architecture as (obs_dim, act_dim, hidden, activation). Results are new tensors. Each op has a
CPU implementation (the C++ core) and a CUDA one (the CUDA kernels, kernels/cuda.py), chosen by the
inputs' device, so the derivatives above hold on both.
"""
from __future__ import annotations

import functools

import torch

from .. import _C
from ..policies import PolicySpec
from ..reference.policy import NoDerivativeError
from ._validation import host
from . import cuda
from .forward_cache import active_cache

_LIB = torch.library.Library("metarl_fast", "DEF")
_SPEC_ARGS = "int obs_dim, int act_dim, int[] hidden, str activation"


def _spec(obs_dim: int, act_dim: int, hidden, activation: str) -> PolicySpec:
    return _spec_of(int(obs_dim), int(act_dim), tuple(int(h) for h in hidden), activation)


@functools.lru_cache(maxsize=64)
def _spec_of(obs_dim: int, act_dim: int, hidden: tuple, activation: str) -> PolicySpec:
    return PolicySpec(obs_dim, act_dim, hidden, activation)


def _call(name: str, spec: PolicySpec, **arrays) -> torch.Tensor:
    if arrays["params"].device.type == "cuda":
        return cuda.policy_op(name, spec, **arrays)
    # Inside kernels.shared_forward(), every op but policy_mean shares the pair's forward pass.
    # policy_mean is what the Python-loop samplers call at every step, on new observations each
    # time: a cache would only make it compute whole 64-row tiles for a few environments.
    cache = None if name == "policy_mean" else active_cache(arrays["params"], arrays["obs"])
    return torch.from_numpy(getattr(_C, name)(spec.native, **{k: host(v) if isinstance(v, torch.Tensor) else v
                                                              for k, v in arrays.items()}, cache=cache))


def _define(name: str, tensors: str, fake, impl) -> None:
    _LIB.define(f"{name}({tensors}, {_SPEC_ARGS}) -> Tensor")
    _LIB.impl(name, impl, "CPU")
    _LIB.impl(name, impl, "CUDA")  # _call sends CUDA tensors to the CUDA kernels
    torch.library.register_fake(f"metarl_fast::{name}", fake)


def _rows(x: torch.Tensor, like_dim: int) -> torch.Tensor:
    """A [T, P] gradient as the input it belongs to: summed over task groups for a shared [P] input."""
    return x.sum(0) if like_dim == 1 else x


def _refuse(op: str, name: str) -> None:
    raise NoDerivativeError(f"metarl_fast.kernels.{op}: no derivative with respect to {name} in the compiled kernels; "
                       f"use backend='torch' to differentiate through it")


def _once(what: str, grads: tuple, inputs) -> tuple:
    """The gradients of a backward that is not differentiable again: under create_graph they carry a
    node that raises when differentiated, linked to the op's inputs that require grad (a silently
    constant result would make higher-order derivatives wrong)."""
    if not torch.is_grad_enabled():
        return grads
    tensors = [g for g in grads if isinstance(g, torch.Tensor)]
    anchors = [x for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad]
    if not tensors or not anchors:
        return grads
    link = sum(a.flatten()[0] * 0 for a in anchors)  # a path from the inputs to the raising node
    err = torch._C._functions.DelayedError(
        f"metarl_fast: the derivative of {what} by the compiled kernels is not differentiable again; use "
        f"backend='torch' for higher orders", len(tensors))
    out = err(*[t.detach() + link for t in tensors])
    wrapped = iter(out if isinstance(out, tuple) else (out,))
    return tuple(next(wrapped) if isinstance(g, torch.Tensor) else g for g in grads)


S = "Tensor params, Tensor obs"


# ---- forward ops ---------------------------------------------------------------------------------

def _policy_mean(params, obs, obs_dim, act_dim, hidden, activation):
    return _call("policy_mean", _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs)


def _log_prob(params, obs, act, obs_dim, act_dim, hidden, activation):
    return _call("log_prob", _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs, act=act)


def _score_vjp(params, obs, act, weights, obs_dim, act_dim, hidden, activation):
    return _call("score_vjp", _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs, act=act,
                 weights=weights)


def _score_jvp(params, obs, act, v, obs_dim, act_dim, hidden, activation):
    return _call("score_jvp", _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs, act=act, v=v)


def _hvp(name):
    def impl(params, obs, act, weights, v, obs_dim, act_dim, hidden, activation):
        return _call(name, _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs, act=act,
                     weights=weights, v=v)

    return impl


def _hvp_split(params, obs, act, weights, weights2, v, obs_dim, act_dim, hidden, activation):
    return _call("hvp_split", _spec(obs_dim, act_dim, hidden, activation), params=params, obs=obs, act=act,
                 weights=weights, weights2=weights2, v=v)


def _kl(name):
    def impl(params, obs, old_mean, old_log_std, weights, obs_dim, act_dim, hidden, activation):
        arrays = dict(params=params, obs=obs, old_mean=old_mean, old_log_std=old_log_std)
        if weights is not None:
            arrays["weights"] = weights
        return _call(name, _spec(obs_dim, act_dim, hidden, activation), **arrays)

    return impl


def _kl_fvp(params, obs, v, damping, weights, obs_dim, act_dim, hidden, activation):
    arrays = dict(params=params, obs=obs, v=v, damping=float(damping))
    if weights is not None:
        arrays["weights"] = weights
    return _call("kl_fvp", _spec(obs_dim, act_dim, hidden, activation), **arrays)


def _num_params(obs_dim, act_dim, hidden) -> int:
    sizes = [obs_dim, *hidden, act_dim]
    return sum(sizes[i + 1] * sizes[i] + sizes[i + 1] for i in range(len(sizes) - 1)) + act_dim


def _fake_params(obs, obs_dim, act_dim, hidden, *_):
    return obs.new_empty(obs.shape[0], _num_params(obs_dim, act_dim, hidden))


_define("policy_mean", S, lambda params, obs, obs_dim, act_dim, hidden, activation:
        obs.new_empty(obs.shape[0], obs.shape[1], act_dim), _policy_mean)
_define("log_prob", S + ", Tensor act", lambda params, obs, act, *spec: obs.new_empty(obs.shape[:2]), _log_prob)
_define("score_vjp", S + ", Tensor act, Tensor weights",
        lambda params, obs, act, weights, *spec: _fake_params(obs, *spec), _score_vjp)
_define("score_jvp", S + ", Tensor act, Tensor v", lambda params, obs, act, v, *spec: obs.new_empty(obs.shape[:2]),
        _score_jvp)
for _name in ("hvp_naive", "hvp_lvc"):
    _define(_name, S + ", Tensor act, Tensor weights, Tensor v",
            lambda params, obs, act, weights, v, *spec: _fake_params(obs, *spec), _hvp(_name))
_define("hvp_split", S + ", Tensor act, Tensor weights, Tensor weights2, Tensor v",
        lambda params, obs, act, weights, weights2, v, *spec: _fake_params(obs, *spec), _hvp_split)
_define("gaussian_kl", S + ", Tensor old_mean, Tensor old_log_std, Tensor? weights",
        lambda params, obs, old_mean, old_log_std, weights, *spec: obs.new_empty(obs.shape[0]), _kl("gaussian_kl"))
_define("kl_grad", S + ", Tensor old_mean, Tensor old_log_std, Tensor? weights",
        lambda params, obs, old_mean, old_log_std, weights, *spec: _fake_params(obs, *spec), _kl("kl_grad"))
_define("kl_fvp", S + ", Tensor v, float damping, Tensor? weights",
        lambda params, obs, v, damping, weights, *spec: _fake_params(obs, *spec), _kl_fvp)

OPS = torch.ops.metarl_fast


# ---- derivatives ---------------------------------------------------------------------------------

def _save(ctx, inputs, output):
    ctx.inputs = inputs
    ctx.save_for_backward(*[x for x in inputs if isinstance(x, torch.Tensor)])


def _saved(ctx):
    """The op's inputs with the saved tensors in place of the tensor arguments."""
    saved = iter(ctx.saved_tensors)
    return [next(saved) if isinstance(x, torch.Tensor) else x for x in ctx.inputs]


def _check(ctx, op: str, names: list[str], allowed: set[str]) -> None:
    for name, needed in zip(names, ctx.needs_input_grad):
        if needed and name not in allowed:
            _refuse(op, name)


def _log_prob_backward(ctx, g):
    params, obs, act, *spec = _saved(ctx)
    _check(ctx, "log_prob", ["params", "obs", "act"], {"params", "act"})
    d_params = d_act = None
    if ctx.needs_input_grad[0]:
        d_params = _rows(OPS.score_vjp(params, obs, act, g, *spec), params.dim())
    if ctx.needs_input_grad[2]:
        mean = OPS.policy_mean(params, obs, *spec)
        log_std = params[..., -spec[1]:]
        inv_var = torch.exp(-2 * (log_std if log_std.dim() == 1 else log_std.unsqueeze(1)))
        d_act = (mean - act) * inv_var * g.unsqueeze(-1)
    return d_params, None, d_act, None, None, None, None


def _policy_mean_backward(ctx, g):
    params, obs, *spec = _saved(ctx)
    _check(ctx, "policy_mean", ["params", "obs"], {"params"})
    with torch.no_grad():
        # Σ_n J_nᵀ g_n by the score kernel at the pseudo-action a = μ + σ² g (its mean part is
        # Jᵀ(a − μ)/σ² = Jᵀ g; the log_std block, which μ does not depend on, is zeroed)
        act_dim = spec[1]
        mean = OPS.policy_mean(params, obs, *spec)
        log_std = params[..., -act_dim:]
        var = torch.exp(2 * (log_std if log_std.dim() == 1 else log_std.unsqueeze(1)))
        ones = torch.ones(obs.shape[:2], dtype=obs.dtype, device=obs.device)
        d = OPS.score_vjp(params, obs, mean + var * g, ones, *spec)
        d[:, -act_dim:] = 0.0
    return _once("policy_mean", (_rows(d, params.dim()), None, None, None, None, None), (params, obs))


def _score_vjp_backward(ctx, g):
    params, obs, act, weights, *spec = _saved(ctx)
    _check(ctx, "score_vjp", ["params", "obs", "act", "weights"], {"params", "weights"})
    d_params = _rows(OPS.hvp_naive(params, obs, act, weights, g, *spec), params.dim()) \
        if ctx.needs_input_grad[0] else None
    d_weights = OPS.score_jvp(params, obs, act, g, *spec) if ctx.needs_input_grad[3] else None
    return d_params, None, None, d_weights, None, None, None, None


def _score_jvp_backward(ctx, g):
    params, obs, act, v, *spec = _saved(ctx)
    _check(ctx, "score_jvp", ["params", "obs", "act", "v"], {"params", "v"})
    d_params = _rows(OPS.hvp_naive(params, obs, act, g, v, *spec), params.dim()) if ctx.needs_input_grad[0] else None
    d_v = _rows(OPS.score_vjp(params, obs, act, g, *spec), v.dim()) if ctx.needs_input_grad[3] else None
    return d_params, None, None, d_v, None, None, None, None


def _hvp_backward(name):
    def backward(ctx, g):
        params, obs, act, weights, v, *spec = _saved(ctx)
        _check(ctx, "surrogate_hvp", ["params", "obs", "act", "weights", "v"], {"v"})
        with torch.no_grad():
            d_v = _rows(getattr(OPS, name)(params, obs, act, weights, g, *spec), v.dim())
        return _once("surrogate_hvp", (None, None, None, None, d_v, None, None, None, None), (params, weights, v))

    return backward


def _gaussian_kl_backward(ctx, g):
    params, obs, old_mean, old_log_std, weights, *spec = _saved(ctx)
    _check(ctx, "gaussian_kl", ["params", "obs", "old_mean", "old_log_std", "weights"], {"params"})
    if weights is None:
        weights = torch.full(obs.shape[:2], 1.0 / obs.shape[1], dtype=obs.dtype, device=obs.device)
    w = weights * g[:, None]
    d = _rows(OPS.kl_grad(params, obs, old_mean, old_log_std, w, *spec), params.dim())
    return d, None, None, None, None, None, None, None, None


def _kl_grad_backward(ctx, g):
    _check(ctx, "kl_grad", ["params", "obs", "old_mean", "old_log_std", "weights"], set())


def _kl_fvp_backward(ctx, g):
    params, obs, v, damping, weights, *spec = _saved(ctx)
    _check(ctx, "kl_fvp", ["params", "obs", "v", "damping", "weights"], {"v"})
    with torch.no_grad():
        d_v = _rows(OPS.kl_fvp(params, obs, g, damping, weights, *spec), v.dim())
    return _once("kl_fvp", (None, None, d_v, None, None, None, None, None, None), (params, v, weights))


def _hvp_split_backward(ctx, g):
    _check(ctx, "dice_hvp", ["params", "obs", "act", "weights", "weights2", "v"], set())


for _name, _backward in (("log_prob", _log_prob_backward), ("policy_mean", _policy_mean_backward),
                         ("score_vjp", _score_vjp_backward), ("score_jvp", _score_jvp_backward),
                         ("hvp_naive", _hvp_backward("hvp_naive")), ("hvp_lvc", _hvp_backward("hvp_lvc")),
                         ("hvp_split", _hvp_split_backward), ("gaussian_kl", _gaussian_kl_backward),
                         ("kl_grad", _kl_grad_backward), ("kl_fvp", _kl_fvp_backward)):
    torch.library.register_autograd(f"metarl_fast::{_name}", _backward, setup_context=_save)

# The inputs each op differentiates with respect to (kernels refuse the others before calling).
DIFFERENTIABLE = {"policy_mean": {"params"}, "log_prob": {"params", "act"}, "score_vjp": {"params", "weights"},
                  "score_jvp": {"params", "v"}, "hvp_naive": {"v"}, "hvp_lvc": {"v"}, "hvp_split": set(),
                  "gaussian_kl": {"params"}, "kl_grad": set(), "kl_fvp": {"v"}}


def spec_args(spec: PolicySpec) -> tuple:
    """The architecture as the ops take it: (obs_dim, act_dim, hidden, activation)."""
    return spec.obs_dim, spec.act_dim, list(spec.hidden), spec.activation


# ---- estimator weights and advantages (no derivatives: the wrappers refuse inputs that require
# grad before calling them, or take the reference) -------------------------------------------------

def _out(*shapes_dtypes):
    return tuple(torch.empty(shape, dtype=dtype) for shape, dtype in shapes_dtypes)


def _np_or_none(x):
    return None if x is None else host(x)


def _define_plain(name: str, schema: str, impl, fake) -> None:
    _LIB.define(f"{name}{schema}")
    _LIB.impl(name, impl, "CPU")
    _LIB.impl(name, getattr(cuda, name), "CUDA")  # the CUDA kernels' twin, same signature
    torch.library.register_fake(f"metarl_fast::{name}", fake)


def _ratio_weights(log_prob, old_log_prob, advantages, mask, clip_eps):
    T, N = log_prob.shape
    w, val = _out(((T, N), log_prob.dtype), ((T,), log_prob.dtype))
    _C.ratio_weights(host(log_prob), host(old_log_prob), host(advantages), _np_or_none(mask), float(clip_eps),
                     w.numpy(), val.numpy())
    return w, val


_define_plain("ratio_weights", "(Tensor log_prob, Tensor old_log_prob, Tensor advantages, Tensor? mask, "
              "float clip_eps) -> (Tensor, Tensor)", _ratio_weights,
              lambda log_prob, *rest: (torch.empty_like(log_prob), log_prob.new_empty(log_prob.shape[0])))


def _dice_weights(rewards, mask, baseline, gamma, jvp):
    W, U, value = _out((rewards.shape, rewards.dtype), (rewards.shape, rewards.dtype), ((rewards.shape[0],), rewards.dtype))
    _C.dice_weights(host(rewards), host(mask), _np_or_none(baseline), float(gamma), _np_or_none(jvp), W.numpy(),
                    None if jvp is None else U.numpy(), value.numpy())
    return W, U, value


_define_plain("dice_weights", "(Tensor rewards, Tensor mask, Tensor? baseline, float gamma, Tensor? jvp) -> "
              "(Tensor, Tensor, Tensor)", _dice_weights,
              lambda rewards, *rest: (torch.empty_like(rewards), torch.empty_like(rewards),
                                      rewards.new_empty(rewards.shape[0])))


def _emaml_credit(rewards, mask):
    (credit,) = _out(((rewards.shape[0],), rewards.dtype))
    _C.emaml_credit(host(rewards), host(mask), credit.numpy())
    return credit


_define_plain("emaml_credit", "(Tensor rewards, Tensor mask) -> Tensor", _emaml_credit,
              lambda rewards, mask: rewards.new_empty(rewards.shape[0]))


def _discounted_returns(rewards, mask, gamma, from_start):
    (out,) = _out((rewards.shape, rewards.dtype))
    _C.discounted_returns(host(rewards), host(mask), float(gamma), bool(from_start), out.numpy())
    return out


_define_plain("discounted_returns", "(Tensor rewards, Tensor mask, float gamma, bool from_start) -> Tensor",
              _discounted_returns, lambda rewards, *rest: torch.empty_like(rewards))


def _gae(rewards, values, mask, gamma, lam):
    (out,) = _out((rewards.shape, rewards.dtype))
    _C.gae(host(rewards), host(values), host(mask), float(gamma), float(lam), out.numpy())
    return out


_define_plain("gae", "(Tensor rewards, Tensor values, Tensor mask, float gamma, float lam) -> Tensor", _gae,
              lambda rewards, *rest: torch.empty_like(rewards))


def _normalize_per_task(x, mask, eps):
    (out,) = _out((x.shape, x.dtype))
    _C.normalize_per_task(host(x), host(mask), float(eps), out.numpy())
    return out


_define_plain("normalize_per_task", "(Tensor x, Tensor mask, float eps) -> Tensor", _normalize_per_task,
              lambda x, *rest: torch.empty_like(x))


def _linear_baseline(obs, targets, mask, predict_mask):
    """The per-task ridge fit on [T, B, H] targets (features of obs, or time only when obs is None)
    and its prediction → (values [T, B, H] or [T, 1, H] for time only, ridge [T] float64)."""
    T, B, H = targets.shape
    D = 0 if obs is None else obs.shape[-1]
    coeffs, ridge = _out(((T, 2 * D + 4 if D else 4), targets.dtype), ((T,), torch.float64))
    _C.linear_baseline_fit(D, _np_or_none(obs), host(targets), host(mask), coeffs.numpy(), ridge.numpy())
    (values,) = _out(((T, B, H) if D else (T, 1, H), targets.dtype))
    _C.linear_baseline_predict(D, _np_or_none(obs), coeffs.numpy(), _np_or_none(predict_mask), values.numpy())
    return values, ridge


_define_plain("linear_baseline", "(Tensor? obs, Tensor targets, Tensor mask, Tensor? predict_mask) -> "
              "(Tensor, Tensor)", _linear_baseline,
              lambda obs, targets, mask, predict_mask: (
                  torch.empty_like(targets) if obs is not None else targets.new_empty(targets.shape[0], 1,
                                                                                      targets.shape[2]),
                  targets.new_empty(targets.shape[0], dtype=torch.float64)))

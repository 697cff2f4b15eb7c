"""Fused kernels of the diagonal-Gaussian MLP policy, batched over task groups.

Shapes (T task groups, N samples per group, P = spec.num_params):

    params       [P] (shared by all groups) or [T, P] (one row per group)
    obs          [T, N, obs_dim]
    act          [T, N, act_dim]
    weights      [T, N]            per-sample coefficients (e.g. advantage × ratio × mask)
    v            [P] or [T, P]     direction of a JVP / HVP / FVP
    old_mean     [T, N, act_dim]   mean of the old policy at obs
    old_log_std  [act_dim] or [T, act_dim]

Every function takes ``backend``: "auto" (the compiled C++ path for CPU tensors; the pure-torch
reference for other devices, or when an input requires grad that the compiled path cannot
differentiate with respect to), "cpp", or "torch" (metarl_fast.reference). All inputs share one
dtype (float32 or float64) and one device; any strides are accepted (the compiled path makes a
contiguous copy where it needs one) and every result is a new tensor.

Autograd: the compiled path is a set of torch custom operators (kernels/ops.py) whose derivatives
are kernels too — log_prob twice differentiable, score_vjp and score_jvp once, HVPs and FVPs in
their vector — and that compile under torch.compile. An input that requires grad is never
silently dropped: the compiled path differentiates with respect to it, or "auto" takes the
reference (differentiable to any order), or "cpp" raises.
"""
from __future__ import annotations

import torch

from .. import _C, reference
from ..policies import PolicySpec
from ..reference.policy import Curvature
from ._validation import Backend, check_finite, check_tensor, requiring_grad, resolve_backend
from .ops import DIFFERENTIABLE, OPS, spec_args

_CURVATURES = ("lvc", "naive")


class _Inputs:
    """Validated inputs of one call: sizes, dtype, device."""

    def __init__(self, fn: str, spec, params, obs, act=None, weights=None, v=None,
                 old_mean=None, old_log_std=None, weights2=None, required: tuple[str, ...] = ()) -> None:
        given = dict(act=act, weights=weights, v=v, old_mean=old_mean, old_log_std=old_log_std, weights2=weights2)
        for name in required:
            if given[name] is None:
                raise TypeError(f"{fn}: {name} is required (a torch.Tensor), got None")
        if not isinstance(spec, PolicySpec):
            raise TypeError(f"{fn}: spec must be a PolicySpec, got {type(spec).__name__}")
        P = spec.num_params
        check_tensor(fn, "params", params, [(P,), (None, P)], None, None, "[P] or [T, P]")
        self.dtype, self.device = params.dtype, params.device
        check_tensor(fn, "obs", obs, [(None, None, spec.obs_dim)], self.dtype, self.device, "[T, N, obs_dim]")
        T, N = obs.shape[0], obs.shape[1]
        if T < 1 or N < 1:
            raise ValueError(f"{fn}: obs must hold at least one task group and one sample, got shape {list(obs.shape)}")
        if params.dim() == 2 and params.shape[0] != T:
            raise ValueError(f"{fn}: params must have shape [P] or [T, P] = [{T}, {P}], got {list(params.shape)}")
        check_finite(fn, "params", params)
        check_finite(fn, "obs", obs)
        if act is not None:
            check_tensor(fn, "act", act, [(T, N, spec.act_dim)], self.dtype, self.device, "[T, N, act_dim]")
            check_finite(fn, "act", act)
        if weights is not None:
            check_tensor(fn, "weights", weights, [(T, N)], self.dtype, self.device, "[T, N]")
            check_finite(fn, "weights", weights)
        if weights2 is not None:
            check_tensor(fn, "weights2", weights2, [(T, N)], self.dtype, self.device, "[T, N]")
            check_finite(fn, "weights2", weights2)
        if v is not None:
            check_tensor(fn, "v", v, [(P,), (T, P)], self.dtype, self.device, "[P] or [T, P]")
            check_finite(fn, "v", v)
        if old_mean is not None:
            check_tensor(fn, "old_mean", old_mean, [(T, N, spec.act_dim)], self.dtype, self.device, "[T, N, act_dim]")
            check_finite(fn, "old_mean", old_mean)
        if old_log_std is not None:
            check_tensor(fn, "old_log_std", old_log_std, [(spec.act_dim,), (T, spec.act_dim)], self.dtype,
                         self.device, "[act_dim] or [T, act_dim]")
            check_finite(fn, "old_log_std", old_log_std)
        self.fn, self.spec, self.T, self.N = fn, spec, T, N
        self.tensors = dict(params=params, obs=obs, act=act, weights=weights, weights2=weights2, v=v,
                            old_mean=old_mean, old_log_std=old_log_std)

    def backend(self, backend: str, op: str) -> str:
        """The backend for the compiled op `op` (see resolve_backend)."""
        blocked = requiring_grad(**self.tensors) - DIFFERENTIABLE[op]
        return resolve_backend(self.fn, backend, self.device, blocked)

    def dispatch(self, backend: str, torch_call, cpp_op: str, **extra) -> torch.Tensor:
        """The reference (`torch_call()`) or the compiled op `cpp_op` (a torch.ops.metarl_fast op)."""
        if self.backend(backend, cpp_op) == "torch":
            return torch_call()
        return self.run_cpp(cpp_op, **extra)

    def run_cpp(self, op: str, **extra) -> torch.Tensor:
        """The compiled op `op` on the validated inputs it takes (csrc/policy/op_traits.h), with
        `extra` keyword arguments (replacement inputs, damping) → a new tensor."""
        args = {k: self.tensors.get(k) for k in _OP_INPUTS[op]}
        args.update(extra)
        return getattr(OPS, op)(**args, **dict(zip(("obs_dim", "act_dim", "hidden", "activation"),
                                                   spec_args(self.spec))))


# {op: the array arguments it takes besides spec}, from the C++ op-traits table.
_OP_INPUTS = _C.policy_op_inputs()


def policy_mean(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, *,
                backend: Backend = "auto") -> torch.Tensor:
    """Action mean μ_θ(s_n) → [T, N, act_dim]."""
    x = _Inputs("policy_mean", spec, params, obs)
    return x.dispatch(backend,
                      lambda: reference.policy_mean(spec, params, obs),
                      "policy_mean")


def log_prob(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, *,
             backend: Backend = "auto") -> torch.Tensor:
    """log π_θ(a_n|s_n) → [T, N]."""
    x = _Inputs("log_prob", spec, params, obs, act=act, required=("act",))
    return x.dispatch(backend,
                      lambda: reference.log_prob(spec, params, obs, act),
                      "log_prob")


def score_vjp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
              weights: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """Σ_n w_n ∇θ log π_θ(a_n|s_n), summed over each group's samples → [T, P]."""
    x = _Inputs("score_vjp", spec, params, obs, act=act, weights=weights, required=("act", "weights"))
    return x.dispatch(backend,
                      lambda: reference.score_vjp(spec, params, obs, act, weights),
                      "score_vjp")


def score_jvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
              v: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """∇θ log π_θ(a_n|s_n) · v for every sample → [T, N]."""
    x = _Inputs("score_jvp", spec, params, obs, act=act, v=v, required=("act", "v"))
    return x.dispatch(backend,
                      lambda: reference.score_jvp(spec, params, obs, act, v),
                      "score_jvp")


def surrogate_hvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                  weights: torch.Tensor, v: torch.Tensor, curvature: Curvature = "lvc", *,
                  backend: Backend = "auto") -> torch.Tensor:
    """Hessian-vector product of a score-function surrogate at params → [T, P].

    curvature="lvc":   Σ_n w_n [∇²log π_n v + (∇log π_n · v) ∇log π_n], the Hessian of
                       Σ_n w_n π_n/⊥π_n (LVC); with w = ratio × advantage, the Hessian of J^LR.
    curvature="naive": Σ_n w_n ∇²log π_n v, the Hessian of Σ_n w_n log π_n (H₂ only).
    """
    if curvature not in _CURVATURES:
        raise ValueError(f"surrogate_hvp: curvature must be one of {_CURVATURES}, got {curvature!r}")
    x = _Inputs("surrogate_hvp", spec, params, obs, act=act, weights=weights, v=v,
                required=("act", "weights", "v"))
    return x.dispatch(backend,
                      lambda: reference.surrogate_hvp(spec, params, obs, act, weights, v, curvature),
                      "hvp_lvc" if curvature == "lvc" else "hvp_naive")


def gaussian_kl(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, old_mean: torch.Tensor,
                old_log_std: torch.Tensor, weights: torch.Tensor | None = None, *,
                backend: Backend = "auto") -> torch.Tensor:
    """mean_n KL(N(old_mean_n, exp(old_log_std)²) ‖ π_θ(·|s_n)) per group → [T].

    With weights [T, N]: Σ_n w_n KL_n instead of the mean (e.g. mask / valid count: the mean over
    the valid samples of padded trajectories)."""
    x = _Inputs("gaussian_kl", spec, params, obs, old_mean=old_mean, old_log_std=old_log_std, weights=weights,
                required=("old_mean", "old_log_std"))
    return x.dispatch(backend,
                      lambda: reference.gaussian_kl(spec, params, obs, old_mean, old_log_std, weights),
                      "gaussian_kl")


def kl_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, old_mean: torch.Tensor,
            old_log_std: torch.Tensor, weights: torch.Tensor | None = None, *,
            backend: Backend = "auto") -> torch.Tensor:
    """∇θ of gaussian_kl (the mean, or w-weighted sum, of each group's KL) → [T, P]."""
    x = _Inputs("kl_grad", spec, params, obs, old_mean=old_mean, old_log_std=old_log_std, weights=weights,
                required=("old_mean", "old_log_std"))
    return x.dispatch(backend,
                      lambda: reference.kl_grad(spec, params, obs, old_mean, old_log_std, weights),
                      "kl_grad")


def kl_fvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, v: torch.Tensor,
           damping: float = 0.0, weights: torch.Tensor | None = None, *, backend: Backend = "auto") -> torch.Tensor:
    """Fisher-vector product of the mean KL at params, plus damping·v → [T, P].

    F = (1/N) Σ_n J_nᵀ M J_n with J_n = ∂(μ_θ(s_n), log_std)/∂θ and M = diag(1/σ², 2): the
    Gauss-Newton form, equal to the Hessian of KL(π_old ‖ π_θ) at θ = θ_old. Positive semi-definite.
    With weights [T, N] (≥ 0): Σ_n w_n J_nᵀ M J_n, the Fisher of the weighted KL.
    """
    if isinstance(damping, bool) or not isinstance(damping, (int, float)) or not (damping >= 0) \
            or damping == float("inf"):
        raise ValueError(f"kl_fvp: damping must be a finite number >= 0, got {damping!r}")
    x = _Inputs("kl_fvp", spec, params, obs, v=v, weights=weights, required=("v",))
    return x.dispatch(backend,
                      lambda: reference.kl_fvp(spec, params, obs, v, damping, weights),
                      "kl_fvp", damping=float(damping))

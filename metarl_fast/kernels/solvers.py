"""Solvers: batched conjugate gradient (on fused policy operators entirely in C++, or on any Python
matvec) and TRPO's backtracking line search.

Fused operators map v [T, P] → A v [T, P] (one row per task group; T independent systems), or
v [P] → A v [P] with ``task_mean=True`` (the mean over groups of A_i v: the operator of one shared
parameter vector, e.g. TRPO-MAML's meta-step):

    KlFvpOperator          F v: Fisher of the mean KL (kl_fvp)
    SurrogateHvpOperator   H v: Hessian of a score-function surrogate (surrogate_hvp, LVC or naive)
    MamlTrpoFvpOperator    (I + αH) F' (I + αH) v: the KL Hessian of TRPO-MAML through one inner
                           step θ' = θ + α∇J_in(θ) (H at θ on pre-update data, F' at θ' on
                           post-update observations)

Calling an operator applies it once (compiled, CUDA or torch, per its ``backend``);
``conjugate_gradient(op, b)`` with the compiled backend runs the whole CG loop in C++, with the
CUDA backend on the device (no host synchronisation per iteration). The compiled
operator computes what its products need from the inputs alone at the first product and reads it
back afterwards: the forward activations (bit-identical results), and on the CPU the terms its
Hessian and Fisher products are regrouped around (the input-layer contraction and the output
Jacobian: the same products up to rounding, fewer dense passes; ``regroup=False`` switches them
off; docs/kernels.md, "Hessian products reused by conjugate gradient"). Do not change an operator's
input tensors in place once it has been applied. ``cache=False`` recomputes everything at every
product instead (the memory is a few activations per sample: 144 floats for a (64, 64) network;
at most 512 MiB per product, beyond which the products recompute anyway).
"""
from __future__ import annotations

import abc
import functools
import math
from typing import Callable, Literal, Optional, Union, overload

import torch

from .. import _C, reference
from . import cuda
from .._deprecation import warn_deprecated
from ..policies import PolicySpec
from ..reference.policy import Curvature
from ..reference.solvers import CgInfo, TrpoStepResult
from ._validation import (FLOAT_DTYPES, Backend, check_finite, check_tensor, host, requiring_grad,
                          resolve_backend)
from .policy import _CURVATURES, _Inputs

MAX_CG_ITERS = (1 << 31) - 1  # the compiled solver counts iterations in a 32-bit int

__all__ = ["CgInfo", "KlFvpOperator", "MamlTrpoFvpOperator", "PolicyOperator", "SurrogateHvpOperator",
           "TrpoStepResult", "conjugate_gradient", "trpo_step"]

class PolicyOperator(abc.ABC):
    """Base of the fused operators: validated inputs, application, and the compiled twin."""

    def __init__(self, spec: PolicySpec, task_mean: bool, backend: Backend, cache: bool = True,
                 regroup: bool = True) -> None:
        self.spec = spec
        self.task_mean = bool(task_mean)
        self.backend = backend
        self.cache = bool(cache)
        self.regroup = bool(regroup)
        self._compiled = None

    # set by subclasses
    T: int
    dtype: torch.dtype
    device: torch.device

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of v and of A v: [P] with task_mean, else [T, P]."""
        P = self.spec.num_params
        return (P,) if self.task_mean else (self.T, P)

    def check_vector(self, fn: str, name: str, v) -> None:
        check_tensor(fn, name, v, [self.shape], self.dtype, self.device,
                     "[P]" if self.task_mean else "[T, P]")
        check_finite(fn, name, v)

    def resolve(self, fn: str, backend: Backend | None = None, v: torch.Tensor | None = None) -> str:
        """The backend of an application or a solve: `backend` (None: the operator's own). The
        compiled operators differentiate with respect to nothing: inputs (or a vector) that require
        grad take the reference ('auto') or raise ('cpp')."""
        blocked = requiring_grad(**self._inputs(), v=v)
        return resolve_backend(fn, backend or self.backend, self.device, blocked)

    def _inputs(self) -> dict:
        """The operator's tensors (for the autograd check)."""
        out = {}
        for k, t in vars(self).items():
            items = t if isinstance(t, (tuple, list)) else (t,)
            out.update({f"{k}[{i}]": x for i, x in enumerate(items) if isinstance(x, torch.Tensor)})
        return out

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        """A v → same shape as v."""
        fn = f"{type(self).__name__}"
        self.check_vector(fn, "v", v)
        chosen = self.resolve(fn, v=v)
        if chosen == "torch":
            y = self._torch_apply(v)
            return y.mean(0) if self.task_mean else y
        if chosen == "cuda":
            return self.device_apply(v)
        return torch.from_numpy(self.compiled().matvec(host(v)))

    def _torch_apply(self, v: torch.Tensor) -> torch.Tensor:
        """The product by the torch reference, one row per task group → [T, P]."""
        return self._product(v, reference.surrogate_hvp, reference.kl_fvp)

    def device_apply(self, v: torch.Tensor, *, emulate: bool = False) -> torch.Tensor:
        """A v by the CUDA kernels (emulate: their host emulation, on CPU tensors) → v's shape; the
        mean over task groups is taken in float64, as by the compiled CPU operator."""
        if self.cache and not hasattr(self, "_device_caches"):
            self._device_caches = (cuda.ForwardCache(), cuda.ForwardCache())  # the H and the F data
        h_cache, f_cache = self._device_caches if self.cache else (None, None)
        y = self._product(v, functools.partial(cuda.surrogate_hvp, emulate=emulate, cache=h_cache),
                          functools.partial(cuda.kl_fvp, emulate=emulate, cache=f_cache))
        return y.double().mean(0).to(y.dtype) if self.task_mean else y

    def device_solve(self, b: torch.Tensor, iters: int, residual_tol: float, damping: float, *,
                     emulate: bool = False):
        """conjugate_gradient on the CUDA kernels, the whole loop on the device → (x, CgInfo)."""
        rows = b.reshape(1, -1) if self.task_mean else b
        matvec = (lambda p: self.device_apply(p[0], emulate=emulate)[None]) if self.task_mean else \
            (lambda p: self.device_apply(p, emulate=emulate))
        x, *info = cuda.conjugate_gradient(matvec, rows, iters, residual_tol, damping, emulate=emulate)
        return x.reshape(b.shape), CgInfo(*info)

    def compiled(self):
        """The compiled twin (a _C.PolicyOperator32/64 holding references to the inputs)."""
        if self._compiled is None:
            self._compiled = self._make_compiled()
        self._compiled.cache = self.cache
        self._compiled.regroup = self.regroup
        return self._compiled

    @abc.abstractmethod
    def _product(self, v: torch.Tensor, hvp, fvp) -> torch.Tensor:
        """The product with the given kernels (signatures of reference.surrogate_hvp and
        reference.kl_fvp), one row per task group → [T, P]."""

    @abc.abstractmethod
    def _make_compiled(self):
        """The compiled operator (one of the _C.*_operator factories on contiguous arrays)."""


def _check_nonneg(fn, name, x):
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not (x >= 0) or math.isinf(x):
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {x!r}")
    return float(x)


class KlFvpOperator(PolicyOperator):
    """v ↦ F v + damping·v, F the Fisher of the mean KL at params on obs (see kernels.kl_fvp).

    Args: spec; params [P] or [T, P]; obs [T, N, obs_dim]; damping ≥ 0; weights [T, N] (the Fisher
    of the w-weighted KL, e.g. mask / valid count); task_mean; backend; cache, regroup (see the
    module).
    """

    def __init__(self, spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, damping: float = 0.0,
                 weights: Optional[torch.Tensor] = None, *, task_mean: bool = False, backend: Backend = "auto",
                 cache: bool = True, regroup: bool = True) -> None:
        super().__init__(spec, task_mean, backend, cache, regroup)
        fn = "KlFvpOperator"
        self.damping = _check_nonneg(fn, "damping", damping)
        self.inputs = _Inputs(fn, spec, params, obs, weights=weights)
        self.T, self.dtype, self.device = self.inputs.T, params.dtype, params.device
        self.resolve(fn)
        self.params, self.obs, self.weights = params, obs, weights

    def _product(self, v, hvp, fvp):
        return fvp(self.spec, self.params, self.obs, v, self.damping, self.weights)

    def _make_compiled(self):
        return _C.kl_fvp_operator(self.spec.native, host(self.params), host(self.obs), self.damping,
                                  host(self.weights), self.task_mean)


class SurrogateHvpOperator(PolicyOperator):
    """v ↦ H v, H the Hessian of the score-function surrogate (see kernels.surrogate_hvp).

    Args: spec; params [P] or [T, P]; obs [T, N, obs_dim]; act [T, N, act_dim]; weights [T, N];
    curvature "lvc" or "naive"; task_mean; backend; cache, regroup (see the module).
    """

    def __init__(self, spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                 weights: torch.Tensor, curvature: Curvature = "lvc", *, task_mean: bool = False,
                 backend: Backend = "auto", cache: bool = True, regroup: bool = True) -> None:
        super().__init__(spec, task_mean, backend, cache, regroup)
        fn = "SurrogateHvpOperator"
        if curvature not in _CURVATURES:
            raise ValueError(f"{fn}: curvature must be one of {_CURVATURES}, got {curvature!r}")
        self.inputs = _Inputs(fn, spec, params, obs, act=act, weights=weights, required=("act", "weights"))
        self.T, self.dtype, self.device = self.inputs.T, params.dtype, params.device
        self.resolve(fn)
        self.params, self.obs, self.act, self.weights, self.curvature = params, obs, act, weights, curvature

    def _product(self, v, hvp, fvp):
        return hvp(self.spec, self.params, self.obs, self.act, self.weights, v, self.curvature)

    def _make_compiled(self):
        return _C.surrogate_hvp_operator(self.spec.native, host(self.params), host(self.obs), host(self.act),
                                         host(self.weights), self.curvature == "lvc", self.task_mean)


class MamlTrpoFvpOperator(PolicyOperator):
    """v ↦ (I + αH) F' (I + αH) v: TRPO-MAML's KL Hessian through one inner step.

    Args:
        spec: the policy.
        pre_params [P] or [T, P], pre_obs [T, N, obs_dim], pre_act [T, N, act_dim], pre_weights [T, N]:
            the inner surrogate (its Hessian H at the pre-update parameters; the weights carry the
            surrogate's scaling, e.g. advantages / (N·H) for the papers' mean).
        alpha: inner step size (θ' = θ + α ∇J_in(θ)).
        post_params [T, P] (the adapted θ'), post_obs [T, M, obs_dim]: where the Fisher F' is taken.
        curvature: "naive" (TRPO-MAML as Finn et al.) or "lvc" (LVC-TRPO).
        damping: added to F' (F' + damping·I).
        post_weights: [T, M] per-sample weights of the post-update KL (None: the mean).
        task_mean: True (default) for a shared θ: v [P] ↦ mean_i over task groups.
        cache: keep the products' forward activations between applications (see the module).
        regroup: with cache, regroup the products around terms computed once (see the module).
    """

    def __init__(self, spec: PolicySpec, pre_params: torch.Tensor, pre_obs: torch.Tensor, pre_act: torch.Tensor,
                 pre_weights: torch.Tensor, alpha: float, post_params: torch.Tensor, post_obs: torch.Tensor,
                 curvature: Curvature = "naive", damping: float = 0.0,
                 post_weights: Optional[torch.Tensor] = None, *, task_mean: bool = True, backend: Backend = "auto",
                 cache: bool = True, regroup: bool = True) -> None:
        super().__init__(spec, task_mean, backend, cache, regroup)
        fn = "MamlTrpoFvpOperator"
        if curvature not in _CURVATURES:
            raise ValueError(f"{fn}: curvature must be one of {_CURVATURES}, got {curvature!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha):
            raise ValueError(f"{fn}: alpha must be a finite number, got {alpha!r}")
        self.damping = _check_nonneg(fn, "damping", damping)
        self.pre = _Inputs(fn, spec, pre_params, pre_obs, act=pre_act, weights=pre_weights, required=("act", "weights"))
        self.post = _Inputs(fn, spec, post_params, post_obs, weights=post_weights)
        if self.post.T != self.pre.T:
            raise ValueError(f"{fn}: post_obs has {self.post.T} task groups but pre_obs has {self.pre.T}")
        if post_params.dtype != pre_params.dtype or post_params.device != pre_params.device:
            raise TypeError(f"{fn}: post_params must share dtype and device with pre_params")
        self.T, self.dtype, self.device = self.pre.T, pre_params.dtype, pre_params.device
        self.resolve(fn)
        self.alpha, self.curvature = float(alpha), curvature
        self.pre_args = (pre_params, pre_obs, pre_act, pre_weights)
        self.post_params, self.post_obs, self.post_weights = post_params, post_obs, post_weights

    def _product(self, v, hvp, fvp):
        p, o, a, w = self.pre_args
        T = self.T
        rows = v.expand(T, -1) if v.dim() == 1 else v
        u = rows + self.alpha * hvp(self.spec, p, o, a, w, v, self.curvature)
        f = fvp(self.spec, self.post_params, self.post_obs, u, self.damping, self.post_weights)
        return f + self.alpha * hvp(self.spec, p, o, a, w, f, self.curvature)

    def _make_compiled(self):
        p, o, a, w = self.pre_args
        return _C.maml_trpo_fvp_operator(self.spec.native, host(p), host(o), host(a), host(w), self.curvature == "lvc",
                                         self.alpha, host(self.post_params), host(self.post_obs), self.damping,
                                         host(self.post_weights), self.task_mean)


Matvec = Callable[[torch.Tensor], torch.Tensor]


@overload
def conjugate_gradient(matvec: Union[PolicyOperator, Matvec], b: torch.Tensor, iters: int = 10,
                       residual_tol: float = 1e-10, damping: float = 0.0, *, return_info: Literal[False] = False,
                       backend: Backend = "auto") -> torch.Tensor: ...


@overload
def conjugate_gradient(matvec: Union[PolicyOperator, Matvec], b: torch.Tensor, iters: int = 10,
                       residual_tol: float = 1e-10, damping: float = 0.0, *, return_info: Literal[True],
                       backend: Backend = "auto") -> tuple[torch.Tensor, CgInfo]: ...


@overload
def conjugate_gradient(matvec: Union[PolicyOperator, Matvec], b: torch.Tensor, iters: int = 10,
                       residual_tol: float = 1e-10, damping: float = 0.0, *, return_info: bool,
                       backend: Backend = "auto") -> Union[torch.Tensor, tuple[torch.Tensor, CgInfo]]: ...


def conjugate_gradient(matvec: Union[PolicyOperator, Matvec], b: torch.Tensor, iters: int = 10,
                       residual_tol: float = 1e-10, damping: float = 0.0, *, return_info: bool = False,
                       backend: Optional[Backend] = "auto") -> Union[torch.Tensor, tuple[torch.Tensor, CgInfo]]:
    """Solves (A + damping·I) x = b for every row of b at once → x with b's shape.

    Args:
        matvec: a PolicyOperator (fused; with the compiled backend the whole loop runs in C++ with
            the GIL released), or any callable mapping a tensor of b's shape to one of b's shape.
        b: [T, P] (T independent systems) or [P] (one system).
        iters: maximum iterations (10 in the TRPO / ProMP code).
        residual_tol: a system stops once its squared residual r·r is below this.
        damping: added to the operator (Tikhonov), ≥ 0.
        return_info: also return a CgInfo (per-system iterations, final r·r, status, and xᵀ(A + damping·I)x
            from the final residual).
        backend: "auto" (default: a PolicyOperator's own backend, itself "auto" unless it was made
            with another: compiled for CPU tensors; a Python matvec runs the torch loop), "cpp"
            (PolicyOperators only), "cuda" (PolicyOperators on CUDA tensors: the CUDA kernels, the
            whole loop on the device with no host synchronisation; not yet verified on hardware) or
            "torch" (the reference loop; a PolicyOperator is then applied with its torch twin).
            None, the former default, means "auto" and is deprecated.
    Returns:
        x, or (x, CgInfo) with return_info.
    """
    fn = "conjugate_gradient"
    if backend is None:
        warn_deprecated("conjugate_gradient(backend=None)", 'backend="auto" (the same: the operator\'s own backend)')
        backend = "auto"
    if isinstance(iters, bool) or not isinstance(iters, int) or not 0 <= iters <= MAX_CG_ITERS:
        raise ValueError(f"{fn}: iters must be an int in [0, {MAX_CG_ITERS}], got {iters!r}")
    if isinstance(residual_tol, bool) or not isinstance(residual_tol, (int, float)) or not (residual_tol >= 0):
        raise ValueError(f"{fn}: residual_tol must be a number >= 0, got {residual_tol!r}")
    damping = _check_nonneg(fn, "damping", damping)
    if isinstance(matvec, PolicyOperator):
        matvec.check_vector(fn, "b", b)
        chosen = matvec.resolve(fn, None if backend == "auto" else backend, v=b)  # "auto": the operator's own
        if chosen == "torch":
            op = matvec
            return reference.conjugate_gradient(lambda v: _apply_torch(op, v), b, iters, residual_tol, damping,
                                                return_info)
        if chosen == "cuda":
            x, info = matvec.device_solve(b, iters, float(residual_tol), damping)
            return (x, info) if return_info else x
        out = matvec.compiled().conjugate_gradient(host(b), iters, float(residual_tol), damping)
        x, *info = (torch.from_numpy(a) for a in out)
        return (x, CgInfo(*info)) if return_info else x
    if not callable(matvec):
        raise TypeError(f"{fn}: matvec must be a PolicyOperator or a callable, got {type(matvec).__name__}")
    if not isinstance(b, torch.Tensor) or b.dim() not in (1, 2) or b.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{fn}: b must be a float tensor of shape [P] or [T, P], got "
                         f"{getattr(b, 'shape', type(b).__name__)}")
    check_finite(fn, "b", b)
    if backend not in ("auto", "torch"):
        raise ValueError(f"{fn}: backend={backend!r} needs a PolicyOperator (a Python matvec runs the torch loop); "
                         "use backend='auto' or 'torch'")
    return reference.conjugate_gradient(matvec, b, iters, residual_tol, damping, return_info)


def _apply_torch(op: PolicyOperator, v: torch.Tensor) -> torch.Tensor:
    y = op._torch_apply(v)
    return y.mean(0) if op.task_mean else y


def trpo_step(params: torch.Tensor, direction: torch.Tensor, loss_fn: Callable[[torch.Tensor], float],
              kl_fn: Callable[[torch.Tensor], float], max_kl: float, *, dHd: Optional[float] = None,
              matvec: Optional[Matvec] = None, loss_before: Optional[float] = None, backtrack_ratio: float = 0.8,
              max_backtracks: int = 15) -> TrpoStepResult:
    """TRPO's step with backtracking line search (the TRPO / ProMP code's).

    Candidates θ_k = params − ratio^k · s₀ · direction, s₀ = √(2 max_kl / (dᵀHd + 1e-8)), for
    k = 0 … max_backtracks−1; the first with a finite loss_fn(θ_k) < loss_before and
    kl_fn(θ_k) ≤ max_kl is returned; if none, params is kept and ``accepted`` is False.

    Args:
        params: current parameters (any shape, typically [P]).
        direction: the natural-gradient direction of the loss, H⁻¹∇loss (e.g. from
            conjugate_gradient), same shape as params; the step goes against it.
        loss_fn, kl_fn: θ ↦ scalar loss to minimise and mean KL from the current policy.
        max_kl: δ > 0.
        dHd: dᵀHd if already known; otherwise computed with matvec(direction).
        loss_before: loss_fn(params) if already known.
    The work is in the callables (which use the compiled kernels); this function is orchestration
    and has one implementation, shared with metarl_fast.reference.
    """
    fn = "trpo_step"
    if not isinstance(params, torch.Tensor) or not isinstance(direction, torch.Tensor):
        raise TypeError(f"{fn}: params and direction must be tensors")
    for name, t in (("params", params), ("direction", direction)):
        if t.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{fn}: {name} must be float32 or float64, got {t.dtype}")
    if direction.dtype != params.dtype:
        raise TypeError(f"{fn}: direction must have params' dtype {params.dtype}, got {direction.dtype}")
    if direction.shape != params.shape:
        raise ValueError(f"{fn}: direction must have params' shape {list(params.shape)}, got {list(direction.shape)}")
    check_finite(fn, "params", params)
    check_finite(fn, "direction", direction)
    if isinstance(max_kl, bool) or not isinstance(max_kl, (int, float)) or not (0 < max_kl < math.inf):
        raise ValueError(f"{fn}: max_kl must be a positive finite number, got {max_kl!r}")
    if not (0 < backtrack_ratio < 1):
        raise ValueError(f"{fn}: backtrack_ratio must be in (0, 1), got {backtrack_ratio!r}")
    if isinstance(max_backtracks, bool) or not isinstance(max_backtracks, int) or max_backtracks < 1:
        raise ValueError(f"{fn}: max_backtracks must be an int >= 1, got {max_backtracks!r}")
    if dHd is None and matvec is None:
        raise ValueError(f"{fn}: give dHd or matvec (to compute dᵀHd)")
    return reference.trpo_step(params, direction, loss_fn, kl_fn, max_kl, dHd=dHd, matvec=matvec,
                               loss_before=loss_before, backtrack_ratio=backtrack_ratio,
                               max_backtracks=max_backtracks)

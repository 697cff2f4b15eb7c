"""The CUDA kernels' Python side: workspace, strides and launch of csrc/cuda on the caller's stream.

``policy_op(name, spec, ...)`` runs one policy op (the ops of kernels/ops.py: policy_mean, log_prob,
score_vjp, score_jvp, hvp_naive, hvp_lvc, hvp_split, gaussian_kl, kl_grad, kl_fvp) on CUDA
tensors, launched on ``torch.cuda.current_stream()`` of their device without synchronising; the
torch custom ops of kernels/ops.py call it for CUDA tensors, so users reach it through the public
kernels with ``backend="cuda"``. With ``emulate=True`` it runs the very same block programs on the
host over CPU tensors (one block, and one thread, after the other): that is how the kernels'
arithmetic is tested on machines without a GPU (python_tests/test_cuda_kernels.py).

Inputs are taken as validated by metarl_fast.kernels (shapes, dtypes, one device); any strides
(a contiguous copy is made where needed). Results are new tensors. Not yet verified on hardware:
see docs/kernels.md.
"""
from __future__ import annotations

import torch

from .. import _C
from ..policies import PolicySpec

_ROW_INPUTS = {"params": "num_params", "v": "num_params", "old_log_std": "act_dim"}


def _out_shape(name: str, spec: PolicySpec, T: int, N: int) -> tuple[int, ...]:
    if name == "policy_mean":
        return (T, N, spec.act_dim)
    if name in ("log_prob", "score_jvp"):
        return (T, N)
    if name == "gaussian_kl":
        return (T,)
    return (T, spec.num_params)


def plan(name: str, spec: PolicySpec, dtype: torch.dtype, T: int, N: int, weighted: bool = False,
         per_task_params: bool = True, per_task_v: bool = True) -> dict:
    """How the CUDA kernels split op `name` on T tasks of N samples (tile, threads, chunks per task,
    shared-memory and workspace bytes). A function of (spec, op, dtype, T, N) only, so the order
    of every reduction, and hence the result, is the same on every GPU."""
    return _C.gpu_policy_plan(spec.native, name, torch.empty((), dtype=dtype).element_size(), T, N, weighted,
                              per_task_params, per_task_v)


# At most this many bytes of forward activations per ForwardCache (8 GiB: 100x ProMP in float32
# needs 4.3 GB per (params, obs) pair).
CACHE_MAX_BYTES = 8 << 30


class ForwardCache:
    """The forward activations H[1..L] of every sample of one (params, obs) pair on the device, kept
    between the CUDA policy ops called on that pair (the fused operators' products: a CG solve
    applies them to a new v at every iteration). The first op computes and stores them, the next
    ones load them. Keyed by the tensors' storage, shape, dtype and version: a pair that changes
    (even in place) recomputes. Results equal those without a cache. ``release()`` frees it."""

    def __init__(self) -> None:
        self.storage: torch.Tensor | None = None
        self.key: tuple | None = None
        self.filled = False

    def mode(self, params: torch.Tensor, obs: torch.Tensor, nbytes: int) -> int:
        """1 (fill) or 2 (use) for a call on (params, obs) needing `nbytes`, 0 when over the limit."""
        key = tuple((x.data_ptr(), tuple(x.shape), tuple(x.stride()), x.dtype, x._version) for x in (params, obs))
        if self.filled and key == self.key:
            return 2
        if nbytes > CACHE_MAX_BYTES:
            return 0
        if self.storage is None or self.storage.numel() < nbytes or self.storage.device != obs.device:
            self.storage = torch.empty(nbytes, dtype=torch.uint8, device=obs.device)
        self.key, self.filled = key, False
        return 1

    def release(self) -> None:
        self.storage, self.key, self.filled = None, None, False


def policy_op(name: str, spec: PolicySpec, *, params: torch.Tensor, obs: torch.Tensor, act=None, weights=None,
              weights2=None, v=None, old_mean=None, old_log_std=None, damping: float = 0.0,
              emulate: bool = False, cache: ForwardCache | None = None) -> torch.Tensor:
    """Policy op `name` by the CUDA kernels → a new tensor on the inputs' device.

    Shapes as metarl_fast.kernels.policy documents them: params [P] or [T, P], obs [T, N, obs_dim],
    act [T, N, act_dim], weights / weights2 [T, N], v [P] or [T, P], old_mean [T, N, act_dim],
    old_log_std [act_dim] or [T, act_dim]. emulate: run the block programs on the host (CPU tensors).
    cache: a ForwardCache of this (params, obs) pair (see its docstring).
    """
    T, N = obs.shape[0], obs.shape[1]
    device = obs.device
    _check_device(name, device, emulate)
    tensors = dict(params=params, obs=obs, act=act, weights=weights, weights2=weights2, v=v, old_mean=old_mean,
                   old_log_std=old_log_std)
    held = {k: x.detach().contiguous() for k, x in tensors.items() if x is not None}
    stride = {k: (0 if held[k].dim() == 1 else getattr(spec, width)) for k, width in _ROW_INPUTS.items() if k in held}
    out = torch.empty(_out_shape(name, spec, T, N), dtype=params.dtype, device=device)
    layout = plan(name, spec, params.dtype, T, N, weights is not None, params.dim() == 2,
                  v is not None and v.dim() == 2)
    workspace = torch.empty(max(1, -(-layout["workspace_bytes"] // 8)), dtype=torch.float64, device=device)
    ptr = {k: x.data_ptr() for k, x in held.items()}
    ptr.update(out=out.data_ptr(), workspace=workspace.data_ptr(), workspace_bytes=workspace.numel() * 8)
    mode = 0
    if cache is not None and name != "policy_mean":
        width = sum(spec.layer_sizes[1:])
        mode = cache.mode(params, obs, T * N * width * params.element_size())
        if mode:
            storage = cache.storage
            assert storage is not None  # mode() allocated it
            ptr.update(cache=storage.data_ptr(), cache_bytes=storage.numel())
            stride["cache_mode"] = mode
    index, stream = _stream(device, emulate)
    _C.gpu_policy_run(spec.native, name, params.element_size(), T, N, ptr, stride, float(damping), index, stream,
                      emulate)
    if mode == 1 and cache is not None:
        cache.filled = True  # in stream order: the next op on this stream reads the stored values
    if not emulate:
        _record(index, (*held.values(), workspace))
    return out


def built() -> bool:
    """Whether this build of the package holds the CUDA kernels."""
    return bool(_C.has_cuda)


def device_count() -> int:
    """CUDA devices this build of the package sees (0 without CUDA kernels, a driver or a GPU)."""
    return int(_C.cuda_device_count())


# ---- advantages and estimator weights (csrc/cuda/sample_ops.h) -------------------------------------
# Same signatures and results as the CPU implementations of the torch custom ops in kernels/ops.py.

def _sample_op(name: str, like: torch.Tensor, size: dict, inputs: dict, outputs: dict, scalar: dict,
               emulate: bool) -> None:
    """Runs sample op `name`: inputs (tensors or None) are read, outputs (new contiguous tensors or
    None) written, on like's device and stream."""
    device = like.device
    _check_device(name, device, emulate)
    held = {k: x.detach().contiguous() for k, x in inputs.items() if x is not None}
    workspace = torch.empty(max(1, _C.gpu_sample_workspace(name, size) // 8), dtype=torch.float64, device=device)
    ptr = {k: x.data_ptr() for k, x in held.items()}
    ptr.update({k: x.data_ptr() for k, x in outputs.items() if x is not None})
    ptr.update(workspace=workspace.data_ptr(), workspace_bytes=workspace.numel() * 8)
    index, stream = _stream(device, emulate)
    _C.gpu_sample_run(name, like.element_size(), size, ptr, scalar, index, stream, emulate)
    if not emulate:
        _record(index, (*held.values(), workspace))


def _check_device(fn: str, device: torch.device, emulate: bool) -> None:
    """The emulation runs on CPU tensors, the CUDA kernels on CUDA tensors."""
    if emulate and device.type != "cpu":
        raise ValueError(f"{fn}: emulate=True runs on CPU tensors, got {device}")
    if not emulate and device.type != "cuda":
        raise ValueError(f"{fn}: the CUDA kernels need CUDA tensors, got {device}")


def _stream(device: torch.device, emulate: bool) -> tuple[int, int]:
    if emulate:
        return -1, 0
    index = device.index if device.index is not None else torch.cuda.current_device()
    return index, torch.cuda.current_stream(index).cuda_stream


def _record(index: int, tensors) -> None:
    """Ties temporaries to the current stream (the caching allocator may give freed blocks to other
    streams otherwise, before our kernels have read them)."""
    stream = torch.cuda.current_stream(index)
    for x in tensors:
        x.record_stream(stream)


def discounted_returns(rewards, mask, gamma, from_start, *, emulate=False):
    """[T, B, H] reward-to-go (see kernels.discounted_returns)."""
    T, B, H = rewards.shape
    out = torch.empty_like(rewards, memory_format=torch.contiguous_format)
    _sample_op("discounted_returns", rewards, dict(tasks=T, trajs=B, horizon=H), dict(rewards=rewards, mask=mask),
               dict(out=out), dict(gamma=float(gamma), from_start=float(bool(from_start))), emulate)
    return out


def gae(rewards, values, mask, gamma, lam, *, emulate=False):
    """[T, B, H] GAE(γ, λ) advantages (see kernels.gae)."""
    T, B, H = rewards.shape
    out = torch.empty_like(rewards, memory_format=torch.contiguous_format)
    _sample_op("gae", rewards, dict(tasks=T, trajs=B, horizon=H), dict(rewards=rewards, values=values, mask=mask),
               dict(out=out), dict(gamma=float(gamma), lam=float(lam)), emulate)
    return out


def normalize_per_task(x, mask, eps, *, emulate=False):
    """x [T, ..., ] normalised per task over its valid entries (see kernels.normalize_per_task)."""
    T = x.shape[0]
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    _sample_op("normalize_per_task", x, dict(tasks=T, samples=x[0].numel()), dict(x=x, mask=mask), dict(out=out),
               dict(eps=float(eps)), emulate)
    return out


def ratio_weights(log_prob, old_log_prob, advantages, mask, clip_eps, *, emulate=False):
    """(weights [T, N], value [T]) of J^LR (clip_eps < 0) or PPO-clip (see estimators.h)."""
    T, N = log_prob.shape
    w = log_prob.new_empty(T, N)
    val = log_prob.new_empty(T)
    _sample_op("ratio_weights", log_prob, dict(tasks=T, samples=N),
               dict(log_prob=log_prob, old_log_prob=old_log_prob, adv=advantages, mask=mask),
               dict(weights=w, value=val), dict(clip_eps=float(clip_eps)), emulate)
    return w, val


def dice_weights(rewards, mask, baseline, gamma, jvp, *, emulate=False):
    """(W, U, value) of the DiCE estimator (see estimators.h); U is left empty without jvp."""
    T, B, H = rewards.shape
    W = rewards.new_empty(T, B, H)
    U = rewards.new_empty(T, B, H)
    value = rewards.new_empty(T)
    _sample_op("dice_weights", rewards, dict(tasks=T, trajs=B, horizon=H),
               dict(rewards=rewards, mask=mask, baseline=baseline, jvp=jvp),
               dict(W=W, U=U if jvp is not None else None, value=value), dict(gamma=float(gamma)), emulate)
    return W, U, value


def emaml_credit(rewards, mask, *, emulate=False):
    """[T] E-MAML credit (see estimators.h)."""
    T, N = rewards.shape[0], rewards[0].numel()
    credit = rewards.new_empty(T)
    _sample_op("emaml_credit", rewards, dict(tasks=T, samples=N), dict(rewards=rewards, mask=mask),
               dict(value=credit), {}, emulate)
    return credit


def linear_baseline(obs, targets, mask, predict_mask, *, emulate=False):
    """(values [T, B, H] or [T, 1, H] for the time-only fit, ridge [T] float64) of the per-task ridge
    fit of targets on the baseline features (see advantages.h)."""
    T, B, H = targets.shape
    D = 0 if obs is None else obs.shape[-1]
    K = 2 * D + 4
    pred_trajs = B if D else 1
    coeffs = targets.new_empty(T, K)
    ridge = torch.empty(T, dtype=torch.float64, device=targets.device)
    values = targets.new_empty(T, pred_trajs, H)
    _sample_op("linear_baseline", targets, dict(tasks=T, trajs=B, horizon=H, obs_dim=D, pred_trajs=pred_trajs),
               dict(obs=obs, targets=targets, mask=mask, predict_mask=predict_mask),
               dict(coeffs=coeffs, ridge=ridge, out=values), {}, emulate)
    return values, ridge


# ---- conjugate gradient with the whole loop on the device (csrc/cuda/cg_ops.h) ---------------------

def conjugate_gradient(matvec, b: torch.Tensor, iters: int, residual_tol: float, damping: float, *,
                       emulate: bool = False):
    """Solves (A + damping·I) x = b for every row of b [S, dim] → (x, iterations [S] int32,
    residual [S] float64 (final r·r), status [S] int32, curvature [S] float64 (x·(b − r))): the CPU
    solver's iteration
    (solvers/conjugate_gradient.h). matvec(p [S, dim]) → A p [S, dim] must only enqueue device work
    (e.g. the fused operators' kernels): the loop runs `iters` products and updates with no host
    synchronisation; systems that stop keep p = 0 and their state."""
    S, dim = b.shape
    b = b.detach().contiguous()
    x, r, p = (torch.empty_like(b) for _ in range(3))
    rdotr = torch.empty(S, dtype=torch.float64, device=b.device)
    active, iterations, status = (torch.empty(S, dtype=torch.int32, device=b.device) for _ in range(3))
    state = dict(x=x.data_ptr(), r=r.data_ptr(), p=p.data_ptr(), rdotr=rdotr.data_ptr(), active=active.data_ptr(),
                 iterations=iterations.data_ptr(), status=status.data_ptr())
    index, stream = _stream(b.device, emulate)
    size = b.element_size()
    _C.gpu_cg_run("cg_init", size, S, dim, dict(state, b=b.data_ptr()), float(residual_tol), float(damping), 0,
                  index, stream, emulate)
    for k in range(iters):
        z = matvec(p).contiguous()
        _C.gpu_cg_run("cg_step", size, S, dim, dict(state, z=z.data_ptr()), float(residual_tol), float(damping), k,
                      index, stream, emulate)
        if not emulate:
            _record(index, (z,))
    curvature = (x.double() * (b.double() - r.double())).sum(-1)
    if not emulate:
        _record(index, (b,))
    return x, iterations, rdotr, status, curvature


def surrogate_hvp(spec: PolicySpec, params, obs, act, weights, v, curvature: str, *, emulate: bool = False,
                  cache: ForwardCache | None = None):
    """kernels.surrogate_hvp by the CUDA kernels (same arguments as reference.surrogate_hvp)."""
    return policy_op("hvp_lvc" if curvature == "lvc" else "hvp_naive", spec, params=params, obs=obs, act=act,
                     weights=weights, v=v, emulate=emulate, cache=cache)


def kl_fvp(spec: PolicySpec, params, obs, v, damping: float = 0.0, weights=None, *, emulate: bool = False,
           cache: ForwardCache | None = None):
    """kernels.kl_fvp by the CUDA kernels (same arguments as reference.kl_fvp)."""
    return policy_op("kl_fvp", spec, params=params, obs=obs, v=v, weights=weights, damping=damping, emulate=emulate,
                     cache=cache)

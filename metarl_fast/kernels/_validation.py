"""Argument checks shared by the public kernels: every failure names the argument and what was
expected (ValueError for shapes, values and devices; TypeError for types and dtypes)."""
from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Iterable, Iterator, Literal, Sequence

import torch

from . import cuda

FLOAT_DTYPES = (torch.float32, torch.float64)
BACKENDS = ("auto", "cpp", "cuda", "torch")
# The `backend` argument of every kernel, operator and solver (see resolve_backend).
Backend = Literal["auto", "cpp", "torch", "cuda"]

# Whether backend="auto" sends CUDA tensors to the CUDA kernels. False until a GPU run of
# tools/gpu_check.sh has verified them (docs/benchmarks.md records it): until then "auto" keeps CUDA
# tensors on the torch reference and the CUDA kernels run only when asked for (backend="cuda", or
# inside use_cuda_kernels()).
AUTO_USES_CUDA_KERNELS = False
_auto_cuda: contextvars.ContextVar[bool | None] = contextvars.ContextVar("metarl_fast_auto_cuda", default=None)


@contextlib.contextmanager
def use_cuda_kernels(enabled: bool = True) -> Iterator[None]:
    """Inside the block, backend="auto" sends CUDA tensors to the CUDA kernels (enabled=True) or to
    the torch reference (False), whatever AUTO_USES_CUDA_KERNELS says: how a run opts in
    (``cuda_kernels=true``). Per thread and per asyncio task (a context variable). Enabling them
    in a build without CUDA kernels raises RuntimeError, as a training run with cuda_kernels=true
    does (the block would otherwise run the torch reference unnoticed)."""
    if enabled and not cuda.built():
        raise RuntimeError("use_cuda_kernels(): this build of metarl_fast has no CUDA kernels (install it with nvcc "
                           "on PATH and METARL_FAST_CUDA=ON; metarl-fast info shows the build)")
    token = _auto_cuda.set(bool(enabled))
    try:
        yield
    finally:
        _auto_cuda.reset(token)


def auto_uses_cuda_kernels() -> bool:
    """Whether backend="auto" sends CUDA tensors to the CUDA kernels here and now."""
    chosen = _auto_cuda.get()
    return AUTO_USES_CUDA_KERNELS if chosen is None else chosen


def _shape_str(shape: Iterable) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def check_tensor(fn: str, name: str, x, shapes: Sequence[Sequence], dtype: torch.dtype | None,
                 device: torch.device | None, dims_doc: str) -> None:
    """x must be a float tensor whose shape matches one of ``shapes`` (None = any size)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: {name} must be a torch.Tensor of shape {dims_doc}, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{fn}: {name} must be float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{fn}: {name} has dtype {x.dtype} but params has {dtype}; all inputs must share one dtype")
    if device is not None and x.device != device:
        raise ValueError(f"{fn}: {name} is on {x.device} but params is on {device}; all inputs must share one device")
    for shape in shapes:
        if len(shape) == x.dim() and all(s is None or s == d for s, d in zip(shape, x.shape)):
            return
    expected = " or ".join(_shape_str("*" if s is None else s for s in shape) for shape in shapes)
    raise ValueError(f"{fn}: {name} must have shape {dims_doc} = {expected}, got {_shape_str(x.shape)}")


def max_magnitude(dtype: torch.dtype) -> float:
    """The largest magnitude the kernels accept in an input of `dtype`: 1e-4 × √(the dtype's
    largest number) (1.3e150 in float64, 1.8e15 in float32). Beyond it, squares and sums of
    squares inside the kernels (variances, ‖·‖², the regrouped operators' products) overflow, and
    the compiled kernels and the torch reference would overflow in different places — one
    returning 0 where the other returns NaN: both refuse such inputs instead."""
    return 1e-4 * math.sqrt(torch.finfo(dtype).max)


def check_finite(fn: str, name: str, x: torch.Tensor) -> None:
    """ValueError naming `name` when x holds NaN, ±inf or a value beyond max_magnitude(x.dtype)."""
    if x.device.type == "meta" or torch.compiler.is_compiling():  # no values to look at (yet)
        return
    limit = max_magnitude(x.dtype) if x.dtype.is_floating_point else math.inf
    if x.device.type == "cpu" and x.is_contiguous() and x.dtype in FLOAT_DTYPES:
        # A native single-threaded scan: a torch reduction here would wake torch's OpenMP threads,
        # which then spin on the cores the kernel is about to use.
        from .. import _C

        ok = _C.all_finite(x.detach().numpy(), limit)
    else:
        ok = bool((x.detach().abs() <= limit).all()) if x.dtype.is_floating_point else True
    if not ok:
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{fn}: {name} contains NaN or infinite values")
        raise ValueError(f"{fn}: {name} holds values beyond {limit:.2g} in magnitude, where the kernels' squares "
                         f"overflow {str(x.dtype).removeprefix('torch.')}")


def host(x: torch.Tensor | None):
    """A CPU tensor as the C-contiguous numpy array the compiled core takes (a copy only when x is
    strided; None stays None). The compiled functions never write into their inputs."""
    return None if x is None else x.detach().contiguous().numpy()


def requiring_grad(**tensors) -> set[str]:
    """The names of the inputs that require grad while grad mode is on (those a result must be
    differentiable with respect to)."""
    if not torch.is_grad_enabled():
        return set()
    return {k for k, t in tensors.items() if isinstance(t, torch.Tensor) and t.requires_grad}


def resolve_backend(fn: str, backend: str, device: torch.device, blocked=()) -> str:
    """The backend that runs a kernel on tensors of `device`.

    'auto' → 'cpp' for CPU tensors; for CUDA tensors 'cuda' once the CUDA kernels are verified on
    hardware (AUTO_USES_CUDA_KERNELS) or inside use_cuda_kernels(), else 'torch'; and 'torch' whenever `blocked` names inputs that
    require grad and that the compiled path cannot differentiate with respect to (the reference is
    differentiable). 'cpp' and 'cuda' with such inputs raise (a result is never silently cut from
    the autograd graph), as they do for tensors on the other kind of device or, for 'cuda', in a
    build without CUDA."""
    if backend not in BACKENDS:
        raise ValueError(f"{fn}: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if blocked:
            return "torch"
        if device.type == "cpu":
            return "cpp"
        return "cuda" if device.type == "cuda" and auto_uses_cuda_kernels() and cuda.built() else "torch"
    if backend == "cpp" and device.type != "cpu":
        raise ValueError(f"{fn}: backend='cpp' needs CPU tensors, got {device}; use backend='cuda', 'torch' or 'auto'")
    if backend == "cuda":
        if device.type != "cuda":
            raise ValueError(f"{fn}: backend='cuda' needs CUDA tensors, got {device}; use backend='cpp', 'torch' or "
                             "'auto'")
        if not cuda.built():
            raise RuntimeError(f"{fn}: backend='cuda' needs metarl_fast built with CUDA (nvcc on PATH at install "
                               "time, METARL_FAST_CUDA=AUTO or ON); this build has no CUDA kernels")
    if backend in ("cpp", "cuda") and blocked:
        raise ValueError(
            f"{fn}: backend={backend!r} has no derivative with respect to {', '.join(sorted(blocked))}, which "
            "require grad; use backend='torch' (or 'auto') to differentiate through it, or detach them")
    return backend


def check_unit_interval(fn: str, name: str, x) -> float:
    """A real number in [0, 1] (discount factors, GAE λ)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not (0.0 <= x <= 1.0):
        raise ValueError(f"{fn}: {name} must be a number in [0, 1], got {x!r}")
    return float(x)


def as_mask(fn: str, mask, shape: Sequence[int], dtype: torch.dtype, device: torch.device,
            prefix: bool) -> torch.Tensor:
    """mask of the given shape, dtype and device: 0/1 values (a bool mask is converted), and with
    prefix=True the valid steps of every trajectory (last dimension) forming a prefix."""
    if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool:
        mask = mask.to(dtype)
    dims = "[" + ", ".join(str(d) for d in shape) + "]"
    check_tensor(fn, "mask", mask, [tuple(shape)], dtype, device, dims)
    if mask.device.type == "meta" or torch.compiler.is_compiling():
        return mask
    from .. import _C

    if mask.device.type == "cpu" and mask.is_contiguous():
        m = mask.detach().numpy()
        flat = m.reshape(m.shape[0], -1, m.shape[-1]) if prefix else m.reshape(1, -1, 1)
        bad = _C.first_bad_mask_entry(flat)
    else:
        m = mask.detach()
        binary = bool(((m == 0) | (m == 1)).all())
        ordered = bool((m[..., 1:] <= m[..., :-1]).all()) if prefix and m.shape[-1] > 1 else True
        bad = -1 if binary and ordered else 0
    if bad >= 0:
        rule = "0/1 values whose valid steps form a prefix of each trajectory" if prefix else "0/1 values"
        raise ValueError(f"{fn}: mask must hold {rule} (first offending flat index {bad})")
    return mask


def check_groups(fn: str, name: str, x) -> None:
    """x [T, ...] with T >= 1 groups of at least one entry each."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: {name} must be a torch.Tensor of shape [T, ...], got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"{fn}: {name} must have shape [T, ...] with at least 2 dims, got {list(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{fn}: {name} must hold at least one task group of at least one entry, got shape "
                         f"{list(x.shape)}")


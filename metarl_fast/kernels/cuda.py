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


def plan(name: str, spec: PolicySpec, dtype: torch.dtype, T: int, N: int, weighted: bool = False) -> dict:
    """How the CUDA kernels split op `name` on T tasks of N samples (tile, threads, chunks per task,
    shared-memory and workspace bytes). A function of (spec, op, dtype, T, N) only, so the order
    of every reduction, and hence the result, is the same on every GPU."""
    return _C.gpu_policy_plan(spec.native, name, torch.empty((), dtype=dtype).element_size(), T, N, weighted)


def policy_op(name: str, spec: PolicySpec, *, params: torch.Tensor, obs: torch.Tensor, act=None, weights=None,
              weights2=None, v=None, old_mean=None, old_log_std=None, damping: float = 0.0,
              emulate: bool = False) -> torch.Tensor:
    """Policy op `name` by the CUDA kernels → a new tensor on the inputs' device.

    Shapes as metarl_fast.kernels.policy documents them: params [P] or [T, P], obs [T, N, obs_dim],
    act [T, N, act_dim], weights / weights2 [T, N], v [P] or [T, P], old_mean [T, N, act_dim],
    old_log_std [act_dim] or [T, act_dim]. emulate: run the block programs on the host (CPU tensors).
    """
    T, N = obs.shape[0], obs.shape[1]
    device = obs.device
    if emulate and device.type != "cpu":
        raise ValueError("policy_op: emulate=True runs on CPU tensors")
    if not emulate and device.type != "cuda":
        raise ValueError(f"policy_op: the CUDA kernels need CUDA tensors, got {device}")
    tensors = dict(params=params, obs=obs, act=act, weights=weights, weights2=weights2, v=v, old_mean=old_mean,
                   old_log_std=old_log_std)
    held = {k: x.detach().contiguous() for k, x in tensors.items() if x is not None}
    stride = {k: (0 if held[k].dim() == 1 else getattr(spec, width)) for k, width in _ROW_INPUTS.items() if k in held}
    out = torch.empty(_out_shape(name, spec, T, N), dtype=params.dtype, device=device)
    layout = plan(name, spec, params.dtype, T, N, weights is not None)
    workspace = torch.empty(max(1, layout["workspace_bytes"] // 8), dtype=torch.float64, device=device)
    ptr = {k: x.data_ptr() for k, x in held.items()}
    ptr.update(out=out.data_ptr(), workspace=workspace.data_ptr(), workspace_bytes=workspace.numel() * 8)
    if emulate:
        index, stream = -1, 0
    else:
        index = device.index if device.index is not None else torch.cuda.current_device()
        stream = torch.cuda.current_stream(index).cuda_stream
    _C.gpu_policy_run(spec.native, name, params.element_size(), T, N, ptr, stride, float(damping), index, stream,
                      emulate)
    if not emulate:
        # the caching allocator may hand these blocks to other streams once freed: tie them to ours
        stream_obj = torch.cuda.current_stream(index)
        for x in (*held.values(), workspace):
            x.record_stream(stream_obj)
    return out


def device_count() -> int:
    """CUDA devices this build of the package sees (0 without CUDA kernels, a driver or a GPU)."""
    return int(_C.cuda_device_count())

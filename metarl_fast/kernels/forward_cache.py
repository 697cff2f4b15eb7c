"""One forward pass for every compiled policy kernel called on the same parameters and observations.

    with kernels.shared_forward():
        g = kernels.score_vjp(spec, theta, obs, act, w)            # computes and keeps the activations
        h = kernels.surrogate_hvp(spec, theta, obs, act, w, v)     # reads them back

A meta-gradient calls up to five kernels on one (θ, observations) pair: the inner gradient's
log-probability and score pass, the inner Hessian's, the KL penalty's. Inside a ``shared_forward``
block each compiled kernel passes the forward activations of its (params, obs) to the next one
instead of recomputing them (``_C.ForwardCache``, per 64-sample tile). Results are bit-identical
with or without the block. ``policy_mean`` neither fills nor reads the caches: the Python-loop
samplers call it at every step on new observations, where a cache could never be read back.

A pair is recognised by the tensors' storage, shape, strides, dtype and version counter, so an
in-place change of θ or of the observations starts a new entry instead of reading stale values. The
block keeps the last ``max_entries`` pairs and the tensors behind them alive until it ends. Blocks
are per thread; nested blocks share the outer one. Memory per entry: the activations of every
sample (144 floats for a (64, 64) network with up to 16 actions; 47 MB for 80,000 float32 samples).
The storage of dropped and finished entries is given back to the compiled side, which keeps up to
256 MiB of such storage (over every cache, the fused operators' included) for the next cache
(``release_storage()`` frees it): a fresh allocation of that size costs its page faults, as much
time as the forward pass it would save.
"""
from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from typing import Iterator

import torch

from .. import _C

_local = threading.local()


class SharedForward:
    """The entries of one ``shared_forward`` block: (params, obs) → _C.ForwardCache."""

    def __init__(self, max_entries: int) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"shared_forward: max_entries must be an int >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        self.entries: OrderedDict = OrderedDict()

    @staticmethod
    def _key(t: torch.Tensor) -> tuple:
        return (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype, t._version)

    def cache_for(self, params: torch.Tensor, obs: torch.Tensor):
        """The ForwardCache of (params, obs), made on first use (the least recently used entry is
        dropped beyond max_entries)."""
        key = (self._key(params), self._key(obs))
        entry = self.entries.get(key)
        if entry is None:
            # the least recently used entry goes first, so that its storage can take the new pair
            while len(self.entries) >= self.max_entries:
                self.entries.popitem(last=False)[1][2].release()
            entry = self.entries[key] = (params, obs, _C.ForwardCache())  # the tensors stay alive with it
        else:
            self.entries.move_to_end(key)
        return entry[2]

    def close(self) -> None:
        for _, _, cache in self.entries.values():
            cache.release()  # empty: the storage is kept for the next cache
        self.entries.clear()


def release_storage() -> int:
    """Frees the storage that finished caches (these blocks' and the fused operators') left for
    reuse → the bytes freed."""
    return _C.release_kept_storage()


@contextlib.contextmanager
def shared_forward(max_entries: int = 3) -> Iterator[SharedForward]:
    """Shares the forward pass between the compiled policy kernels called inside the block on the
    same (params, obs) → the block's SharedForward. See the module docstring."""
    outer = getattr(_local, "scope", None)
    if outer is not None:
        yield outer
        return
    scope = SharedForward(max_entries)
    _local.scope = scope
    try:
        yield scope
    finally:
        _local.scope = None
        scope.close()


def active_cache(params: torch.Tensor, obs: torch.Tensor) -> _C.ForwardCache | None:
    """The ForwardCache a compiled kernel on (params, obs) should use: None outside a block."""
    scope = getattr(_local, "scope", None)
    return None if scope is None else scope.cache_for(params, obs)

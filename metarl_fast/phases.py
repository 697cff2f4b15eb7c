"""Named phases of a meta-iteration, timed on request: the benchmarks' phase breakdown.

    from metarl_fast import phases
    with phases.recording() as rec:        # nothing is timed outside a recording
        runner.train(iterations=...)
    rec.measure_floor()                    # the same kernel calls again, alone
    for row in rec.rows(): ...             # per phase: calls, wall, in-kernel and floor seconds

The algorithms mark their phases with ``with phases.phase("cg"):``; a phase inside another is named
by its path ("outer/cg"). Outside a recording ``phase`` costs a global lookup. Inside one, every
call of a compiled kernel (the ``metarl_fast._C`` kernels and the products and CG loops of the
fused operators) is timed and kept, and ``measure_floor`` calls them again back to back, with
nothing around them (and with the same forward-pass sharing: each replay starts from empty caches):
the time the same kernel passes take without the Python, torch and allocation work of the step —
each phase's kernel floor.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

# The compiled kernels a recording times (metarl_fast._C's functions of the kernel API).
KERNELS = ("policy_mean", "log_prob", "score_vjp", "score_jvp", "hvp_naive", "hvp_lvc", "hvp_split", "gaussian_kl",
           "kl_grad", "kl_fvp", "ratio_weights", "dice_weights", "emaml_credit", "discounted_returns", "gae",
           "normalize_per_task", "linear_baseline_fit", "linear_baseline_predict")
# Factories of the fused operators, whose products and CG loops are timed.
OPERATORS = ("kl_fvp_operator", "surrogate_hvp_operator", "maml_trpo_fvp_operator")
OPERATOR_METHODS = ("matvec", "conjugate_gradient")

_recording: "Recording | None" = None


@dataclass
class PhaseStats:
    """One phase's totals over a recording (seconds; a phase includes the phases inside it)."""

    calls: int = 0
    wall: float = 0.0
    kernel: float = 0.0        # inside compiled kernels, as the step ran them
    kernel_calls: int = 0
    floor: float | None = None  # the same kernel calls replayed alone (measure_floor)


@dataclass
class KernelCall:
    path: tuple
    name: str
    fn: object
    args: tuple
    kwargs: dict
    seconds: float
    operator: object = None  # the fused operator whose method this is


@dataclass
class Recording:
    """What a ``recording()`` measured: ``stats`` by phase path ("outer/cg"), the kernel calls."""

    stats: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    _stack: list = field(default_factory=list)

    def _stats(self, path: tuple) -> PhaseStats:
        key = "/".join(path)
        if key not in self.stats:
            self.stats[key] = PhaseStats()
        return self.stats[key]

    def _kernel(self, name: str, fn, args, kwargs, operator=None):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        dt = time.perf_counter() - t0
        path = tuple(self._stack)
        self.calls.append(KernelCall(path, name, fn, args, kwargs, dt, operator))
        for depth in range(len(path) + 1):  # the phase and every phase around it (and the total, "")
            s = self._stats(path[:depth])
            s.kernel += dt
            s.kernel_calls += 1
        return out

    def measure_floor(self, repeats: int = 3) -> None:
        """Calls every recorded kernel again, back to back, `repeats` times over, and sets each
        phase's floor to the sum of its calls' fastest times. Each replay starts with empty forward
        caches (kernels.shared_forward's and the fused operators'), so a call that computed the
        forward pass in the step computes it again; their storage is reused between replays, as
        the step reuses it between iterations."""
        from . import _C

        best = [float("inf")] * len(self.calls)
        fresh = {}  # the step's shared-forward caches → the replay's (storage reused between replays)
        for _ in range(repeats):
            reset = set()
            for cache in fresh.values():
                cache.invalidate()
            for i, c in enumerate(self.calls):
                kwargs = c.kwargs
                if kwargs.get("cache") is not None:
                    key = id(kwargs["cache"])
                    if key not in fresh:
                        fresh[key] = _C.ForwardCache()
                    kwargs = dict(kwargs, cache=fresh[key])
                if c.operator is not None and id(c.operator) not in reset:
                    reset.add(id(c.operator))
                    keep, c.operator.cache = c.operator.cache, False  # frees its activations
                    c.operator.cache = keep
                t0 = time.perf_counter()
                c.fn(*c.args, **kwargs)
                best[i] = min(best[i], time.perf_counter() - t0)
        for cache in fresh.values():
            cache.release()
        for s in self.stats.values():
            s.floor = 0.0
        for c, t in zip(self.calls, best):
            for depth in range(len(c.path) + 1):
                self._stats(c.path[:depth]).floor += t

    def rows(self) -> list[tuple[str, PhaseStats]]:
        """(phase path, stats): the total ("") first, then the phases in the order they first ran."""
        return sorted(self.stats.items(), key=lambda kv: kv[0] != "")


class _TimedOperator:
    """A fused operator whose products and CG loops the recording times."""

    def __init__(self, op, rec: Recording) -> None:
        self._op, self._rec = op, rec

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._op, name, value)

    def __getattr__(self, name):
        attr = getattr(self._op, name)
        if name not in OPERATOR_METHODS:
            return attr
        return lambda *args, **kwargs: self._rec._kernel(f"operator.{name}", attr, args, kwargs, self._op)


@contextlib.contextmanager
def recording():
    """Times the phases and the compiled kernels called inside the block → a Recording. One at a
    time (a nested recording raises RuntimeError)."""
    global _recording
    from . import _C

    if _recording is not None:
        raise RuntimeError("phases.recording: a recording is already active")
    rec = Recording()
    originals = {name: getattr(_C, name) for name in KERNELS + OPERATORS}

    def timed(name, fn):
        return lambda *args, **kwargs: rec._kernel(name, fn, args, kwargs)

    def timed_factory(fn):
        return lambda *args, **kwargs: _TimedOperator(fn(*args, **kwargs), rec)

    for name, fn in originals.items():
        setattr(_C, name, timed_factory(fn) if name in OPERATORS else timed(name, fn))
    _recording = rec
    t0 = time.perf_counter()
    try:
        yield rec
    finally:
        _recording = None
        for name, fn in originals.items():
            setattr(_C, name, fn)
        total = rec._stats(())
        total.calls += 1
        total.wall += time.perf_counter() - t0


@contextlib.contextmanager
def phase(name: str):
    """Marks a phase of the current recording (a no-op without one)."""
    rec = _recording
    if rec is None:
        yield
        return
    rec._stack.append(name)
    stats = rec._stats(tuple(rec._stack))
    t0 = time.perf_counter()
    try:
        yield
    finally:
        stats.wall += time.perf_counter() - t0
        stats.calls += 1
        rec._stack.pop()

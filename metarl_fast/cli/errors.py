"""How the command line reports an error: one ``metarl-fast CMD: error: ...`` line, or the
traceback when asked for (``--traceback`` or METARL_FAST_TRACEBACK)."""
from __future__ import annotations

import os


def tracebacks_requested() -> bool:
    """METARL_FAST_TRACEBACK set to a true value (1, true, yes, on): errors show their traceback."""
    return os.environ.get("METARL_FAST_TRACEBACK", "").strip().lower() in ("1", "true", "yes", "on")


def error_message(e: BaseException) -> str:
    """The text after ``error:`` for an exception the command line reports as one line."""
    if isinstance(e, MemoryError):
        return (f"out of memory ({e or 'an allocation failed'}): lower the sizes of the run (hidden, "
                "meta_batch_size, rollouts_per_task, horizon)")
    return str(e)

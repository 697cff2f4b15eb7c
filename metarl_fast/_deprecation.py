"""Deprecated names of the public API: one helper for every renamed keyword and deprecated value.

The public API uses one name per concept (docs/kernels.md, "Names"): ``rollouts_per_task`` (not
trajs_per_task), ``act`` for an action tensor (not actions), ``seed`` for a source of randomness
(an int or a torch.Generator; not generator), ``backend="auto"`` as every default. An old keyword
keeps working through ``renamed_kwargs`` with a DeprecationWarning that names the new one.
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def warn_deprecated(what: str, instead: str, stacklevel: int = 3) -> None:
    """A DeprecationWarning "`what` is deprecated; use `instead`", attributed to the caller of the
    public function that calls this (stacklevel 3: this function, the public one, its caller)."""
    warnings.warn(f"{what} is deprecated; use {instead}", DeprecationWarning, stacklevel=stacklevel)


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorator: ``@renamed_kwargs(old="new")`` lets callers still pass ``old=`` (moved to ``new=``
    with a DeprecationWarning naming the new keyword); passing both is a TypeError. The signature
    that ``inspect.signature`` and type checkers see is the function's own (new names only)."""

    def decorate(fn: F) -> F:
        name = fn.__qualname__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got both {old}= (its deprecated name) and {new}=")
                    warn_deprecated(f"{name}(): the keyword {old}=", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__deprecated_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate

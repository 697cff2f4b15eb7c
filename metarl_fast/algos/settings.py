"""Documented, typed settings and the one validator they all go through.

A setting is a dataclass field made by ``setting(default, doc, ...)``: its type annotation says
what it holds (int, float, bool, str, tuple[int, ...], or a ``Literal`` of the allowed strings),
its metadata says its bounds, dynamic choices (a registry) and the flat name it had in earlier
run directories. ``validate(obj)`` checks every field of a settings dataclass against all of that,
and ``parse(obj_type, name, text)`` turns a command-line string into the field's type.

Shared groups of settings (inner step, Adam, TRPO) are dataclasses that algorithm sections
inherit, so each setting is defined once.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Literal


def setting(default, doc: str, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None, choices: Callable[[], tuple[str, ...]] | None = None,
            legacy: str | None = None):
    """A settings field: ``default``, one line of documentation, bounds (ge/gt/le/lt), a function
    returning the allowed strings (for registry-backed choices), and the key's flat name in run
    directories written before settings had sections (``legacy``; default: the field name)."""
    return field(default=default, metadata=dict(doc=doc, ge=ge, gt=gt, le=le, lt=lt, choices=choices, legacy=legacy))


def fields_of(cls_or_obj) -> list[dataclasses.Field]:
    """The settings fields of a settings dataclass (those made by ``setting``)."""
    return [f for f in dataclasses.fields(cls_or_obj) if "doc" in f.metadata]


def hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls if isinstance(cls, type) else type(cls))


def type_name(hint) -> str:
    """A short description of a setting's type for messages and --list-keys."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return " | ".join(typing.get_args(hint))
    if origin is tuple:
        return "ints, comma-separated"
    return getattr(hint, "__name__", str(hint))


def _check_type(where: str, value, hint, choices):
    """The value, normalised to its field's type (int → float, list → tuple); raises otherwise."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ValueError(f"{where} must be one of {list(allowed)}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an int, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if origin is tuple:
        if not isinstance(value, (tuple, list)) or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                                       for v in value):
            raise ValueError(f"{where} must be a sequence of positive ints, got {value!r}")
        return tuple(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        if choices is not None and value not in choices():
            raise ValueError(f"{where} must be one of {list(choices())}, got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported setting type {hint!r}")


def validate(obj, prefix: str = "") -> None:
    """Checks (and normalises in place) every setting of a settings dataclass: its type, Literal
    choices, registry choices and bounds. Errors name the key: ``prefix + field name``."""
    types = hints(obj)
    for f in fields_of(obj):
        where = prefix + f.name
        m = f.metadata
        value = _check_type(where, getattr(obj, f.name), types[f.name], m["choices"])
        object.__setattr__(obj, f.name, value)
        for bound, ok, word in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                                ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
            if m[bound] is not None and not ok(value, m[bound]):
                limit = m[bound] if isinstance(m[bound], int) and abs(m[bound]) >= 1e6 else f"{m[bound]:g}"
                raise ValueError(f"{where} must be {word} {limit}, got {value!r}")


def parse(cls, name: str, text: str):
    """A command-line string as the value of setting `name` of `cls` (validated later)."""
    hint = hints(cls)[name]
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if origin is tuple:
            return tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{name}={text!r}: not a valid {type_name(hint)}") from None
    return text


# ---- groups of settings shared by several algorithms
@dataclass
class InnerStepSettings:
    """The inner adaptation step θ' = θ + α ∇J_in(θ)."""

    inner_lr: float = setting(0.1, "α, the inner step size (the initial value when trainable)", gt=0)
    trainable_inner_step_size: bool = setting(False, "learn one step size per parameter (the papers' code's option)")


@dataclass
class AdamSettings:
    outer_lr: float = setting(1e-3, "Adam's learning rate for the meta-parameters", gt=0)


@dataclass
class TrpoSettings:
    max_kl: float = setting(0.01, "TRPO: δ, the bound on the mean KL of the meta-step", gt=0)
    cg_iters: int = setting(10, "TRPO: conjugate-gradient iterations", ge=1)
    cg_damping: float = setting(0.0, "TRPO: damping added to the Fisher in CG", ge=0)

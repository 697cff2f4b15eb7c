"""Samplers by name, as the config's ``sampler`` setting names them:

    auto        the family's own backend (C++ for the C++ families, gymnasium for the Python ones)
    cpp         CppSampler: the C++ pool with the policy in the loop
    gymnasium   GymnasiumSampler: a Python loop over gymnasium environments
    processes   ProcessSampler: the family's own backend on local worker processes
    ray         RaySampler: the family's own backend on Ray actors (optional extra metarl_fast[ray])

A new backend is a Sampler subclass plus ``register_sampler(name, cls)``; a class with a
``from_config(family, spec, config)`` classmethod takes its options from a run's TrainConfig.
"""
from __future__ import annotations

from typing import Callable

from .base import Sampler
from .cpp import CppSampler
from .gymnasium import GymnasiumSampler
from .processes import ProcessSampler
from .ray import RaySampler

_SAMPLERS: dict[str, Callable[..., Sampler]] = {"cpp": CppSampler, "gymnasium": GymnasiumSampler,
                                                "processes": ProcessSampler, "ray": RaySampler}


def register_sampler(name: str, factory: Callable[..., Sampler], *, replace: bool = False) -> None:
    """Adds a backend: ``factory(family, spec, **options)`` returns a Sampler."""
    if not isinstance(name, str) or not name or name == "auto":
        raise ValueError(f"register_sampler: name must be a non-empty string other than 'auto', got {name!r}")
    if name in _SAMPLERS and not replace:
        raise ValueError(f"register_sampler: {name!r} is already registered (pass replace=True to replace it)")
    _SAMPLERS[name] = factory


def sampler_names() -> tuple[str, ...]:
    """"auto" and every registered backend."""
    return ("auto", *_SAMPLERS)


def make_sampler(name: str, family, spec, config=None, **options) -> Sampler:
    """The backend `name` for `family` and `spec` ("auto": the family's native_sampler), built
    with `options`, or from a run's `config` (a TrainConfig) when the backend has ``from_config``."""
    if name == "auto":
        name = family.native_sampler
    if name not in _SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; valid: {', '.join(sampler_names())}")
    factory = _SAMPLERS[name]
    if config is not None and hasattr(factory, "from_config"):
        return factory.from_config(family, spec, config, **options)
    return factory(family, spec, **options)

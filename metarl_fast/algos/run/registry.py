"""Algorithms by name: the ``--algo`` choices. Each row is a MetaAlgorithm class, the keyword
arguments it is constructed with, and one line of description; its config section is the class's
``settings`` dataclass.

    register_algorithm("my-algo", MyAlgorithm, description="...")   # docs/extending.md
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..base import MetaAlgorithm
from ..bomrl.algorithm import BoMrl
from ..gmps.algorithm import Gmps
from ..maml.algorithm import MamlAlgorithm
from ..maml.variants import VARIANTS


@dataclass(frozen=True)
class AlgorithmEntry:
    name: str
    cls: type[MetaAlgorithm]
    kwargs: dict = field(default_factory=dict)
    description: str = ""

    def build(self, ctx) -> MetaAlgorithm:
        return self.cls(ctx, **self.kwargs)


_ALGORITHMS: dict[str, AlgorithmEntry] = {}


def register_algorithm(name: str, cls: type[MetaAlgorithm], *, kwargs: dict | None = None, description: str = "",
                       replace: bool = False) -> None:
    """Adds an algorithm: ``--algo name`` constructs ``cls(ctx, **kwargs)``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_algorithm: name must be a non-empty string, got {name!r}")
    if not (isinstance(cls, type) and issubclass(cls, MetaAlgorithm)):
        raise TypeError(f"register_algorithm: {cls!r} is not a MetaAlgorithm subclass")
    settings = cls.settings
    if settings is not None and not getattr(settings, "name", None):
        raise ValueError(f"register_algorithm: {cls.__name__}.settings must name its config section (name = '...')")
    if name in _ALGORITHMS and not replace:
        raise ValueError(f"register_algorithm: {name!r} is already registered (pass replace=True to replace it)")
    _ALGORITHMS[name] = AlgorithmEntry(name, cls, dict(kwargs or {}), description)


def algorithm_names() -> tuple[str, ...]:
    return tuple(_ALGORITHMS)


def algorithm_entries() -> tuple[AlgorithmEntry, ...]:
    """Every registered algorithm, in registration order."""
    return tuple(_ALGORITHMS.values())


def algorithm(name: str) -> AlgorithmEntry:
    if name not in _ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; valid: {', '.join(_ALGORITHMS)}")
    return _ALGORITHMS[name]


def settings_classes() -> dict[str, type]:
    """{section name: settings dataclass} of every registered algorithm."""
    return {e.cls.settings.name: e.cls.settings for e in _ALGORITHMS.values() if e.cls.settings is not None}


for _v in VARIANTS.values():
    register_algorithm(_v.name, MamlAlgorithm, kwargs={"variant": _v}, description=_v.description)
register_algorithm("bomrl", BoMrl, description="BO-MRL (practical, App. D): lower level solved on one batch, "
                                               "Eq. 8 CG hypergradient, TRPO")
register_algorithm("gmps", Gmps, description="GMPS (Mendonca et al.): importance-weighted PG inner step, behaviour "
                                             "cloning of experts outer loss, N_BC Adam steps per batch")

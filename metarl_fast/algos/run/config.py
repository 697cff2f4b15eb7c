"""The training configuration: common settings (one documented, typed field each, CleanRL style)
plus the chosen algorithm's own section (its ``settings`` dataclass, e.g. ``maml``, ``bomrl``,
``gmps``). Saved as config.yaml in the run directory:

    algo: promp
    env: HalfCheetahRandDirec
    ...
    maml:
      inner_steps: 1
      ...

Keys are set by name — ``inner_lr=0.05`` (found in the common settings, then in the algorithm's
section) or qualified, ``maml.inner_lr=0.05`` — from the command line (``--set``), presets and
``TrainConfig.build(**settings)``. Every value is checked by one validator (algos/settings.py)
before anything is created; ``metarl-fast train --list-keys`` lists every key with its default.

Run directories written before settings had sections hold one flat mapping (``backend: cpp``,
``gmps_bc_steps: 100``, ...): ``TrainConfig.from_dict`` reads them too.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from ...envs import family_names
from ...sampling import sampler_names
from ..settings import fields_of, hints, parse, setting, type_name, validate
from .registry import algorithm, algorithm_entries, algorithm_names, settings_classes

# Flat keys of earlier versions that are common settings under another name: key → (field, value map)
_LEGACY_COMMON = {"backend": ("meta_gradient", {"cpp": "explicit", "torch": "autograd"})}


@dataclass
class TrainConfig:
    """Everything a run depends on; ``section`` holds the algorithm's own settings."""

    algo: str = setting("promp", "the algorithm (metarl-fast train --help lists them)", choices=algorithm_names)
    env: str = setting("HalfCheetahRandDirec", "the task family", choices=family_names)
    seed: int = setting(1, "the run's seed: every random choice derives from it", ge=0, lt=2**63)
    iterations: int = setting(1000, "meta-iterations (in total, when resuming)", ge=1)
    # sampling
    meta_batch_size: int = setting(40, "tasks per meta-iteration", ge=1)
    rollouts_per_task: int = setting(20, "trajectories per task per step", ge=1)
    horizon: int = setting(0, "steps per trajectory; 0: the family's papers' horizon", ge=0)
    # policy
    hidden: tuple[int, ...] = setting((64, 64), "hidden-layer widths of the Gaussian MLP")
    activation: Literal["tanh", "relu"] = setting("tanh", "hidden activation")
    init_std: float = setting(1.0, "initial standard deviation of the policy", gt=0)
    dtype: Literal["float32", "float64"] = setting("float32", "parameters and samples")
    # advantages
    discount: float = setting(0.99, "γ", ge=0, le=1)
    gae_lambda: float = setting(1.0, "GAE λ", ge=0, le=1)
    normalize_adv: bool = setting(True, "normalise the advantages per task")
    advantages: Literal["gae", "returns"] = setting(
        "gae", "gae (the papers' code) | returns (SG-MRL's R_h from t = 0, no baseline)")
    reduction: Literal["steps", "trajectories"] = setting(
        "steps", "surrogate scale: mean over the N·H steps (the ProMP code) | over trajectories")
    # execution
    meta_gradient: Literal["explicit", "autograd"] = setting(
        "explicit", "explicit (the compiled kernels) | autograd (the torch reference through the unrolled update)",
        legacy="backend")
    sampler: str = setting("auto", "auto (the family's own) | cpp (C++ with the policy in the loop) | gymnasium "
                                   "(a Python loop) | processes (either, on local worker processes) | ray (either, on Ray "
                                   "actors)", choices=sampler_names)
    processes: int = setting(0, "sampler=processes: worker processes; 0: one per CPU", ge=0)
    ray_address: str = setting("", "sampler=ray: the Ray cluster ('auto': this node's; 'host:port'; '': a local Ray)")
    ray_actors: int = setting(-1, "sampler=ray: actors; -1: one per node (C++ families) or per CPU (Python ones)",
                              ge=-1)
    ray_threads: int = setting(0, "sampler=ray: C++ threads per actor; 0: the node's CPUs over its actors", ge=0)
    ray_timeout: float = setting(300.0, "sampler=ray: seconds to wait for actors to start and for a work item",
                                 gt=0)
    device: Literal["cpu", "cuda"] = setting(
        "cpu", "where the parameters, advantages and meta-steps live (sampling stays on the CPU): cpu | cuda (the "
               "current GPU; pick one with CUDA_VISIBLE_DEVICES)")
    cuda_kernels: bool = setting(False, "device=cuda: the package's CUDA kernels (not yet verified on hardware) "
                                        "instead of the torch reference on the GPU")
    threads: int = setting(0, "C++ threads; 0: every available CPU", ge=0)
    torch_threads: int = setting(0, "torch's intra-op threads while training; 0: the algorithm's measured default "
                                    "(1, or torch's own for BO-MRL; docs/algos.md)", ge=0)
    checkpoint_every: int = setting(50, "keep checkpoints/itr_<n>.pt every n iterations (and at the end)", ge=1)
    section: Any = field(default=None, repr=True, compare=True)

    def __post_init__(self) -> None:
        validate(self)
        cls = algorithm(self.algo).cls.settings
        if cls is None:
            if self.section not in (None, {}):
                raise ValueError(f"{self.algo} takes no settings of its own, got {self.section!r}")
            self.section = None
            return
        if self.section is None or isinstance(self.section, dict):
            self.section = _section(cls, dict(self.section or {}))
        elif type(self.section) is not cls:
            raise TypeError(f"the settings of {self.algo} are a {cls.__name__}, got a {type(self.section).__name__}")
        validate(self.section, prefix=f"{cls.name}.")
        if hasattr(self.section, "check"):
            self.section.check(self)

    # ---- construction
    @classmethod
    def build(cls, **settings) -> "TrainConfig":
        """A config from keyword settings, common or of the algorithm's section (unqualified names;
        see the module docstring), e.g. ``TrainConfig.build(algo="promp", inner_lr=0.05)``."""
        return build(list(settings.items()))

    def with_overrides(self, items: list[str]) -> "TrainConfig":
        """A copy with ``key=value`` strings applied (the values parsed to each setting's type)."""
        pairs = []
        for item in items:
            if "=" not in item:
                raise ValueError(f"--set expects key=value, got {item!r}")
            pairs.append(tuple(item.split("=", 1)))
        return build(pairs, base=self)

    def to_dict(self) -> dict:
        d = {f.name: _plain(getattr(self, f.name)) for f in fields_of(self)}
        if self.section is not None:
            d[self.section.name] = {f.name: _plain(getattr(self.section, f.name)) for f in fields_of(self.section)}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """From ``to_dict()``'s mapping (as config.yaml holds it, with run_info), or the flat mapping
        of earlier versions (whose keys of other algorithms' settings, which did not affect the run,
        are dropped)."""
        d = dict(d)
        d.pop("run_info", None)  # what the run started with (versions, command line): not a setting
        sections = settings_classes()
        nested = {k: d.pop(k) for k in list(d) if k in sections and isinstance(d[k], dict)}
        if nested:
            algo = d.get("algo", cls.algo)
            own = algorithm(algo).cls.settings
            for name in nested:
                if own is None or name != own.name:
                    raise ValueError(f"config: section {name!r} does not belong to algo {algo!r}")
            return build([*d.items(), *((f"{k}.{n}", v) for k, sec in nested.items() for n, v in sec.items())])
        return build(list(d.items()), ignore_foreign=True)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _section(cls, values: dict):
    names = {f.name for f in fields_of(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.name} settings {sorted(unknown)}; valid: {', '.join(sorted(names))}")
    return cls(**values)


def _legacy_name(cls, f: dataclasses.Field) -> str:
    if f.metadata.get("legacy"):
        return f.metadata["legacy"]
    own = f.name in cls.__dict__.get("__annotations__", {})
    return getattr(cls, "legacy_prefix", "") + f.name if own else f.name


def _owners(key: str) -> list[str]:
    """The sections that have a setting called `key` (by name or earlier flat name)."""
    out = []
    for name, cls in settings_classes().items():
        if any(key in (f.name, _legacy_name(cls, f)) for f in fields_of(cls)):
            out.append(name)
    return out


def resolve(key: str, section_cls) -> tuple[str, str, dict | None] | None:
    """(where: "common" or "section", field name, value map of a renamed legacy key) for a setting
    key of a run whose algorithm has the settings class `section_cls`; None for a key of another
    algorithm's section. Raises ValueError for an unknown key."""
    common = {f.name for f in fields_of(TrainConfig)}
    section_fields = {f.name: f for f in fields_of(section_cls)} if section_cls else {}
    if "." in key:
        prefix, name = key.split(".", 1)
        if section_cls is None or prefix != section_cls.name:
            own = f"its section is {section_cls.name!r}" if section_cls else "it has no settings section"
            raise ValueError(f"setting {key!r}: {prefix!r} is not this algorithm's section ({own})")
        if name not in section_fields:
            raise ValueError(f"unknown setting {key!r}; {section_cls.name} has: {', '.join(section_fields)}")
        return "section", name, None
    if key in common:
        return "common", key, None
    if key in section_fields:
        return "section", key, None
    for f in section_fields.values():
        if _legacy_name(section_cls, f) == key:
            return "section", f.name, None
    if key in _LEGACY_COMMON:
        name, values = _LEGACY_COMMON[key]
        return "common", name, values
    if _owners(key):
        return None
    valid = sorted(common | set(section_fields))
    raise ValueError(f"unknown setting {key!r}; valid keys: {', '.join(valid)} (metarl-fast train --list-keys)")


def build(items: list[tuple[str, Any]], base: TrainConfig | None = None, ignore_foreign: bool = False) -> TrainConfig:
    """A TrainConfig from (key, value) pairs applied in order on `base` (or the defaults); string
    values are parsed to the setting's type. A key of another algorithm's section is an error
    unless ignore_foreign (reading earlier flat configs)."""
    common = {f.name: getattr(base, f.name) for f in fields_of(TrainConfig)} if base else {}
    algo = base.algo if base else TrainConfig.algo
    for key, value in items:
        if key == "algo":
            algo = value
    if algo not in algorithm_names():
        raise ValueError(f"algo must be one of {list(algorithm_names())}, got {algo!r}")
    section_cls = algorithm(algo).cls.settings
    section = {}
    if base is not None and base.section is not None and type(base.section) is section_cls:
        section = {f.name: getattr(base.section, f.name) for f in fields_of(base.section)}
    for key, value in items:
        where = resolve(key, section_cls)
        if where is None:
            if ignore_foreign:
                continue
            raise ValueError(f"setting {key!r} belongs to {', '.join(_owners(key))}, not to algo {algo!r}")
        kind, name, value_map = where
        if isinstance(value, str):
            value = parse(TrainConfig if kind == "common" else section_cls, name, value)
        if value_map:
            value = value_map.get(value, value)
        (common if kind == "common" else section)[name] = value
    common["algo"] = algo
    return TrainConfig(**common, section=section if section_cls else None)


def list_keys() -> str:
    """Every setting with its default and documentation, common first, then per section."""
    lines = ["common settings (every algorithm):"]

    def rows(cls, instance):
        for f in fields_of(cls):
            default = _plain(getattr(instance, f.name))
            lines.append(f"  {f.name + ' = ' + str(default):<38} {f.metadata['doc']} [{type_name(hints(cls)[f.name])}]")

    rows(TrainConfig, TrainConfig())
    for name, cls in settings_classes().items():
        algos = [e.name for e in algorithm_entries() if e.cls.settings is cls]
        lines.append("")
        lines.append(f"[{name}] settings of {', '.join(algos)} (set as key=value or {name}.key=value):")
        rows(cls, cls())
    return "\n".join(lines)

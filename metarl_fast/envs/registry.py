"""Task families by name: the C++ families (their Python definitions: task distribution and
horizon), the Python families, and ``register_family`` for the user's own. Importing this module
registers every family with gymnasium as ``metarl_fast/<Name>-v0``.

    family = metarl_fast.envs.make("HalfCheetahRandDirec")
    metarl_fast.envs.register_family("MyFamily", lambda: GymTaskFamily(...))
"""
from __future__ import annotations

import os
from typing import Any, Callable

from . import distributions as dist
from .base import FamilyDef, TaskFamily
from .metaworld_family import family_names as metaworld_family_names

# The C++ families (csrc/sim/families): rewards, termination, observations, resets as the papers'
# code; the horizon is the papers' max_path_length.
CPP_FAMILIES: dict[str, FamilyDef] = {
    "HalfCheetahRandDirec": FamilyDef(("direction",), dist.directions_1d, 100,
                                      "half-cheetah running forward (+1) or backward (−1): d·v_x − 0.05‖a‖² (= FwdBack)"),
    "HalfCheetahRandVel": FamilyDef(("velocity",), dist.velocities, 100,
                                    "half-cheetah at a target velocity v* ~ U(0, 3): −|v_x − v*| − 0.05‖a‖²"),
    "AntRandDirec": FamilyDef(("direction",), dist.directions_1d, 200,
                              "ant forward/backward along x: d·v_x − 0.5‖a‖² − contact + 1; ends when z ∉ [0, 1]"),
    "AntRandDirec2D": FamilyDef(("dx", "dy"), dist.directions_2d, 200,
                                "ant along a random unit direction u: u·v_xy − 0.5‖a‖² − contact + 1"),
    "AntRandGoal": FamilyDef(("goal_x", "goal_y"), dist.goals_disk3, 200,
                             "ant to a goal uniform on the disk of radius 3: −‖xy − g‖₁ − 0.1‖a‖² − contact"),
    "Walker2DRandDirec": FamilyDef(("direction",), dist.directions_1d, 200,
                                   "walker forward/backward: d·v_x + 1 − 1e-3‖a‖²; frame_skip 8"),
    "HumanoidRandDirec": FamilyDef(("direction",), dist.directions_1d, 200,
                                   "humanoid forward/backward: 0.25·d·Δx_com/timestep − 0.1‖ctrl‖² − impact + 5"),
    "HumanoidRandDirec2D": FamilyDef(("dx", "dy"), dist.directions_2d, 200,
                                     "humanoid along a random unit direction (as HumanoidRandDirec, projected)"),
    "HopperRandParams": FamilyDef((), None, 200,
                                  "hopper with randomised masses, inertias, damping, frictions: v_x + 1 − 1e-3‖a‖²"),
    "Walker2DRandParams": FamilyDef((), None, 200,
                                    "walker with randomised masses, inertias, damping, frictions: v_x + 1 − 1e-3‖a‖²"),
    "Point2DNav": FamilyDef(("goal_x", "goal_y"), dist.goals_square, 100,
                            "SG-MRL's 2D navigation: from the origin to a goal in [−0.5, 0.5]², −‖p − g‖"),
    "MetaPointEnvCorner": FamilyDef(("goal_x", "goal_y"), dist.corners, 100,
                                    "ProMP's point to one of 4 corners (±2, ±2): sparse progress reward"),
    "MetaPointEnvMomentum": FamilyDef(("goal_x", "goal_y"), dist.corners, 200,
                                      "ProMP's point with momentum to a corner: max(2 − ‖p − g‖, 0)"),
    "AntGoalArc": FamilyDef(("goal_x", "goal_y"), dist.arc_goals, 200,
                            "GMPS: low-gear ant to a goal on the radius-2 arc (0–90°): −‖com − g‖₁ + 4 − costs"),
    "AntGoalArcSparse": FamilyDef(("goal_x", "goal_y"), dist.arc_goals, 200,
                                  "GMPS's sparse variant: the goal term is −‖g‖₁ + 4 until within 0.8 of the goal"),
}


def _cpp_factory(name: str) -> Callable[..., TaskFamily]:
    def make_cpp(action_scale: float = 10.0, xml: str | None = None) -> TaskFamily:
        """options: action_scale (default 10, the papers' normalize wrapper); xml (a replacement MJCF)."""
        from .cpp_family import CppTaskFamily

        return CppTaskFamily(name, CPP_FAMILIES[name], action_scale=action_scale, xml=xml)

    return make_cpp


def _pendulum_gravity() -> TaskFamily:
    from .python_family import pendulum_gravity

    return pendulum_gravity()


def _metaworld(name: str) -> Callable[..., TaskFamily]:
    def make_metaworld(benchmark_seed: int = 0) -> TaskFamily:
        """options: benchmark_seed (the seed Meta-World builds the benchmark's task lists with)."""
        from .metaworld_family import make_family

        return make_family(name, benchmark_seed)

    return make_metaworld


# name → factory(**options) → TaskFamily
_FACTORIES: dict[str, Callable[..., TaskFamily]] = {name: _cpp_factory(name) for name in CPP_FAMILIES}
_FACTORIES.update({"PendulumGravity": _pendulum_gravity})
_FACTORIES.update({name: _metaworld(name) for name in metaworld_family_names()})
# the papers' horizon of the families registered with gymnasium
_GYM_HORIZONS: dict[str, int] = {name: d.horizon for name, d in CPP_FAMILIES.items()}


def register_family(name: str, factory: Callable[..., TaskFamily], *, replace: bool = False) -> None:
    """Adds a task family: ``factory(**options)`` returns a TaskFamily (e.g. a GymTaskFamily) whose
    ``name`` is `name`. It is then available to ``make``, ``--env`` and the trainer's config."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_family: name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"register_family: factory must be callable, got {type(factory).__name__}")
    if name in _FACTORIES and not replace:
        raise ValueError(f"register_family: {name!r} is already registered (pass replace=True to replace it)")
    _FACTORIES[name] = factory


def family_names() -> tuple[str, ...]:
    """Every registered family name (the C++ ones first)."""
    return tuple(_FACTORIES)


def make(name: str, *, action_scale: float | None = None, xml: str | os.PathLike[str] | None = None,
         benchmark_seed: int | None = None, **options: Any) -> TaskFamily:
    """The task family `name` (one of ``family_names()``), with its options (keyword only; None, the
    default, leaves an option at the family's own default; a family refuses options it lacks):

        action_scale: the C++ families' policy action range [−s, s], rescaled to the controls
            (default 10, the papers' normalize wrapper).
        xml: the C++ families' replacement MJCF file (default: gymnasium's asset the family names).
        benchmark_seed: the Meta-World families' seed of the benchmark's task lists (default 0).
        **options: the keyword parameters of a family added with ``register_family`` (its factory's).

    PendulumGravity takes none. Raises ValueError for an unknown name or an option the family's
    factory does not take (the message lists the valid ones).
    """
    named = dict(action_scale=action_scale, xml=None if xml is None else os.fspath(xml), benchmark_seed=benchmark_seed)
    options = {**{k: v for k, v in named.items() if v is not None}, **options}
    if name not in _FACTORIES:
        raise ValueError(f"unknown task family {name!r}; valid names: {', '.join(_FACTORIES)}")
    import inspect

    accepted = set(inspect.signature(_FACTORIES[name]).parameters)
    unknown = set(options) - accepted
    if unknown:
        valid = ", ".join(sorted(accepted)) or "none"
        raise ValueError(f"make({name!r}): unknown options {sorted(unknown)}; valid: {valid}")
    family = _FACTORIES[name](**options)
    if family.name != name:
        raise ValueError(f"make({name!r}): the registered factory returned the family {family.name!r}")
    return family


def _gym_entry(**kwargs: Any) -> Any:
    """gymnasium's entry point of ``metarl_fast/<Name>-v0``: kwargs name, task, max_episode_steps and
    make's options."""
    name = kwargs.pop("name")
    max_steps = kwargs.pop("max_episode_steps", None)
    task = kwargs.pop("task", None)
    return make(name, **kwargs).gym_env(task, max_steps)


def register_gymnasium() -> None:
    """Registers every C++ family as gymnasium id ``metarl_fast/<Name>-v0`` (idempotent), with the
    papers' horizon as max_episode_steps."""
    import gymnasium

    for name, horizon in _GYM_HORIZONS.items():
        env_id = f"metarl_fast/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=_gym_entry, kwargs={"name": name}, max_episode_steps=horizon,
                               disable_env_checker=True)


register_gymnasium()

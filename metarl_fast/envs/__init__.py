"""Meta-RL task families with batched, policy-in-the-loop sampling in C++ (see families.py).

    family = metarl_fast.envs.make("HalfCheetahRandDirec")
    tasks = family.sample_tasks(40, seed=0)
    batch = family.rollout(spec, params, tasks, trajs_per_task=20, horizon=100, seed=1)
"""
from .batch import Batch
from .families import (ALL_FAMILY_NAMES, FAMILY_NAMES, PYTHON_FAMILY_NAMES, TaskFamily, gmps_arc_goals,
                       gymnasium_asset, make)
from .gym_family import GymTaskFamily
from .tasks import TaskBatch

__all__ = ["ALL_FAMILY_NAMES", "Batch", "FAMILY_NAMES", "GymTaskFamily", "PYTHON_FAMILY_NAMES", "TaskBatch",
           "TaskFamily", "gmps_arc_goals", "gymnasium_asset", "make", "register_gymnasium"]


def _gym_entry(name: str, **kwargs):
    max_steps = kwargs.pop("max_episode_steps", None)
    task = kwargs.pop("task", None)
    return make(name, **kwargs).gym_env(task, max_steps)


def register_gymnasium() -> None:
    """Registers every family as gymnasium id ``metarl_fast/<Name>-v0`` (idempotent), with the
    papers' horizon as max_episode_steps. Called on import of metarl_fast.envs."""
    import gymnasium

    from .families import _DEFS

    for name, d in _DEFS.items():
        env_id = f"metarl_fast/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=_gym_entry, kwargs={"name": name}, max_episode_steps=d.horizon,
                               disable_env_checker=True)


register_gymnasium()

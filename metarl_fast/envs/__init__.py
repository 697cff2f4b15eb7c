"""Meta-RL task families with batched, policy-in-the-loop sampling in C++ (see families.py).

    family = metarl_fast.envs.make("HalfCheetahRandDirec")
    tasks = family.sample_tasks(40, seed=0)
    batch = family.rollout(spec, params, tasks, trajs_per_task=20, horizon=100, seed=1)
"""
from .batch import Batch
from .families import FAMILY_NAMES, TaskFamily, gymnasium_asset, make
from .tasks import TaskBatch

__all__ = ["Batch", "FAMILY_NAMES", "TaskBatch", "TaskFamily", "gymnasium_asset", "make"]

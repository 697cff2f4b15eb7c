"""Meta-RL task families: task distributions, rollouts of a Gaussian MLP policy, gymnasium envs.

    family = metarl_fast.envs.make("HalfCheetahRandDirec")
    tasks = family.sample_tasks(40, seed=0)
    batch = family.rollout(spec, params, tasks, rollouts_per_task=20, horizon=100, seed=1)

Modules: base (the TaskFamily interface), distributions (task distributions), cpp_family (the
families simulated in C++ with the policy in the loop), python_family (gymnasium environments
stepped from Python), python_rollout (the Python rollout loop), registry (families by name),
gym_adapters (gymnasium envs over the C++ pool), metaworld_family, batch, tasks.
"""
from .base import FamilyDef, TaskFamily
from .batch import Batch
from .cpp_family import CppTaskFamily, gymnasium_asset
from .distributions import gmps_arc_goals
from .python_family import GymTaskFamily
from .python_rollout import rollout_actor, rollout_gymnasium, sync_vector_env
from .registry import CPP_FAMILIES, family_names, make, register_family, register_gymnasium
from .tasks import TaskBatch

FAMILY_NAMES = tuple(CPP_FAMILIES)  # the C++ families

__all__ = ["Batch", "CPP_FAMILIES", "CppTaskFamily", "FAMILY_NAMES", "FamilyDef", "GymTaskFamily", "TaskBatch",
           "TaskFamily", "family_names", "gmps_arc_goals", "gymnasium_asset", "make", "register_family",
           "register_gymnasium", "rollout_actor", "rollout_gymnasium", "sync_vector_env"]

"""The Python sampler: a loop over a gymnasium SyncVectorEnv of the family's environments with a
torch policy, one step at a time (envs/python_rollout.py). For the C++ families it is the reference
pipeline existing PyTorch meta-RL libraries use (each environment stepped from Python in turn); for
gymnasium and Meta-World families it is how they are sampled."""
from __future__ import annotations

from ..envs import rollout_gymnasium, sync_vector_env
from .base import Sampler


class GymnasiumSampler(Sampler):
    """rollout_gymnasium over one reused vector env of T·B ``family.gym_env()`` environments."""

    def __init__(self, family, spec) -> None:
        super().__init__(family, spec)
        self._venv = None

    def sample(self, params, tasks, trajs_per_task, horizon, seed):
        fn = f"{type(self).__name__}.sample"
        tasks = self.family.check_rollout(fn, self.spec, params, tasks, trajs_per_task, horizon, seed)
        n = len(tasks) * trajs_per_task
        if self._venv is None or self._venv.num_envs != n:
            self.close()
            self._venv = sync_vector_env(self.family, n)
        return rollout_gymnasium(self.family, self.spec, params.detach(), tasks, trajs_per_task, horizon, seed,
                                 venv=self._venv)

    def close(self) -> None:
        if self._venv is not None:
            self._venv.close()
            self._venv = None

"""The Python sampler: a loop over a gymnasium SyncVectorEnv of the family's environments with a
torch policy, one step at a time (envs/python_rollout.py). For the C++ families it is the reference
pipeline existing PyTorch meta-RL libraries use (each environment stepped from Python in turn); for
gymnasium and Meta-World families it is how they are sampled."""
from __future__ import annotations

from .._deprecation import renamed_kwargs
from ..envs import rollout_gymnasium, sync_vector_env
from .base import Sampler, policy_backend_of

MAX_VECTOR_ENVS = 4  # vector envs kept, one per batch size (the oldest closed first)


class GymnasiumSampler(Sampler):
    """rollout_gymnasium over a reused vector env of T·B ``family.gym_env()`` environments (one kept
    per batch size, up to MAX_VECTOR_ENVS).

    policy_backend: the policy mean, "auto" (the compiled kernel: each row's value independent of
    the batch it is in, so any split of a batch gives the same numbers) or "torch" (the reference,
    the pure-torch pipeline of the benchmarks; BLAS may round a row differently in another batch
    shape). A run with meta_gradient=autograd uses "torch".
    """

    def __init__(self, family, spec, policy_backend: str = "auto") -> None:
        super().__init__(family, spec)
        if policy_backend not in ("auto", "torch"):
            raise ValueError(f"GymnasiumSampler: policy_backend must be 'auto' or 'torch', got {policy_backend!r}")
        self.policy_backend = policy_backend
        self._venvs: dict[int, object] = {}  # by size: a worker's work items may differ in size

    @classmethod
    def from_config(cls, family, spec, config):
        return cls(family, spec, policy_backend=policy_backend_of(config))

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def sample(self, params, tasks, rollouts_per_task, horizon, seed, streams=None):
        fn = f"{type(self).__name__}.sample"
        tasks = self.family.check_rollout(fn, self.spec, params, tasks, rollouts_per_task, horizon, seed)
        n = len(tasks) * rollouts_per_task
        if n not in self._venvs:
            if len(self._venvs) >= MAX_VECTOR_ENVS:
                self._venvs.pop(next(iter(self._venvs))).close()
            self._venvs[n] = sync_vector_env(self.family, n)
        return rollout_gymnasium(self.family, self.spec, params.detach(), tasks, rollouts_per_task, horizon, seed,
                                 venv=self._venvs[n], streams=streams, policy_backend=self.policy_backend)

    def close(self) -> None:
        for venv in self._venvs.values():
            venv.close()
        self._venvs.clear()

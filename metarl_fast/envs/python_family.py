"""Task families over any gymnasium environment, stepped from Python (python_rollout.py), for
simulators the C++ pool does not run — Meta-World's Sawyer tasks (metaworld_family.py) — and small
gymnasium environments. A GymTaskFamily is a TaskFamily: the algorithms and samplers use it as they
use the C++ families."""
from __future__ import annotations

from typing import Callable, cast

import gymnasium
import numpy as np
import torch

from .._deprecation import renamed_kwargs
from ..policies import PolicySpec
from .base import FamilyDef, TaskFamily
from .batch import Batch
from .python_rollout import rollout_gymnasium
from .tasks import TaskBatch


class TaskEnv(gymnasium.Wrapper):
    """A gymnasium env with ``set_task(task)`` (a TaskBatch of one task or parameters [task_dim]),
    applied by the family's ``apply_task(env, params)`` before every reset. Without a fixed task,
    every reset draws one from the family's distribution (from the reset seed's stream). The task
    is in the reset and step infos (``info["task"]``). Episodes are truncated after
    ``max_episode_steps`` (None: the family's horizon; 0: never)."""

    def __init__(self, env: gymnasium.Env, family: "GymTaskFamily", task=None,
                 max_episode_steps: int | None = None) -> None:
        super().__init__(env)
        self.family = family
        self._task: np.ndarray | None = None
        self._fixed = False
        self._rng: np.random.Generator | None = None
        self.max_episode_steps = family.default_horizon if max_episode_steps is None else int(max_episode_steps)
        self._steps = 0
        if task is not None:
            self.set_task(task)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        if self.max_episode_steps and self._steps >= self.max_episode_steps:
            truncated = True
        return obs, reward, terminated, truncated, {**info, "task": self._task.copy()}

    def set_task(self, task) -> None:
        """Fixes the task (kept across resets)."""
        self._set(task)
        self._fixed = True

    def _set(self, task) -> None:
        params = task.params[0] if isinstance(task, TaskBatch) else np.asarray(task, dtype=np.float64).reshape(-1)
        if params.shape != (self.family.task_dim,):
            raise ValueError(f"{self.family.name}.set_task: expected {self.family.task_dim} task parameters, "
                             f"got {params.shape}")
        self._task = params
        self.family.apply_task(self.env.unwrapped, params)

    def reset(self, *, seed=None, options=None):
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        if options and "task" in options:
            self.set_task(options["task"])
        elif not self._fixed:
            self._set(self.family.sample_tasks(1, int(self._rng.integers(2**63))))
        else:
            self.family.apply_task(self.env.unwrapped, self._task)
        self._steps = 0
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, {**info, "task": self._task.copy()}


class _TaskVectorEnv(gymnasium.vector.SyncVectorEnv):
    def set_tasks(self, tasks) -> None:
        """One task per environment (a TaskBatch of length num_envs)."""
        if len(tasks) != self.num_envs:
            raise ValueError(f"set_tasks: got {len(tasks)} tasks for {self.num_envs} environments")
        for i, env in enumerate(self.envs):
            cast(TaskEnv, env).set_task(tasks[i])


class GymTaskFamily(TaskFamily):
    """A task family from a gymnasium environment constructor and a task parametrisation (sampled
    by the "gymnasium" sampler: a Python loop over a vector env of its environments).

    Args:
        name: the family's name.
        make_env: () → gymnasium.Env with Box observation and action spaces (no TimeLimit needed:
            rollouts run `horizon` steps or until termination).
        apply_task: (env.unwrapped, params [task_dim] float64) → None, sets the task.
        fields: names of the task parameters.
        sampler: (numpy Generator, n) → task parameters [n, task_dim].
        horizon: the default episode length.
        doc: one line for repr.
        action_scale: the policy acts in [−action_scale, action_scale], rescaled to the action
            space's bounds (as the C++ families).
        info_names: per-step info entries kept in Batch.infos (numbers, e.g. Meta-World's "success").
        max_horizon: the longest episode the environment allows (rollouts beyond it are refused).
        test_sampler: the distribution of held-out meta-test tasks, (numpy Generator, n) → task
            parameters (None: meta-test draws from `sampler`).
    """

    native_sampler = "gymnasium"

    def __init__(self, name: str, make_env: Callable[[], gymnasium.Env], apply_task: Callable,
                 fields: tuple[str, ...], sampler: Callable, horizon: int, doc: str = "",
                 action_scale: float = 1.0, info_names: tuple[str, ...] = (), max_horizon: int | None = None,
                 test_sampler: Callable | None = None) -> None:
        self.name = name
        self.make_env, self.apply_task = make_env, apply_task
        self.definition = FamilyDef(tuple(fields), sampler, horizon, doc, test_sampler)
        self.max_horizon = max_horizon
        env = make_env()
        obs_space, act_space = env.observation_space, env.action_space
        if not (isinstance(obs_space, gymnasium.spaces.Box) and isinstance(act_space, gymnasium.spaces.Box)):
            raise TypeError(f"{name}: GymTaskFamily needs Box observation and action spaces")
        if not (np.isfinite(act_space.low).all() and np.isfinite(act_space.high).all()):
            raise ValueError(f"{name}: the action space must be bounded")
        env.close()
        self.obs_dim = int(np.prod(obs_space.shape))
        self.act_dim = int(np.prod(act_space.shape))
        self.task_dim = len(self.definition.fields)
        self.ctrl_range = np.stack([act_space.low, act_space.high], -1).astype(np.float64).reshape(self.act_dim, 2)
        self.action_scale = self.check_action_scale(name, action_scale)
        self.default_horizon = horizon
        self.info_names: tuple[str, ...] = tuple(info_names)
        self._venv = None

    def __repr__(self) -> str:
        return (f"GymTaskFamily({self.name}: obs_dim={self.obs_dim}, act_dim={self.act_dim}, task fields "
                f"{self.definition.fields}; {self.definition.doc})")

    def gym_env(self, task=None, max_episode_steps: int | None = None) -> TaskEnv:
        return TaskEnv(self.make_env(), self, task, max_episode_steps)

    def vector_env(self, num_envs: int, tasks: TaskBatch | None = None, max_episode_steps: int | None = None):
        """A SyncVectorEnv of num_envs TaskEnvs (autoreset NEXT_STEP) with ``set_tasks``; tasks drawn
        at every reset unless set, episodes truncated at max_episode_steps (None: the family's
        horizon; 0: never)."""
        venv = _TaskVectorEnv([lambda: self.gym_env(max_episode_steps=max_episode_steps) for _ in range(num_envs)])
        if tasks is not None:
            venv.set_tasks(tasks)
        return venv

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def rollout(self, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, rollouts_per_task: int, horizon: int,
                seed: int, deterministic: bool = False, streams: np.ndarray | None = None) -> Batch:
        """See TaskFamily.rollout: stepped from Python (the family's vector env, reused)."""
        tasks = self.check_rollout(f"{self.name}.rollout", spec, params, tasks, rollouts_per_task, horizon, seed)
        n = len(tasks) * rollouts_per_task
        if self._venv is None or self._venv.num_envs != n:
            self._venv = self.vector_env(n, max_episode_steps=0)
        return rollout_gymnasium(self, spec, params.detach(), tasks, rollouts_per_task, horizon, seed, deterministic,
                                 venv=self._venv, streams=streams)

    def __getstate__(self) -> dict:
        """Pickled without its vector env (Ray ships families to its actors)."""
        return {**self.__dict__, "_venv": None}


def _pendulum():
    from gymnasium.envs.classic_control import PendulumEnv

    return PendulumEnv()


def _set_gravity(env, params) -> None:
    env.g = float(params[0])


def pendulum_gravity() -> GymTaskFamily:
    """gymnasium's Pendulum-v1 swing-up with the gravity of each task drawn from U(8, 12) m/s² —
    the small gymnasium task family the Python-path adapter is tested on."""
    return GymTaskFamily("PendulumGravity", _pendulum, _set_gravity, ("gravity",),
                         lambda rng, n: rng.uniform(8.0, 12.0, size=(n, 1)), 200,
                         "gymnasium Pendulum-v1 with gravity g ~ U(8, 12)", action_scale=1.0)

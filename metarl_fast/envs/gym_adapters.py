"""gymnasium adapters over the C++ environment pool: one environment (FamilyEnv) or a vector of
them stepped together (FamilyVectorEnv). Actions are in the model's native control range, as for
gymnasium's MuJoCo envs; rewards, observations and termination are the task family's.

Tasks: an environment created without a task draws one from the family's distribution at every
reset (from the reset's random stream), as a meta-RL env should; ``set_task(s)`` or the ``task(s)``
reset option fix them. The current task is in the reset and step infos (``info["task"]``, the task
parameters). Episodes are truncated at the family's horizon unless ``max_episode_steps`` says
otherwise (0: never).
"""
from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from .tasks import TaskBatch


def _spaces(family):
    obs = gymnasium.spaces.Box(-np.inf, np.inf, (family.obs_dim,), np.float64)
    act = gymnasium.spaces.Box(family.ctrl_range[:, 0], family.ctrl_range[:, 1], dtype=np.float64)
    return obs, act


def _check_actions(fn: str, actions, shape) -> np.ndarray:
    a = np.ascontiguousarray(np.asarray(actions, dtype=np.float64))
    if a.shape != shape:
        raise ValueError(f"{fn}: action must have shape {list(shape)}, got {list(a.shape)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: action contains NaN or infinite values")
    return a


def episode_limit(family, max_episode_steps) -> int:
    """Steps after which an episode is truncated: the family's horizon (None), never (0), or the
    given number."""
    if max_episode_steps is None:
        return family.default_horizon
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int) or max_episode_steps < 0:
        raise ValueError(f"max_episode_steps must be None (the family's horizon), 0 (no limit) or a positive int, "
                         f"got {max_episode_steps!r}")
    return max_episode_steps


class _PoolEnvs:
    """n environments of one family on a C++ pool, with their tasks and output buffers."""

    def __init__(self, family, n: int) -> None:
        self.family = family
        self.pool = family.new_pool()
        self.pool.resize(n)
        self.n = n
        self.obs = np.zeros((n, family.obs_dim))
        self.rewards = np.zeros(n)
        self.terminated = np.zeros(n, np.uint8)
        self.nonfinite = np.zeros(n, np.uint8)
        self.infos = np.zeros((n, len(family.info_names)))
        self.tasks = None  # drawn at the first reset unless set

    def sample_tasks(self, fn: str, rng: np.random.Generator, which: np.ndarray | None = None) -> None:
        """New tasks from the family's distribution for the environments `which` (all: None)."""
        fresh = self.family.sample_tasks(self.n, int(rng.integers(2**63))).params
        if which is not None and self.tasks is not None:
            fresh = np.where(which[:, None], fresh, self.tasks.params)
        self.set_tasks(fn, self.family.tasks(fresh))

    def set_tasks(self, fn: str, tasks) -> None:
        if not isinstance(tasks, TaskBatch):
            tasks = self.family.tasks(np.asarray(tasks, dtype=np.float64).reshape(-1, self.family.task_dim))
        tasks = self.family.check_tasks(fn, tasks)
        if len(tasks) != self.n:
            raise ValueError(f"{fn}: got {len(tasks)} tasks for {self.n} environments")
        self.tasks = tasks
        self.pool.set_tasks(tasks.params)

    def step(self, actions: np.ndarray) -> None:
        self.pool.step(actions, self.obs, self.rewards, self.terminated, self.nonfinite, self.infos)

    def info(self, i: int | slice) -> dict:
        d = {k: self.infos[i, j].copy() for j, k in enumerate(self.family.info_names)}
        d["nonfinite"] = self.nonfinite[i].astype(bool)
        d["task"] = self.tasks.params[i].copy()
        return d


class FamilyEnv(gymnasium.Env):
    """One environment of a task family. Extra methods: set_task, get_task, set_state(qpos, qvel)."""

    metadata = {"render_modes": []}

    def __init__(self, family, task=None, max_episode_steps: int | None = None) -> None:
        self.family = family
        self.observation_space, self.action_space = _spaces(family)
        self._envs = _PoolEnvs(family, 1)
        self._fixed_task = task is not None
        if task is not None:
            self.set_task(task)
        self.max_episode_steps = episode_limit(family, max_episode_steps)
        self._steps = 0
        self._started = False

    def set_task(self, task) -> None:
        """task: a TaskBatch of length 1 or task parameters [task_dim]."""
        self._envs.set_tasks("set_task", task)
        self._fixed_task = True

    def get_task(self) -> TaskBatch | None:
        """The current task (None before the first reset of an environment without a fixed task)."""
        return self._envs.tasks

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and "task" in options:
            self.set_task(options["task"])
        elif not self._fixed_task:
            self._envs.sample_tasks("reset", self.np_random)
        self._envs.pool.reset(None, np.array([self.np_random.integers(2**63)], np.uint64), self._envs.obs)
        self._steps = 0
        self._started = True
        return self._envs.obs[0].copy(), {"task": self._envs.tasks.params[0].copy()}

    def set_state(self, qpos, qvel) -> np.ndarray:
        """Sets the physics state (as gymnasium's MujocoEnv.set_state) and returns the observation."""
        pool = self._envs.pool
        qpos = _check_actions("set_state", qpos, (pool.nq,))
        qvel = _check_actions("set_state", qvel, (pool.nv,))
        obs = np.zeros(self.family.obs_dim)
        pool.set_state(0, qpos, qvel, obs)
        return obs

    def step(self, action):
        if not self._started:
            raise RuntimeError("FamilyEnv.step: call reset() first")
        a = _check_actions("FamilyEnv.step", action, (self.family.act_dim,)).reshape(1, -1)
        self._envs.step(a)
        self._steps += 1
        truncated = bool(self.max_episode_steps) and self._steps >= self.max_episode_steps
        info = {k: (bool(v) if k == "nonfinite" else v if k == "task" else float(v))
                for k, v in self._envs.info(0).items()}
        return (self._envs.obs[0].copy(), float(self._envs.rewards[0]), bool(self._envs.terminated[0]), truncated,
                info)


class FamilyVectorEnv(VectorEnv):
    """num_envs environments of a task family stepped together in C++ (autoreset NEXT_STEP: the step
    after an episode ends resets that environment and returns its first observation, reward 0).
    Without fixed tasks, every reset (autoresets included) draws that environment a new task."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, family, num_envs: int, tasks: TaskBatch | None = None,
                 max_episode_steps: int | None = None) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"vector_env: num_envs must be a positive int, got {num_envs!r}")
        self.family = family
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(family)
        self.observation_space = gymnasium.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gymnasium.vector.utils.batch_space(self.single_action_space, num_envs)
        self._envs = _PoolEnvs(family, num_envs)
        self._fixed_tasks = False
        if tasks is not None:
            self.set_tasks(tasks)
        self.max_episode_steps = episode_limit(family, max_episode_steps)
        self._steps = np.zeros(num_envs, np.int64)
        self._needs_reset = np.zeros(num_envs, bool)
        self._started = False

    def set_tasks(self, tasks) -> None:
        """One task per environment, kept across resets: a TaskBatch of length num_envs or parameters
        [num_envs, task_dim]."""
        self._envs.set_tasks("set_tasks", tasks)
        self._fixed_tasks = True

    def get_tasks(self) -> TaskBatch | None:
        """The environments' current tasks (None before the first reset without fixed tasks)."""
        return self._envs.tasks

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """seed: None, an int (the environments' seeds drawn from it), or one non-negative int per
        environment (each environment's own seed, as SyncVectorEnv takes them)."""
        per_env = None
        if isinstance(seed, (list, tuple, np.ndarray)):
            per_env = np.asarray(seed)
            if per_env.shape != (self.num_envs,) or per_env.dtype.kind not in "iu" or (per_env < 0).any():
                raise ValueError(f"FamilyVectorEnv.reset: a list of seeds needs {self.num_envs} non-negative ints")
            seed = int(per_env[0])
        super().reset(seed=seed)
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
        elif not self._fixed_tasks:
            self._envs.sample_tasks("reset", self.np_random)
        if per_env is not None:
            seeds = np.ascontiguousarray(per_env, np.uint64)
        else:
            seeds = np.asarray(self.np_random.integers(2**63, size=self.num_envs), np.uint64)
        self._envs.pool.reset(None, seeds, self._envs.obs)
        self._steps[:] = 0
        self._needs_reset[:] = False
        self._started = True
        return self._envs.obs.copy(), {"task": self._envs.tasks.params.copy()}

    def step(self, actions):
        if not self._started:
            raise RuntimeError("FamilyVectorEnv.step: call reset() first")
        a = _check_actions("FamilyVectorEnv.step", actions, (self.num_envs, self.family.act_dim))
        resetting = self._needs_reset.copy()
        self._envs.step(a)
        rewards = self._envs.rewards.copy()
        terminated = self._envs.terminated.astype(bool)
        self._steps += 1
        truncated = (self._steps >= self.max_episode_steps) if self.max_episode_steps else np.zeros(self.num_envs, bool)
        if resetting.any():
            if not self._fixed_tasks:
                self._envs.sample_tasks("step", self.np_random, resetting)
            self._envs.pool.reset(resetting.astype(np.uint8), None, self._envs.obs)
            rewards[resetting] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
            self._steps[resetting] = 0
        infos = self._envs.info(slice(None))
        self._needs_reset = terminated | truncated
        return self._envs.obs.copy(), rewards, terminated, truncated, infos

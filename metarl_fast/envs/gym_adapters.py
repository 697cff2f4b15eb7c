"""gymnasium adapters over the C++ environment pool: one environment (FamilyEnv) or a vector of
them stepped together (FamilyVectorEnv). Actions are in the model's native control range, as for
gymnasium's MuJoCo envs; rewards, observations and termination are the task family's."""
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
        self.tasks = family.tasks(np.zeros((n, family.task_dim)))

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
        self.max_episode_steps = max_episode_steps
        self._steps = 0

    def set_task(self, task) -> None:
        """task: a TaskBatch of length 1 or task parameters [task_dim]."""
        self._envs.set_tasks("set_task", task)
        self._fixed_task = True

    def get_task(self) -> TaskBatch:
        return self._envs.tasks

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and "task" in options:
            self.set_task(options["task"])
        elif not self._fixed_task:
            self._envs.set_tasks("reset", self.family.sample_tasks(1, int(self.np_random.integers(2**63))))
        self._envs.pool.reset(None, np.array([self.np_random.integers(2**63)], np.uint64), self._envs.obs)
        self._steps = 0
        return self._envs.obs[0].copy(), {"task": self._envs.tasks}

    def set_state(self, qpos, qvel) -> np.ndarray:
        """Sets the physics state (as gymnasium's MujocoEnv.set_state) and returns the observation."""
        pool = self._envs.pool
        qpos = _check_actions("set_state", qpos, (pool.nq,))
        qvel = _check_actions("set_state", qvel, (pool.nv,))
        obs = np.zeros(self.family.obs_dim)
        pool.set_state(0, qpos, qvel, obs)
        return obs

    def step(self, action):
        a = _check_actions("FamilyEnv.step", action, (self.family.act_dim,)).reshape(1, -1)
        self._envs.step(a)
        self._steps += 1
        truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        info = {k: (bool(v) if k == "nonfinite" else float(v)) for k, v in self._envs.info(0).items()}
        return (self._envs.obs[0].copy(), float(self._envs.rewards[0]), bool(self._envs.terminated[0]), truncated,
                info)


class FamilyVectorEnv(VectorEnv):
    """num_envs environments of a task family stepped together in C++ (autoreset NEXT_STEP: the step
    after an episode ends resets that environment and returns its first observation, reward 0)."""

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
        if tasks is not None:
            self.set_tasks(tasks)
        self.max_episode_steps = max_episode_steps
        self._steps = np.zeros(num_envs, np.int64)
        self._needs_reset = np.zeros(num_envs, bool)

    def set_tasks(self, tasks) -> None:
        """One task per environment: a TaskBatch of length num_envs or parameters [num_envs, task_dim]."""
        self._envs.set_tasks("set_tasks", tasks)

    def get_tasks(self) -> TaskBatch:
        return self._envs.tasks

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
        seeds = np.asarray(self.np_random.integers(2**63, size=self.num_envs), np.uint64)
        self._envs.pool.reset(None, seeds, self._envs.obs)
        self._steps[:] = 0
        self._needs_reset[:] = False
        return self._envs.obs.copy(), {}

    def step(self, actions):
        a = _check_actions("FamilyVectorEnv.step", actions, (self.num_envs, self.family.act_dim))
        resetting = self._needs_reset.copy()
        self._envs.step(a)
        rewards = self._envs.rewards.copy()
        terminated = self._envs.terminated.astype(bool)
        self._steps += 1
        truncated = (self._steps >= self.max_episode_steps) if self.max_episode_steps else np.zeros(self.num_envs, bool)
        infos = self._envs.info(slice(None))
        if resetting.any():
            self._envs.pool.reset(resetting.astype(np.uint8), None, self._envs.obs)
            rewards[resetting] = 0.0
            terminated[resetting] = False
            truncated[resetting] = False
            self._steps[resetting] = 0
        self._needs_reset = terminated | truncated
        return self._envs.obs.copy(), rewards, terminated, truncated, infos

"""What every task family offers, whatever simulates it (the C++ pool or gymnasium from Python):
task sampling, the action scales, and checked rollouts of a Gaussian MLP policy."""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .._deprecation import renamed_kwargs
from ..policies import PolicySpec
from .batch import Batch
from .tasks import TaskBatch


@dataclass(frozen=True)
class FamilyDef:
    """What Python knows of a family: task fields, task distribution ((numpy Generator, n) → task
    parameters [n, task_dim]), the papers' horizon (max_path_length), one line of documentation,
    and the distribution of held-out meta-test tasks where the benchmark defines one
    (test_sampler; None: meta-test draws from `sampler`)."""

    fields: tuple[str, ...]
    sampler: Callable[[np.random.Generator, int], np.ndarray] | None
    horizon: int
    doc: str
    test_sampler: Callable[[np.random.Generator, int], np.ndarray] | None = None


class TaskFamily(abc.ABC):
    """A meta-RL task family.

    Attributes: name, definition (FamilyDef), obs_dim, act_dim, task_dim, info_names (per-step
    diagnostics in Batch.infos), default_horizon, ctrl_range [act_dim, 2] (native control bounds),
    action_scale (the policy acts in [−action_scale, action_scale]; actions are rescaled to the
    control range and clipped, as the papers' ``normalize`` wrapper does), native_sampler (the
    sampler backend that runs it: "cpp" or "gymnasium").
    """

    name: str
    definition: FamilyDef
    obs_dim: int
    act_dim: int
    task_dim: int
    info_names: tuple[str, ...]
    default_horizon: int
    ctrl_range: np.ndarray
    action_scale: float
    native_sampler: str

    # ---- tasks
    def sample_tasks(self, n: int, seed: int | None = None) -> TaskBatch:
        """n tasks from the family's distribution (numpy Generator seeded by `seed`)."""
        return self._draw("sample_tasks", self.definition.sampler, n, seed)

    def sample_test_tasks(self, n: int, seed: int | None = None) -> TaskBatch:
        """n meta-test tasks: from the benchmark's held-out test set where it has one
        (``definition.test_sampler``, e.g. Meta-World's), otherwise as sample_tasks."""
        return self._draw("sample_test_tasks", self.definition.test_sampler or self.definition.sampler, n, seed)

    def _draw(self, fn: str, sampler: Callable[[np.random.Generator, int], np.ndarray] | None, n: int,
              seed: int | None) -> TaskBatch:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{self.name}.{fn}: n must be a positive int, got {n!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{self.name}.{fn}: seed must be None or a non-negative int, got {seed!r}")
        if sampler is None:
            raise ValueError(f"{self.name}.{fn}: the family defines no task distribution; give tasks with tasks()")
        rng = np.random.default_rng(seed)
        return TaskBatch(self.name, self.definition.fields, np.asarray(sampler(rng, n), dtype=np.float64))

    def tasks(self, params: np.ndarray | Sequence[Sequence[float]]) -> TaskBatch:
        """A TaskBatch from explicit task parameters [n, task_dim] (e.g. ``[[1.0], [-1.0]]``)."""
        return TaskBatch(self.name, self.definition.fields, np.asarray(params, dtype=np.float64))

    def check_tasks(self, fn: str, tasks: object) -> TaskBatch:
        """tasks, checked to be a TaskBatch of this family (TypeError/ValueError naming `fn` otherwise)."""
        if not isinstance(tasks, TaskBatch):
            raise TypeError(f"{fn}: tasks must be a TaskBatch (from sample_tasks or tasks()), got {type(tasks).__name__}")
        if tasks.family != self.name or tasks.fields != self.definition.fields:
            raise ValueError(f"{fn}: tasks are of family {tasks.family} with fields {tasks.fields}, expected "
                             f"{self.name} with fields {self.definition.fields}")
        return tasks

    def check_rollout(self, fn: str, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, rollouts_per_task: int,
                      horizon: int, seed: int) -> TaskBatch:
        """Checks the arguments of a rollout (see ``rollout``); returns the tasks."""
        tasks = self.check_tasks(fn, tasks)
        if not isinstance(spec, PolicySpec):
            raise TypeError(f"{fn}: spec must be a PolicySpec, got {type(spec).__name__}")
        if spec.obs_dim != self.obs_dim or spec.act_dim != self.act_dim:
            raise ValueError(f"{fn}: spec has obs_dim={spec.obs_dim}, act_dim={spec.act_dim} but the family needs "
                             f"obs_dim={self.obs_dim}, act_dim={self.act_dim}")
        T, P = len(tasks), spec.num_params
        if not isinstance(params, torch.Tensor) or params.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{fn}: params must be a float32/float64 torch.Tensor of shape [P] or [T, P]")
        if params.device.type != "cpu":
            raise ValueError(f"{fn}: params must be on the CPU (the policy runs inside the sampler)")
        if tuple(params.shape) not in ((P,), (T, P)):
            raise ValueError(f"{fn}: params must have shape [P] = [{P}] or [T, P] = [{T}, {P}], "
                             f"got {list(params.shape)}")
        if not bool(torch.isfinite(params).all()):
            raise ValueError(f"{fn}: params contain NaN or infinite values")
        for name, value in (("rollouts_per_task", rollouts_per_task), ("horizon", horizon)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
                raise ValueError(f"{fn}: {name} must be an int in [1, 2**31), got {value!r}")
        limit = getattr(self, "max_horizon", None)
        if limit is not None and horizon > limit:
            raise ValueError(f"{fn}: horizon={horizon} exceeds {self.name}'s episode length {limit}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
            raise ValueError(f"{fn}: seed must be an int in [0, 2**64), got {seed!r}")
        return tasks

    @staticmethod
    def check_streams(fn: str, streams: np.ndarray | None, num_tasks: int, rollouts_per_task: int) -> np.ndarray:
        """The random stream of each task's first trajectory as a uint64 array [T] (None: t·B, the
        streams of a whole batch); ValueError naming `fn` for another shape or a negative entry."""
        if streams is None:
            return np.arange(num_tasks, dtype=np.uint64) * np.uint64(rollouts_per_task)
        s = np.asarray(streams)
        if s.shape != (num_tasks,) or s.dtype.kind not in "iu" or (s.dtype.kind == "i" and (s < 0).any()):
            raise ValueError(f"{fn}: streams must be {num_tasks} non-negative integers (one per task), "
                             f"got {s.dtype} {list(s.shape)}")
        return np.ascontiguousarray(s, dtype=np.uint64)

    @staticmethod
    def check_action_scale(name: str, action_scale: float) -> float:
        """action_scale as a positive finite float (ValueError naming `name` otherwise)."""
        if isinstance(action_scale, bool) or not isinstance(action_scale, (int, float)) or not (
                0 < action_scale < math.inf):
            raise ValueError(f"{name}: action_scale must be a positive number, got {action_scale!r}")
        return float(action_scale)

    # ---- actions
    @renamed_kwargs(actions="act")
    def native_actions(self, act: np.ndarray | torch.Tensor) -> np.ndarray:
        """Policy-scale actions act [..., act_dim] → the controls the simulator applied (rescaled
        from [−action_scale, action_scale] to the control range and clipped), float64.
        ``actions=`` is the deprecated name of act."""
        a = np.asarray(act, dtype=np.float64)
        lo, hi = self.ctrl_range[:, 0], self.ctrl_range[:, 1]
        s = self.action_scale
        return np.clip(lo + (a + s) * (hi - lo) / (2 * s), lo, hi)

    def policy_actions(self, native: np.ndarray) -> torch.Tensor:
        """The inverse of native_actions: controls in the control range [..., act_dim] → the policy
        scale [−action_scale, action_scale] (float64; how experts' actions are recorded)."""
        a = torch.as_tensor(np.asarray(native, dtype=np.float64))
        lo, hi = (torch.as_tensor(self.ctrl_range[:, k]) for k in (0, 1))
        s = self.action_scale
        return (a - lo) * (2 * s) / (hi - lo) - s

    # ---- what each simulator provides
    @abc.abstractmethod
    def rollout(self, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, rollouts_per_task: int, horizon: int,
                seed: int, deterministic: bool = False, streams: np.ndarray | None = None) -> Batch:
        """Runs B = rollouts_per_task trajectories of `horizon` steps on each of the T tasks.

        The package calls it with rollouts_per_task positional (a subclass may name it as it likes);
        the built-in families also accept the deprecated keyword ``trajs_per_task=``.

        Args:
            spec: the Gaussian MLP policy (obs_dim and act_dim must match the family).
            params: [P] (one policy for all tasks) or [T, P] (one per task), float32 or float64.
            tasks: a TaskBatch of this family, len T.
            rollouts_per_task: B ≥ 1.
            horizon: H ≥ 0 steps (trajectories that terminate earlier are masked).
            seed: the batch is a function of (seed, params, tasks, B, H) only; trajectory b of
                task t draws from its own random stream streams[t] + b.
            deterministic: act with the policy mean instead of sampling.
            streams: [T] non-negative ints, the stream of each task's first trajectory (None: t·B).
                A piece of a batch (tasks t0.., trajectories b0..) run with streams (t0 + t)·B + b0
                equals that piece of the whole batch: how the Ray sampler splits a call.
        Returns:
            Batch with tensors [T, B, H, ...] in params' dtype.
        """

    @abc.abstractmethod
    def gym_env(self, task: TaskBatch | np.ndarray | None = None, max_episode_steps: int | None = None) -> Any:
        """A gymnasium.Env over one environment of this family (native control-range actions);
        task: a TaskBatch of length 1, task parameters [task_dim], or None (a task drawn at each
        reset); episodes truncated after max_episode_steps (None: the family's horizon; 0: never).
        ``info["task"]`` holds the task parameters."""

    @abc.abstractmethod
    def vector_env(self, num_envs: int, tasks: TaskBatch | None = None, max_episode_steps: int | None = None) -> Any:
        """A gymnasium VectorEnv of num_envs environments (autoreset NEXT_STEP) with
        ``set_tasks(tasks)`` (one task per environment, kept); without tasks each environment draws
        one at every reset. max_episode_steps and info["task"] as gym_env."""

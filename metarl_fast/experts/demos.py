"""Expert demonstrations: the on-disk format GMPS reads, and their collection from any expert.

File format (``DemoSet.save`` / ``DemoSet.load``; a NumPy ``.npz``, ``format_version`` 1):

    family          str                      task family name (e.g. "Point2DNav")
    fields          str [task_dim]           the task parameters' names
    tasks           float64 [n, task_dim]    one row per meta-training task
    obs             float [n, N, H, obs_dim] the meta-policy's observations (no task context)
    actions         float [n, N, H, act_dim] expert actions in the policy scale [−s, s]
                                             (s = action_scale; the family rescales them to the controls)
    mask            float [n, N, H]          1 on steps taken (valid steps first)
    returns         float64 [n, N]           undiscounted return of each demonstration
    env_steps       int64                    environment steps the experts cost (training + collection);
                                             GMPS adds them to its sample count
    action_scale    float64                  s
    source          str                      "scripted", "sac", "file", ...
    format_version  int64                    1

Demonstrations recorded elsewhere (humans, other libraries) convert to this with
``DemoSet.from_arrays``; actions must be in the policy scale of the family used for training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..envs import Batch, TaskBatch, rollout_actor
from ..files import atomic_path

FORMAT_VERSION = 1


@dataclass
class ExpertData:
    """Expert samples of T task groups, flattened: obs [T, N, obs_dim], act [T, N, act_dim] (policy
    scale), mask [T, N] (1 on valid samples). ``weights`` [T, N] is mask / count (a mean over each
    task's valid samples)."""

    obs: torch.Tensor
    act: torch.Tensor
    mask: torch.Tensor

    @property
    def num_tasks(self) -> int:
        return self.mask.shape[0]

    @property
    def weights(self) -> torch.Tensor:
        return (self.mask / self.mask.sum(-1, keepdim=True).clamp_min(1.0)).contiguous()



@dataclass
class DemoSet:
    """Expert trajectories for n tasks (see the module docstring for shapes)."""

    family: str
    tasks: TaskBatch
    obs: torch.Tensor
    actions: torch.Tensor
    mask: torch.Tensor
    returns: torch.Tensor
    env_steps: int = 0
    action_scale: float = 10.0
    source: str = "file"

    def __post_init__(self) -> None:
        n = len(self.tasks)
        if self.obs.dim() != 4 or self.actions.dim() != 4 or self.mask.dim() != 3:
            raise ValueError(f"DemoSet: obs/actions must be [n, N, H, dim] and mask [n, N, H], got "
                             f"{list(self.obs.shape)}, {list(self.actions.shape)}, {list(self.mask.shape)}")
        if self.obs.shape[:3] != self.mask.shape or self.actions.shape[:3] != self.mask.shape or self.mask.shape[0] != n:
            raise ValueError(f"DemoSet: obs {list(self.obs.shape)}, actions {list(self.actions.shape)} and mask "
                             f"{list(self.mask.shape)} must agree on [n={n}, N, H]")
        if tuple(self.returns.shape) != tuple(self.mask.shape[:2]):
            raise ValueError(f"DemoSet: returns must be [n, N] = {list(self.mask.shape[:2])}, got {list(self.returns.shape)}")
        for name in ("obs", "actions", "mask"):
            if not bool(torch.isfinite(getattr(self, name)).all()):
                raise ValueError(f"DemoSet: {name} contains NaN or infinite values")
        if ((self.mask != 0) & (self.mask != 1)).any() or (self.mask[..., 1:] > self.mask[..., :-1]).any():
            raise ValueError("DemoSet: mask must be 0/1 with the valid steps first")
        if (self.mask.sum(-1) == 0).all(-1).any():
            raise ValueError("DemoSet: every task needs at least one non-empty demonstration")

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def num_demos(self) -> int:
        """N, demonstrations per task."""
        return self.mask.shape[1]

    def mean_return(self) -> float:
        return float(self.returns.mean())

    @classmethod
    def from_batch(cls, batch: Batch, env_steps: int, action_scale: float, source: str) -> "DemoSet":
        """Demonstrations from a sampled Batch of expert rollouts (its actions in the policy scale)."""
        return cls(batch.tasks.family, batch.tasks, batch.obs, batch.actions, batch.mask, batch.returns,
                   int(env_steps), float(action_scale), source)

    @classmethod
    def from_arrays(cls, family: str, fields, tasks, obs, actions, mask, returns=None, env_steps: int = 0,
                    action_scale: float = 10.0, source: str = "file") -> "DemoSet":
        """From plain arrays (numpy or torch) with the shapes of the module docstring."""
        tb = TaskBatch(family, tuple(fields), np.asarray(tasks, dtype=np.float64))
        obs, actions, mask = (torch.as_tensor(np.asarray(x)) for x in (obs, actions, mask))
        mask = mask.to(obs.dtype)
        returns = torch.zeros(mask.shape[:2], dtype=torch.float64) if returns is None else torch.as_tensor(
            np.asarray(returns, dtype=np.float64))
        return cls(family, tb, obs, actions.to(obs.dtype), mask, returns, int(env_steps), float(action_scale), source)

    def save(self, path: str) -> str:
        """Writes the .npz at `path` atomically (a kill never leaves a torn file)."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, family=np.array(self.family), fields=np.array(self.tasks.fields, dtype=str),
                                    tasks=self.tasks.params, obs=self.obs.numpy(), actions=self.actions.numpy(),
                                    mask=self.mask.numpy(), returns=self.returns.numpy(),
                                    env_steps=np.int64(self.env_steps), action_scale=np.float64(self.action_scale),
                                    source=np.array(self.source), format_version=np.int64(FORMAT_VERSION))
        return path

    @classmethod
    def load(cls, path: str) -> "DemoSet":
        with np.load(path, allow_pickle=False) as f:
            missing = {"family", "fields", "tasks", "obs", "actions", "mask"} - set(f.files)
            if missing:
                raise ValueError(f"{path}: not a metarl_fast demonstration file (missing {sorted(missing)})")
            version = int(f["format_version"]) if "format_version" in f.files else FORMAT_VERSION
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: format_version {version}, this metarl_fast reads {FORMAT_VERSION}")
            return cls.from_arrays(str(f["family"]), [str(x) for x in f["fields"]], f["tasks"], f["obs"],
                                   f["actions"], f["mask"], f["returns"] if "returns" in f.files else None,
                                   int(f["env_steps"]) if "env_steps" in f.files else 0,
                                   float(f["action_scale"]) if "action_scale" in f.files else 10.0,
                                   str(f["source"]) if "source" in f.files else "file")

    def append(self, obs: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor, returns: torch.Tensor,
               env_steps: int) -> None:
        """Adds trajectories [n, N', H', ...] for every task (DAgger's aggregation); horizons are
        padded to the longer one."""
        H = max(self.mask.shape[2], mask.shape[2])

        def pad(x, h):
            if x.shape[2] == h:
                return x
            shape = list(x.shape)
            shape[2] = h - x.shape[2]
            return torch.cat([x, torch.zeros(shape, dtype=x.dtype)], 2)

        self.obs = torch.cat([pad(self.obs, H), pad(obs.to(self.obs.dtype), H)], 1)
        self.actions = torch.cat([pad(self.actions, H), pad(actions.to(self.obs.dtype), H)], 1)
        self.mask = torch.cat([pad(self.mask, H), pad(mask.to(self.obs.dtype), H)], 1)
        self.returns = torch.cat([self.returns, returns.to(self.returns.dtype)], 1)
        self.env_steps += int(env_steps)

    def prefix(self, num_demos: int, horizon: int, env_steps: int) -> "DemoSet":
        """The first `num_demos` demonstrations per task, `horizon` steps long, counted as `env_steps`
        (the set as it was before later appends: how a resumed DAgger run drops the aggregations
        made after its checkpoint)."""
        N, H = self.mask.shape[1:]
        if num_demos > N or horizon > H:
            raise ValueError(f"DemoSet.prefix: the set holds {N} demonstrations of {H} steps per task, fewer than the "
                             f"{num_demos} of {horizon} steps asked for")
        def head(x):  # contiguous copies: reductions over them run in the order of the original set's
            return x[:, :num_demos, :horizon].contiguous() if x.dim() > 2 else x[:, :num_demos].contiguous()

        return DemoSet(self.family, self.tasks, head(self.obs), head(self.actions), head(self.mask), head(self.returns),
                       int(env_steps), self.action_scale, self.source)

    def sample(self, indices, per_task: int, generator: torch.Generator | None, dtype: torch.dtype):
        """ExpertData of tasks `indices`: `per_task` demonstrations each, drawn without replacement
        (all of them when per_task is 0 or ≥ N)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        N = self.num_demos
        if 0 < per_task < N:
            pick = torch.stack([torch.randperm(N, generator=generator)[:per_task] for _ in range(len(idx))])
        else:
            pick = torch.arange(N).expand(len(idx), N)
        rows = idx.unsqueeze(-1)
        obs, act, mask = self.obs[rows, pick], self.actions[rows, pick], self.mask[rows, pick]
        T = len(idx)
        return ExpertData(obs.reshape(T, -1, obs.shape[-1]).to(dtype).contiguous(),
                          act.reshape(T, -1, act.shape[-1]).to(dtype).contiguous(),
                          mask.reshape(T, -1).to(dtype).contiguous())

    def __repr__(self) -> str:
        return (f"DemoSet({self.family}: {self.num_tasks} tasks × {self.num_demos} demos × H={self.mask.shape[2]}, "
                f"mean return {self.mean_return():.3f}, {self.env_steps} expert env steps, source {self.source})")


def collect_demos(family, expert, tasks: TaskBatch, per_task: int, horizon: int, seed: int,
                  noise: float = 0.0) -> DemoSet:
    """Rolls `expert` out `per_task` times on each task and records its (policy-scale) actions.

    noise: standard deviation of Gaussian noise added to the executed actions (policy scale); the
    recorded action is the expert's noiseless one at the visited state (DART-style diversity)."""
    task_rows = torch.tensor(np.array(tasks.params))
    recorded: list[torch.Tensor] = []

    def actor(obs, gen):
        clean = expert.act(obs, task_rows.unsqueeze(1).expand(*obs.shape[:2], -1).to(obs.dtype)).to(obs.dtype)
        recorded.append(clean)
        act = clean if noise == 0 else clean + noise * torch.randn(clean.shape, generator=gen, dtype=clean.dtype)
        return act, torch.zeros(obs.shape[:2], dtype=obs.dtype)

    batch = rollout_actor(family, actor, tasks, per_task, horizon, seed, torch.float64,
                          venv=family.vector_env(len(tasks) * per_task, max_episode_steps=0))
    if noise:
        clean = torch.stack(recorded, 2)  # [T, B, steps, act]
        batch.actions[:, :, :clean.shape[2]] = clean * batch.mask[:, :, :clean.shape[2]].unsqueeze(-1)
    return DemoSet.from_batch(batch, int(getattr(expert, "env_steps", 0)) + batch.num_steps, family.action_scale,
                              getattr(expert, "source", "expert"))

"""What the parallel samplers share (Ray actors, worker processes): work items (a range of tasks ×
a range of trajectories of a batch), the worker that runs an item with the family's local sampler
and the streams its trajectories have in the whole batch, and the assembly of the returned pieces
into one Batch. Any split gives the local sampler's batch bit for bit (TaskFamily.rollout's
``streams``)."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..envs import Batch
from .cpp import CppSampler
from .gymnasium import GymnasiumSampler

FIELDS = ("obs", "actions", "rewards", "mask", "log_prob", "returns", "lengths", "nonfinite")


@dataclass(frozen=True)
class WorkItem:
    """Tasks [t0, t1) × trajectories [b0, b1) of a batch of B trajectories per task."""

    t0: int
    t1: int
    b0: int
    b1: int

    def streams(self, rollouts_per_task: int) -> np.ndarray:
        """[t1 − t0] the random stream of each task's first trajectory in the whole batch."""
        return (np.arange(self.t0, self.t1, dtype=np.uint64) * np.uint64(rollouts_per_task) + np.uint64(self.b0))


def split_batch(num_tasks: int, rollouts_per_task: int, num_items: int, min_trajs: int = 8) -> list[WorkItem]:
    """About `num_items` work items covering [T, B]: whole tasks when T ≥ num_items (tasks split as
    evenly as possible), otherwise each task split in ranges of at least `min_trajs` trajectories
    (the C++ pool steps 8 trajectories of a task in lockstep). Every (t, b) is in exactly one item."""
    if num_tasks >= num_items:
        edges = np.linspace(0, num_tasks, num_items + 1).round().astype(int)
        return [WorkItem(int(a), int(b), 0, rollouts_per_task) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    pieces = min(math.ceil(num_items / num_tasks), max(1, rollouts_per_task // min_trajs))
    edges = np.linspace(0, rollouts_per_task, pieces + 1).round().astype(int)
    return [WorkItem(t, t + 1, int(a), int(b)) for t in range(num_tasks) for a, b in zip(edges[:-1], edges[1:])]


class RolloutWorker:
    """The body of a Ray actor or a worker process: the family's local sampler with `threads` C++
    threads (torch on one thread). ``run`` returns one work item's piece of the batch as numpy
    arrays."""

    def __init__(self, family, spec, threads: int, policy_backend: str) -> None:
        from ..runtime import set_num_threads

        torch.set_num_threads(1)
        set_num_threads(threads)
        if family.native_sampler == "cpp":
            self.sampler = CppSampler(family, spec)
        else:
            self.sampler = GymnasiumSampler(family, spec, policy_backend=policy_backend)
        self.family = family
        self._die_at = None

    def ping(self) -> tuple[str, int]:
        """(host, pid): the actor is up."""
        import socket

        return socket.gethostname(), os.getpid()

    def die_at_item(self, k: int) -> None:
        """Fault injection for the tests: the process exits when it starts its k-th next item."""
        self._die_at = k

    def run(self, params: np.ndarray, task_params: np.ndarray, item: WorkItem, rollouts_per_task: int, horizon: int,
            seed: int) -> dict:
        if self._die_at is not None:
            self._die_at -= 1
            if self._die_at <= 0:
                os._exit(1)
        theta = torch.from_numpy(np.array(params[item.t0:item.t1] if params.ndim == 2 else params))
        tasks = self.family.tasks(task_params[item.t0:item.t1])
        batch = self.sampler.sample(theta, tasks, item.b1 - item.b0, horizon, seed,
                                    streams=item.streams(rollouts_per_task))
        out = {k: getattr(batch, k).numpy() for k in FIELDS}
        out["infos"] = {k: v.numpy() for k, v in batch.infos.items()}
        out["means"] = None if batch.means is None else batch.means.numpy()
        return out


@dataclass
class CallStats:
    """What the last ``sample`` call moved and how long it took: seconds (wall), items, bytes_out
    (parameters and tasks put once), bytes_in (the pieces returned), retries (items re-run after an
    actor died)."""

    seconds: float = 0.0
    items: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    retries: int = 0


def empty_batch_arrays(piece: dict, T: int, B: int, H: int) -> dict:
    """Zero-filled arrays [T, B, ...] shaped and typed as a returned piece's."""
    def full(a):
        return None if a is None else np.zeros((T, B, *a.shape[2:]), a.dtype)

    out = {k: full(piece[k]) for k in (*FIELDS, "means")}
    out["infos"] = {k: full(v) for k, v in piece["infos"].items()}
    return out


def place(out: dict, piece: dict, item: WorkItem) -> int:
    """Copies a piece into its item's block of `out`; returns the bytes it held."""
    where = (slice(item.t0, item.t1), slice(item.b0, item.b1))
    moved = 0
    for k in (*FIELDS, "means"):
        if piece[k] is not None:
            out[k][where] = piece[k]
            moved += piece[k].nbytes
    for k, v in piece["infos"].items():
        out["infos"][k][where] = v
        moved += v.nbytes
    return moved


class BatchAssembly:
    """The batch [T, B, H, ...] filled piece by piece (``add``), then ``batch()``."""

    def __init__(self, num_tasks: int, rollouts_per_task: int, horizon: int) -> None:
        self.shape = (num_tasks, rollouts_per_task, horizon)
        self.arrays = None
        self.bytes_in = 0

    def add(self, piece: dict, item: WorkItem) -> None:
        if self.arrays is None:
            self.arrays = empty_batch_arrays(piece, *self.shape)
        self.bytes_in += place(self.arrays, piece, item)

    def batch(self, tasks) -> Batch:
        return batch_from_arrays(self.arrays, tasks)


def batch_from_arrays(out: dict, tasks) -> Batch:
    t = {k: None if out[k] is None else torch.from_numpy(out[k]) for k in (*FIELDS, "means")}
    return Batch(obs=t["obs"], actions=t["actions"], rewards=t["rewards"], mask=t["mask"], log_prob=t["log_prob"],
                 infos={k: torch.from_numpy(v) for k, v in out["infos"].items()}, returns=t["returns"],
                 lengths=t["lengths"], nonfinite=t["nonfinite"], tasks=tasks, means=t["means"])

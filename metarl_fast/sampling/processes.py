"""The process sampler: the local batch, bit for bit, from a pool of worker processes on this
machine (``sampler: processes``) — the parallelism of the families stepped from Python (gymnasium,
Meta-World), whose loop runs on one core, without Ray.

Each worker process holds the family (pickled to it once, at start) and its local sampler; a call
splits the batch into work items (sampling/pieces.py), ``processes_items`` per worker, which the
pool hands out as workers free up, and places each returned piece into the batch. Items run with
their trajectories' streams in the whole batch, so the result does not depend on the number of
workers or the order items finish in. A worker that dies breaks the pool: it is restarted once and
the call's items are run again (the same batch), and a second failure is raised.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .._deprecation import renamed_kwargs
from .base import Sampler, policy_backend_of
from .pieces import BatchAssembly, CallStats, RolloutWorker, WorkItem, split_batch

_WORKER: RolloutWorker | None = None  # the worker body of this process (set by _start_worker)


def _start_worker(pickled: bytes) -> None:
    import cloudpickle

    global _WORKER
    family, spec, policy_backend = cloudpickle.loads(pickled)
    _WORKER = RolloutWorker(family, spec, 1, policy_backend)


def _run_item(params: np.ndarray, task_params: np.ndarray, item: WorkItem, rollouts_per_task: int, horizon: int,
              seed: int) -> tuple[WorkItem, dict]:
    return item, _WORKER.run(params, task_params, item, rollouts_per_task, horizon, seed)


class ProcessSampler(Sampler):
    """Samples on `workers` local processes (see the module docstring).

    Args:
        family, spec: as every Sampler.
        workers: processes ≥ 1, or 0 for one per CPU this process may use.
        items_per_worker: work items per worker and call (more balance better, each costs a round
            trip and a copy of the parameters).
        policy_backend: the policy mean of the Python loop, "auto" (compiled) or "torch".
    """

    def __init__(self, family, spec, workers: int = 0, items_per_worker: int = 3, policy_backend: str = "auto") -> None:
        super().__init__(family, spec)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"processes must be a non-negative int (0: one per CPU), got {workers!r}")
        self.workers = workers or len(os.sched_getaffinity(0))
        self.items_per_worker = items_per_worker
        self.policy_backend = policy_backend
        self._pool = None
        self.last_call = CallStats()

    @classmethod
    def from_config(cls, family, spec, config):
        return cls(family, spec, workers=config.processes,
                   policy_backend=policy_backend_of(config))

    def describe(self) -> str:
        return f"ProcessSampler: {self.workers} worker processes"

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import cloudpickle  # (gymnasium's dependency) a family may hold lambdas: its task sampler, its env maker

            # spawn: a fresh interpreter per worker (forking a process with running threads is unsafe)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker,
                                             initargs=(cloudpickle.dumps((self.family, self.spec, self.policy_backend)),))
        return self._pool

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def sample(self, params, tasks, rollouts_per_task, horizon, seed, streams=None):
        if streams is not None:
            raise ValueError("ProcessSampler.sample: streams is for the local samplers (a piece of a batch)")
        start = time.perf_counter()
        tasks = self.family.check_rollout(f"{type(self).__name__}.sample", self.spec, params, tasks, rollouts_per_task,
                                          horizon, seed)
        T, B, H = len(tasks), rollouts_per_task, horizon
        theta = params.detach().contiguous().numpy()
        items = split_batch(T, B, self.items_per_worker * self.workers)
        for attempt in (0, 1):
            out = BatchAssembly(T, B, H)
            try:
                pool = self._start()
                futures = [pool.submit(_run_item, theta, tasks.params, item, B, H, int(seed)) for item in items]
                for future in as_completed(futures):
                    item, piece = future.result()
                    out.add(piece, item)
                break
            except BrokenProcessPool as e:
                self.close()
                if attempt:
                    raise RuntimeError(f"sampler='processes': a worker process died twice during one call ({e})") from e
        self.last_call = CallStats(seconds=time.perf_counter() - start, items=len(items),
                                   bytes_out=len(items) * (theta.nbytes + tasks.params.nbytes), bytes_in=out.bytes_in,
                                   retries=attempt)
        return out.batch(tasks)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

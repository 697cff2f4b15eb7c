"""The Ray sampler: the same batch as the local sampler, collected by Ray actors on one machine or a
cluster (``sampler: ray``; docs/distributed.md).

Each actor is a process holding the task family and the local sampler it runs natively (the C++
pool with ``threads`` threads, or the Python loop). A call splits the batch [T, B] into work items
(a range of tasks × a range of trajectories), puts the policy parameters in Ray's object store once,
hands items to actors as they finish (``ray.wait``, at most two in flight per actor so an actor
never waits for the driver), and copies each returned piece (numpy arrays, read zero-copy from the
object store) into its place in the batch. Every item runs with the random streams its trajectories
have in the whole batch (``streams``, see TaskFamily.rollout), so the batch is bit-identical to the
local sampler's whatever the number of actors, their threads or the order items finish in. An item
whose actor dies is run again on a fresh actor: the batch is unchanged.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from .._deprecation import renamed_kwargs
from .base import Sampler, policy_backend_of
from .pieces import BatchAssembly, CallStats, RolloutWorker, split_batch

MAX_ATTEMPTS = 3  # tries per work item before a call fails (each on a fresh actor after a death)
IN_FLIGHT = 2  # work items queued per actor
AUTOMATIC = -1  # ray_actors: one actor per node (C++ families) or per CPU (Python families)


def import_ray():
    """The ray module, or an ImportError naming the extra that installs it."""
    try:
        import ray
    except ImportError as e:
        raise ImportError("sampler='ray' needs Ray: pip install \"metarl_fast[ray]\"") from e
    return ray


class RaySampler(Sampler):
    """Samples on Ray actors (see the module docstring).

    Args:
        family, spec: as every Sampler.
        address: the Ray cluster ("auto": the one this machine belongs to, "ray://host:port", or
            "host:port"); "" joins the Ray already initialised in this process or starts a local one.
        actors: number of actors ≥ 1; −1: one per node holding all its CPUs for the C++ families,
            one per CPU for the Python ones (their only parallelism).
        threads: C++ threads per actor; 0: the node's CPUs over its actors (1 for Python families).
        timeout: seconds to wait for the actors to start and for any one work item.
        policy_backend: the policy mean of the Python loop, "auto" (compiled) or "torch".
        items_per_actor: work items per actor and call (more balances better, each costs one round
            trip).
    """

    def __init__(self, family, spec, address: str = "", actors: int = AUTOMATIC, threads: int = 0,
                 timeout: float = 300.0, policy_backend: str = "auto", items_per_actor: int = 3,
                 in_flight: int = IN_FLIGHT) -> None:
        super().__init__(family, spec)
        if isinstance(actors, bool) or not isinstance(actors, int) or not (actors >= 1 or actors == AUTOMATIC):
            raise ValueError(f"ray_actors must be a positive int (or {AUTOMATIC}: one per node, or per CPU for the "
                             f"Python families), got {actors!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ValueError(f"ray_threads must be a non-negative int (0: the node's CPUs over its actors), "
                             f"got {threads!r}")
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"ray_timeout must be a positive number of seconds, got {timeout!r}")
        self.ray = ray = import_ray()
        self.timeout = float(timeout)
        self.policy_backend = policy_backend
        self.items_per_actor, self.in_flight = items_per_actor, in_flight
        self._settings = (address, actors, threads)
        self._remote = ray.remote(RolloutWorker)
        self._actors = []
        self._started_ray = False
        self._start()
        self.last_call = CallStats()

    def _start(self) -> None:
        """Connects and starts the actors (again after close())."""
        address, actors, threads = self._settings
        self._started_ray = connect(self.ray, address, self.timeout) or self._started_ray
        self._plan = plan_actors(self.ray, self.family, actors, threads)
        try:
            self._actors = [self._new_actor(i) for i in range(len(self._plan))]
            self._wait_ready(self._actors)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_config(cls, family, spec, config):
        return cls(family, spec, address=config.ray_address, actors=config.ray_actors, threads=config.ray_threads,
                   timeout=config.ray_timeout,
                   policy_backend=policy_backend_of(config))

    @property
    def num_actors(self) -> int:
        return len(self._actors)

    @property
    def threads_per_actor(self) -> list[int]:
        return [threads for _, threads, _ in self._plan]

    def describe(self) -> str:
        pinned = {node for node, _, _ in self._plan if node is not None}
        where = f"one per node on {len(pinned)} node(s)" if pinned else "spread by Ray"
        if self.family.native_sampler == "cpp":
            runs = f"{self.num_actors} actor(s) × {self.threads_per_actor} C++ threads"
        else:  # one process per CPU, each stepping the family's Python environments in a loop
            runs = (f"{self.num_actors} single-threaded actor(s), each stepping the family's Python environments "
                    f"({self.family.native_sampler} sampler)")
        return f"RaySampler: {runs}, {where}, on the Ray cluster at {self.ray.get_runtime_context().gcs_address}"

    def _new_actor(self, i: int):
        node, threads, reserve = self._plan[i]
        options = {"num_cpus": reserve}
        if node is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        else:
            options["scheduling_strategy"] = "SPREAD"
        return self._remote.options(**options).remote(self.family, self.spec, threads, self.policy_backend)

    def _wait_ready(self, actors) -> None:
        ray = self.ray
        try:
            ray.get([a.ping.remote() for a in actors], timeout=self.timeout)
        except ray.exceptions.GetTimeoutError:
            have = ray.available_resources().get("CPU", 0)
            raise TimeoutError(f"sampler='ray': {len(actors)} actor(s) with {self.threads_per_actor} CPUs did not "
                               f"start within ray_timeout={self.timeout:g} s ({have:g} CPUs free in the cluster); "
                               f"lower ray_actors or ray_threads, or raise ray_timeout") from None

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def sample(self, params, tasks, rollouts_per_task, horizon, seed, streams=None):
        if streams is not None:
            raise ValueError("RaySampler.sample: streams is for the local samplers (a piece of a batch)")
        ray = self.ray
        start = time.perf_counter()
        if not self._actors:  # closed (e.g. by a finished training run): start again
            self._start()
        fn = f"{type(self).__name__}.sample"
        tasks = self.family.check_rollout(fn, self.spec, params, tasks, rollouts_per_task, horizon, seed)
        T, B, H = len(tasks), rollouts_per_task, horizon
        theta = params.detach().contiguous().numpy()
        params_ref, tasks_ref = ray.put(theta), ray.put(np.ascontiguousarray(tasks.params))
        stats = CallStats(bytes_out=theta.nbytes + tasks.params.nbytes)
        # one actor has nothing to balance: one item (no tail per item in its thread pool)
        queue = split_batch(T, B, 1 if self.num_actors == 1 else self.items_per_actor * self.num_actors)
        stats.items = len(queue)
        queue = [(item, 0) for item in queue]
        queue.reverse()  # pop() takes the first item
        out = BatchAssembly(T, B, H)
        pending: dict = {}  # ObjectRef → (actor index, item, attempt)
        load = [0] * self.num_actors

        def submit(i: int) -> None:
            item, attempt = queue.pop()
            ref = self._actors[i].run.remote(params_ref, tasks_ref, item, B, H, int(seed))
            pending[ref] = (i, item, attempt)
            load[i] += 1

        for _ in range(self.in_flight):
            for i in range(self.num_actors):
                if queue:
                    submit(i)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=self.timeout)
            if not done:
                raise TimeoutError(f"sampler='ray': no work item finished within ray_timeout={self.timeout:g} s "
                                   f"({len(pending)} pending on {self.num_actors} actors); raise ray_timeout")
            ref = done[0]
            i, item, attempt = pending.pop(ref)
            load[i] -= 1
            try:
                piece = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as e:
                if attempt + 1 >= MAX_ATTEMPTS:
                    raise RuntimeError(f"sampler='ray': work item {item} failed {MAX_ATTEMPTS} times; "
                                       f"last error: {e}") from e
                stats.retries += 1
                self._replace_dead(i, pending, queue, load)
                queue.append((item, attempt + 1))
            else:
                out.add(piece, item)
            for j in range(self.num_actors):  # the actor just freed (or replaced after a death) takes more
                while queue and load[j] < self.in_flight:
                    submit(j)
        stats.seconds, stats.bytes_in = time.perf_counter() - start, out.bytes_in
        self.last_call = stats
        return out.batch(tasks)

    def _replace_dead(self, i: int, pending: dict, queue: list, load: list) -> None:
        """Actor i died: its other pending items go back to the queue, and a fresh actor with the
        same resources takes its place."""
        for ref, (j, item, attempt) in list(pending.items()):
            if j == i:
                del pending[ref]
                load[i] -= 1
                queue.append((item, attempt))
        self.ray.kill(self._actors[i], no_restart=True)
        self._actors[i] = self._new_actor(i)
        self._wait_ready([self._actors[i]])

    def close(self) -> None:
        for a in getattr(self, "_actors", []):
            with contextlib.suppress(Exception):  # an actor that is already gone
                self.ray.kill(a, no_restart=True)
        self._actors = []
        if getattr(self, "_started_ray", False):
            self.ray.shutdown()
            self._started_ray = False


def connect(ray, address: str, timeout: float = 10.0) -> bool:
    """Connects to Ray (see RaySampler's `address`) within `timeout` seconds (TimeoutError naming
    ray_timeout otherwise); True when this call started a local Ray. A "host:port" or
    "ray://host:port" address is probed first (Ray itself retries an unreachable address for
    minutes)."""
    if not isinstance(address, str):
        raise ValueError(f"ray_address must be a string, got {address!r}")
    if ray.is_initialized():
        return False
    hint = "use '' for a local Ray, 'auto' on a node of a running cluster, or the head's host:port"
    if address and address != "auto":
        probe_address(address, timeout, hint)
    import threading

    outcome: dict = {}

    def init() -> None:
        try:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, logging_level="ERROR")
            outcome["ok"] = True
        except BaseException as e:  # noqa: BLE001 — handed to the calling thread
            outcome["error"] = e

    # ray.init has no deadline of its own: an address that accepts connections but never answers
    # would block it for many minutes
    worker = threading.Thread(target=init, name="metarl-fast-ray-init", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"ray_address={address!r}: the Ray cluster did not answer within ray_timeout={timeout:g} s "
                           f"(something listens there, but not a Ray head?); {hint}, or raise ray_timeout")
    e = outcome.get("error")
    if isinstance(e, (ConnectionError, ValueError, RuntimeError)):
        auth = ("; a cluster with token authentication also needs its token here: RAY_AUTH_MODE=token and "
                "RAY_AUTH_TOKEN (or ~/.ray/auth_token) as on the head node (docs/distributed.md)") if address else ""
        raise ConnectionError(f"ray_address={address!r}: could not connect to a Ray cluster ({e}); {hint}{auth}") from e
    if e is not None:
        raise e
    return not address


def probe_address(address: str, timeout: float, hint: str) -> None:
    """ConnectionError naming ray_address unless a TCP connection to its host:port opens."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ConnectionError(f"ray_address={address!r} is not 'host:port'; {hint}")
    try:
        socket.create_connection((host, int(port)), timeout=min(timeout, 10.0)).close()
    except OSError as e:
        raise ConnectionError(f"ray_address={address!r}: nothing answers at {host}:{port} ({e}); {hint}") from e


def plan_actors(ray, family, actors: int, threads: int) -> list[tuple[str | None, int, float]]:
    """[(node id, or None to SPREAD; C++ threads; CPUs reserved)] per actor, from the live nodes'
    CPUs (see RaySampler). A request for more threads than the cluster has CPUs is run
    oversubscribed (the CPUs shared evenly, with a warning): the batch is the same, only slower."""
    nodes = [(n["NodeID"], int(n["Resources"].get("CPU", 0))) for n in ray.nodes() if n.get("Alive")]
    nodes = [(node, cpus) for node, cpus in nodes if cpus > 0]
    total = sum(cpus for _, cpus in nodes)
    if total == 0:
        raise RuntimeError("sampler='ray': the Ray cluster has no CPUs")
    python = family.native_sampler != "cpp"
    if actors == AUTOMATIC and not python:  # one actor per node, all its CPUs (or `threads`)
        return [(node, threads or cpus, min(threads or cpus, cpus)) for node, cpus in nodes]
    if actors == AUTOMATIC:  # Python families: one single-threaded actor per CPU
        actors = total
    per_actor = threads or max(1, 1 if python else total // actors)
    reserve = float(per_actor)
    if actors * per_actor > total:
        import warnings

        reserve = total / actors
        warnings.warn(f"sampler='ray': ray_actors={actors} × ray_threads={per_actor} = {actors * per_actor} threads "
                      f"on {total} CPUs: oversubscribed (the same batch, more slowly)", stacklevel=3)
    return [(None, per_actor, reserve)] * actors



"""Meta-World's benchmark task lists as plain numbers, built once from Meta-World and cached in a
format that cannot carry code.

A Meta-World task is an environment name and a pickled dict (the environment class, its
``rand_vec`` — where the objects and the goal go — and whether the goal is hidden). Python turns
each task once into a ``TaskRecord`` (name, rand_vec, partially_observable): the C++ environments
take the numbers, and ``metaworld_task`` rebuilds Meta-World's own Task for its Python
environments (the reference). Building ML45's lists resets every environment 50 times per split
(about 40 s here), so the lists are cached as JSON in ``~/.cache/metarl_fast/metaworld``
(``METARL_FAST_CACHE`` moves the cache's root; set to the empty string it turns the cache off),
keyed by the benchmark, the environment, the seed and Meta-World's version. A cache file that is
not exactly such a JSON document is refused with a warning and rebuilt; nothing else is ever read.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

EPISODE_LENGTH = 500  # Meta-World's max_path_length: an environment refuses to step further
MAX_RAND_VEC = 6  # the longest rand_vec of the v3 environments (object and goal positions)
CACHE_FORMAT = 1
INSTALL = ('pip install "metarl_fast[metaworld]" && pip install --no-deps metaworld==3.1.1 '
           "(Meta-World pins mujoco==3.3.0; this package runs it on MuJoCo 4, see docs/metaworld.md)")
_WELD = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0])



def reset_mocap_welds_mujoco4(self) -> None:
    """Meta-World's SawyerMocapBase.reset_mocap_welds for MuJoCo 4: the same 11 weld numbers
    (relative pose, torque scale), written into the first 11 of the 12 that MuJoCo 4 stores."""
    import mujoco

    if self.model.nmocap > 0 and self.model.eq_data is not None:
        for i in range(self.model.eq_data.shape[0]):
            if self.model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                self.model.eq_data[i, :_WELD.size] = _WELD


def import_metaworld():
    """The metaworld module, with reset_mocap_welds replaced for MuJoCo 4 (docs/metaworld.md);
    ImportError with the install commands when it is not installed."""
    try:
        import metaworld
        from metaworld.sawyer_xyz_env import SawyerMocapBase
    except ImportError as e:
        raise ImportError(f"the Meta-World task families need the optional package metaworld: {INSTALL}") from e
    if SawyerMocapBase.reset_mocap_welds is not reset_mocap_welds_mujoco4:
        SawyerMocapBase._original_reset_mocap_welds = SawyerMocapBase.reset_mocap_welds
        SawyerMocapBase.reset_mocap_welds = reset_mocap_welds_mujoco4
    return metaworld


def metaworld_version() -> str:
    """The installed Meta-World's version (ImportError with the install commands without it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("metaworld")
    except PackageNotFoundError as e:
        raise ImportError(f"the Meta-World task families need the optional package metaworld: {INSTALL}") from e


@dataclass(frozen=True)
class TaskRecord:
    """One Meta-World task as numbers: the environment (e.g. "push-v3"), its rand_vec (3 or 6
    numbers: object and goal placement) and whether the goal is hidden from the observation."""

    env_name: str
    rand_vec: tuple[float, ...]
    partially_observable: bool

    def numbers(self) -> np.ndarray:
        """The C++ environments' task row [1 + MAX_RAND_VEC]: partially_observable, then rand_vec
        zero-padded."""
        row = np.zeros(1 + MAX_RAND_VEC)
        row[0] = float(self.partially_observable)
        row[1:1 + len(self.rand_vec)] = self.rand_vec
        return row


@dataclass(frozen=True)
class BenchmarkTasks:
    """A benchmark's environments and task lists (split 0: training, 1: test)."""

    benchmark: str
    env_name: str | None
    seed: int
    version: str
    train_envs: tuple[str, ...]
    test_envs: tuple[str, ...]
    train: tuple[TaskRecord, ...]
    test: tuple[TaskRecord, ...]

    def split(self, split: int) -> tuple[TaskRecord, ...]:
        return (self.train, self.test)[split]

    def to_json(self) -> dict:
        return {"format": CACHE_FORMAT, "benchmark": self.benchmark, "env_name": self.env_name, "seed": self.seed,
                "version": self.version, "train_envs": list(self.train_envs), "test_envs": list(self.test_envs),
                "train": [_record_json(r) for r in self.train], "test": [_record_json(r) for r in self.test]}


def _record_json(r: TaskRecord) -> dict:
    return {"env_name": r.env_name, "rand_vec": list(r.rand_vec), "partially_observable": r.partially_observable}


class CacheError(ValueError):
    """A task-list cache file that is not what this module writes."""


def _parse(doc, key: tuple) -> BenchmarkTasks:
    """A BenchmarkTasks from a parsed JSON document, checked field by field (CacheError otherwise)."""
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT:
        raise CacheError("not a task-list document of this format")
    benchmark, env_name, seed, version = key
    if (doc.get("benchmark"), doc.get("env_name"), doc.get("seed"), doc.get("version")) != key:
        raise CacheError(f"it holds {doc.get('benchmark')}/{doc.get('env_name')}/seed {doc.get('seed')}/"
                         f"Meta-World {doc.get('version')}, not {benchmark}/{env_name}/seed {seed}/Meta-World {version}")

    def names(v) -> tuple[str, ...]:
        if not isinstance(v, list) or not v or not all(isinstance(n, str) for n in v):
            raise CacheError("environment lists must be non-empty lists of names")
        return tuple(v)

    def records(v, envs: tuple[str, ...]) -> tuple[TaskRecord, ...]:
        if not isinstance(v, list) or not v:
            raise CacheError("task lists must be non-empty lists")
        out = []
        for r in v:
            if not isinstance(r, dict) or set(r) != {"env_name", "rand_vec", "partially_observable"}:
                raise CacheError("a task must have exactly env_name, rand_vec, partially_observable")
            vec = r["rand_vec"]
            if (r["env_name"] not in envs or not isinstance(r["partially_observable"], bool)
                    or not isinstance(vec, list) or not 1 <= len(vec) <= MAX_RAND_VEC
                    or not all(isinstance(x, float) and math.isfinite(x) for x in vec)):
                raise CacheError(f"malformed task {r!r:.200}")
            out.append(TaskRecord(r["env_name"], tuple(vec), r["partially_observable"]))
        return tuple(out)

    train_envs, test_envs = names(doc.get("train_envs")), names(doc.get("test_envs"))
    return BenchmarkTasks(benchmark, env_name, seed, version, train_envs, test_envs,
                          records(doc.get("train"), train_envs), records(doc.get("test"), test_envs))


def cache_path(benchmark: str, env_name: str | None, seed: int, version: str) -> str | None:
    """Where the task lists of (benchmark, env_name, seed, Meta-World version) are cached, or None
    when METARL_FAST_CACHE is set to the empty string (no cache)."""
    root = os.environ.get("METARL_FAST_CACHE")
    if root is None:
        root = os.path.join(os.path.expanduser("~"), ".cache", "metarl_fast")
    elif root == "":
        return None
    key = f"{benchmark}-{env_name}-{seed}-{version}"
    return os.path.join(os.path.abspath(root), "metaworld", hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")


def _read_cache(path: str, key: tuple) -> BenchmarkTasks | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(64 << 20)
    except FileNotFoundError:
        return None
    except OSError as e:
        warnings.warn(f"Meta-World task cache {path} could not be read ({e}); rebuilding it", stacklevel=3)
        return None
    try:
        return _parse(json.loads(raw.decode("utf-8")), key)
    except (UnicodeDecodeError, json.JSONDecodeError, CacheError, RecursionError) as e:
        warnings.warn(f"Meta-World task cache {path} is not a valid task list ({e}); rebuilding it", stacklevel=3)
        return None


def _build(benchmark: str, env_name: str | None, seed: int, version: str, path: str | None) -> BenchmarkTasks:
    import pickle

    metaworld = import_metaworld()
    what = f"ML1 {env_name}" if benchmark == "ML1" else benchmark
    took = {"ML1": "a few seconds", "ML10": "about 10 s", "ML45": "about 40 s"}[benchmark]
    where = f"cached in {path}" if path else "not cached: METARL_FAST_CACHE is empty"
    print(f"metarl_fast: building Meta-World's {what} task lists (benchmark seed {seed}; Meta-World resets each "
          f"environment 50 times per split, {took}; {where})", file=sys.stderr, flush=True)
    start = time.perf_counter()
    bench = metaworld.ML1(env_name, seed=seed) if benchmark == "ML1" else getattr(metaworld, benchmark)(seed=seed)

    def record(task) -> TaskRecord:
        # the task's data is Meta-World's own pickle, made in this process a moment ago
        data = pickle.loads(task.data)
        extra = set(data) - {"rand_vec", "env_cls", "partially_observable"}
        if extra:
            raise ValueError(f"Meta-World {version}'s task for {task.env_name} has settings this package does not "
                             f"support: {sorted(extra)}")
        vec = np.asarray(data["rand_vec"], dtype=np.float64).reshape(-1)
        return TaskRecord(task.env_name, tuple(float(x) for x in vec), bool(data["partially_observable"]))

    tasks = BenchmarkTasks(benchmark, env_name, seed, version, tuple(bench.train_classes), tuple(bench.test_classes),
                           tuple(record(t) for t in bench.train_tasks), tuple(record(t) for t in bench.test_tasks))
    print(f"metarl_fast: built Meta-World's {what} task lists in {time.perf_counter() - start:.1f} s",
          file=sys.stderr, flush=True)
    return tasks


def benchmark_tasks(benchmark: str, env_name: str | None, seed: int) -> BenchmarkTasks:
    """Meta-World's task lists of ML1 (for `env_name`), ML10 or ML45 built with `seed`, from the
    cache when it holds them (see the module docstring)."""
    if benchmark not in ("ML1", "ML10", "ML45"):
        raise ValueError(f"benchmark must be ML1, ML10 or ML45, got {benchmark!r}")
    version = metaworld_version()
    key = (benchmark, env_name, seed, version)
    path = cache_path(benchmark, env_name, seed, version)
    if path is not None:
        cached = _read_cache(path, key)
        if cached is not None:
            return cached
    tasks = _build(benchmark, env_name, seed, version, path)
    if path is not None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(tasks.to_json(), f)
            os.replace(tmp, path)
        except OSError as e:
            warnings.warn(f"could not write the Meta-World task cache {path} ({e}); continuing without it", stacklevel=2)
    return tasks


def metaworld_task(record: TaskRecord):
    """Meta-World's own Task for `record` (what its Python environments' ``set_task`` takes)."""
    import pickle

    metaworld = import_metaworld()
    from metaworld.types import Task

    cls = metaworld.env_dict.ALL_V3_ENVIRONMENTS[record.env_name]
    data = {"rand_vec": np.array(record.rand_vec, dtype=np.float64), "env_cls": cls,
            "partially_observable": record.partially_observable}
    return Task(env_name=record.env_name, data=pickle.dumps(data))


def asset_path(xml: str) -> str:
    """The path of one of Meta-World's MJCF files (`xml` relative to its asset folder, e.g.
    "sawyer_xyz/sawyer_push_v3.xml"); FileNotFoundError naming it when it is missing."""
    import importlib.util

    spec = importlib.util.find_spec("metaworld")
    if spec is None or spec.origin is None:
        raise ImportError(f"the Meta-World task families need the optional package metaworld: {INSTALL}")
    path = os.path.join(os.path.dirname(spec.origin), "assets", xml)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Meta-World's model {xml} is missing at {path}; reinstall Meta-World: {INSTALL}")
    return path

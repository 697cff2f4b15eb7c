"""Meta-World's meta-learning benchmarks as task families, on MuJoCo 4 (Yu et al., 2019; v3 envs).

    MetaWorldML1-<env>   one environment (e.g. MetaWorldML1-push-v3): 50 training goals, 50 test goals
    MetaWorldML10        10 training environments × 50 goals, 5 held-out test environments × 50
    MetaWorldML45        45 training environments × 50 goals, 5 held-out test environments × 50
    MetaWorldPush, MetaWorldDoorOpen   ML1 push-v3 / door-open-v3 with GMPS's horizons (50, 100)

Tasks and their parametric variations are Meta-World's own (``metaworld.ML1/ML10/ML45(seed)``,
``benchmark_seed`` 0 by default): a task is (split, index) into the benchmark's training list
(split 0, what ``sample_tasks`` draws from) or its test list (split 1, ``sample_test_tasks``,
what meta-test uses). The goal is hidden from the policy (Meta-World's ML observations: 39
numbers, the last three zero); episodes are Meta-World's 500 steps at most; every step reports
Meta-World's infos ``success``, ``near_object``, ``grasp_success``, ``grasp_reward``,
``in_place_reward`` and ``obj_to_target`` (Batch.infos).

The environments run in C++ (csrc/sim/metaworld: every v3 environment, step for step equal to
Meta-World 3.1.1's own Python environment, docs/metaworld.md) with the policy in the loop, on the
models Meta-World ships. Meta-World's Python environments stay the reference: ``gym_env``,
``vector_env`` and the ``gymnasium`` sampler step them, and ``python_family`` makes a family that
only steps them.

Install: Meta-World 3.1.1 pins mujoco==3.3.0, which conflicts with this package's MuJoCo 4, so it
is installed without its dependencies (``pip install "metarl_fast[metaworld]"`` brings the others,
then ``pip install --no-deps metaworld==3.1.1``). Under MuJoCo 4 one of its methods fails
(``SawyerMocapBase.reset_mocap_welds`` writes 11 numbers into ``model.eq_data[i]``, which has 12
in MuJoCo 4); ``import_metaworld`` replaces it, in memory, by one that writes the same 11 numbers
(the weld's relative pose and torque scale) into the first 11 entries, and the C++ models get the
same numbers. Dynamics differ from MuJoCo 3.3's (Meta-World's maintainers note collision changes
from MuJoCo 3.5 on), so returns and success rates are not bit-comparable with numbers published on
MuJoCo 3.3.
"""
from __future__ import annotations

import gymnasium
import numpy as np
import torch

from .base import FamilyDef
from .cpp_family import CppTaskFamily
from .metaworld_tasks import (EPISODE_LENGTH, INSTALL, BenchmarkTasks, TaskRecord, asset_path, benchmark_tasks,
                              import_metaworld, metaworld_task, metaworld_version, reset_mocap_welds_mujoco4)
from .tasks import TaskBatch

__all__ = ["EPISODE_LENGTH", "INSTALL", "ML1_ENVS", "GMPS_FAMILIES", "INFO_NAMES", "MetaWorldFamily",
           "MetaWorldExpert", "MetaWorldTaskEnv", "family_names", "import_metaworld", "make_family", "python_family",
           "reset_mocap_welds_mujoco4"]

# the v3 environments, as metaworld.env_dict.ALL_V3_ENVIRONMENTS names them (ML1's choices)
ML1_ENVS = (
    "assembly-v3", "basketball-v3", "bin-picking-v3", "box-close-v3", "button-press-topdown-v3",
    "button-press-topdown-wall-v3", "button-press-v3", "button-press-wall-v3", "coffee-button-v3",
    "coffee-pull-v3", "coffee-push-v3", "dial-turn-v3", "disassemble-v3", "door-close-v3", "door-lock-v3",
    "door-open-v3", "door-unlock-v3", "hand-insert-v3", "drawer-close-v3", "drawer-open-v3", "faucet-open-v3",
    "faucet-close-v3", "hammer-v3", "handle-press-side-v3", "handle-press-v3", "handle-pull-side-v3",
    "handle-pull-v3", "lever-pull-v3", "pick-place-wall-v3", "pick-out-of-hole-v3", "pick-place-v3",
    "plate-slide-v3", "plate-slide-side-v3", "plate-slide-back-v3", "plate-slide-back-side-v3", "peg-insert-side-v3",
    "peg-unplug-side-v3", "soccer-v3", "stick-push-v3", "stick-pull-v3", "push-v3", "push-wall-v3", "push-back-v3",
    "reach-v3", "reach-wall-v3", "shelf-place-v3", "sweep-into-v3", "sweep-v3", "window-open-v3", "window-close-v3",
)
GMPS_FAMILIES = {"MetaWorldPush": ("push-v3", 50), "MetaWorldDoorOpen": ("door-open-v3", 100)}
INFO_NAMES = ("success", "near_object", "grasp_success", "grasp_reward", "in_place_reward", "obj_to_target")
CPP_METAWORLD_VERSION = "3.1.1"  # the Meta-World whose Python environments csrc/sim/metaworld reproduces


def family_names() -> tuple[str, ...]:
    """Every Meta-World family name (registered without importing Meta-World)."""
    return ("MetaWorldML10", "MetaWorldML45", *(f"MetaWorldML1-{e}" for e in ML1_ENVS), *GMPS_FAMILIES)


def parse_name(name: str) -> tuple[str, str | None, int]:
    """(benchmark, environment or None, horizon) of a Meta-World family name; ValueError otherwise."""
    if name in GMPS_FAMILIES:
        env_name, horizon = GMPS_FAMILIES[name]
        return "ML1", env_name, horizon
    if name.startswith("MetaWorldML1-") and name[len("MetaWorldML1-"):] in ML1_ENVS:
        return "ML1", name[len("MetaWorldML1-"):], EPISODE_LENGTH
    if name in ("MetaWorldML10", "MetaWorldML45"):
        return name[len("MetaWorld"):], None, EPISODE_LENGTH
    raise ValueError(f"unknown Meta-World family {name!r}; valid: MetaWorldML10, MetaWorldML45, "
                     f"MetaWorldML1-<env> (<env> one of {', '.join(ML1_ENVS)}), {', '.join(GMPS_FAMILIES)}")


def _check_seed(name: str, benchmark_seed) -> int:
    if isinstance(benchmark_seed, bool) or not isinstance(benchmark_seed, (int, np.integer)) or benchmark_seed < 0:
        raise ValueError(f"{name}: benchmark_seed must be a non-negative int, got {benchmark_seed!r}")
    return int(benchmark_seed)


def _uniform_tasks(split: int, count: int):
    def draw(rng, n):  # uniform over the split's list (each environment has 50 goals)
        return np.stack([np.full(n, float(split)), rng.integers(0, count, size=n)], -1)

    return draw


class _BenchmarkInfo:
    """What both kinds of Meta-World family say about their benchmark."""

    lists: BenchmarkTasks

    def _set_benchmark(self, lists: BenchmarkTasks) -> None:
        self.lists = lists
        self.benchmark, self.benchmark_seed = lists.benchmark, lists.seed
        self.train_envs, self.test_envs = lists.train_envs, lists.test_envs
        self.num_train_tasks, self.num_test_tasks = len(lists.train), len(lists.test)

    def task_record(self, split: int, index: int) -> TaskRecord:
        """Task `index` of the training (split 0) or test (1) list, as numbers."""
        return self.lists.split(int(split))[int(index)]

    def metaworld_task(self, split: int, index: int):
        """Meta-World's own Task for (split, index) (what its environments' set_task takes)."""
        return metaworld_task(self.task_record(split, index))

    def _definition(self, horizon: int) -> FamilyDef:
        lists = self.lists
        envs_doc = lists.train_envs[0] if lists.benchmark == "ML1" else f"{len(lists.train_envs)} environments"
        doc = (f"Meta-World {lists.benchmark} ({envs_doc}; {len(lists.train)} training tasks, {len(lists.test)} "
               f"test tasks, goal hidden)")
        return FamilyDef(("split", "index"), _uniform_tasks(0, len(lists.train)), horizon, doc,
                         _uniform_tasks(1, len(lists.test)))


class MetaWorldTaskEnv(gymnasium.Env):
    """One of Meta-World's own (Python) environment slots that can hold any task of a benchmark:
    an instance per environment class (made when first needed), the active one chosen by
    ``set_metaworld_task``. Actions in [−1, 1]⁴, observations [39], Meta-World's infos each step."""

    metadata = {"render_modes": []}

    def __init__(self, classes: dict) -> None:
        import_metaworld()  # the MuJoCo 4 fix, in whichever process makes the environment
        self._classes = classes
        self._envs: dict[str, gymnasium.Env] = {}
        first = self._env(next(iter(classes)))
        self.observation_space = first.observation_space
        self.action_space = first.action_space
        self._active = first
        self._has_task = False

    def _env(self, name: str):
        if name not in self._envs:
            self._envs[name] = self._classes[name]()
        return self._envs[name]

    def set_metaworld_task(self, task) -> None:
        """Makes `task` (a metaworld Task) current: its environment, goal and variation."""
        env = self._env(task.env_name)
        env.set_task(task)
        self._active = env
        self._has_task = True

    @property
    def active(self):
        """The Meta-World environment of the current task."""
        return self._active

    def reset(self, *, seed=None, options=None):
        if not self._has_task:
            raise RuntimeError("MetaWorldTaskEnv.reset: set a task first")
        super().reset(seed=seed)
        return self._active.reset(seed=seed)

    def step(self, action):
        obs, reward, terminated, truncated, info = self._active.step(np.asarray(action, dtype=np.float64))
        return obs, float(reward), terminated, truncated, {**info, **{k: float(info[k]) for k in INFO_NAMES}}

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


def python_family(name: str, benchmark_seed: int = 0):
    """The Meta-World family `name` over Meta-World's own Python environments (a GymTaskFamily
    stepped from Python): the reference the C++ environments are tested against, and what the
    ``gymnasium`` sampler steps."""
    from .python_family import GymTaskFamily

    benchmark, env_name, horizon = parse_name(name)
    benchmark_seed = _check_seed(name, benchmark_seed)
    metaworld = import_metaworld()
    info = _BenchmarkInfo()
    info._set_benchmark(benchmark_tasks(benchmark, env_name, benchmark_seed))
    classes = {n: metaworld.env_dict.ALL_V3_ENVIRONMENTS[n] for n in (*info.train_envs, *info.test_envs)}
    records = (info.lists.train, info.lists.test)

    def make_env():
        return MetaWorldTaskEnv(classes)

    def apply_task(env, params) -> None:
        env.set_metaworld_task(metaworld_task(records[int(params[0])][int(params[1])]))

    definition = info._definition(horizon)
    family = GymTaskFamily(name, make_env, apply_task, definition.fields, definition.sampler, horizon,
                           definition.doc, action_scale=1.0, info_names=INFO_NAMES, max_horizon=EPISODE_LENGTH,
                           test_sampler=definition.test_sampler)
    family.lists = info.lists
    family.benchmark, family.benchmark_seed = info.benchmark, info.benchmark_seed
    family.train_envs, family.test_envs = info.train_envs, info.test_envs
    family.num_train_tasks, family.num_test_tasks = info.num_train_tasks, info.num_test_tasks
    family.task_record = info.task_record
    family.metaworld_task = info.metaworld_task
    return family


class MetaWorldFamily(_BenchmarkInfo, CppTaskFamily):
    """A Meta-World benchmark on the C++ pool: one pool member per environment of the benchmark
    (each of its models loaded once), task (split, index) mapped to the environment and the
    numbers of its rand_vec. The policy acts in [−1, 1]⁴ (action_scale 1). ``gym_env`` and
    ``vector_env`` are Meta-World's own Python environments (``reference()``), what the
    ``gymnasium`` sampler steps.

    Attributes beyond TaskFamily's: benchmark ("ML1", "ML10", "ML45"), benchmark_seed, train_envs,
    test_envs, num_train_tasks, num_test_tasks, lists (the BenchmarkTasks).
    """

    native_sampler = "cpp"

    def __init__(self, name: str, benchmark_seed: int = 0, lists: BenchmarkTasks | None = None) -> None:
        from .. import _C

        benchmark, env_name, horizon = parse_name(name)
        benchmark_seed = _check_seed(name, benchmark_seed)
        installed = metaworld_version()
        if installed != CPP_METAWORLD_VERSION:
            raise ValueError(f"{name}: the C++ environments reproduce Meta-World {CPP_METAWORLD_VERSION}, but Meta-World "
                             f"{installed} is installed; install {CPP_METAWORLD_VERSION} ({INSTALL}), or step the "
                             f"installed version's own environments with python_family({name!r})")
        if lists is not None and lists.version != installed:
            raise ValueError(f"{name}: the task lists were built with Meta-World {lists.version}, this process has "
                             f"{installed}; every process of a run needs the same Meta-World")
        if lists is None:
            lists = benchmark_tasks(benchmark, env_name, benchmark_seed)
        elif (lists.benchmark, lists.env_name, lists.seed) != (benchmark, env_name, benchmark_seed):
            raise ValueError(f"{name}: the task lists given are {lists.benchmark}/{lists.env_name}/seed {lists.seed}")
        self._set_benchmark(lists)
        self.name = name
        self._init_args = (name, benchmark_seed, lists)
        self.action_scale = 1.0
        cpp = dict(_C.metaworld_envs())
        self.member_envs = tuple(dict.fromkeys((*self.train_envs, *self.test_envs)))
        missing = [e for e in self.member_envs if e not in cpp]
        if missing:
            raise ValueError(f"{name}: the environments {missing} are not simulated in C++ (use python_family)")
        members = [(f"metaworld/{e}", asset_path(cpp[e])) for e in self.member_envs]
        self._sim = _C.SimPool(members)
        info = _C.task_family_info(members[0][0])
        self.frame_skip = info["frame_skip"]
        self.info_names = tuple(info["infos"])
        self.xml_paths = tuple(path for _, path in members)
        self.obs_dim, self.act_dim = self._sim.obs_dim, self._sim.act_dim
        self.dt = self._sim.dt
        self.ctrl_range = np.array(self._sim.ctrl_range)
        self.definition = self._definition(horizon)
        self.task_dim = len(self.definition.fields)
        self.default_horizon = horizon
        self.max_horizon = EPISODE_LENGTH
        member_of = {e: k for k, e in enumerate(self.member_envs)}
        records = (*self.lists.train, *self.lists.test)
        self._rows = np.ascontiguousarray(np.stack([r.numbers() for r in records]))
        self._members = np.array([member_of[r.env_name] for r in records], dtype=np.int32)
        self._reference = None

    def __reduce__(self):
        """Pickled as its name, benchmark seed and task lists (the pool is rebuilt where it is
        unpickled, without rebuilding the lists: how Ray and worker processes get it)."""
        return (MetaWorldFamily, self._init_args)

    def __repr__(self) -> str:
        return (f"MetaWorldFamily({self.name}: {len(self.member_envs)} environment(s) in C++, task fields "
                f"{self.definition.fields}; {self.definition.doc})")

    def pool_tasks(self, fn: str, tasks: TaskBatch) -> tuple[np.ndarray, np.ndarray]:
        """Each (split, index) task's row [partially_observable, rand_vec] and pool member (its
        environment); ValueError for a split other than 0/1 or an index outside the split's list
        (e.g. a task of another benchmark)."""
        split, index = tasks.params[:, 0], tasks.params[:, 1]
        sizes = np.where(split == 0, self.num_train_tasks, self.num_test_tasks)
        bad = ~(((split == 0) | (split == 1)) & (index == np.floor(index)) & (index >= 0) & (index < sizes))
        if bad.any():
            row = tasks.params[np.flatnonzero(bad)[0]]
            raise ValueError(f"{fn}: task (split={row[0]:g}, index={row[1]:g}) is not one of {self.name}'s: split "
                             f"must be 0 ({self.num_train_tasks} training tasks) or 1 ({self.num_test_tasks} test "
                             f"tasks) and index an integer below the split's size")
        flat = np.where(split == 0, index, self.num_train_tasks + index).astype(np.int64)
        return np.ascontiguousarray(self._rows[flat]), np.ascontiguousarray(self._members[flat])

    def reference(self):
        """The same benchmark over Meta-World's own Python environments (``python_family``), made
        when first needed."""
        if self._reference is None:
            self._reference = python_family(self.name, self.benchmark_seed)
        return self._reference

    def gym_env(self, task=None, max_episode_steps: int | None = None):
        """Meta-World's own environment for this family's tasks (see ``reference()``)."""
        return self.reference().gym_env(task, max_episode_steps)

    def vector_env(self, num_envs: int, tasks: TaskBatch | None = None, max_episode_steps: int | None = None):
        """A SyncVectorEnv of Meta-World's own environments (see ``reference()``)."""
        return self.reference().vector_env(num_envs, tasks, max_episode_steps)

    def physics_limit(self, batch, seed: int) -> None:
        """Replays a rollout's physics alone on the same threads: each trajectory's reset (hand
        reset, object placement) and, per step, the action's mocap and gripper controls, the 5
        physics steps and the forward pass the observation needs; no policy, observation or reward."""
        T, B, H = batch.shape
        controls = np.ascontiguousarray(self.native_actions(batch.actions).reshape(T * B, H, self.act_dim))
        lengths = np.ascontiguousarray(batch.lengths.numpy().reshape(-1))
        rows, members = self.pool_tasks("physics_limit", batch.tasks)
        self._sim.raw_physics(T * B, H, int(seed), controls, lengths, np.ascontiguousarray(np.repeat(members, B)),
                              np.ascontiguousarray(np.repeat(rows, B, axis=0)))

    def new_pool(self):
        raise NotImplementedError(f"{self.name}: gym_env/vector_env step Meta-World's own environments; the C++ "
                                  f"environments are stepped by rollout()")


def make_family(name: str, benchmark_seed: int = 0):
    """The Meta-World family `name` (one of ``family_names()``; see the module docstring): on the
    C++ pool (MetaWorldFamily) when the installed Meta-World is the version the C++ environments
    reproduce; otherwise, with a warning, over the installed version's own Python environments
    (python_family)."""
    import warnings

    import_metaworld()
    installed = metaworld_version()
    if installed != CPP_METAWORLD_VERSION:
        warnings.warn(f"{name}: Meta-World {installed} is installed, the C++ environments reproduce "
                      f"{CPP_METAWORLD_VERSION}: stepping Meta-World {installed}'s own Python environments instead "
                      f"(about 10× slower; install {CPP_METAWORLD_VERSION} for the C++ ones)", stacklevel=2)
        return python_family(name, benchmark_seed)
    return MetaWorldFamily(name, benchmark_seed)


class MetaWorldExpert:
    """Meta-World's scripted policy of each task's environment, acting on the observation with the
    task's goal put back where the fully observable mode has it (the last three entries); actions
    in the family's policy scale. The goal is read once per task from Meta-World's own
    environment after a reset."""

    source = "scripted"
    env_steps = 0

    def __init__(self, family) -> None:
        from metaworld import policies

        self.family = family
        self._policies = {}
        self._goals: dict[tuple[int, int], np.ndarray] = {}
        self._map = policies.ENV_POLICY_MAP
        self._probes: dict[str, object] = {}

    def _goal_and_policy(self, split: int, index: int):
        """The task's goal (read once from a probe environment) and its environment's scripted policy."""
        record = self.family.task_record(split, index)
        name = record.env_name
        if (split, index) not in self._goals:
            if name not in self._probes:
                self._probes[name] = import_metaworld().env_dict.ALL_V3_ENVIRONMENTS[name]()
            probe = self._probes[name]
            probe.set_task(metaworld_task(record))
            probe.reset()
            self._goals[(split, index)] = np.asarray(probe._target_pos, dtype=np.float64).copy()
        if name not in self._policies:
            self._policies[name] = self._map[name]()
        return self._goals[(split, index)], self._policies[name]

    def act(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        flat_obs = obs.reshape(-1, obs.shape[-1]).double().numpy().copy()
        rows = task.reshape(-1, task.shape[-1]).long().numpy()
        native = np.empty((len(flat_obs), self.family.act_dim))
        for i, (o, (split, index)) in enumerate(zip(flat_obs, rows)):
            goal, policy = self._goal_and_policy(int(split), int(index))
            o[-3:] = goal
            native[i] = policy.get_action(o)
        native = np.clip(native, self.family.ctrl_range[:, 0], self.family.ctrl_range[:, 1])
        return self.family.policy_actions(native).reshape(*obs.shape[:-1], -1).to(obs.dtype)

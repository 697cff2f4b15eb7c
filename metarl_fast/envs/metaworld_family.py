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
``success`` (Batch.infos["success"]).

Install: Meta-World 3.1.1 pins mujoco==3.3.0, which conflicts with this package's MuJoCo 4, so it
is installed without its dependencies (``pip install "metarl_fast[metaworld]"`` brings the others,
then ``pip install --no-deps metaworld==3.1.1``). Under MuJoCo 4 one of its methods fails
(``SawyerMocapBase.reset_mocap_welds`` writes 11 numbers into ``model.eq_data[i]``, which has 12
in MuJoCo 4); ``import_metaworld`` replaces it, in memory, by one that writes the same 11 numbers
(the weld's relative pose and torque scale) into the first 11 entries. Dynamics differ from
MuJoCo 3.3's (Meta-World's maintainers note collision changes from MuJoCo 3.5 on), so returns and
success rates are not bit-comparable with numbers published on MuJoCo 3.3.
"""
from __future__ import annotations

import hashlib
import os
import pickle

import gymnasium
import numpy as np
import torch

EPISODE_LENGTH = 500  # Meta-World's max_path_length: an environment refuses to step further
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
INSTALL = ('pip install "metarl_fast[metaworld]" && pip install --no-deps metaworld==3.1.1 '
           "(Meta-World pins mujoco==3.3.0; this package runs it on MuJoCo 4, see docs/metaworld.md)")

_WELD = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0])


def family_names() -> tuple[str, ...]:
    """Every Meta-World family name (registered without importing Meta-World)."""
    return ("MetaWorldML10", "MetaWorldML45", *(f"MetaWorldML1-{e}" for e in ML1_ENVS), *GMPS_FAMILIES)


def reset_mocap_welds_mujoco4(self) -> None:
    """Meta-World's SawyerMocapBase.reset_mocap_welds for MuJoCo 4: the same 11 weld numbers
    (relative pose, torque scale), written into the first 11 of the 12 that MuJoCo 4 stores."""
    import mujoco

    if self.model.nmocap > 0 and self.model.eq_data is not None:
        for i in range(self.model.eq_data.shape[0]):
            if self.model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
                self.model.eq_data[i, :_WELD.size] = _WELD


def import_metaworld():
    """The metaworld module, with reset_mocap_welds replaced for MuJoCo 4 (see the module
    docstring); ImportError with the install commands when it is not installed."""
    try:
        import metaworld
        from metaworld.sawyer_xyz_env import SawyerMocapBase
    except ImportError as e:
        raise ImportError(f"the Meta-World task families need the optional package metaworld: {INSTALL}") from e
    if SawyerMocapBase.reset_mocap_welds is not reset_mocap_welds_mujoco4:
        SawyerMocapBase._original_reset_mocap_welds = SawyerMocapBase.reset_mocap_welds
        SawyerMocapBase.reset_mocap_welds = reset_mocap_welds_mujoco4
    return metaworld


def benchmark_tasks(benchmark: str, env_name: str | None, seed: int) -> dict:
    """Meta-World's task lists of a benchmark: {"train_envs", "test_envs": [names], "train",
    "test": [metaworld Task]} for ML1 (env_name), ML10 or ML45 made with `seed`. Building ML45
    resets each environment 50 times per split (tens of seconds), so the lists are cached in
    ~/.cache/metarl_fast/metaworld (METARL_FAST_CACHE overrides), keyed by benchmark, environment,
    seed and the Meta-World version."""
    metaworld = import_metaworld()
    from importlib.metadata import version

    key = f"{benchmark}-{env_name}-{seed}-{version('metaworld')}"
    root = os.environ.get("METARL_FAST_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "metarl_fast"))
    path = os.path.join(root, "metaworld", hashlib.sha1(key.encode()).hexdigest()[:16] + ".pkl")
    if os.path.exists(path):
        try:
            with open(path, "rb") as f:
                cached = pickle.load(f)
            if cached.get("key") == key:
                return cached
        except (OSError, pickle.UnpicklingError, EOFError):
            pass  # rebuilt below
    bench = metaworld.ML1(env_name, seed=seed) if benchmark == "ML1" else getattr(metaworld, benchmark)(seed=seed)
    lists = {"key": key, "train_envs": list(bench.train_classes), "test_envs": list(bench.test_classes),
             "train": list(bench.train_tasks), "test": list(bench.test_tasks)}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        pickle.dump(lists, f)
    os.replace(tmp, path)
    return lists


class MetaWorldTaskEnv(gymnasium.Env):
    """One Meta-World environment slot that can hold any task of a benchmark: an instance per
    environment class (made when first needed), the active one chosen by ``set_metaworld_task``.
    Actions in [−1, 1]⁴, observations [39], ``info["success"]`` each step."""

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
        return obs, float(reward), terminated, truncated, {**info, "success": float(info["success"])}

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


def make_family(name: str, benchmark_seed: int = 0):
    """The Meta-World family `name` (one of ``family_names()``; see the module docstring)."""
    from .python_family import GymTaskFamily

    if name in GMPS_FAMILIES:
        env_name, horizon = GMPS_FAMILIES[name]
        benchmark = "ML1"
    elif name.startswith("MetaWorldML1-") and name[len("MetaWorldML1-"):] in ML1_ENVS:
        env_name, horizon, benchmark = name[len("MetaWorldML1-"):], EPISODE_LENGTH, "ML1"
    elif name in ("MetaWorldML10", "MetaWorldML45"):
        env_name, horizon, benchmark = None, EPISODE_LENGTH, name[len("MetaWorld"):]
    else:
        raise ValueError(f"unknown Meta-World family {name!r}; valid: MetaWorldML10, MetaWorldML45, "
                         f"MetaWorldML1-<env> (<env> one of {', '.join(ML1_ENVS)}), {', '.join(GMPS_FAMILIES)}")
    if isinstance(benchmark_seed, bool) or not isinstance(benchmark_seed, int) or benchmark_seed < 0:
        raise ValueError(f"{name}: benchmark_seed must be a non-negative int, got {benchmark_seed!r}")
    metaworld = import_metaworld()
    lists = benchmark_tasks(benchmark, env_name, benchmark_seed)
    classes = {n: metaworld.env_dict.ALL_V3_ENVIRONMENTS[n] for n in (*lists["train_envs"], *lists["test_envs"])}
    split_tasks = (lists["train"], lists["test"])

    def make_env():
        return MetaWorldTaskEnv(classes)

    def apply_task(env, params) -> None:
        env.set_metaworld_task(split_tasks[int(params[0])][int(params[1])])

    def tasks_of(split: int):
        def draw(rng, n):  # uniform over the split's list (each environment has 50 goals)
            return np.stack([np.full(n, float(split)), rng.integers(0, len(split_tasks[split]), size=n)], -1)

        return draw

    envs_doc = lists["train_envs"][0] if benchmark == "ML1" else f"{len(lists['train_envs'])} environments"
    family = GymTaskFamily(name, make_env, apply_task, ("split", "index"), tasks_of(0), horizon,
                           f"Meta-World {benchmark} ({envs_doc}; {len(lists['train'])} training tasks, "
                           f"{len(lists['test'])} test tasks, goal hidden)", action_scale=1.0,
                           info_names=("success",), max_horizon=EPISODE_LENGTH, test_sampler=tasks_of(1))
    family.benchmark, family.benchmark_seed = benchmark, benchmark_seed
    family.train_envs, family.test_envs = tuple(lists["train_envs"]), tuple(lists["test_envs"])
    family.num_train_tasks, family.num_test_tasks = len(lists["train"]), len(lists["test"])
    family.metaworld_task = lambda split, index: split_tasks[int(split)][int(index)]
    return family


class MetaWorldExpert:
    """Meta-World's scripted policy of each task's environment, acting on the observation with the
    task's goal put back where the fully observable mode has it (the last three entries); actions
    in the family's policy scale."""

    source = "scripted"
    env_steps = 0

    def __init__(self, family) -> None:
        from metaworld import policies

        self.family = family
        self._policies = {}
        self._goals: dict[tuple[int, int], np.ndarray] = {}
        self._map = policies.ENV_POLICY_MAP
        self._probe = None

    def _goal_and_policy(self, split: int, index: int):
        """The task's goal (read once from a probe environment) and its environment's scripted policy."""
        task = self.family.metaworld_task(split, index)
        if (split, index) not in self._goals:
            if self._probe is None:
                self._probe = self.family.make_env()
            self._probe.set_metaworld_task(task)
            self._probe.reset()
            self._goals[(split, index)] = np.asarray(self._probe.active._target_pos, dtype=np.float64).copy()
        if task.env_name not in self._policies:
            self._policies[task.env_name] = self._map[task.env_name]()
        return self._goals[(split, index)], self._policies[task.env_name]

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

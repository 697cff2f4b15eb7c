"""The C++ Meta-World environments side by side with Meta-World's own Python environments, step by
step: the test oracle of csrc/sim/metaworld (python_tests/test_metaworld_cpp.py runs short
episodes of every environment; tools/metaworld_equivalence.py the full 500-step comparison).

Both sides start from a reset for the same task and take the same actions; the comparison covers
the observation, reward, the six infos, truncation, MuJoCo's state (qpos, qvel, the solver's warm
start, the mocap pose) and the model fields the task moves (body and site positions). Both link
the same libmujoco, so every number is expected equal bit for bit.

    from metarl_fast.envs.metaworld_oracle import compare_episode
    report = compare_episode("push-v3", actions="scripted", steps=500)
    assert report.equal, report.describe()
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .metaworld_tasks import EPISODE_LENGTH, TaskRecord, asset_path, benchmark_tasks, import_metaworld, metaworld_task

INFO_NAMES = ("success", "near_object", "grasp_success", "grasp_reward", "in_place_reward", "obj_to_target")


def cpp_env_names() -> tuple[str, ...]:
    """The Meta-World environments simulated in C++."""
    from .. import _C

    return tuple(name for name, _ in _C.metaworld_envs())


class CppMetaWorldEnv:
    """One C++ Meta-World environment on its own pool (the step API), as the oracle drives it."""

    def __init__(self, env_name: str) -> None:
        from .. import _C

        xml = dict(_C.metaworld_envs()).get(env_name)
        if xml is None:
            raise ValueError(f"{env_name!r} is not simulated in C++; known: {', '.join(cpp_env_names())}")
        self.env_name = env_name
        self.pool = _C.SimPool([(f"metaworld/{env_name}", asset_path(xml))])
        self.pool.resize(1)
        self._obs = np.zeros((1, self.pool.obs_dim))
        self._reward = np.zeros(1)
        self._terminated = np.zeros(1, np.uint8)
        self._nonfinite = np.zeros(1, np.uint8)
        self._infos = np.zeros((1, self.pool.num_infos))
        self.steps = 0

    def set_task(self, record: TaskRecord) -> None:
        self.pool.set_tasks(record.numbers()[None].copy())

    def reset(self) -> np.ndarray:
        self.pool.reset(None, None, self._obs)
        self.steps = 0
        return self._obs[0].copy()

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        """As Meta-World's step: (obs, reward, terminated, truncated, info)."""
        a = np.ascontiguousarray(np.asarray(action, dtype=np.float64).reshape(1, -1))
        self.pool.step(a, self._obs, self._reward, self._terminated, self._nonfinite, self._infos)
        self.steps += 1
        info = {k: float(self._infos[0, i]) for i, k in enumerate(INFO_NAMES)}
        info["nonfinite"] = bool(self._nonfinite[0])
        return self._obs[0].copy(), float(self._reward[0]), bool(self._terminated[0]), self.steps >= EPISODE_LENGTH, info

    def state(self) -> dict:
        return self.pool.env_state(0)


def python_env(env_name: str):
    """Meta-World's own environment `env_name` (with the MuJoCo 4 weld fix)."""
    metaworld = import_metaworld()
    return metaworld.env_dict.ALL_V3_ENVIRONMENTS[env_name]()


def python_state(env) -> dict:
    """The Python environment's state, as CppMetaWorldEnv.state() reports the C++ one."""
    m, d = env.model, env.data
    return {"time": float(d.time), "qpos": d.qpos.copy(), "qvel": d.qvel.copy(),
            "qacc_warmstart": d.qacc_warmstart.copy(), "ctrl": d.ctrl.copy(), "mocap_pos": d.mocap_pos.copy(),
            "mocap_quat": d.mocap_quat.copy(), "body_pos": m.body_pos.copy(), "site_pos": m.site_pos.copy()}


def task_record(env_name: str, index: int = 0, split: int = 0, partially_observable: bool | None = None,
                seed: int = 0) -> TaskRecord:
    """Task `index` of ML1(env_name, seed)'s training (split 0) or test (1) list, with its goal
    hidden or shown as `partially_observable` says (None: as the benchmark has it, hidden)."""
    r = benchmark_tasks("ML1", env_name, seed).split(split)[index]
    if partially_observable is not None and partially_observable != r.partially_observable:
        r = TaskRecord(r.env_name, r.rand_vec, partially_observable)
    return r


@dataclass
class Mismatch:
    step: int  # -1: the reset
    what: str  # "obs", "reward", an info name, "truncated", or a state field
    max_abs: float
    detail: str = ""


@dataclass
class EpisodeReport:
    env_name: str
    task: TaskRecord
    actions: str
    steps: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    successes: tuple[bool, bool] = (False, False)  # (Python, C++): any step succeeded
    returns: tuple[float, float] = (0.0, 0.0)

    @property
    def equal(self) -> bool:
        return not self.mismatches

    @property
    def max_deviation(self) -> float:
        return max((m.max_abs for m in self.mismatches), default=0.0)

    def first(self) -> Mismatch | None:
        return self.mismatches[0] if self.mismatches else None

    def describe(self) -> str:
        if self.equal:
            return f"{self.env_name} ({self.actions}, {self.steps} steps): bit-equal"
        m = self.first()
        fields = sorted({x.what for x in self.mismatches})
        return (f"{self.env_name} ({self.actions}, {self.steps} steps): {len(self.mismatches)} mismatches in "
                f"{fields}; first at step {m.step} in {m.what} (max |Δ| {m.max_abs:.3g}) {m.detail}; largest |Δ| "
                f"{self.max_deviation:.3g}")


def _diff(a, b) -> float | None:
    """None when a and b are equal bit for bit (NaN equal to NaN), else the largest |a − b|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return None
    d = np.abs(a - b)[~same]
    return float(np.nanmax(d)) if np.isfinite(d).any() else float("inf")


STATE_FIELDS = ("qpos", "qvel", "qacc_warmstart", "mocap_pos", "mocap_quat", "body_pos", "site_pos")


def _compare_state(report: EpisodeReport, step: int, py: dict, cpp: dict) -> None:
    for k in STATE_FIELDS:
        d = _diff(py[k], cpp[k])
        if d is not None:
            report.mismatches.append(Mismatch(step, k, d))


class _ScriptedActor:
    """Meta-World's scripted policy of the environment, on the side's own observation."""

    def __init__(self, env_name: str) -> None:
        from metaworld.policies import ENV_POLICY_MAP

        self.policy = ENV_POLICY_MAP[env_name]()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(self.policy.get_action(obs), dtype=np.float64), -1, 1)


class _NetworkActor:
    """A seeded two-layer tanh network (64 units) on the observation, squashed into [−1, 1]."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 1 / np.sqrt(39), (64, 39))
        self.w2 = rng.normal(0, 1.5 / np.sqrt(64), (4, 64))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.tanh(self.w2 @ np.tanh(self.w1 @ obs))


def compare_episode(env_name: str, task: TaskRecord | None = None, actions: str = "random", steps: int = EPISODE_LENGTH,
                    seed: int = 0, py_env=None, cpp_env: CppMetaWorldEnv | None = None, warmup_steps: int = 0,
                    compare_state: bool = True, stop_at_first: bool = False) -> EpisodeReport:
    """Runs one episode of `env_name` on both sides and compares them step by step.

    Args:
        env_name: a Meta-World v3 environment simulated in C++ (``cpp_env_names()``).
        task: the task (default: ML1's first training task; scripted episodes show the goal, as
            Meta-World's scripted policies need it).
        actions: "random" (uniform in [−1, 1]⁴ from `seed`, the same on both sides), "scripted"
            (Meta-World's scripted policy, each side acting on its own observation: the closed
            loop), "network" (a seeded tanh network, each side on its own observation), or
            "mixed" (scripted with probability 0.7, random otherwise, from `seed`).
        steps: steps after the reset (at most 500; 500 checks the truncation).
        py_env, cpp_env: environments to reuse (their previous episode is the history a reset
            starts from); made fresh when None.
        warmup_steps: random steps taken on both sides before the reset (a "dirty" reset).
        compare_state: also compare MuJoCo's state and the moved model fields after the reset and
            every step.
        stop_at_first: return at the first step with a mismatch.
    Returns:
        EpisodeReport: the mismatches (empty when bit-equal), each side's success and return.
    """
    if task is None:
        task = task_record(env_name, 0, partially_observable=False if actions in ("scripted", "mixed") else None)
    if not 1 <= steps <= EPISODE_LENGTH:
        raise ValueError(f"steps must be in [1, {EPISODE_LENGTH}], got {steps}")
    py = py_env if py_env is not None else python_env(env_name)
    cpp = cpp_env if cpp_env is not None else CppMetaWorldEnv(env_name)
    rng = np.random.default_rng(seed)
    report = EpisodeReport(env_name, task, actions)
    py.set_task(metaworld_task(task))
    cpp.set_task(task)
    if warmup_steps:
        py.reset()
        cpp.reset()
        for _ in range(warmup_steps):
            a = rng.uniform(-1, 1, 4)
            py.step(a)
            cpp.step(a)
    obs_py, _ = py.reset()
    obs_cpp = cpp.reset()
    d = _diff(obs_py, obs_cpp)
    if d is not None:
        report.mismatches.append(Mismatch(-1, "obs", d, f"at {np.flatnonzero(np.asarray(obs_py) != obs_cpp)[:8]}"))
    if compare_state:
        _compare_state(report, -1, python_state(py), cpp.state())
    actor_py = actor_cpp = None
    if actions in ("scripted", "mixed"):
        actor_py, actor_cpp = _ScriptedActor(env_name), _ScriptedActor(env_name)
    elif actions == "network":
        actor_py = actor_cpp = _NetworkActor(seed)
    elif actions != "random":
        raise ValueError(f"actions must be 'random', 'scripted', 'network' or 'mixed', got {actions!r}")
    success = [False, False]
    returns = [0.0, 0.0]
    for t in range(steps):
        if actions == "random" or (actions == "mixed" and rng.random() > 0.7):
            a_py = a_cpp = rng.uniform(-1, 1, 4)
        else:
            a_py, a_cpp = actor_py(obs_py), actor_cpp(obs_cpp)
        obs_py, r_py, _, trunc_py, info_py = py.step(a_py)
        obs_cpp, r_cpp, _, trunc_cpp, info_cpp = cpp.step(a_cpp)
        report.steps = t + 1
        before = len(report.mismatches)
        for what, a, b in (("obs", obs_py, obs_cpp), ("reward", r_py, r_cpp)):
            d = _diff(a, b)
            if d is not None:
                detail = f"at {np.flatnonzero(np.asarray(a) != b)[:8]}" if what == "obs" else f"{a!r} vs {b!r}"
                report.mismatches.append(Mismatch(t, what, d, detail))
        for k in INFO_NAMES:
            d = _diff(float(info_py[k]), info_cpp[k])
            if d is not None:
                report.mismatches.append(Mismatch(t, k, d, f"{float(info_py[k])!r} vs {info_cpp[k]!r}"))
        if bool(trunc_py) != trunc_cpp:
            report.mismatches.append(Mismatch(t, "truncated", 1.0, f"{trunc_py} vs {trunc_cpp}"))
        if info_cpp["nonfinite"]:
            report.mismatches.append(Mismatch(t, "nonfinite", float("inf"), "the C++ step was flagged unstable"))
        if compare_state:
            _compare_state(report, t, python_state(py), cpp.state())
        success[0] |= bool(info_py["success"])
        success[1] |= bool(info_cpp["success"])
        returns[0] += float(r_py)
        returns[1] += r_cpp
        if stop_at_first and len(report.mismatches) > before:
            break
    report.successes = (success[0], success[1])
    report.returns = (returns[0], returns[1])
    return report


def compare_resets(env_name: str, indices=(0, 1, 2), seed: int = 0) -> list[EpisodeReport]:
    """Resets both sides for several training tasks in turn, each after a few random steps of the
    previous task (the history Meta-World's double reset_model sees), comparing each reset and the
    first steps after it."""
    py, cpp = python_env(env_name), CppMetaWorldEnv(env_name)
    return [compare_episode(env_name, task_record(env_name, i), "random", steps=5, seed=seed + i, py_env=py,
                            cpp_env=cpp, warmup_steps=3) for i in indices]

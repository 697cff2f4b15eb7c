"""Task families: task sampling and batched rollouts with the policy evaluated inside C++.

``make(name, **options)`` returns a TaskFamily. Rewards, termination, observations, reset noise,
frame skips and task distributions follow the papers' code (ProMP's maml_zoo envs; see
../shared/notes/papers-promp-sgmrl.md A.6). Models are gymnasium's MJCF assets, loaded from the
installed gymnasium package.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .. import _C
from ..policies import PolicySpec
from .batch import Batch
from .tasks import TaskBatch


def _directions_1d(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=(n, 1))


def _velocities(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0.0, 3.0, size=(n, 1))


def _directions_2d(rng: np.random.Generator, n: int) -> np.ndarray:
    d = rng.normal(size=(n, 2))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def _goals_disk3(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0.0, 2 * math.pi, size=n)
    radius = 3.0 * np.sqrt(rng.uniform(0.0, 1.0, size=n))  # uniform on the disk of radius 3
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)


def _goals_square(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(-0.5, 0.5, size=(n, 2))  # SG-MRL's 2D navigation: the unit square


CORNERS = np.array([[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]])


def _corners(rng: np.random.Generator, n: int) -> np.ndarray:
    return CORNERS[rng.integers(0, 4, size=n)]


def _arc_goals(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0.0, math.pi / 2, size=n)  # GMPS: uniform on the radius-2 arc, 0 to 90 degrees
    return 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def gmps_arc_goals(num: int = 40) -> np.ndarray:
    """The fixed training goals of GMPS's public code: num goals at angles linspace(0, π/2, num)
    on the radius-2 arc ([num, 2]); use as ``family.tasks(gmps_arc_goals())``."""
    theta = np.linspace(0.0, math.pi / 2, num)
    return 2.0 * np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def rand_params_fields(sizes: dict) -> tuple[str, ...]:
    """Names of the RandParams multipliers: body_mass (nbody), body_inertia (3·nbody), dof_damping
    (nv), geom_friction (3·ngeom), in the order of the C++ layout."""
    nb, nv, ng = sizes["nbody"], sizes["nv"], sizes["ngeom"]
    return (tuple(f"body_mass[{i}]" for i in range(nb)) + tuple(f"body_inertia[{i},{k}]" for i in range(nb)
            for k in range(3)) + tuple(f"dof_damping[{i}]" for i in range(nv))
            + tuple(f"geom_friction[{i},{k}]" for i in range(ng) for k in range(3)))


def rand_params_sampler(sizes: dict, log_scale_limit: float = 3.0):
    """rand_param_envs' RandomEnv: every element independently, 1.5^U(−3, 3) for masses, inertias
    and frictions, 1.3^U(−3, 3) for damping."""
    nb, nv, ng = sizes["nbody"], sizes["nv"], sizes["ngeom"]
    base = np.concatenate([np.full(4 * nb, 1.5), np.full(nv, 1.3), np.full(3 * ng, 1.5)])

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        return base ** rng.uniform(-log_scale_limit, log_scale_limit, size=(n, base.size))

    return sample


@dataclass(frozen=True)
class FamilyDef:
    """What Python knows of a family: its task fields, task distribution and documentation."""

    fields: tuple[str, ...]
    sampler: Callable[[np.random.Generator, int], np.ndarray]
    horizon: int  # the papers' max_path_length (digest A.7)
    doc: str


_DEFS = {
    "HalfCheetahRandDirec": FamilyDef(("direction",), _directions_1d, 100,
                                      "half-cheetah running forward (+1) or backward (−1): d·v_x − 0.05‖a‖² (= FwdBack)"),
    "HalfCheetahRandVel": FamilyDef(("velocity",), _velocities, 100,
                                    "half-cheetah at a target velocity v* ~ U(0, 3): −|v_x − v*| − 0.05‖a‖²"),
    "AntRandDirec": FamilyDef(("direction",), _directions_1d, 200,
                              "ant forward/backward along x: d·v_x − 0.5‖a‖² − contact + 1; ends when z ∉ [0, 1]"),
    "AntRandDirec2D": FamilyDef(("dx", "dy"), _directions_2d, 200,
                                "ant along a random unit direction u: u·v_xy − 0.5‖a‖² − contact + 1"),
    "AntRandGoal": FamilyDef(("goal_x", "goal_y"), _goals_disk3, 200,
                             "ant to a goal uniform on the disk of radius 3: −‖xy − g‖₁ − 0.1‖a‖² − contact"),
    "Walker2DRandDirec": FamilyDef(("direction",), _directions_1d, 200,
                                   "walker forward/backward: d·v_x + 1 − 1e-3‖a‖²; frame_skip 8"),
    "HumanoidRandDirec": FamilyDef(("direction",), _directions_1d, 200,
                                   "humanoid forward/backward: 0.25·d·Δx_com/timestep − 0.1‖ctrl‖² − impact + 5"),
    "HumanoidRandDirec2D": FamilyDef(("dx", "dy"), _directions_2d, 200,
                                     "humanoid along a random unit direction (as HumanoidRandDirec, projected)"),
    "HopperRandParams": FamilyDef((), None, 200,
                                  "hopper with randomised masses, inertias, damping, frictions: v_x + 1 − 1e-3‖a‖²"),
    "Walker2DRandParams": FamilyDef((), None, 200,
                                    "walker with randomised masses, inertias, damping, frictions: v_x + 1 − 1e-3‖a‖²"),
    "Point2DNav": FamilyDef(("goal_x", "goal_y"), _goals_square, 100,
                            "SG-MRL's 2D navigation: from the origin to a goal in [−0.5, 0.5]², −‖p − g‖"),
    "MetaPointEnvCorner": FamilyDef(("goal_x", "goal_y"), _corners, 100,
                                    "ProMP's point to one of 4 corners (±2, ±2): sparse progress reward"),
    "MetaPointEnvMomentum": FamilyDef(("goal_x", "goal_y"), _corners, 200,
                                      "ProMP's point with momentum to a corner: max(2 − ‖p − g‖, 0)"),
    "AntGoalArc": FamilyDef(("goal_x", "goal_y"), _arc_goals, 200,
                            "GMPS: low-gear ant to a goal on the radius-2 arc (0–90°): −‖com − g‖₁ + 4 − costs"),
    "AntGoalArcSparse": FamilyDef(("goal_x", "goal_y"), _arc_goals, 200,
                                  "GMPS's sparse variant: the goal term is −‖g‖₁ + 4 until within 0.8 of the goal"),
}
FAMILY_NAMES = tuple(_DEFS)


def gymnasium_asset(filename: str) -> str:
    """Path of one of gymnasium's MuJoCo MJCF assets."""
    import importlib.util

    spec = importlib.util.find_spec("gymnasium")
    if spec is None or spec.origin is None:
        raise ImportError("gymnasium is required for the MuJoCo task families (pip install gymnasium)")
    path = os.path.join(os.path.dirname(spec.origin), "envs", "mujoco", "assets", filename)
    if not os.path.exists(path):
        raise FileNotFoundError(f"gymnasium asset {filename} not found at {path}")
    return path


@contextlib.contextmanager
def torch_single_thread():
    """torch at one thread while C++ samples: its OpenMP workers would otherwise spin on our cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class FamilyBase:
    """What every task family offers whatever simulates it: task sampling and the action scales.
    Needs name, definition (a FamilyDef), ctrl_range [act_dim, 2] and action_scale."""

    # ---- tasks
    def sample_tasks(self, n: int, seed: int | None = None) -> TaskBatch:
        """n tasks from the family's distribution (numpy Generator seeded by `seed`)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{self.name}.sample_tasks: n must be a positive int, got {n!r}")
        rng = np.random.default_rng(seed)
        return TaskBatch(self.name, self.definition.fields, self.definition.sampler(rng, n))

    def tasks(self, params) -> TaskBatch:
        """A TaskBatch from explicit task parameters [n, task_dim] (e.g. ``[[1.0], [-1.0]]``)."""
        return TaskBatch(self.name, self.definition.fields, np.asarray(params, dtype=np.float64))

    def _check_tasks(self, fn: str, tasks) -> TaskBatch:
        if not isinstance(tasks, TaskBatch):
            raise TypeError(f"{fn}: tasks must be a TaskBatch (from sample_tasks or tasks()), got {type(tasks).__name__}")
        if tasks.family != self.name or tasks.fields != self.definition.fields:
            raise ValueError(f"{fn}: tasks are of family {tasks.family} with fields {tasks.fields}, expected "
                             f"{self.name} with fields {self.definition.fields}")
        return tasks

    def native_actions(self, actions: torch.Tensor) -> np.ndarray:
        """Policy-scale actions [..., act_dim] → the controls the simulator applied (rescaled from
        [−action_scale, action_scale] to the control range and clipped), float64."""
        a = np.asarray(actions, dtype=np.float64)
        lo, hi = self.ctrl_range[:, 0], self.ctrl_range[:, 1]
        s = self.action_scale
        return np.clip(lo + (a + s) * (hi - lo) / (2 * s), lo, hi)

    def policy_actions(self, native) -> torch.Tensor:
        """The inverse of native_actions: controls in the control range [..., act_dim] → the policy
        scale [−action_scale, action_scale] (float64; how experts' actions are recorded)."""
        a = torch.as_tensor(np.asarray(native, dtype=np.float64))
        lo, hi = (torch.as_tensor(self.ctrl_range[:, k]) for k in (0, 1))
        s = self.action_scale
        return (a - lo) * (2 * s) / (hi - lo) - s


class TaskFamily(FamilyBase):
    """One task family over a pool of MuJoCo environments (see ``make``).

    Attributes: name, obs_dim, act_dim, task_dim, info_names, frame_skip, dt (seconds per env step),
    action_scale (the policy acts in [−action_scale, action_scale]; actions are rescaled to the
    model's control range and clipped, as the papers' ``normalize`` wrapper does).
    """

    def __init__(self, name: str, action_scale: float = 10.0, xml: str | None = None) -> None:
        if name not in _DEFS:
            raise ValueError(f"unknown task family {name!r}; valid names: {', '.join(FAMILY_NAMES)}")
        if isinstance(action_scale, bool) or not isinstance(action_scale, (int, float)) or not (
                0 < action_scale < math.inf):
            raise ValueError(f"{name}: action_scale must be a positive number, got {action_scale!r}")
        self.name = name
        self.definition = _DEFS[name]
        info = _C.task_family_info(name)
        self.frame_skip = info["frame_skip"]
        self.info_names = tuple(info["infos"])
        if xml is not None and not os.path.isfile(xml):
            raise FileNotFoundError(f"{name}: xml={xml!r} is not a file")
        if info["xml"]:
            self.xml_path = xml if xml is not None else gymnasium_asset(info["xml"])
        else:
            self.xml_path = ""  # the point families have no MuJoCo model
        self.action_scale = float(action_scale)
        self._sim = _C.SimPool(name, self.xml_path)
        self.obs_dim = self._sim.obs_dim
        self.act_dim = self._sim.act_dim
        self.task_dim = self._sim.task_dim
        self.dt = self._sim.dt
        self.default_horizon = self.definition.horizon
        self.ctrl_range = np.array(self._sim.ctrl_range)  # [act_dim, 2] native control bounds
        if self.definition.sampler is None:  # RandParams: fields and distribution from the model
            sizes = self._sim.model_sizes
            self.definition = FamilyDef(rand_params_fields(sizes),
                                        rand_params_sampler(sizes), self.definition.horizon, self.definition.doc)

    def __repr__(self) -> str:
        return (f"TaskFamily({self.name}: obs_dim={self.obs_dim}, act_dim={self.act_dim}, task fields "
                f"{self.definition.fields}; {self.definition.doc})")

    # ---- sampling
    def rollout(self, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, trajs_per_task: int, horizon: int,
                seed: int, deterministic: bool = False) -> Batch:
        """Runs B = trajs_per_task trajectories of `horizon` steps on each of the T tasks.

        Args:
            spec: the Gaussian MLP policy (obs_dim and act_dim must match the family).
            params: [P] (one policy for all tasks) or [T, P] (one per task), float32 or float64.
            tasks: a TaskBatch of this family, len T.
            trajs_per_task: B ≥ 1.
            horizon: H ≥ 0 steps (trajectories that terminate earlier are masked).
            seed: the batch is a function of (seed, params, tasks, B, H) only, whatever the thread
                count; environment i = t·B + b draws from its own stream.
            deterministic: act with the policy mean instead of sampling.
        Returns:
            Batch with tensors [T, B, H, ...] in params' dtype.
        """
        fn = f"{self.name}.rollout"
        tasks = self._check_tasks(fn, tasks)
        if not isinstance(spec, PolicySpec):
            raise TypeError(f"{fn}: spec must be a PolicySpec, got {type(spec).__name__}")
        if spec.obs_dim != self.obs_dim or spec.act_dim != self.act_dim:
            raise ValueError(f"{fn}: spec has obs_dim={spec.obs_dim}, act_dim={spec.act_dim} but the family needs "
                             f"obs_dim={self.obs_dim}, act_dim={self.act_dim}")
        T, P = len(tasks), spec.num_params
        if not isinstance(params, torch.Tensor) or params.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{fn}: params must be a float32/float64 torch.Tensor of shape [P] or [T, P]")
        if params.device.type != "cpu":
            raise ValueError(f"{fn}: params must be on the CPU (the policy runs inside the C++ sampler)")
        if tuple(params.shape) not in ((P,), (T, P)):
            raise ValueError(f"{fn}: params must have shape [P] = [{P}] or [T, P] = [{T}, {P}], "
                             f"got {list(params.shape)}")
        if not bool(torch.isfinite(params).all()):
            raise ValueError(f"{fn}: params contain NaN or infinite values")
        for name, value, low in (("trajs_per_task", trajs_per_task, 1), ("horizon", horizon, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{fn}: {name} must be an int >= {low}, got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{fn}: seed must be a non-negative int, got {seed!r}")
        theta = params.detach().contiguous()
        with torch_single_thread():
            out = self._sim.rollout(spec=spec.native, params=theta.numpy(), tasks=tasks.params, trajs=trajs_per_task,
                                    horizon=horizon, seed=int(seed), deterministic=bool(deterministic),
                                    action_scale=self.action_scale, keep_means=False)
        t = {k: torch.from_numpy(v) for k, v in out.items() if v is not None}
        return Batch(obs=t["obs"], actions=t["actions"], rewards=t["rewards"], mask=t["mask"], log_prob=t["log_prob"],
                     infos={k: t["infos"][..., i] for i, k in enumerate(self.info_names)}, returns=t["returns"],
                     lengths=t["lengths"], nonfinite=t["nonfinite"].bool(), tasks=tasks)

    # ---- gymnasium interoperability
    def gym_env(self, task=None, max_episode_steps: int | None = None):
        """A gymnasium.Env over one environment of this family (native control-range actions).

        task: a TaskBatch of length 1, task parameters [task_dim], or None (sampled at each reset
        from the family's distribution with the reset seed)."""
        from .gym_adapters import FamilyEnv

        return FamilyEnv(self, task, max_episode_steps)

    def vector_env(self, num_envs: int, tasks: TaskBatch | None = None, max_episode_steps: int | None = None):
        """A gymnasium VectorEnv of num_envs environments stepped together in C++ (autoreset mode
        NEXT_STEP); ``set_tasks(tasks)`` assigns one task per environment."""
        from .gym_adapters import FamilyVectorEnv

        return FamilyVectorEnv(self, num_envs, tasks, max_episode_steps)

    def physics_limit(self, batch: Batch, seed: int) -> None:
        """Replays a rollout's physics alone (same initial states and controls, no policy,
        observations or rewards) on the same threads: the benchmark's physics limit."""
        T, B, H = batch.shape
        controls = np.ascontiguousarray(self.native_actions(batch.actions).reshape(T * B, H, self.act_dim))
        lengths = np.ascontiguousarray(batch.lengths.numpy().reshape(-1))
        self._sim.raw_physics(T * B, H, int(seed), controls, lengths)

    def new_pool(self):
        """A fresh C++ environment pool of this family (the adapters' backend)."""
        return _C.SimPool(self.name, self.xml_path)


def _python_family(name: str):
    if name == "PendulumGravity":
        from .gym_family import pendulum_gravity

        return pendulum_gravity()
    from .metaworld_family import metaworld_family

    return metaworld_family(name)


# Families on the Python sampler path (gymnasium environments stepped from Python; gym_family.py).
PYTHON_FAMILY_NAMES = ("PendulumGravity", "MetaWorldPush", "MetaWorldDoorOpen")
ALL_FAMILY_NAMES = FAMILY_NAMES + PYTHON_FAMILY_NAMES


def make(name: str, **options):
    """The task family `name`: one of FAMILY_NAMES (C++; options: action_scale, default 10, the
    papers' normalize wrapper; xml, a replacement MJCF path) or of PYTHON_FAMILY_NAMES (a
    GymTaskFamily; no options)."""
    if name in PYTHON_FAMILY_NAMES:
        if options:
            raise ValueError(f"make({name!r}): takes no options, got {sorted(options)}")
        return _python_family(name)
    if name not in _DEFS:
        raise ValueError(f"unknown task family {name!r}; valid names: {', '.join(ALL_FAMILY_NAMES)}")
    unknown = set(options) - {"action_scale", "xml"}
    if unknown:
        raise ValueError(f"make({name!r}): unknown options {sorted(unknown)}; valid: action_scale, xml")
    return TaskFamily(name, **options)

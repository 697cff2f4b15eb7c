"""The task families simulated in C++: a pool of MuJoCo environments (or the point families' own
dynamics) with the Gaussian MLP policy evaluated inside the worker threads (csrc/sim).

Rewards, termination, observations, reset noise, frame skips follow the papers' code
(csrc/sim/families, docs/envs.md); models are gymnasium's MJCF assets, loaded from the installed
gymnasium package. Made by ``metarl_fast.envs.make(name)``.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import torch

from .. import _C
from .._deprecation import renamed_kwargs
from ..policies import PolicySpec
from ..runtime import torch_single_thread
from .base import FamilyDef, TaskFamily
from .batch import Batch
from .distributions import rand_params_fields, rand_params_sampler
from .tasks import TaskBatch

if TYPE_CHECKING:
    from .gym_adapters import FamilyEnv, FamilyVectorEnv


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


class CppTaskFamily(TaskFamily):
    """One task family over a pool of C++ environments (see TaskFamily for the attributes; also
    frame_skip and dt, the seconds per environment step).

    Args:
        name: a C++ family (csrc/sim/families/registry.cc).
        definition: its FamilyDef (task fields and distribution; for RandParams families the fields
            and distribution are derived from the model and `definition.sampler` is None).
        action_scale: the policy's action range [−s, s] (default 10, the papers' normalize wrapper).
        xml: a replacement MJCF file (default: gymnasium's asset the family names).
    """

    native_sampler = "cpp"

    def __init__(self, name: str, definition: FamilyDef, action_scale: float = 10.0, xml: str | None = None) -> None:
        self.name = name
        self.definition = definition
        self._init_args = (name, definition, action_scale, xml)
        self.action_scale = self.check_action_scale(name, action_scale)
        info = _C.task_family_info(name)
        self.frame_skip = info["frame_skip"]
        self.info_names = tuple(info["infos"])
        if xml is not None and not os.path.isfile(xml):
            raise FileNotFoundError(f"{name}: xml={xml!r} is not a file")
        if info["xml"]:
            self.xml_path = xml if xml is not None else gymnasium_asset(info["xml"])
        else:
            self.xml_path = ""  # the point families have no MuJoCo model
        self._sim = _C.SimPool(name, self.xml_path)
        self.obs_dim = self._sim.obs_dim
        self.act_dim = self._sim.act_dim
        self.task_dim = self._sim.task_dim
        self.dt = self._sim.dt
        self.default_horizon = definition.horizon
        self.ctrl_range = np.array(self._sim.ctrl_range)  # [act_dim, 2] native control bounds
        if info["rand_params"]:  # fields and distribution from the model
            sizes = self._sim.model_sizes
            self.definition = FamilyDef(rand_params_fields(sizes), rand_params_sampler(sizes), definition.horizon,
                                        definition.doc)

    def __reduce__(self) -> tuple:
        """Pickled as its constructor's arguments (the pool is rebuilt where it is unpickled: how Ray
        ships a family to its actors)."""
        return (CppTaskFamily, self._init_args)

    def __repr__(self) -> str:
        return (f"CppTaskFamily({self.name}: obs_dim={self.obs_dim}, act_dim={self.act_dim}, task fields "
                f"{self.definition.fields}; {self.definition.doc})")

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def rollout(self, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, rollouts_per_task: int, horizon: int,
                seed: int, deterministic: bool = False, streams: np.ndarray | None = None) -> Batch:
        """See TaskFamily.rollout. The batch is bit-identical whatever the thread count, and carries
        the policy means the sampler acted with (Batch.means)."""
        fn = f"{self.name}.rollout"
        tasks = self.check_rollout(fn, spec, params, tasks, rollouts_per_task, horizon, seed)
        if streams is not None:
            streams = self.check_streams(fn, streams, len(tasks), rollouts_per_task)
        theta = params.detach().contiguous()
        task_rows, members = self.pool_tasks(fn, tasks)
        with torch_single_thread():
            out = self._sim.rollout(spec=spec.native, params=theta.numpy(), tasks=task_rows, trajs=rollouts_per_task,
                                    horizon=horizon, seed=int(seed), deterministic=bool(deterministic),
                                    action_scale=self.action_scale, keep_means=True, streams=streams,
                                    members=members)
        t = {k: torch.from_numpy(v) for k, v in out.items()}
        return Batch(obs=t["obs"], actions=t["actions"], rewards=t["rewards"], mask=t["mask"], log_prob=t["log_prob"],
                     infos={k: t["infos"][..., i] for i, k in enumerate(self.info_names)}, returns=t["returns"],
                     lengths=t["lengths"], nonfinite=t["nonfinite"].bool(), tasks=tasks, means=t["means"])

    def pool_tasks(self, fn: str, tasks: TaskBatch) -> tuple[np.ndarray, np.ndarray | None]:
        """The pool's task rows [T, pool task_dim] float64 and the member each task runs on ([T]
        int32, or None: the pool's one member) for checked tasks of this family: the task
        parameters themselves here; a family whose pool has several members (Meta-World) maps them."""
        return tasks.params, None

    def gym_env(self, task: TaskBatch | np.ndarray | None = None, max_episode_steps: int | None = None) -> FamilyEnv:
        """See TaskFamily.gym_env: one environment on its own C++ pool."""
        from .gym_adapters import FamilyEnv

        return FamilyEnv(self, task, max_episode_steps)

    def vector_env(self, num_envs: int, tasks: TaskBatch | None = None,
                   max_episode_steps: int | None = None) -> FamilyVectorEnv:
        """See TaskFamily.vector_env: num_envs environments stepped together on the C++ pool."""
        from .gym_adapters import FamilyVectorEnv

        return FamilyVectorEnv(self, num_envs, tasks, max_episode_steps)

    def physics_limit(self, batch: Batch, seed: int) -> None:
        """Replays a rollout's physics alone (same initial states and controls, no policy,
        observations or rewards) on the same threads: the benchmark's physics limit."""
        T, B, H = batch.shape
        controls = np.ascontiguousarray(self.native_actions(batch.actions).reshape(T * B, H, self.act_dim))
        lengths = np.ascontiguousarray(batch.lengths.numpy().reshape(-1))
        self._sim.raw_physics(T * B, H, int(seed), controls, lengths)

    def new_pool(self) -> _C.SimPool:
        """A fresh C++ environment pool of this family (the adapters' backend)."""
        return _C.SimPool(self.name, self.xml_path)

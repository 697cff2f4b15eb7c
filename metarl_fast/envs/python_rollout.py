"""Rollouts stepped from Python: a loop over a gymnasium VectorEnv of a family's environments with
any actor (a torch policy, an expert, a DAgger mixture), one step at a time — how existing PyTorch
meta-RL libraries sample, and the only path for simulators the C++ pool does not run (gymnasium
and Meta-World families). The result has the Batch layout of the C++ rollouts."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from .. import kernels
from .._deprecation import renamed_kwargs
from ..kernels._validation import Backend
from ..policies import PolicySpec, gaussian_log_prob
from .batch import Batch
from .tasks import TaskBatch

if TYPE_CHECKING:
    from .base import TaskFamily

# actor(obs [T, B, obs_dim], generator) → (act [T, B, act_dim] in the policy scale, log-probs [T, B])
Actor = Callable[[torch.Tensor, torch.Generator], "tuple[torch.Tensor, torch.Tensor]"]


def sync_vector_env(family: TaskFamily, num_envs: int) -> Any:
    """A gymnasium SyncVectorEnv of num_envs ``family.gym_env()`` environments without a time limit
    (the rollout loop runs its own horizon)."""
    import gymnasium

    return gymnasium.vector.SyncVectorEnv([lambda: family.gym_env(max_episode_steps=0) for _ in range(num_envs)])


def gaussian_noise(seed: int, streams: np.ndarray, rollouts_per_task: int, horizon: int, act_dim: int,
                   dtype: torch.dtype) -> torch.Tensor:
    """Standard normal noise [T, B, H, act_dim] for the Gaussian policy of a Python rollout, one
    stream per trajectory: trajectory b of task t draws from numpy's default generator seeded by
    (seed, streams[t] + b), so any piece of a batch reproduces that piece of the whole batch."""
    T, B = len(streams), rollouts_per_task
    noise = np.empty((T, B, horizon, act_dim))
    for t in range(T):
        for b in range(B):
            noise[t, b] = np.random.default_rng([int(seed), int(streams[t]) + b]).standard_normal((horizon, act_dim))
    return torch.from_numpy(noise).to(dtype)


@renamed_kwargs(trajs_per_task="rollouts_per_task")
@torch.no_grad()
def rollout_gymnasium(family: TaskFamily, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch,
                      rollouts_per_task: int, horizon: int, seed: int, deterministic: bool = False, venv: Any = None,
                      streams: np.ndarray | None = None, policy_backend: Backend = "auto") -> Batch:
    """The Gaussian MLP policy on a vector env of T·B environments: the arguments and
    result of ``family.rollout`` (different random streams from the C++ pool's, not the same
    numbers). The policy noise and each environment's reset seed follow the trajectory's stream
    (``streams``, see TaskFamily.rollout), never its position in `venv`. `venv` may be a reusable
    vector env (``sync_vector_env(family, T·B)``, created when None, or ``family.vector_env(T·B)``).
    policy_backend: the policy mean's kernel ("auto": compiled, each row independent of the batch
    shape, so pieces of a batch equal the whole; "torch": the torch reference). ``trajs_per_task=``
    is the deprecated name of rollouts_per_task."""
    T = len(tasks)
    noise_streams = family.check_streams("rollout_gymnasium", streams, T, rollouts_per_task)
    theta = params if params.dim() == 2 else params.expand(T, -1)
    log_std = spec.unflatten(theta)["log_std"].unsqueeze(1)  # [T, 1, act_dim]
    noise = None if deterministic else gaussian_noise(seed, noise_streams, rollouts_per_task, horizon, family.act_dim,
                                                      params.dtype)
    step = [0]

    def gaussian_policy(obs, gen):
        mean = kernels.policy_mean(spec, theta, obs, backend=policy_backend)  # [T, B, act_dim]
        act = mean if noise is None else mean + torch.exp(log_std) * noise[:, :, step[0]]
        step[0] += 1
        return act, gaussian_log_prob(mean, log_std, act)

    return rollout_actor(family, gaussian_policy, tasks, rollouts_per_task, horizon, seed, params.dtype, venv, streams)


@renamed_kwargs(trajs_per_task="rollouts_per_task")
@torch.no_grad()
def rollout_actor(family: TaskFamily, actor: Actor, tasks: TaskBatch, rollouts_per_task: int, horizon: int,
                  seed: int, dtype: torch.dtype = torch.float64, venv: Any = None,
                  streams: np.ndarray | None = None) -> Batch:
    """B = rollouts_per_task trajectories of `horizon` steps per task, acting with any callable
    ``actor(obs [T, B, obs_dim], generator) → (act [T, B, act_dim] in the policy scale,
    log-probs [T, B])`` on a gymnasium vector env of the family (created when `venv` is None or of
    another size; a given one must not truncate episodes: ``max_episode_steps=0``). Trajectory b of
    task t resets its environment with seed + streams[t] + b (streams: see TaskFamily.rollout;
    None: t·B); the actor's generator is seeded by `seed`, one for the whole batch. Returns a Batch
    as ``family.rollout`` does (without policy means). ``trajs_per_task=`` is the deprecated name of
    rollouts_per_task."""
    T, B, H = len(tasks), rollouts_per_task, horizon
    n = T * B
    if venv is None or venv.num_envs != n:
        venv = sync_vector_env(family, n)
    per_env = tasks.repeat(B)
    if hasattr(venv, "set_tasks"):
        venv.set_tasks(per_env)
    else:  # a SyncVectorEnv of the family's gym_env()s (FamilyEnv or TaskEnv, maybe wrapped)
        for i, env in enumerate(venv.envs):
            env.get_wrapper_attr("set_task")(per_env[i])
    gen = torch.Generator().manual_seed(int(seed))
    if streams is None:  # a vector env seeds its environment i with seed + i = seed + t·B + b
        obs_np, _ = venv.reset(seed=int(seed))
    else:
        streams = family.check_streams("rollout_actor", streams, T, B)
        obs_np, _ = venv.reset(seed=[int(seed) + int(streams[t]) + b for t in range(T) for b in range(B)])
    out = dict(obs=torch.zeros(T, B, H, family.obs_dim, dtype=dtype),
               actions=torch.zeros(T, B, H, family.act_dim, dtype=dtype),
               rewards=torch.zeros(T, B, H, dtype=dtype), mask=torch.zeros(T, B, H, dtype=dtype),
               log_prob=torch.zeros(T, B, H, dtype=dtype))
    infos = {k: torch.zeros(T, B, H, dtype=dtype) for k in family.info_names}
    alive = np.ones(n, bool)
    lengths = torch.zeros(T, B, dtype=torch.int32)
    nonfinite = torch.zeros(T, B, dtype=torch.bool)
    for h in range(H):
        if not alive.any():
            break
        obs = torch.as_tensor(obs_np, dtype=dtype).reshape(T, B, -1)
        act, logp = actor(obs, gen)
        act = act.to(dtype)
        obs_next, rew, term, _, info = venv.step(family.native_actions(act.reshape(n, -1).numpy()))
        live = torch.as_tensor(alive).reshape(T, B)
        bad = torch.as_tensor(np.asarray(info.get("nonfinite", np.zeros(n)), bool)).reshape(T, B) & live
        keep = (live & ~bad).to(dtype)
        out["obs"][:, :, h] = obs * keep.unsqueeze(-1)
        out["actions"][:, :, h] = act * keep.unsqueeze(-1)
        out["rewards"][:, :, h] = torch.as_tensor(rew, dtype=dtype).reshape(T, B) * keep
        out["mask"][:, :, h] = keep
        out["log_prob"][:, :, h] = torch.as_tensor(logp, dtype=dtype) * keep
        for k in family.info_names:
            infos[k][:, :, h] = torch.as_tensor(np.asarray(info[k]), dtype=dtype).reshape(T, B) * keep
        lengths += keep.to(torch.int32)
        nonfinite |= bad
        alive &= ~(np.asarray(term, bool) | bad.reshape(-1).numpy())
        obs_np = obs_next
    returns = out["rewards"].to(torch.float64).sum(-1)
    return Batch(**out, infos=infos, returns=returns, lengths=lengths, nonfinite=nonfinite, tasks=tasks)

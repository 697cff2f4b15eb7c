"""The reference sampler: a Python loop over a gymnasium VectorEnv of a family's environments with
a torch policy, one step at a time — how existing PyTorch meta-RL libraries sample. By default the
vector env is a gymnasium SyncVectorEnv of ``family.gym_env()`` instances (each environment stepped
from Python in turn); ``family.vector_env(n)`` (stepped together on the C++ pool) also works. The
result has the same Batch layout as `family.rollout` (different random streams, not the same
numbers)."""
from __future__ import annotations

import numpy as np
import torch

from ..envs import Batch, TaskBatch
from ..policies import PolicySpec, gaussian_log_prob
from ..reference import policy_mean


def sync_vector_env(family, num_envs: int):
    """A gymnasium SyncVectorEnv of num_envs ``family.gym_env()`` environments."""
    import gymnasium

    return gymnasium.vector.SyncVectorEnv([family.gym_env for _ in range(num_envs)])


@torch.no_grad()
def rollout_gymnasium(family, spec: PolicySpec, params: torch.Tensor, tasks: TaskBatch, trajs_per_task: int,
                      horizon: int, seed: int, deterministic: bool = False, venv=None) -> Batch:
    """Same arguments and result as ``family.rollout``; `venv` may be a reusable vector env of
    T·B environments (``sync_vector_env(family, T·B)``, created when None, or
    ``family.vector_env(T·B)``)."""
    T, B, H = len(tasks), trajs_per_task, horizon
    n = T * B
    if venv is None or venv.num_envs != n:
        venv = sync_vector_env(family, n)
    per_env = tasks.repeat(B)
    if hasattr(venv, "set_tasks"):
        venv.set_tasks(per_env)
    else:
        for i, env in enumerate(venv.envs):
            env.unwrapped.set_task(per_env[i])
    dtype = params.dtype
    theta = params if params.dim() == 2 else params.expand(T, -1)
    log_std = spec.unflatten(theta)["log_std"]  # [T, act_dim]
    gen = torch.Generator().manual_seed(int(seed))
    obs_np, _ = venv.reset(seed=int(seed))
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
        mean = policy_mean(spec, theta, obs)  # [T, B, act_dim]
        std = torch.exp(log_std).unsqueeze(1)
        act = mean if deterministic else mean + std * torch.randn(mean.shape, generator=gen, dtype=dtype)
        logp = gaussian_log_prob(mean, log_std.unsqueeze(1), act)
        obs_next, rew, term, _, info = venv.step(family.native_actions(act.reshape(n, -1).numpy()))
        live = torch.as_tensor(alive).reshape(T, B)
        bad = torch.as_tensor(np.asarray(info["nonfinite"], bool)).reshape(T, B) & live
        keep = (live & ~bad).to(dtype)
        out["obs"][:, :, h] = obs * keep.unsqueeze(-1)
        out["actions"][:, :, h] = act * keep.unsqueeze(-1)
        out["rewards"][:, :, h] = torch.as_tensor(rew, dtype=dtype).reshape(T, B) * keep
        out["mask"][:, :, h] = keep
        out["log_prob"][:, :, h] = logp * keep
        for k in family.info_names:
            infos[k][:, :, h] = torch.as_tensor(np.asarray(info[k]), dtype=dtype).reshape(T, B) * keep
        lengths += keep.to(torch.int32)
        nonfinite |= bad
        alive &= ~(np.asarray(term, bool) | bad.reshape(-1).numpy())
        obs_np = obs_next
    returns = out["rewards"].to(torch.float64).sum(-1)
    return Batch(**out, infos=infos, returns=returns, lengths=lengths, nonfinite=nonfinite, tasks=tasks)

"""Soft Actor-Critic (Haarnoja et al. 2018, the "v2" with a learned temperature) for GMPS's experts.

Twin Q networks with Polyak-averaged targets, a tanh-squashed Gaussian actor, the temperature α
learned towards the target entropy −act_dim, a uniform replay buffer; any gymnasium VectorEnv with
Box spaces (autoreset NEXT_STEP: the step that resets an environment is not stored). With
``context`` [num_envs, c] the expert sees [obs, context] — GMPS's contextual expert, whose task
parameters the meta-policy never sees.

Sample counts (``Sac.env_steps``) are environment steps; GMPS adds them to its own.
"""
from __future__ import annotations

import copy
import csv
import math
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..files import load_torch, save_torch


@dataclass
class SacConfig:
    """SAC's hyperparameters (Haarnoja et al.'s defaults unless noted)."""

    total_steps: int = 200_000       # environment steps (over all parallel environments)
    hidden: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005               # Polyak factor of the target Q networks
    reward_scale: float = 1.0        # GMPS sweeps 10, 50, 100 for its experts
    start_steps: int = 2_000         # uniform random actions before the actor acts
    update_after: int = 1_000        # environment steps before the first update
    updates_per_step: float = 1.0    # gradient steps per environment step
    init_temperature: float = 1.0
    buffer_size: int = 1_000_000
    seed: int = 0

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        for name in ("total_steps", "batch_size", "buffer_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"SacConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("lr", "reward_scale", "init_temperature", "updates_per_step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SacConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if not (0 <= self.gamma <= 1 and 0 < self.tau <= 1):
            raise ValueError("SacConfig: gamma must be in [0, 1] and tau in (0, 1]")


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SquashedGaussianActor(nn.Module):
    """a = tanh(u), u ~ N(μ(s), σ(s)²); log π(a|s) with the tanh change of variables."""

    LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = _mlp([obs_dim, *hidden, 2 * act_dim])
        self.act_dim = act_dim

    def forward(self, obs: torch.Tensor, deterministic: bool = False, with_log_prob: bool = True):
        """obs [n, obs_dim] → (actions [n, act_dim] in (−1, 1), log π [n] or None)."""
        mean, log_std = self.net(obs).split(self.act_dim, -1)
        log_std = log_std.clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)
        u = mean if deterministic else mean + torch.exp(log_std) * torch.randn_like(mean)
        if not with_log_prob:
            return torch.tanh(u), None
        z = (u - mean) * torch.exp(-log_std)
        logp = (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        logp = logp - (2 * (math.log(2.0) - u - nn.functional.softplus(-2 * u))).sum(-1)  # log(1 − tanh²u)
        return torch.tanh(u), logp


class TwinQ(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.q1 = _mlp([obs_dim + act_dim, *hidden, 1])
        self.q2 = _mlp([obs_dim + act_dim, *hidden, 1])

    def forward(self, obs: torch.Tensor, act: torch.Tensor):
        x = torch.cat([obs, act], -1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


class ReplayBuffer:
    """A ring buffer of (s, a, r, s', terminal) in float32."""

    def __init__(self, obs_dim: int, act_dim: int, size: int) -> None:
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.act = np.zeros((size, act_dim), np.float32)
        self.rew = np.zeros(size, np.float32)
        self.done = np.zeros(size, np.float32)
        self.size, self.ptr, self.full = size, 0, False

    def __len__(self) -> int:
        return self.size if self.full else self.ptr

    def add(self, obs, act, rew, next_obs, done) -> None:
        """Appends n transitions (arrays with a leading n), overwriting the oldest when full."""
        n = len(rew)
        idx = (self.ptr + np.arange(n)) % self.size
        for buf, x in ((self.obs, obs), (self.act, act), (self.rew, rew), (self.next_obs, next_obs), (self.done, done)):
            buf[idx] = x
        self.full = self.full or self.ptr + n >= self.size
        self.ptr = int((self.ptr + n) % self.size)

    def sample(self, n: int, rng: np.random.Generator):
        idx = rng.integers(0, len(self), n)
        return tuple(torch.as_tensor(x[idx]) for x in (self.obs, self.act, self.rew, self.next_obs, self.done))


class Sac:
    """A SAC agent over observations of size obs_dim (context included) and actions in [−1, 1]^act_dim."""

    def __init__(self, obs_dim: int, act_dim: int, config: SacConfig | None = None) -> None:
        self.config = config = config or SacConfig()
        torch.manual_seed(config.seed)
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.actor = SquashedGaussianActor(obs_dim, act_dim, config.hidden)
        self.q = TwinQ(obs_dim, act_dim, config.hidden)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.log_temperature = torch.tensor(math.log(config.init_temperature), requires_grad=True)
        self.target_entropy = -float(act_dim)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=config.lr)
        self.q_opt = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.temperature_opt = torch.optim.Adam([self.log_temperature], lr=config.lr)
        self.env_steps = 0
        self.updates = 0

    @torch.no_grad()
    def act(self, obs, deterministic: bool = False) -> np.ndarray:
        """obs [n, obs_dim] → actions [n, act_dim] in (−1, 1)."""
        a, _ = self.actor(torch.as_tensor(np.asarray(obs), dtype=torch.float32), deterministic, with_log_prob=False)
        return a.numpy()

    def update(self, batch) -> dict:
        """One gradient step of the critics, the actor and the temperature on a replay batch."""
        c = self.config
        obs, act, rew, next_obs, done = batch
        temperature = self.log_temperature.exp().detach()
        with torch.no_grad():
            next_act, next_logp = self.actor(next_obs)
            q1_t, q2_t = self.q_target(next_obs, next_act)
            target = c.reward_scale * rew + c.gamma * (1 - done) * (torch.min(q1_t, q2_t) - temperature * next_logp)
        q1, q2 = self.q(obs, act)
        q_loss = ((q1 - target) ** 2).mean() + ((q2 - target) ** 2).mean()
        self.q_opt.zero_grad()
        q_loss.backward()
        self.q_opt.step()
        new_act, logp = self.actor(obs)
        q1_pi, q2_pi = self.q(obs, new_act)
        actor_loss = (temperature * logp - torch.min(q1_pi, q2_pi)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        temperature_loss = -(self.log_temperature * (logp.detach() + self.target_entropy)).mean()
        self.temperature_opt.zero_grad()
        temperature_loss.backward()
        self.temperature_opt.step()
        with torch.no_grad():
            for p, p_t in zip(self.q.parameters(), self.q_target.parameters()):
                p_t.mul_(1 - c.tau).add_(c.tau * p)
        self.updates += 1
        return {"q_loss": float(q_loss.detach()), "actor_loss": float(actor_loss.detach()), "temperature": float(temperature),
                "entropy": float(-logp.detach().mean())}

    def train(self, venv, context: np.ndarray | None = None, log_path: str | None = None,
              progress: bool | None = None) -> list[dict]:
        """Runs config.total_steps environment steps on `venv` (num_envs in parallel), updating as it
        goes. context [num_envs, c] is appended to each environment's observation. Returns one log
        row per finished-episode report (steps, mean return of the episodes ended since the last
        row, losses, SPS); written to log_path as CSV when given."""
        from tqdm import tqdm

        c = self.config
        n = venv.num_envs
        low, high = venv.single_action_space.low, venv.single_action_space.high
        ctx = None if context is None else np.asarray(context, np.float32).reshape(n, -1)
        if ctx is not None and ctx.shape[1] + venv.single_observation_space.shape[0] != self.obs_dim:
            raise ValueError(f"Sac.train: obs_dim {self.obs_dim} != observation size + context size")

        def full(o):
            o = np.asarray(o, np.float32)
            return o if ctx is None else np.concatenate([o, ctx], -1)

        buffer = ReplayBuffer(self.obs_dim, self.act_dim, min(c.buffer_size, c.total_steps))
        rng = np.random.default_rng(c.seed)
        obs, _ = venv.reset(seed=c.seed)
        obs = full(obs)
        resetting = np.zeros(n, bool)
        ep_ret, finished, rows = np.zeros(n), [], []
        stats: dict = {}
        debt = 0.0
        t0 = time.perf_counter()
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=c.total_steps, disable=not show, desc="SAC", unit="step")
        writer, log_file = None, None
        if log_path:
            log_file = open(log_path, "w", newline="")
        try:
            while self.env_steps < c.total_steps:
                if self.env_steps < c.start_steps:
                    a = rng.uniform(-1, 1, (n, self.act_dim)).astype(np.float32)
                else:
                    a = self.act(obs)
                next_obs, rew, term, trunc, _ = venv.step(low + (a + 1) * 0.5 * (high - low))
                next_obs = full(next_obs)
                keep = ~resetting
                buffer.add(obs[keep], a[keep], np.asarray(rew)[keep], next_obs[keep], np.asarray(term, np.float32)[keep])
                ep_ret += np.where(keep, rew, 0.0)
                ended = (np.asarray(term) | np.asarray(trunc)) & keep
                finished.extend(ep_ret[ended].tolist())
                ep_ret[ended] = 0.0
                resetting = ended
                obs = next_obs
                taken = int(keep.sum())
                self.env_steps += taken
                bar.update(taken)
                if self.env_steps >= c.update_after:
                    debt += taken * c.updates_per_step
                    while debt >= 1:
                        stats = self.update(buffer.sample(c.batch_size, rng))
                        debt -= 1
                if len(finished) >= n:
                    row = {"env_steps": self.env_steps, "episode_return": float(np.mean(finished)),
                           "episodes": len(finished), **stats, "SPS": self.env_steps / (time.perf_counter() - t0)}
                    rows.append(row)
                    finished = []
                    bar.set_postfix(ret=f"{row['episode_return']:.2f}")
                    if log_file:
                        if writer is None:
                            writer = csv.DictWriter(log_file, list(row), extrasaction="ignore")
                            writer.writeheader()
                        writer.writerow(row)
                        log_file.flush()
        finally:
            bar.close()
            if log_file:
                log_file.close()
        return rows

    def state_dict(self) -> dict:
        return {"config": asdict(self.config), "obs_dim": self.obs_dim, "act_dim": self.act_dim,
                "actor": self.actor.state_dict(), "q": self.q.state_dict(), "q_target": self.q_target.state_dict(),
                "log_temperature": self.log_temperature.detach().clone(), "env_steps": self.env_steps,
                "updates": self.updates}

    @classmethod
    def from_state_dict(cls, state: dict) -> "Sac":
        agent = cls(state["obs_dim"], state["act_dim"], SacConfig(**state["config"]))
        agent.actor.load_state_dict(state["actor"])
        agent.q.load_state_dict(state["q"])
        agent.q_target.load_state_dict(state["q_target"])
        with torch.no_grad():
            agent.log_temperature.copy_(state["log_temperature"])
        agent.env_steps, agent.updates = int(state["env_steps"]), int(state["updates"])
        return agent


def _to_policy_scale(family, unit_actions) -> torch.Tensor:
    """SAC's actions in [−1, 1] → the family's control range → its policy scale."""
    lo, hi = family.ctrl_range[:, 0], family.ctrl_range[:, 1]
    return family.policy_actions(lo + (np.asarray(unit_actions) + 1) * 0.5 * (hi - lo))


def _load_checked(path: str, family) -> dict:
    state = load_torch(path, "SAC expert")
    if state["family"] != family.name:
        raise ValueError(f"{path}: an expert of {state['family']}, not {family.name}")
    return state


class SacExpert:
    """A trained contextual SAC agent as a GMPS expert of a task family: act(obs, task) → the
    deterministic (mean) action in the family's policy scale. env_steps: SAC's sample count."""

    source = "sac"

    def __init__(self, agent: Sac, family) -> None:
        if agent.obs_dim != family.obs_dim + family.task_dim or agent.act_dim != family.act_dim:
            raise ValueError(f"SacExpert: the agent's sizes ({agent.obs_dim}, {agent.act_dim}) do not fit "
                             f"{family.name} with its task context")
        self.agent, self.family = agent, family

    @property
    def env_steps(self) -> int:
        return self.agent.env_steps

    def act(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs.to(torch.float32), task.to(torch.float32)], -1)
        lead = x.shape[:-1]
        a = self.agent.act(x.reshape(-1, x.shape[-1]), deterministic=True).reshape(*lead, -1)
        return _to_policy_scale(self.family, a).to(obs.dtype)

    def save(self, path: str) -> str:
        return save_torch({"family": self.family.name, "agent": self.agent.state_dict()}, path)

    @classmethod
    def load(cls, path: str, family) -> "SacExpert":
        return cls(Sac.from_state_dict(_load_checked(path, family)["agent"]), family)


def train_contextual_sac(family, tasks, horizon: int, config: SacConfig, log_dir: str | None = None,
                         progress: bool | None = None) -> SacExpert:
    """GMPS's phase-1 option (b): one SAC expert on all `tasks` at once, one environment per task
    (episodes of `horizon` steps), the task parameters appended to its observation."""
    venv = family.vector_env(len(tasks), tasks, max_episode_steps=horizon)
    agent = Sac(family.obs_dim + family.task_dim, family.act_dim, config)
    agent.train(venv, context=tasks.params, log_path=os.path.join(log_dir, "sac_progress.csv") if log_dir else None,
                progress=progress)
    return SacExpert(agent, family)


class PerTaskSacExpert:
    """GMPS's phase-1 option (a): one SAC agent per task (no context). act(obs, task) routes each row
    to the agent of its task (rows must be one of the training tasks). env_steps: the sum."""

    source = "sac-per-task"

    def __init__(self, agents: list[Sac], tasks, family) -> None:
        if len(agents) != len(tasks):
            raise ValueError(f"PerTaskSacExpert: {len(agents)} agents for {len(tasks)} tasks")
        self.agents, self.family = agents, family
        self.task_params = torch.tensor(np.array(tasks.params))

    @property
    def env_steps(self) -> int:
        return sum(a.env_steps for a in self.agents)

    def act(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        lead = obs.shape[:-1]
        o = obs.reshape(-1, obs.shape[-1]).to(torch.float32)
        t = task.reshape(-1, task.shape[-1]).to(torch.float64)
        match = (t.unsqueeze(1) == self.task_params.unsqueeze(0)).all(-1)  # [n, num_tasks]
        if not bool(match.any(-1).all()):
            raise ValueError("PerTaskSacExpert.act: a task that is not one of the experts' training tasks")
        which = match.float().argmax(-1)
        a = np.zeros((o.shape[0], self.family.act_dim), np.float32)
        for k in which.unique().tolist():
            rows = (which == k).numpy()
            a[rows] = self.agents[k].act(o[rows], deterministic=True)
        return _to_policy_scale(self.family, a.reshape(*lead, -1)).to(obs.dtype)

    def save(self, path: str) -> str:
        return save_torch({"family": self.family.name, "tasks": self.task_params,
                           "agents": [a.state_dict() for a in self.agents]}, path)

    @classmethod
    def load(cls, path: str, family) -> "PerTaskSacExpert":
        state = _load_checked(path, family)
        return cls([Sac.from_state_dict(a) for a in state["agents"]], family.tasks(state["tasks"].numpy()), family)


def train_per_task_sac(family, tasks, horizon: int, config: SacConfig, envs_per_task: int = 1,
                       progress: bool | None = None) -> PerTaskSacExpert:
    """One SAC agent per task, each with config.total_steps environment steps of its own."""
    agents = []
    for i in range(len(tasks)):
        venv = family.vector_env(envs_per_task, tasks[[i] * envs_per_task], max_episode_steps=horizon)
        agent = Sac(family.obs_dim, family.act_dim, SacConfig(**{**asdict(config), "seed": config.seed + i}))
        agent.train(venv, progress=progress)
        agents.append(agent)
    return PerTaskSacExpert(agents, tasks, family)

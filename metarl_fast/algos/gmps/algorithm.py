"""GMPS: guided meta-policy search (Mendonca et al. 2019) as a MetaAlgorithm.

Phase 1 (phase1.py, once per run): expert demonstrations D* for a fixed set of meta-training tasks.

Phase 2 (``run_iteration``, Algorithm 2): per meta-iteration, fresh rollouts of π_θ on a minibatch
of the training tasks (θ_init = θ), then N_BC Adam steps, each recomputing the importance-weighted
inner step φ_i = θ + α ⊙ ∇J_in,i(θ) on that same batch and ascending −L_BC(φ_i, D_i*) through it
(MetaObjective: one HVP per task per step; α per parameter and learned, zero outside the adapted
blocks). With ``dagger`` the states visited by the mixture β_j π* + (1 − β_j) π_φ are relabelled
by the expert and aggregated into D* (Algorithm 1, lines 6–10; App. A).

Meta-test (``adapt``): plain policy-gradient steps from π_θ with the learned step sizes, rewards
only. The logged post-update return is measured that way on the training minibatch with fresh
rollouts (not counted as training samples: column EvalSteps).
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from ...envs import rollout_actor
from ...policies import gaussian_log_prob
from ...reference import policy_mean
from ..base import IterationLog, MetaAlgorithm, MetaParameters
from ..meta_objective import MetaObjective
from ..processing import process_batch
from .config import GmpsSettings
from .objectives import BehaviourCloning, ImportanceWeightedPG
from .phase1 import obtain_expert_and_demos
from .policy import GmpsPolicy


class Gmps(MetaAlgorithm):
    """θ [P_gmps] (the policy with the bias transformation), learned step sizes masked to the adapted
    blocks, Adam; the expert and the demonstrations (phase 1, made on the first iteration)."""

    settings = GmpsSettings

    def __init__(self, ctx) -> None:
        s = ctx.section
        self.s, self.spec, self.dtype = s, ctx.spec, ctx.dtype
        self.backend = ctx.kernel_backend
        self.reparam = GmpsPolicy(ctx.spec, s.bias_dim)
        self.mask = self.reparam.adapt_mask(s.adapt, ctx.dtype)
        g = torch.Generator().manual_seed(ctx.seed(0xC0FFEE))
        theta = self.reparam.init_params(ctx.config.init_std, g, ctx.dtype)
        self.params = MetaParameters(theta, s.inner_lr, s.trainable_inner_step_size, s.outer_lr)
        self.expert = None
        self.demos = None
        self._demos_at_checkpoint: tuple[int, int, int] | None = None  # (N, H, env steps) of a resumed run

    def meta_parameters(self) -> torch.Tensor:
        return self.params.current()

    def policy_params(self, params: torch.Tensor) -> torch.Tensor:
        """The bias transformation folded into the first bias (ψ(θ))."""
        return self.reparam.to_std(params)

    def _rows(self, params: torch.Tensor, T: int) -> torch.Tensor:
        return params if params.dim() == 2 else params.expand(T, -1)

    def inner_objective(self, data, ratio: str | None = None):
        """The importance-weighted policy-gradient surrogate on the pre-update data (through ψ)."""
        s = self.s
        return self.reparam.wrap(ImportanceWeightedPG(self.spec, data, ratio or s.ratio, s.ratio_clip))

    def step_sizes(self) -> torch.Tensor:
        """α ⊙ mask [P_gmps]: zero outside the adapted blocks."""
        return self.params.alpha * self.mask

    def meta_gradient(self, meta: MetaObjective, theta: torch.Tensor):
        with_alpha = self.params.trainable
        if self.backend == "auto":
            grads = meta.gradient(theta, with_alpha=with_alpha)
        else:
            grads = meta.reference_gradient(theta, with_alpha=with_alpha)
        return (grads[0], grads[1] * self.mask) if with_alpha else grads

    # ---- phase 2
    def run_iteration(self, ctx) -> IterationLog:
        s, c = self.s, ctx.config
        expert_time = 0.0
        if self.demos is None:
            t = time.perf_counter()
            self.expert, self.demos = obtain_expert_and_demos(ctx)
            if self._demos_at_checkpoint is not None:  # drop aggregations saved after the checkpoint
                self.demos = self.demos.prefix(*self._demos_at_checkpoint)
            expert_time = time.perf_counter() - t
            if ctx.iteration == 0:
                ctx.timesteps += self.demos.env_steps
        t0 = time.perf_counter()
        demos = self.demos
        n = demos.num_tasks
        rng = np.random.default_rng(ctx.iteration_seed(0x3B))
        idx = np.arange(n) if c.meta_batch_size >= n else np.sort(rng.choice(n, c.meta_batch_size, replace=False))
        tasks = demos.tasks[idx]
        theta_init = self.params.current()
        pre = ctx.sample(self.policy_params(theta_init), tasks, 0)
        data = process_batch(pre, self.spec, self.policy_params(self._rows(theta_init, len(idx))), c.discount,
                             c.gae_lambda, c.normalize_adv)
        t1 = time.perf_counter()
        inner = self.inner_objective(data)
        gen = torch.Generator().manual_seed(ctx.iteration_seed(0xBC))
        bc_first = bc_last = grad_norm = 0.0
        for step in range(s.bc_steps):
            expert_data = demos.sample(idx, s.demo_batch, gen, self.dtype)
            outer = self.reparam.wrap(BehaviourCloning(self.spec, expert_data, s.bc_loss))
            meta = MetaObjective(self.spec, [inner], outer, self.step_sizes(), backend=self.backend)
            theta = self.params.current()
            grads = self.meta_gradient(meta, theta)
            if step == 0 or step == s.bc_steps - 1:
                with torch.no_grad():
                    loss = -float(outer.value(meta.adapt(theta)[-1]).mean())
                bc_first = loss if step == 0 else bc_first
                bc_last = loss
            grad_norm = float(self.params.ascend(grads).norm())
        t2 = time.perf_counter()
        mask = self.mask
        stats = {"BCLossBefore": bc_first, "BCLossAfter": bc_last, "GradNorm": grad_norm,
                 "MeanInnerStepSize": float((self.params.alpha * mask).sum() / mask.sum().clamp_min(1.0)),
                 "DemoReturn": demos.mean_return(), "NumDemos": demos.num_demos, "Time-Experts": expert_time}
        if s.dagger:
            stats.update(self.dagger_step(ctx))
        t3 = time.perf_counter()
        returns = [pre.mean_return(), float("nan")]
        success = [pre.success_rate(), float("nan")]
        eval_steps = 0
        if s.eval_every and ctx.iteration % s.eval_every == 0:
            theta = self.params.current()
            fresh = ctx.sample(self.policy_params(theta), tasks, 1, count=False)
            post = ctx.sample(self.policy_params(self.adapt(ctx, fresh, theta)), tasks, 2, count=False)
            returns = [fresh.mean_return(), post.mean_return()]
            success = [fresh.success_rate(), post.success_rate()]
            eval_steps = fresh.num_steps + post.num_steps
        t4 = time.perf_counter()
        stats["EvalSteps"] = eval_steps
        return IterationLog(returns, stats, {"sampling": (t1 - t0) + (t4 - t3), "inner": 0.0,
                                             "outer": t2 - t1 + t3 - t2}, pre.num_steps + eval_steps, success)

    def dagger_step(self, ctx) -> dict:
        """Algorithm 1, lines 6–10: on every training task, adapt π_θ by one policy-gradient step on
        fresh rollouts, roll out the mixture β_j π* + (1 − β_j) π_φ (per step: the expert's action
        with probability β_j), relabel the visited states with π*(s), and aggregate them into D*."""
        s, family, spec = self.s, ctx.family, self.spec
        if self.expert is None:
            raise ValueError("gmps.dagger needs an expert policy to relabel states (gmps.expert scripted or sac), "
                             "not demonstrations from a file")
        expert, demos = self.expert, self.demos
        tasks = demos.tasks
        theta = self.params.current()
        pre = ctx.sample(self.policy_params(theta), tasks, 3)
        phi = self.policy_params(self.adapt(ctx, pre, theta))
        beta = s.dagger_beta * s.dagger_decay ** ctx.iteration
        log_std = spec.unflatten(phi)["log_std"].unsqueeze(1)
        task_rows = torch.tensor(np.array(tasks.params))
        relabelled: list[torch.Tensor] = []

        def mixture(obs, gen):
            o = obs.to(phi.dtype)
            expert_act = expert.act(o, task_rows.unsqueeze(1).expand(*o.shape[:2], -1).to(o.dtype)).to(o.dtype)
            relabelled.append(expert_act)
            mean = policy_mean(spec, phi, o)
            own = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=gen, dtype=o.dtype)
            use_expert = (torch.rand(o.shape[:2], generator=gen, dtype=o.dtype) < beta).unsqueeze(-1)
            act = torch.where(use_expert, expert_act, own)
            return act, gaussian_log_prob(mean, log_std, act)

        batch = rollout_actor(family, mixture, tasks, s.dagger_trajs, ctx.horizon, ctx.iteration_seed(0xDA),
                              self.dtype, venv=family.vector_env(len(tasks) * s.dagger_trajs, max_episode_steps=0))
        labels = torch.stack(relabelled, 2)  # [T, B, steps, act]
        actions = torch.zeros_like(batch.actions)
        actions[:, :, :labels.shape[2]] = labels * batch.mask[:, :, :labels.shape[2]].unsqueeze(-1)
        demos.append(batch.obs, actions, batch.mask, batch.returns, pre.num_steps + batch.num_steps)
        ctx.timesteps += batch.num_steps
        if ctx.out_dir:
            demos.save(os.path.join(ctx.out_dir, "demos.npz"))
        return {"DaggerBeta": beta, "DaggerReturn": batch.mean_return()}

    # ---- meta-test
    def adapt(self, ctx, batch, params):
        """φ = θ + α ⊙ ∇J_PG(θ) on `batch` sampled by π_params (rewards only, the training
        advantages; the stop-gradient per-step ratio, which is 1 at the sampling policy) → [T, P_gmps]."""
        c = ctx.config
        rows = self._rows(params, len(batch.tasks))
        data = process_batch(batch, self.spec, self.policy_params(rows), c.discount, c.gae_lambda, c.normalize_adv)
        return rows + self.step_sizes() * self.inner_objective(data, "step").grad(rows)

    # ---- checkpoints
    def state_dict(self) -> dict:
        """The parameters, and the size of the demonstration set (DAgger grows it and saves it to
        demos.npz before the checkpoint is written; resume takes the set back to this size)."""
        state = self.params.state_dict()
        if self.demos is not None:
            state["demos_size"] = [self.demos.num_demos, self.demos.mask.shape[2], self.demos.env_steps]
        return state

    def load_state_dict(self, state: dict) -> None:
        self.params.load_state_dict(state)
        size = state.get("demos_size")
        self._demos_at_checkpoint = tuple(int(x) for x in size) if size is not None else None

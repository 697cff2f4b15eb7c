"""BO-MRL's practical algorithm (App. D) as a MetaAlgorithm: per iteration one batch from π_φ per
task, the lower level solved per task (the one-time adaptation), a fresh post-adaptation batch,
the Eq. 8 hypergradient per task by CG, and a TRPO meta-step on their mean (Fisher of the mean KL
at φ on the pre-update states, step √(2δ/gᵀF⁻¹g), backtracking until KL ≤ δ). Meta-test: each
adaptation step solves the lower level on the fresh batch (the paper's k one-time adaptations)."""
from __future__ import annotations

import time

import torch

from ... import kernels
from ..base import IterationLog, MetaAlgorithm
from .config import BomrlSettings
from .lower_level import hypergradient, lower_levels, post_update_gradients, q_estimates


class BoMrl(MetaAlgorithm):
    """φ [P] (Glorot init from the run's seed), updated by TRPO on the hypergradient."""

    settings = BomrlSettings
    torch_threads = None  # its torch work (the lower level's solves) is 1.2× faster on every core

    def __init__(self, ctx) -> None:
        self.spec, self.s, self.discount = ctx.spec, ctx.section, ctx.config.discount
        g = torch.Generator().manual_seed(ctx.seed(0xC0FFEE))
        self.phi = ctx.spec.init_params(ctx.config.init_std, seed=g, dtype=ctx.dtype)

    def meta_parameters(self) -> torch.Tensor:
        return self.phi.clone()

    def _solve_lower_levels(self, batch, params: torch.Tensor) -> torch.Tensor:
        """Each task's lower level on its batch from π_params ([T, P] or [P]) → θ' [T, P]."""
        s = self.s
        q = q_estimates(batch, self.discount, s.q)
        lowers = lower_levels(self.spec, batch, q, s.lam, s.distance)
        rows = params.expand(len(lowers), -1) if params.dim() == 1 else params
        return torch.stack([lo.solve(rows[i], s.lower_iters, s.lower_lr) for i, lo in enumerate(lowers)]), lowers

    def run_iteration(self, ctx) -> IterationLog:
        s, spec = self.s, self.spec
        t0 = time.perf_counter()
        tasks = ctx.sample_tasks(ctx.config.meta_batch_size)
        phi = self.phi.clone()
        pre = ctx.sample(phi, tasks, 0)
        t1 = time.perf_counter()
        theta_post, lowers = self._solve_lower_levels(pre, phi)
        t2 = time.perf_counter()
        post = ctx.sample(theta_post, tasks, 1)
        q_post = q_estimates(post, self.discount, s.q)
        t3 = time.perf_counter()
        g_post = post_update_gradients(spec, theta_post, post, q_post, self.discount)
        hyper = torch.stack([hypergradient(lo, phi, theta_post[i], g_post[i], s.cg_iters, s.cg_damping)
                             for i, lo in enumerate(lowers)]).mean(0)
        # TRPO meta-step (δ = max_kl; the paper: 1e-3) on the pre-update states
        T = len(tasks)
        obs = pre.obs.reshape(T, -1, spec.obs_dim)
        weights = pre.mask.reshape(T, -1) / pre.mask.reshape(T, -1).sum(-1, keepdim=True)
        # damped Fisher (cg_damping): directions the KL hardly constrains would otherwise dominate F⁻¹g
        fisher = kernels.KlFvpOperator(spec, phi, obs, s.cg_damping, weights, task_mean=True)
        x = kernels.conjugate_gradient(fisher, hyper, s.cg_iters)
        old_mean = kernels.policy_mean(spec, phi, obs)
        old_ls = spec.unflatten(phi)["log_std"]

        def kl(p):
            return float(kernels.gaussian_kl(spec, p, obs, old_mean, old_ls, weights).mean())

        def linear_loss(p):  # the first-order model of −J: the true meta-objective has no cheap evaluation
            return -float(hyper @ (p - phi))

        step = kernels.trpo_step(phi, -x, linear_loss, kl, s.max_kl, dHd=float(x @ fisher(x)))
        self.phi = step.params.detach().clone()
        t4 = time.perf_counter()
        sampling = (t1 - t0) + (t3 - t2)
        return IterationLog([pre.mean_return(), post.mean_return()],
                            {"MeanKL": step.kl, "TRPO-Accepted": int(step.accepted), "GradNorm": float(hyper.norm())},
                            {"sampling": sampling, "inner": t2 - t1, "outer": t4 - t3},
                            pre.num_steps + post.num_steps, [pre.success_rate(), post.success_rate()])

    def adapt(self, ctx, batch, params):
        """One one-time adaptation: each task's lower level solved on its fresh batch."""
        return self._solve_lower_levels(batch, params)[0]

    def state_dict(self) -> dict:
        return {"theta": self.phi.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.phi = state["theta"].detach().clone()

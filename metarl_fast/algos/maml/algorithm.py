"""The MAML family as one MetaAlgorithm parametrised by a Variant (variants.py): per iteration,
sample → advantages → inner steps, sampling again after each → the meta-objective
(meta_objective.MetaObjective) → the variant's outer step (outer.py)."""
from __future__ import annotations

import time

import torch

from ... import kernels
from ...phases import phase
from ..base import IterationLog, MetaAlgorithm, MetaParameters
from ..meta_objective import Adaptation, MetaObjective
from ..processing import StepData, process_batch
from .config import MamlSettings
from .variants import Variant


class MamlAlgorithm(MetaAlgorithm):
    """θ [P] (Glorot init from the run's seed), optional learned step sizes, Adam, ProMP's KL
    coefficient; ``variant`` picks the surrogates and the outer step."""

    settings = MamlSettings
    devices = ("cpu", "cuda")

    def __init__(self, ctx, variant: Variant) -> None:
        c, s = ctx.config, ctx.section
        self.variant = variant
        self.spec = ctx.spec
        self.settings_of_run = s
        self.backend = ctx.kernel_backend
        g = torch.Generator().manual_seed(ctx.seed(0xC0FFEE))
        theta = ctx.spec.init_params(c.init_std, seed=g, dtype=ctx.dtype).to(ctx.device)
        self.params = MetaParameters(theta, s.inner_lr, s.trainable_inner_step_size, s.outer_lr)
        self.kl_coeff = s.kl_coeff
        self.outer_step = variant.optimizer()

    def meta_parameters(self) -> torch.Tensor:
        return self.params.current()

    # ---- one iteration
    def collect(self, ctx) -> tuple[MetaObjective, torch.Tensor, list[float], dict, list[StepData], int]:
        """Samples the iteration's pre- and post-update batches and builds the meta-objective.

        Returns (meta, θ [P], the average return after each inner step, times, the StepData of
        every step, the environment steps sampled)."""
        c, s, v = ctx.config, self.settings_of_run, self.variant
        times = {"sampling": 0.0, "inner": 0.0}
        tasks = ctx.sample_tasks(c.meta_batch_size)
        theta = self.params.current()
        alpha = self.params.alpha
        inner, returns, steps = [], [], []
        self.step_success: list[float] = []  # the success rate after each inner step (Meta-World)
        thetas = [theta.expand(len(tasks), -1).contiguous()]  # materialised once: every kernel reads it
        grads: list[torch.Tensor] = []
        sampled = 0
        credit = None
        for k in range(s.inner_steps + 1):
            t0 = time.perf_counter()
            last = k == s.inner_steps
            batch = ctx.sample(theta if k == 0 else thetas[k], tasks, k)
            surrogate = v.outer if last else v.inner
            with phase("advantages"):
                data = process_batch(batch, self.spec, thetas[k], c.discount, c.gae_lambda, c.normalize_adv,
                                     dice_baseline=surrogate.needs_dice_baseline, advantages=c.advantages,
                                     reduction=c.reduction)
            t1 = time.perf_counter()
            times["sampling"] += t1 - t0
            sampled += batch.num_steps
            returns.append(batch.mean_return())
            self.step_success.append(batch.success_rate())
            steps.append(data)
            if last:
                credit = kernels.emaml_credit(batch.rewards, batch.mask) if v.emaml else None
                break
            with phase("inner step"):
                objective = v.inner.build(self.spec, data, s)
                inner.append(objective)
                grads.append(objective.grad(thetas[k], self.backend))
                thetas.append(thetas[k] + alpha * grads[k])
            times["inner"] += time.perf_counter() - t1
        outer = v.outer.build(self.spec, steps[-1], s)
        kl_coeffs = [self.kl_coeff / s.inner_steps] * s.inner_steps if v.optimizer.kl_penalty else []
        meta = MetaObjective(self.spec, inner, outer, alpha, kl_coeffs, credit,
                             sgmrl_credit=self._sgmrl_credit(steps[-1]) if v.sgmrl else None,
                             jacobian=s.sgmrl_jacobian, first_order=s.first_order, backend=self.backend,
                             adapted=Adaptation(theta, alpha, thetas, grads))
        return meta, theta, returns, times, steps, sampled

    def _sgmrl_credit(self, post: StepData) -> torch.Tensor:
        """J̃_i (the post-update batch's mean discounted return), minus the leave-one-out mean over
        the other tasks when configured (a baseline independent of task i's inner data)."""
        j = post.mean_return
        T = j.shape[0]
        if self.settings_of_run.sgmrl_baseline == "leave_one_out" and T > 1:
            j = j - (j.sum() - j) / (T - 1)
        return j

    def meta_gradient(self, meta: MetaObjective, theta: torch.Tensor):
        """∇θ J, or (∇θ J, ∂J/∂α) with trainable step sizes: explicit, or by autograd through the
        unrolled update (meta_gradient="autograd")."""
        with_alpha = self.params.trainable
        if self.backend != "torch":  # the explicit meta-gradient from the kernels (CPU or CUDA)
            return meta.gradient(theta, with_alpha=with_alpha)
        return meta.reference_gradient(theta, with_alpha=with_alpha)

    def run_iteration(self, ctx) -> IterationLog:
        # The compiled kernels called on one (parameters, observations) pair, e.g. the five of a
        # ProMP meta-gradient on (θ, pre-update data), share its forward pass (same results).
        with kernels.shared_forward():
            meta, theta, returns, times, _, sampled = self.collect(ctx)
            t0 = time.perf_counter()
            with phase("outer step"):
                stats = self.outer_step.step(self, meta, theta)
            times["outer"] = time.perf_counter() - t0
        return IterationLog(returns, stats, times, sampled, self.step_success)

    # ---- meta-test
    def adapt(self, ctx, batch, params):
        """The variant's inner step (its inner surrogate, the learned or fixed α)."""
        c = ctx.config
        surrogate = self.variant.inner
        data = process_batch(batch, self.spec, params, c.discount, c.gae_lambda, c.normalize_adv,
                             dice_baseline=surrogate.needs_dice_baseline, advantages=c.advantages,
                             reduction=c.reduction)
        step = surrogate.build(self.spec, data, self.settings_of_run).grad(params)
        return params + self.params.alpha * step

    # ---- checkpoints
    def state_dict(self) -> dict:
        return {**self.params.state_dict(), "kl_coeff": self.kl_coeff}

    def load_state_dict(self, state: dict) -> None:
        self.params.load_state_dict(state)
        self.kl_coeff = float(state["kl_coeff"])

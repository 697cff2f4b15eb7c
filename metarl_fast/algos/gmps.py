"""GMPS: guided meta-policy search (Mendonca et al. 2019; digest papers-gmps-bomrl.md part A).

Phase 1 (once per run, ``obtain_demos``): expert demonstrations for a fixed set of meta-training
tasks — from the scripted experts, from a contextual SAC expert trained here (the task parameters
visible to the expert only), or from a demonstration file (experts/demos.py). Their environment
steps are added to the run's sample count.

Phase 2 (``run_iteration``, Algorithm 2): per meta-iteration, fresh rollouts of π_θ on a minibatch of
the training tasks (θ_init = θ), then N_BC Adam steps, each recomputing the importance-weighted
inner step φ_i = θ + α ⊙ ∇J_in,i(θ) on that same batch and ascending −L_BC(φ_i, D_i*) through it
(meta_gradient.MetaObjective: one HVP per task per step; α per parameter and learned, zero outside
the adapted blocks). With ``gmps_dagger`` the states visited by the mixture β_j π* + (1 − β_j) π_φ
are relabelled by the expert and aggregated into D* (Algorithm 1, lines 6–10; Appendix A).

Meta-test (``adapt``): plain policy-gradient steps from π_θ with the learned step sizes, rewards
only. The logged post-update return is measured that way on the training minibatch with fresh
rollouts (not counted as training samples: column EvalSteps).
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from ..experts import DemoSet, collect_demos, scripted_expert
from ..experts.training import load_expert, train_expert
from .gmps_objectives import BehaviourCloning, BiasTransform, ImportanceWeightedPG, ReparamObjective
from .meta_gradient import MetaObjective
from .processing import process_batch

ADAPT_KEYWORDS = ("all", "bias_transform")
SAC_EXPERTS = ("sac", "sac-per-task")  # contextual SAC (the paper's experiments) or one SAC per task


class GmpsPolicy:
    """GMPS's parameter vector over a standard PolicySpec: the spec's blocks, plus W_bt and bt when
    the bias transformation is on (dim > 0). ``to_std`` gives what the kernels and samplers evaluate;
    ``adapt_mask(names)`` is 1 on the adapted blocks."""

    def __init__(self, spec, bias_dim: int) -> None:
        self.spec = spec
        self.reparam = BiasTransform(spec, bias_dim) if bias_dim else None

    @property
    def num_params(self) -> int:
        return self.reparam.num_params if self.reparam else self.spec.num_params

    def block_slices(self) -> dict[str, slice]:
        if self.reparam:
            return self.reparam.block_slices()
        return {b.name: slice(b.offset, b.offset + b.size) for b in self.spec.layout}

    def init_params(self, init_std, generator, dtype) -> torch.Tensor:
        if self.reparam:
            return self.reparam.init_params(init_std, generator, dtype)
        return self.spec.init_params(init_std, generator, dtype)

    def to_std(self, params: torch.Tensor) -> torch.Tensor:
        return (self.reparam.to_std(params) if self.reparam else params).contiguous()

    def wrap(self, objective):
        return ReparamObjective(objective, self.reparam) if self.reparam else objective

    def adapt_mask(self, adapt: str, dtype: torch.dtype) -> torch.Tensor:
        """[num_params] 0/1: "all", "bias_transform" (bt only, the paper's option), or block names
        separated by commas (e.g. "W2,b2,log_std")."""
        slices = self.block_slices()
        if adapt == "all":
            names = list(slices)
        elif adapt == "bias_transform":
            if not self.reparam:
                raise ValueError("gmps_adapt='bias_transform' needs gmps_bias_dim > 0")
            names = ["bt"]
        else:
            names = [n.strip() for n in adapt.split(",") if n.strip()]
            unknown = [n for n in names if n not in slices]
            if unknown or not names:
                raise ValueError(f"gmps_adapt: unknown blocks {unknown or adapt!r}; valid: {ADAPT_KEYWORDS} or "
                                 f"comma-separated names of {list(slices)}")
        mask = torch.zeros(self.num_params, dtype=dtype)
        for n in names:
            mask[slices[n]] = 1.0
        return mask


# ---- phase 1
def expert_for(trainer):
    """The expert policy of the run (scripted or the trained SAC expert), or None for file demos."""
    c = trainer.config
    if c.gmps_expert == "scripted":
        return scripted_expert(trainer.family)
    if c.gmps_expert in SAC_EXPERTS:
        return trainer._gmps_sac_expert
    return None


def training_tasks(trainer):
    c = trainer.config
    return trainer.family.sample_tasks(c.gmps_num_tasks, seed=trainer.derived_seed(0x7A5C))


def obtain_demos(trainer) -> DemoSet:
    """Phase 1: the run's demonstrations (cached as RUN_DIR/demos.npz, reloaded on resume)."""
    c, family = trainer.config, trainer.family
    cached = os.path.join(trainer.out_dir, "demos.npz") if trainer.out_dir else None
    if cached and os.path.exists(cached):
        demos = DemoSet.load(cached)
        if c.gmps_expert in SAC_EXPERTS:
            trainer._gmps_sac_expert = load_expert(family, c.gmps_expert,
                                                   os.path.join(trainer.out_dir, "sac_expert.pt"))
        return demos
    if c.gmps_expert == "file":
        if not c.gmps_demos:
            raise ValueError("gmps_expert='file' needs gmps_demos=PATH (a DemoSet .npz)")
        demos = DemoSet.load(c.gmps_demos)
        if demos.family != family.name:
            raise ValueError(f"{c.gmps_demos}: demonstrations of {demos.family}, but env={family.name}")
        if demos.action_scale != family.action_scale:
            raise ValueError(f"{c.gmps_demos}: actions in scale {demos.action_scale}, the family uses "
                             f"{family.action_scale}")
    else:
        tasks = training_tasks(trainer)
        if c.gmps_expert in SAC_EXPERTS:
            from ..experts.sac import SacConfig

            sac = SacConfig(total_steps=c.gmps_sac_steps, hidden=c.gmps_sac_hidden,
                            updates_per_step=c.gmps_sac_updates_per_step, reward_scale=c.gmps_sac_reward_scale,
                            seed=c.seed)
            trainer._gmps_sac_expert = train_expert(family, c.gmps_expert, tasks, trainer.horizon, sac,
                                                    log_dir=trainer.out_dir)
            if trainer.out_dir:
                trainer._gmps_sac_expert.save(os.path.join(trainer.out_dir, "sac_expert.pt"))
        demos = collect_demos(family, expert_for(trainer), tasks, c.gmps_demos_per_task, trainer.horizon,
                              seed=trainer.derived_seed(0xDE30), noise=c.gmps_expert_noise)
    if cached:
        demos.save(cached)
    return demos


# ---- phase 2
def _rows(params: torch.Tensor, T: int) -> torch.Tensor:
    return (params if params.dim() == 2 else params.expand(T, -1)).contiguous()


def inner_objective(trainer, data, ratio: str | None = None):
    c = trainer.config
    return trainer.gmps.wrap(ImportanceWeightedPG(trainer.spec, data, ratio or c.gmps_ratio, c.gmps_ratio_clip))


def adapt(trainer, batch, params: torch.Tensor) -> torch.Tensor:
    """One meta-test adaptation step: φ = θ + α ⊙ ∇J_PG(θ) on `batch` sampled by π_params
    (rewards only, the same advantages as training) → [T, P]."""
    c = trainer.config
    rows = _rows(params, len(batch.tasks))
    data = process_batch(batch, trainer.spec, trainer.gmps.to_std(rows), c.discount, c.gae_lambda, c.normalize_adv)
    step_sizes = trainer.alpha * trainer.gmps_mask  # zero outside the adapted blocks
    return (rows + step_sizes * inner_objective(trainer, data, "step").grad(rows)).contiguous()


def run_iteration(trainer) -> dict:
    """One GMPS meta-iteration (Algorithm 2; plus Algorithm 1's aggregation with gmps_dagger)."""
    c = trainer.config
    expert_time = 0.0
    if trainer.demos is None:
        t = time.perf_counter()
        trainer.demos = obtain_demos(trainer)
        expert_time = time.perf_counter() - t
        if trainer.iteration == 0:
            trainer.timesteps += trainer.demos.env_steps
    t0 = time.perf_counter()
    demos = trainer.demos
    n = demos.num_tasks
    rng = np.random.default_rng(trainer.derived_seed(trainer.iteration, 0x3B))
    idx = np.arange(n) if c.meta_batch_size >= n else np.sort(rng.choice(n, c.meta_batch_size, replace=False))
    tasks = demos.tasks[idx]
    theta_init = trainer.param.detach().clone()
    pre = trainer.sample(theta_init, tasks, 0)
    trainer.timesteps += pre.num_steps
    data = process_batch(pre, trainer.spec, trainer.gmps.to_std(_rows(theta_init, len(idx))), c.discount,
                         c.gae_lambda, c.normalize_adv)
    t1 = time.perf_counter()
    inner = inner_objective(trainer, data)
    gen = torch.Generator().manual_seed(trainer.derived_seed(trainer.iteration, 0xBC))
    mask = trainer.gmps_mask
    bc_first = bc_last = grad_norm = 0.0
    for step in range(c.gmps_bc_steps):
        expert = demos.sample(idx, c.gmps_demo_batch, gen, trainer.dtype)
        outer = trainer.gmps.wrap(BehaviourCloning(trainer.spec, expert, c.gmps_bc_loss))
        meta = MetaObjective(trainer.spec, [inner], outer, trainer.alpha * mask)
        theta = trainer.param.detach().clone()
        grads = trainer.meta_gradient(meta, theta)
        if trainer.alpha_param is not None:
            grads = (grads[0], grads[1] * mask)
        if step == 0 or step == c.gmps_bc_steps - 1:
            with torch.no_grad():
                loss = -float(outer.value(meta.adapt(theta)[-1]).mean())
            bc_first = loss if step == 0 else bc_first
            bc_last = loss
        grad_norm = float(trainer._adam_step(grads).norm())
    t2 = time.perf_counter()
    stats = {"BCLossBefore": bc_first, "BCLossAfter": bc_last, "GradNorm": grad_norm,
             "MeanInnerStepSize": float((trainer.alpha * mask).sum() / mask.sum().clamp_min(1.0)),
             "DemoReturn": demos.mean_return(), "NumDemos": demos.num_demos, "Time-Experts": expert_time}
    if c.gmps_dagger:
        stats.update(dagger_step(trainer))
    t3 = time.perf_counter()
    returns = [pre.mean_return(), float("nan")]
    eval_steps = 0
    if c.gmps_eval_every and trainer.iteration % c.gmps_eval_every == 0:
        theta = trainer.param.detach().clone()
        fresh = trainer.sample(theta, tasks, 1)
        post = trainer.sample(adapt(trainer, fresh, theta), tasks, 2)
        returns = [fresh.mean_return(), post.mean_return()]
        eval_steps = fresh.num_steps + post.num_steps
    t4 = time.perf_counter()
    stats["EvalSteps"] = eval_steps
    stats["SPS"] = pre.num_steps / max(t1 - t0, 1e-9)
    return {"returns": returns, "times": {"sampling": (t1 - t0) + (t4 - t3), "inner": 0.0, "outer": t2 - t1 + t3 - t2},
            "stats": stats}


def dagger_step(trainer) -> dict:
    """Algorithm 1, lines 6–10: on every training task, adapt π_θ by one policy-gradient step on fresh
    rollouts, roll out the mixture β_j π* + (1 − β_j) π_φ (per step: the expert's action with
    probability β_j), relabel the visited states with π*(s), and aggregate them into D*."""
    from ..envs import rollout_actor
    from ..policies import gaussian_log_prob
    from ..reference import policy_mean

    c, family = trainer.config, trainer.family
    expert = expert_for(trainer)
    if expert is None:
        raise ValueError("gmps_dagger needs an expert policy to relabel states (gmps_expert scripted or sac), "
                         "not demonstrations from a file")
    demos = trainer.demos
    tasks = demos.tasks
    theta = trainer.param.detach().clone()
    pre = trainer.sample(theta, tasks, 3)
    phi = trainer.gmps.to_std(adapt(trainer, pre, theta))
    beta = c.gmps_dagger_beta * c.gmps_dagger_decay ** trainer.iteration
    spec = trainer.spec
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

    batch = rollout_actor(family, mixture, tasks, c.gmps_dagger_trajs, trainer.horizon,
                          trainer.derived_seed(trainer.iteration, 0xDA), trainer.dtype,
                          venv=family.vector_env(len(tasks) * c.gmps_dagger_trajs))
    labels = torch.stack(relabelled, 2)  # [T, B, steps, act]
    actions = torch.zeros_like(batch.actions)
    actions[:, :, :labels.shape[2]] = labels * batch.mask[:, :, :labels.shape[2]].unsqueeze(-1)
    steps = pre.num_steps + batch.num_steps
    demos.append(batch.obs, actions, batch.mask, batch.returns, steps)
    trainer.timesteps += steps
    if trainer.out_dir:
        demos.save(os.path.join(trainer.out_dir, "demos.npz"))
    return {"DaggerBeta": beta, "DaggerReturn": batch.mean_return()}

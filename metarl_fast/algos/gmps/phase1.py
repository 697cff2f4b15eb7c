"""GMPS's phase 1: the run's expert and its demonstrations on a fixed set of meta-training tasks —
from the scripted experts, a contextual (or per-task) SAC expert trained here, or a demonstration
file (experts/demos.py). Cached in the run directory (demos.npz, sac_expert.pt) and reloaded on
resume; the experts' environment steps count as the run's samples."""
from __future__ import annotations

import os

from ...experts import DemoSet, collect_demos, scripted_expert
from ...experts.training import load_expert, train_expert

SAC_EXPERTS = ("sac", "sac-per-task")  # contextual SAC (the paper's experiments) or one SAC per task


def training_tasks(ctx):
    """The fixed meta-training tasks (num_tasks, drawn once from the run's seed)."""
    return ctx.family.sample_tasks(ctx.section.num_tasks, seed=ctx.seed(0x7A5C))


def obtain_expert_and_demos(ctx):
    """(expert or None for file demonstrations, DemoSet): from the run directory's cache when it
    holds them, else made and cached there."""
    s, family = ctx.section, ctx.family
    cached = os.path.join(ctx.out_dir, "demos.npz") if ctx.out_dir else None
    sac_path = os.path.join(ctx.out_dir, "sac_expert.pt") if ctx.out_dir else None
    if cached and os.path.exists(cached):
        expert = None
        if s.expert in SAC_EXPERTS:
            expert = load_expert(family, s.expert, sac_path)
        elif s.expert == "scripted":
            expert = scripted_expert(family)
        return expert, DemoSet.load(cached)
    if s.expert == "file":
        demos = DemoSet.load(s.demos)
        if demos.family != family.name:
            raise ValueError(f"{s.demos}: demonstrations of {demos.family}, but env={family.name}")
        if demos.action_scale != family.action_scale:
            raise ValueError(f"{s.demos}: actions in scale {demos.action_scale}, the family uses "
                             f"{family.action_scale}")
        expert = None
    else:
        tasks = training_tasks(ctx)
        sac = None
        if s.expert in SAC_EXPERTS:
            from ...experts.sac import SacConfig

            sac = SacConfig(total_steps=s.sac_steps, hidden=s.sac_hidden, updates_per_step=s.sac_updates_per_step,
                            reward_scale=s.sac_reward_scale, seed=ctx.config.seed)
            ctx.log(f"GMPS phase 1: training a {s.expert} expert for {len(tasks)} tasks ({s.sac_steps} steps)")
        expert = train_expert(family, s.expert, tasks, ctx.horizon, sac, log_dir=ctx.out_dir)
        if s.expert in SAC_EXPERTS and sac_path:
            expert.save(sac_path)
        demos = collect_demos(family, expert, tasks, s.demos_per_task, ctx.horizon, seed=ctx.seed(0xDE30),
                              noise=s.expert_noise)
    if cached:
        demos.save(cached)
    ctx.log(f"GMPS phase 1: {demos}")
    return expert, demos

"""Meta-test: a trained meta-policy adapted on fresh tasks, the return after 0..K adaptation steps.

Each adaptation step samples fresh trajectories with the current (adapted) policy, with the task
family's own sampler, and takes the algorithm's meta-test step on them (MetaAlgorithm.adapt: the
MAML family's inner step with its step size — ProMP's J^LR is the plain policy gradient at the
sampling policy; BO-MRL's one-time adaptation, the lower level solved; GMPS's policy-gradient step
with the learned per-parameter step sizes)."""
from __future__ import annotations

import csv
import os

from .context import derived_seed
from .runner import Runner


def meta_test(run_dir: str, num_tasks: int = 40, steps: int = 3, seed: int = 12345,
              rollouts_per_task: int | None = None) -> list[dict]:
    """Rows {step, mean_return, std_return (across tasks), num_tasks, env_steps} for steps 0..K;
    written to RUN_DIR/eval.csv."""
    runner = Runner.from_run_dir(run_dir, verbose=False)
    ctx, algo = runner.ctx, runner.algorithm
    family, spec = ctx.family, ctx.spec
    B = rollouts_per_task or ctx.config.rollouts_per_task
    tasks = family.sample_tasks(num_tasks, seed=derived_seed(seed, 0xE7A1))
    params = algo.meta_parameters().expand(num_tasks, -1).contiguous()
    rows = []
    for k in range(steps + 1):
        batch = family.rollout(spec, algo.policy_params(params), tasks, B, ctx.horizon, seed=derived_seed(seed, k))
        per_task = batch.returns.mean(1).numpy()
        rows.append({"step": k, "mean_return": float(per_task.mean()), "std_return": float(per_task.std()),
                     "num_tasks": num_tasks, "env_steps": batch.num_steps})
        if k == steps:
            break
        params = algo.adapt(ctx, batch, params)
    with open(os.path.join(run_dir, "eval.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def print_eval(rows: list[dict], title: str) -> None:
    print(title)
    print(f"{'adaptation steps':>17}{'mean return':>14}{'std (tasks)':>14}{'env steps':>12}")
    for r in rows:
        print(f"{r['step']:>17}{r['mean_return']:>14.3f}{r['std_return']:>14.3f}{r['env_steps']:>12}")

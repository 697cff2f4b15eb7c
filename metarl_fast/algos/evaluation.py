"""Meta-test: a trained meta-policy adapted on fresh tasks, the return after 0..K adaptation steps.

Each adaptation step samples fresh trajectories with the current (adapted) policy and takes the
variant's inner step on them (the same inner objective and step size as in training; ProMP's J^LR
is the plain policy gradient at the sampling policy). For BO-MRL each step is a one-time
adaptation: the lower level solved on the fresh batch (the paper's k policy-adaptation steps); for
GMPS a plain policy-gradient step with the learned per-parameter step sizes (rewards only)."""
from __future__ import annotations

import csv
import os

import numpy as np
import torch
import yaml

from .config import TrainConfig
from .objectives import Objective
from .processing import process_batch
from .trainer import MetaTrainer, derived_seed


def load_trainer(run_dir: str) -> MetaTrainer:
    with open(os.path.join(run_dir, "config.yaml")) as f:
        config = TrainConfig.from_dict(yaml.safe_load(f))
    trainer = MetaTrainer(config)
    trainer.load_state_dict(torch.load(os.path.join(run_dir, "checkpoint.pt"), weights_only=False))
    return trainer


def meta_test(run_dir: str, num_tasks: int = 40, steps: int = 3, seed: int = 12345,
              rollouts_per_task: int | None = None) -> list[dict]:
    """Rows {step, mean_return, std_return (across tasks), num_tasks, env_steps} for steps 0..K;
    written to RUN_DIR/eval.csv."""
    trainer = load_trainer(run_dir)
    c, family, spec = trainer.config, trainer.family, trainer.spec
    B = rollouts_per_task or c.rollouts_per_task
    tasks = family.sample_tasks(num_tasks, seed=derived_seed(seed, 0xE7A1))
    params = trainer.param.detach().expand(num_tasks, -1).contiguous()
    rows = []
    for k in range(steps + 1):
        batch = family.rollout(spec, trainer.policy_params(params), tasks, B, trainer.horizon,
                               seed=derived_seed(seed, k))
        per_task = batch.returns.mean(1).numpy()
        rows.append({"step": k, "mean_return": float(per_task.mean()), "std_return": float(per_task.std()),
                     "num_tasks": num_tasks, "env_steps": batch.num_steps})
        if k == steps:
            break
        if trainer.variant.optimizer == "bomrl":
            params = _bomrl_adapt(trainer, batch, params)  # one-time adaptation: the lower level, solved
            continue
        if trainer.variant.optimizer == "gmps":
            from .gmps import adapt

            params = adapt(trainer, batch, params)  # plain policy gradient with the learned step sizes
            continue
        data = process_batch(batch, spec, params, c.discount, c.gae_lambda, c.normalize_adv,
                             dice_baseline=trainer.variant.inner == "dice")
        params = (params + trainer.alpha * Objective(trainer.variant.inner, spec, data).grad(params)).contiguous()
    with open(os.path.join(run_dir, "eval.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def _bomrl_adapt(trainer: MetaTrainer, batch, params: torch.Tensor) -> torch.Tensor:
    """BO-MRL's meta-test step: each task's lower level solved on its fresh batch → [T, P]."""
    from .bomrl import _q_estimates, lower_levels

    c = trainer.config
    lowers = lower_levels(trainer.spec, batch, _q_estimates(batch, c), c.bomrl_lambda, c.bomrl_distance)
    return torch.stack([lo.solve(params[i], c.bomrl_lower_iters, c.bomrl_lower_lr)
                        for i, lo in enumerate(lowers)]).contiguous()


def print_eval(rows: list[dict], title: str) -> None:
    print(title)
    print(f"{'adaptation steps':>17}{'mean return':>14}{'std (tasks)':>14}{'env steps':>12}")
    for r in rows:
        print(f"{r['step']:>17}{r['mean_return']:>14.3f}{r['std_return']:>14.3f}{r['env_steps']:>12}")


_NOT_A_VARIANT = ("seed", "iterations", "checkpoint_every", "threads")


def _variant_labels(configs: list[dict]) -> list[str]:
    """The algorithm's name, plus the settings that tell apart runs of the same algorithm and env
    (seeds and run lengths aside), e.g. "gmps (gmps_bc_steps=10)"."""
    labels = []
    for c in configs:
        same = [o for o in configs if o["algo"] == c["algo"] and o["env"] == c["env"]]
        differ = sorted(k for k in c if k not in _NOT_A_VARIANT and any(o.get(k) != c[k] for o in same))
        labels.append(c["algo"] + (" (" + ", ".join(f"{k}={c[k]}" for k in differ) + ")" if differ else ""))
    return labels


def learning_curves(run_dirs: list[str]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{algo: [(n_timesteps, post-update return) per run]} from the runs' progress.csv (keyed
    "algo · env" when the runs span several task families)."""
    configs = []
    for d in run_dirs:
        with open(os.path.join(d, "config.yaml")) as f:
            configs.append(yaml.safe_load(f))
    several_envs = len({c["env"] for c in configs}) > 1
    labels = _variant_labels(configs)
    curves: dict[str, list] = {}
    for d, config, label in zip(run_dirs, configs, labels):
        with open(os.path.join(d, "progress.csv")) as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        col = f"Step_{config['inner_steps']}-AverageReturn"
        x = np.array([float(r["n_timesteps"]) for r in rows])
        y = np.array([float(r[col]) for r in rows])
        key = f"{label} · {config['env']}" if several_envs else label
        curves.setdefault(key, []).append((x, y))
    return curves


def samples_to_reach(run_dirs: list[str], level: float, window: int = 3) -> dict[str, float]:
    """{algo: environment steps at which the across-seed mean post-update return, smoothed by a
    trailing mean over `window` logged iterations, first reaches `level`} (inf when it never does).
    The ratio of two entries is the "k× fewer samples" comparison of the GMPS paper."""
    out = {}
    for algo, runs in learning_curves(run_dirs).items():
        n = min(len(y) for _, y in runs)
        x = np.mean([xx[:n] for xx, _ in runs], axis=0)
        y = np.nanmean(np.stack([yy[:n] for _, yy in runs]), axis=0)
        smooth = np.array([np.nanmean(y[max(0, i - window + 1):i + 1]) for i in range(n)])
        hit = np.nonzero(smooth >= level)[0]
        out[algo] = float(x[hit[0]]) if len(hit) else float("inf")
    return out


def plot_runs(run_dirs: list[str], out: str, title: str | None = None) -> str:
    """Learning curves (post-update return vs environment steps), mean ± std across the runs of
    each algorithm (truncated to the shortest run), one line per algorithm → PNG at `out`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("metarl-fast plot needs matplotlib (pip install 'metarl_fast[plot]')") from e
    curves = learning_curves(run_dirs)
    if not curves:
        raise ValueError("no progress rows in the given run directories")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for algo, runs in sorted(curves.items()):
        n = min(len(y) for _, y in runs)
        x = np.mean([xx[:n] for xx, _ in runs], axis=0)
        ys = np.stack([y[:n] for _, y in runs])
        mean, std = ys.mean(0), ys.std(0)
        ax.plot(x, mean, label=f"{algo} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
        if len(runs) > 1:
            ax.fill_between(x, mean - std, mean + std, alpha=0.25)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("average return after adaptation")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out

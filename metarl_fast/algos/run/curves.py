"""Learning curves of run directories: post-update return against environment steps, across seeds,
the samples each algorithm needs to reach a return, and their plot (``metarl-fast plot``); for
Meta-World runs also the held-out test success rate of their ``eval --protocol metaworld``
evaluations against the environment steps of the evaluated snapshot."""
from __future__ import annotations

import csv
import os

import numpy as np
import yaml

from .config import TrainConfig

_NOT_A_VARIANT = ("seed", "iterations", "checkpoint_every", "threads", "torch_threads")


def flat_settings(config: dict) -> dict:
    """A config.yaml mapping (of this or an earlier version) as one flat mapping of this version's
    keys: the common settings and the algorithm's section, e.g. {"algo": "gmps", ..., "bc_steps": 10}.
    A run of a family or algorithm this process has not registered (a plug-in's) is read as it is
    written: plotting needs no plug-in."""
    try:
        d = TrainConfig.from_dict(config).to_dict()
    except ValueError:
        d = {k: v for k, v in config.items() if k != "run_info"}
    section = {k: d.pop(k) for k in list(d) if isinstance(d[k], dict)}
    for values in section.values():
        d.update(values)
    return d


def _variant_labels(configs: list[dict]) -> list[str]:
    """The algorithm's name, plus the settings that tell apart runs of the same algorithm and env
    (seeds and run lengths aside), e.g. "gmps (bc_steps=10)"; configs: flat_settings mappings."""
    labels = []
    for c in configs:
        same = [o for o in configs if o["algo"] == c["algo"] and o["env"] == c["env"]]
        differ = sorted(k for k in c if k not in _NOT_A_VARIANT and any(o.get(k) != c[k] for o in same))
        labels.append(c["algo"] + (" (" + ", ".join(f"{k}={c[k]}" for k in differ) + ")" if differ else ""))
    return labels


def _logged_runs(run_dirs: list[str]) -> list[tuple[str, str, dict, list[dict]]]:
    """(run directory, curve key, flat config, progress rows) of each run with logged rows; the key is
    the variant label, "label · env" when the runs span several task families."""
    configs = []
    for d in run_dirs:
        with open(os.path.join(d, "config.yaml")) as f:
            configs.append(flat_settings(yaml.safe_load(f)))
    several_envs = len({c["env"] for c in configs}) > 1
    out = []
    for d, config, label in zip(run_dirs, configs, _variant_labels(configs)):
        with open(os.path.join(d, "progress.csv")) as f:
            rows = list(csv.DictReader(f))
        if rows:
            out.append((d, f"{label} · {config['env']}" if several_envs else label, config, rows))
    return out


METRICS = {"return": ("-AverageReturn", "average return after adaptation"),
           "success": ("-SuccessRate", "success rate after adaptation"),
           "meta-test": ("", "held-out test success rate (Meta-World protocol)")}

_PROTOCOL_SETTINGS = ("num_evals", "adaptation_steps", "adaptation_episodes", "evaluation_episodes",
                      "meta_batch_size", "horizon")


def meta_test_points(run_dir: str) -> list[dict]:
    """The held-out test success of a run over training: one row per evaluated snapshot, sorted by
    iteration, from the ``metarl-fast eval --protocol metaworld`` evaluations in RUN_DIR/evals:
    {"iteration": snapshot's last iteration index, "env_steps": environment steps trained to it (its
    progress.csv row), "evaluations": how many were averaged, "mean": mean success rate over the test
    environments, then one key per test environment: its success rate}. Several evaluations of one
    snapshot (other seeds) are averaged. Raises ValueError when the evaluations used different
    protocol settings (their success rates are not one curve) or when there are none."""
    import glob

    evals = []
    for path in sorted(glob.glob(os.path.join(run_dir, "evals", "*", "eval.yaml"))):
        with open(path) as f:
            info = yaml.safe_load(f)
        if isinstance(info, dict) and info.get("protocol") == "metaworld":
            evals.append((os.path.dirname(path), info))
    if not evals:
        raise ValueError(f"{run_dir}: no Meta-World protocol evaluation in {os.path.join(run_dir, 'evals')} "
                         f"(metarl-fast eval {run_dir} --protocol metaworld --checkpoint N)")
    settings = {tuple(info.get(k) for k in _PROTOCOL_SETTINGS) for _, info in evals}
    if len(settings) > 1:
        raise ValueError(f"{run_dir}: its Meta-World evaluations used different settings "
                         f"({', '.join(_PROTOCOL_SETTINGS)}: {sorted(settings, key=str)}); move the odd ones out "
                         f"of {os.path.join(run_dir, 'evals')}")
    with open(os.path.join(run_dir, "progress.csv")) as f:
        steps = {int(r["Itr"]): float(r["n_timesteps"]) for r in csv.DictReader(f)}
    by_iteration: dict[int, list[dict]] = {}
    for eval_dir, info in evals:
        itr = int(info["iterations_trained"]) - 1
        with open(os.path.join(eval_dir, "per_env.csv")) as f:
            per_env = {r["env"]: float(r["success_rate"]) for r in csv.DictReader(f)}
        by_iteration.setdefault(itr, []).append({"mean": float(info["mean_success_rate"]), **per_env})
    rows = []
    for itr in sorted(by_iteration):
        group = by_iteration[itr]
        if itr not in steps:
            raise ValueError(f"{run_dir}: an evaluation of iteration {itr}, which progress.csv does not hold")
        rows.append({"iteration": itr, "env_steps": steps[itr], "evaluations": len(group),
                     **{k: float(np.mean([g[k] for g in group])) for k in group[0]}})
    return rows


def learning_curves(run_dirs: list[str], metric: str = "return") -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{algo: [(n_timesteps, post-update return, or success rate with metric="success") per run]}
    from the runs' progress.csv (keyed "algo · env" when the runs span several task families);
    metric="meta-test": (environment steps, held-out test success) of the runs' Meta-World protocol
    evaluations (meta_test_points)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    suffix = METRICS[metric][0]
    curves: dict[str, list] = {}
    if metric == "meta-test":
        for run_dir, key, _, _ in _logged_runs(run_dirs):
            points = meta_test_points(run_dir)
            curves.setdefault(key, []).append((np.array([p["env_steps"] for p in points]),
                                               np.array([p["mean"] for p in points])))
        return curves
    for _, key, _, rows in _logged_runs(run_dirs):
        cols = [k for k in rows[0] if k.startswith("Step_") and k.endswith(suffix)]
        if not cols:
            raise ValueError(f"{key}: progress.csv has no {suffix[1:]} columns (success is logged for families "
                             f"that report it, e.g. Meta-World)")
        col = cols[-1]  # after adapting
        x = np.array([float(r["n_timesteps"]) for r in rows])
        y = np.array([float(r[col]) for r in rows])
        curves.setdefault(key, []).append((x, y))
    return curves


def samples_to_reach(run_dirs: list[str], level: float, window: int = 3, metric: str = "return") -> dict[str, float]:
    """{algo: environment steps at which the across-seed mean post-update return (or success rate),
    smoothed by a trailing mean over `window` logged iterations, first reaches `level`} (inf when it
    never does). The ratio of two entries is the "k× fewer samples" comparison of the GMPS paper."""
    out = {}
    for algo, runs in learning_curves(run_dirs, metric).items():
        n = min(len(y) for _, y in runs)
        x = np.mean([xx[:n] for xx, _ in runs], axis=0)
        y = np.nanmean(np.stack([yy[:n] for _, yy in runs]), axis=0)
        smooth = np.array([np.nanmean(y[max(0, i - window + 1):i + 1]) for i in range(n)])
        hit = np.nonzero(smooth >= level)[0]
        out[algo] = float(x[hit[0]]) if len(hit) else float("inf")
    return out


def _seeds(run_dirs: list[str]) -> dict[str, list[int]]:
    """{curve key: the seed of each of its runs} (the runs and keys of learning_curves)."""
    out: dict[str, list[int]] = {}
    for _, key, config, _ in _logged_runs(run_dirs):
        out.setdefault(key, []).append(int(config["seed"]))
    return out


def _legend(key: str, seeds: list[int]) -> str:
    """"algo (3 seeds)", or "algo (2 runs, 1 seed)" when runs share a seed (not independent seeds)."""
    distinct = len(set(seeds))
    seed_text = f"{distinct} seed{'s' if distinct > 1 else ''}"
    return f"{key} ({seed_text})" if distinct == len(seeds) else f"{key} ({len(seeds)} runs, {seed_text})"


def plot_runs(run_dirs: list[str], out: str, title: str | None = None, metric: str = "return") -> str:
    """Learning curves (post-update return vs environment steps), mean ± std across the runs of
    each algorithm (truncated to the shortest run), one line per algorithm and one panel per task
    family → PNG at `out`. The legend counts distinct seeds (runs that share one are said so)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("metarl-fast plot needs matplotlib (pip install 'metarl_fast[plot]')") from e
    curves = learning_curves(run_dirs, metric)
    if not curves:
        raise ValueError("no progress rows in the given run directories")
    seeds = _seeds(run_dirs)
    panels: dict[str, list[str]] = {}
    for key in sorted(curves):
        panels.setdefault(key.split(" · ")[1] if " · " in key else "", []).append(key)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.2), squeeze=False)
    for ax, (env, keys) in zip(axes[0], panels.items()):
        for key in keys:
            runs = curves[key]
            n = min(len(y) for _, y in runs)
            x = np.mean([xx[:n] for xx, _ in runs], axis=0)
            ys = np.stack([y[:n] for _, y in runs])
            mean, std = ys.mean(0), ys.std(0)
            keep = np.isfinite(mean)  # iterations that measured it (GMPS evaluates every eval_every)
            (line,) = ax.plot(x[keep], mean[keep], label=_legend(key.split(" · ")[0], seeds[key]))
            if len(runs) > 1:
                ax.fill_between(x[keep], (mean - std)[keep], (mean + std)[keep], color=line.get_color(), alpha=0.25)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(METRICS[metric][1])
        if env or title:
            ax.set_title(" · ".join(t for t in (title, env) if t))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out

"""Estimator diagnostics: how noisy and how biased each meta-gradient estimator is at a fixed θ, on
the user's own task (``metarl-fast diagnose``; docs/diagnostics.md).

At θ (a checkpoint of a MAML-family run, or a fresh initialisation), every estimator samples the
iteration's pre- and post-update batches K times (resample k draws the tasks and trajectories of
"iteration" k of the run's seed, so all estimators see the same tasks and the same pre-update
batch in resample k) and computes its meta-gradient ∇θ J(θ + α ∇J_inner(θ)) with the run's
settings. The estimators are the MAML family's inner surrogates (ProMP §4), each with the VPG
outer objective except where the algorithm defines its own:

    naive   vpg-maml: the score-function inner surrogate (MAML's, curvature H₂ only)
    lvc     lvc-vpg: the low-variance curvature surrogate (ProMP §4.1, H₁ + H₂ with LVC)
    dice    dice-vpg: DiCE inner and outer objectives (the exact Hessian's estimator)
    lr      promp: ProMP's J^LR inner surrogate (= LVC at the sampling policy) and its clipped outer
    sgmrl   sgmrl: SG-MRL's formulation II (pathwise Jacobian plus J̃ · Σ ∇log π over D_in)

Per estimator: the relative standard deviation of the meta-gradient (ProMP Fig. 3's measure, the
mean over parameters of std/|mean|; its median over parameters; and the norm form ‖std‖/‖mean‖;
std over the K resamples with Bessel's correction), the cosine of its mean to a reference gradient (DiCE — unbiased for the exact
meta-gradient — on `reference_trajs`× as many trajectories per task), the norm of its mean, and the
seconds per estimate (inner steps and meta-gradient, sampling excluded).

The command's headline (`headline`) quotes DiCE's over LVC's HEADLINE_STATISTIC (ProMP Fig. 3's
mean over parameters) and names it; the plot's left panel draws that statistic, its middle panel
the median and norm forms, its right panel the cosine, titled with the family, the policy in words
(`describe_theta`), the resamples and the trajectories per estimate (`plot_title`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

ESTIMATORS = {"naive": "vpg-maml", "lvc": "lvc-vpg", "dice": "dice-vpg", "lr": "promp", "sgmrl": "sgmrl"}
REFERENCE_OFFSET = 1_000_000  # the reference's resamples use "iterations" from here (fresh draws)


@dataclass
class EstimatorStats:
    """One estimator at one θ (see the module docstring)."""

    estimator: str
    iteration: int
    rel_std_mean: float
    rel_std_median: float
    rel_std_norm: float
    cos_to_reference: float
    grad_norm: float
    seconds: float
    resamples: int


def relative_std(grads: np.ndarray) -> tuple[float, float, float]:
    """(mean over parameters of std/|mean|, their median, ‖std‖/‖mean‖) of K gradient samples
    [K, P], the std over the samples with Bessel's correction. Parameters whose mean is exactly 0
    are left out of the first two (their ratio is undefined); the median is robust to the
    parameters whose mean is near zero, which dominate the mean of the ratios."""
    g = np.asarray(grads, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 2:
        raise ValueError(f"relative_std: need [K, P] samples with K >= 2, got shape {g.shape}")
    mean, std = g.mean(0), g.std(0, ddof=1)
    nonzero = mean != 0
    ratios = std[nonzero] / np.abs(mean[nonzero])
    return float(np.mean(ratios)), float(np.median(ratios)), float(np.linalg.norm(std) / np.linalg.norm(mean))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def estimator_config(config, estimator: str, **overrides):
    """The run's config with the estimator's algorithm (and `overrides`, e.g. rollouts_per_task)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; valid: {', '.join(ESTIMATORS)}")
    items = [f"algo={ESTIMATORS[estimator]}", "meta_gradient=explicit"]
    return config.with_overrides(items + [f"{k}={v}" for k, v in overrides.items()])


def sample_gradients(config, theta: torch.Tensor, estimator: str, resamples: int, first: int = 0,
                     **overrides) -> tuple[np.ndarray, list[float]]:
    """(meta-gradients [K, P] float64, seconds per estimate) of `estimator` at θ over resamples
    first .. first + K − 1 (each the tasks and batches of that "iteration" of the run's seed)."""
    from ...runtime import thread_counts
    from .runner import Runner

    runner = Runner(estimator_config(config, estimator, **overrides), None, verbose=False)
    algo, ctx = runner.algorithm, runner.ctx
    if not hasattr(algo, "collect"):
        raise ValueError(f"diagnose: {estimator} is not a MAML-family estimator")
    grads, seconds = [], []
    c = runner.config
    with thread_counts(c.threads, c.torch_threads or type(algo).torch_threads):
        for k in range(first, first + resamples):
            ctx.iteration = k
            algo.params.set(theta.to(ctx.dtype))
            meta, th, _, times, _, _ = algo.collect(ctx)
            t0 = time.perf_counter()
            g = algo.meta_gradient(meta, th)
            g = g[0] if isinstance(g, tuple) else g
            seconds.append(time.perf_counter() - t0 + times["inner"])
            grads.append(g.detach().double().numpy())
    return np.stack(grads), seconds


def diagnose_theta(config, theta: torch.Tensor, estimators: list[str], resamples: int, reference_trajs: int = 10,
                   iteration: int = -1, reference_resamples: int = 1) -> tuple[list[EstimatorStats], np.ndarray]:
    """Every estimator's statistics at θ (module docstring) and the reference gradient [P]."""
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2:
        raise ValueError(f"resamples must be an int >= 2, got {resamples!r}")
    if isinstance(reference_trajs, bool) or not isinstance(reference_trajs, int) or reference_trajs < 1:
        raise ValueError(f"reference_trajs must be a positive int, got {reference_trajs!r}")
    ref, _ = sample_gradients(config, theta, "dice", reference_resamples, REFERENCE_OFFSET,
                              rollouts_per_task=config.rollouts_per_task * reference_trajs)
    reference = ref.mean(0)
    stats = []
    for e in estimators:
        grads, seconds = sample_gradients(config, theta, e, resamples)
        mean = grads.mean(0)
        stats.append(EstimatorStats(e, iteration, *relative_std(grads), cosine(mean, reference),
                                    float(np.linalg.norm(mean)), float(np.median(seconds)), resamples))
    return stats, reference


def thetas_of_run(run_dir: str, every: int = 0) -> list[tuple[int, torch.Tensor, object]]:
    """[(iteration, θ, config)]: the run's last good checkpoint, or with every=N every N-th of its
    kept checkpoints/itr_<n>.pt in order (the first, the (N+1)-th, ..., and the last)."""
    import os
    import re

    from ..maml.variants import VARIANTS
    from .meta_policy import load

    sources = [run_dir]
    if every:
        folder = os.path.join(run_dir, "checkpoints")
        found = sorted((int(m.group(1)), os.path.join(folder, f)) for f in os.listdir(folder)
                       if (m := re.fullmatch(r"itr_(\d+)\.pt", f)))
        if not found:
            raise ValueError(f"diagnose --every: {folder} holds no itr_<n>.pt checkpoints")
        sources = [p for i, (_, p) in enumerate(found) if i % every == 0 or i == len(found) - 1]
    out = []
    for source in sources:
        policy = load(source)
        if policy.algorithm not in VARIANTS:
            raise ValueError(f"diagnose: {policy.algorithm} runs are not of the MAML family "
                             f"({', '.join(VARIANTS)}); their θ has no MAML meta-gradient to diagnose")
        out.append((policy.iteration - 1, policy.params, policy.config))
    return out


def write_csv(stats: list[EstimatorStats], path: str) -> None:
    import csv

    from ...files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, list(asdict(stats[0])))
        w.writeheader()
        w.writerows(asdict(s) for s in stats)


# The relative-std statistics (EstimatorStats fields), in the order the plot and the headline give
# them; the first is ProMP Fig. 3's and the one the headline ratio and the plot's left panel quote.
STATISTICS = {
    "rel_std_mean": "mean over parameters of std/|mean| (ProMP Fig. 3)",
    "rel_std_median": "median over parameters of std/|mean|",
    "rel_std_norm": "‖std‖/‖mean‖ of the whole vector",
}
HEADLINE_STATISTIC = "rel_std_mean"


def describe_theta(iteration: int, run_dir: str | None = None) -> str:
    """The θ in plain words: "the initial policy" (iteration −1, a fresh initialisation) or "the
    policy after iteration N of RUN_DIR" (N as progress.csv's Itr counts, from 0)."""
    if iteration < 0:
        return "the initial policy"
    return f"the policy after iteration {iteration}" + (f" of {run_dir}" if run_dir else "")


def describe_thetas(iterations, run_dir: str | None = None) -> str:
    """describe_theta of several θ of one run: "the policies after iterations 1, 3 of RUN_DIR"."""
    iterations = sorted(set(iterations))
    if len(iterations) == 1:
        return describe_theta(iterations[0], run_dir)
    words = ["the initial policy"] if iterations[0] < 0 else []
    later = [str(i) for i in iterations if i >= 0]
    words.append(f"the polic{'ies' if len(later) > 1 else 'y'} after iteration{'s' if len(later) > 1 else ''} "
                 f"{', '.join(later)}")
    return " and ".join(words) + (f" of {run_dir}" if run_dir else "")


def describe_horizon(config) -> str:
    """"horizon: 15 steps" or "horizon: the family's default (100 steps)"."""
    if config.horizon:
        return f"horizon: {config.horizon} steps"
    from ... import envs

    return f"horizon: the family's default ({envs.make(config.env).default_horizon} steps)"


def describe_sampling(config, resamples: int) -> str:
    """The number of resamples and the trajectories behind each estimate, in words."""
    inner = config.section.inner_steps
    batches = inner + 1
    per_batch = config.meta_batch_size * config.rollouts_per_task
    before = "pre-update" if inner == 1 else f"{inner} inner-step"
    return (f"{resamples} resamples; each estimate from {batches} batches ({before} and post-update) of "
            f"{config.meta_batch_size} tasks × {config.rollouts_per_task} trajectories = "
            f"{batches * per_batch} trajectories, {describe_horizon(config)}")


def plot_title(config, resamples: int, iterations, run_dir: str | None = None) -> str:
    """The plot's title: the family, the θ in plain words, the resamples and trajectories."""
    return (f"Meta-gradient estimators on {config.env} at {describe_thetas(iterations, run_dir)}\n"
            f"{describe_sampling(config, resamples)}")


def headline_ratio(stats: list[EstimatorStats]) -> float | None:
    """DiCE's over LVC's HEADLINE_STATISTIC at one θ (None without both): the number the headline
    quotes and the ratio of the two bars in the plot's left panel."""
    by = {s.estimator: s for s in stats}
    if "dice" not in by or "lvc" not in by:
        return None
    return getattr(by["dice"], HEADLINE_STATISTIC) / getattr(by["lvc"], HEADLINE_STATISTIC)


def headline(stats: list[EstimatorStats]) -> str | None:
    """The DiCE / LVC line at one θ, naming the statistic it quotes (None without both)."""
    ratio = headline_ratio(stats)
    if ratio is None:
        return None
    by = {s.estimator: s for s in stats}
    d, v = by["dice"], by["lvc"]
    return (f"DiCE / LVC relative std, {STATISTICS[HEADLINE_STATISTIC]}: {ratio:.2f} (diagnose.png, left panel; "
            f"ProMP Fig. 3 reports about 2 on HalfCheetahFwdBack). Other forms (middle panel): "
            f"{d.rel_std_median / v.rel_std_median:.2f} for the median over parameters, "
            f"{d.rel_std_norm / v.rel_std_norm:.2f} for ‖std‖/‖mean‖")


def _pyplot():
    """matplotlib.pyplot on the Agg backend, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig, path: str, title: str) -> None:
    """The figure as a PNG at `path` (atomically), its title also in the PNG's Title text chunk."""
    from ...files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Title": title.replace("\n", "; ")})


def plot_figure(stats: list[EstimatorStats], title: str = "", reference_trajs: int | None = None):
    """The diagnose figure (None without matplotlib). Left: ProMP Fig. 3's relative std (mean over
    parameters, HEADLINE_STATISTIC), its DiCE / LVC ratio in the panel's title; middle: the
    median-over-parameters and norm forms; right: the cosine to the reference. Bars per estimator at
    one θ (axes[0]'s bars are the HEADLINE_STATISTIC values in estimator order), lines over the
    training iteration with several."""
    plt = _pyplot()
    if plt is None:
        return None
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    names = list(dict.fromkeys(s.estimator for s in stats))
    iterations = sorted({s.iteration for s in stats})
    several = len(iterations) > 1
    colors = {n: f"C{i}" for i, n in enumerate(names)}
    ratios = [(i, headline_ratio([s for s in stats if s.iteration == i])) for i in iterations]
    ratios = [(i, r) for i, r in ratios if r is not None]
    where = {i: "" if not several else " (initial policy)" if i < 0 else f" (after iteration {i})"
             for i in iterations}
    ratio_text = ("\nDiCE / LVC = " + ", ".join(f"{r:.2f}{where[i]}" for i, r in ratios)) if ratios else ""
    reference = "DiCE" + (f" on {reference_trajs}× the trajectories" if reference_trajs else ", more trajectories")
    short = {"rel_std_median": "median over parameters of std/|mean|",
             "rel_std_norm": "‖std‖/‖mean‖ (whole vector)"}
    panels = (
        ([HEADLINE_STATISTIC], "relative std, mean over parameters of std/|mean|\n(ProMP Fig. 3; the printed "
         "headline's statistic)" + ratio_text, "relative std, mean over parameters\n(dimensionless)"),
        (["rel_std_median", "rel_std_norm"], "relative std, two robust forms\n(the headline's other ratios)",
         "relative std (dimensionless)"),
        (["cos_to_reference"], f"cosine of the estimator's mean gradient\nto the reference ({reference})",
         "cosine (dimensionless; 1: same direction)"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2 if several else 4.9))
    for ax, (fields, heading, ylabel) in zip(axes, panels):
        width = 0.8 / len(fields)
        for j, field in enumerate(fields):
            if not several:
                values = [next(getattr(s, field) for s in stats if s.estimator == n) for n in names]
                x = np.arange(len(names)) + (j - (len(fields) - 1) / 2) * width
                bars = ax.bar(x, values, width, color=[colors[n] for n in names], hatch="//" if j else None,
                              edgecolor="black" if len(fields) > 1 else None, linewidth=0.5)
                ax.bar_label(bars, fmt="%.3g", fontsize=7)
            else:
                for n in names:
                    mine = sorted((s.iteration, getattr(s, field)) for s in stats if s.estimator == n)
                    ax.plot(*zip(*mine), "o-" if j == 0 else "s--", color=colors[n])
        if len(fields) > 1:  # which mark is which statistic
            ax.legend(handles=[Patch(facecolor="0.85", edgecolor="black", hatch="//" if j else None, label=short[f])
                               if not several else
                               Line2D([], [], color="0.4", marker="os"[j], linestyle="-" if j == 0 else "--",
                                      label=short[f]) for j, f in enumerate(fields)], fontsize=7)
        if not several:
            ax.set_xticks(np.arange(len(names)), names)
            ax.set_xlabel("estimator")
        else:
            ax.set_xticks(iterations, ["initial" if i < 0 else str(i) for i in iterations])
            ax.set_xlabel("policy after training iteration (initial: before training)")
        if "cos_to_reference" in fields:
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_ylim(-1.1, 1.1)
        else:
            values = [getattr(s, f) for s in stats for f in fields]
            if min(values) > 0 and max(values) / min(values) > 20:  # heavy tails: a log axis
                ax.set_yscale("log")
                ylabel = ylabel.replace("(dimensionless)", "(dimensionless, log scale)")
        ax.set_title(heading, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.grid(alpha=0.3)
    if several:  # one legend of the estimators' colours for the three panels
        fig.legend(handles=[Line2D([], [], color=colors[n], marker="o", label=n) for n in names],
                   loc="lower center", ncol=len(names), fontsize=8, title="estimator", title_fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1) if several else (0, 0, 1, 1))
    return fig


def plot(stats: list[EstimatorStats], path: str, title: str = "", reference_trajs: int | None = None) -> bool:
    """plot_figure written as a PNG to `path`; False without matplotlib."""
    fig = plot_figure(stats, title, reference_trajs)
    if fig is None:
        return False
    save_figure(fig, path, title)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return True

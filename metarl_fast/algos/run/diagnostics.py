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


def plot(stats: list[EstimatorStats], path: str, title: str = "") -> bool:
    """Bars of the relative std (the norm form, robust to near-zero means) and the cosine per
    estimator (one θ), or both against the training iteration (several); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from ...files import atomic_path

    names = list(dict.fromkeys(s.estimator for s in stats))
    iterations = sorted({s.iteration for s in stats})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, field, label in ((axes[0], "rel_std_norm", "relative std ‖std‖/‖mean‖"),
                             (axes[1], "cos_to_reference", "cosine to the reference gradient")):
        if len(iterations) == 1:
            ax.bar(names, [next(getattr(s, field) for s in stats if s.estimator == n) for n in names],
                   color=[f"C{i}" for i in range(len(names))])
        else:
            for i, n in enumerate(names):
                mine = sorted((s.iteration, getattr(s, field)) for s in stats if s.estimator == n)
                ax.plot(*zip(*mine), "o-", color=f"C{i}", label=n)
            ax.set_xlabel("training iteration")
            ax.legend(fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True

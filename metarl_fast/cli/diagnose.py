"""`metarl-fast diagnose`: which meta-gradient estimator to trust, measured on your task — the
relative standard deviation of each estimator's meta-gradient over K resamplings at a fixed θ, the
cosine of its mean to a low-variance reference, and its seconds per estimate
(algos/run/diagnostics.py; docs/diagnostics.md).

    metarl-fast diagnose RUN_DIR [--every N] [--estimators naive,lvc,dice,lr,sgmrl] [--resamples K]
    metarl-fast diagnose --env ENV [--set key=value ...] [--estimators ...] [--resamples K]
    metarl-fast diagnose --exact-mdp [--mdp-seed S] [--resamples K] [--trajs N]

RUN_DIR: the policy of its last good checkpoint (with --every N: of every N-th kept checkpoint, and
the last), with the run's settings. --env: the initial policy of a run with the given settings (a
MAML-family config; --set as for train). --exact-mdp: the enumerable tabular MDP where each
estimator's expectation and the exact meta-gradient are known (algos/run/exact_mdp.py): the bias
table. Writes diagnose.csv and diagnose.png (with matplotlib) to --out (default
RUN_DIR/diagnose-<k>, or ./diagnose-<k>). diagnose.png, titled with the task family, the policy, the
resamples and the trajectories per estimate: the relative std as ProMP Fig. 3 reports it (mean over
parameters of std/|mean|; the statistic of the printed DiCE / LVC line), its median and norm forms,
and the cosine to the reference, per estimator; with --exact-mdp, the bias and the relative std
‖std‖/‖mean‖ per estimator.
"""
from __future__ import annotations

import argparse
import os

HELP = "compare meta-gradient estimators (relative std, cosine to a reference, time) at fixed θ"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", nargs="?", help="a MAML-family run directory (or use --env)")
    p.add_argument("--env", help="diagnose a fresh initialisation on this task family instead of a run")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="settings of the --env configuration (as for train), e.g. meta_batch_size=20")
    p.add_argument("--estimators",
                   help="comma-separated: naive, lvc, dice, lr, sgmrl (default all; --exact-mdp: all but sgmrl)")
    p.add_argument("--resamples", type=int, default=10, help="K resamplings of the batches (default 10)")
    p.add_argument("--reference-trajs", type=int, default=10,
                   help="the reference (DiCE) uses this many times the trajectories per task (default 10)")
    p.add_argument("--every", type=int, default=0, help="with RUN_DIR: every N-th kept checkpoint (and the last)")
    p.add_argument("--out", help="the output directory (new or empty)")
    p.add_argument("--exact-mdp", action="store_true",
                   help="the bias table and its bar chart (diagnose.png) on the enumerable tabular MDP")
    p.add_argument("--mdp-seed", type=int, default=0, help="--exact-mdp: the random MDP's seed (default 0)")
    p.add_argument("--trajs", type=int, default=100, help="--exact-mdp: trajectories per sampled estimate")


def _names(given: str | None, default) -> list[str]:
    return list(default) if given is None else [e.strip() for e in given.split(",") if e.strip()]


def _out_dir(args, where: str) -> str:
    if not args.out:
        from ..files import new_numbered_dir

        return new_numbered_dir(where, "diagnose-")
    if os.path.exists(args.out) and os.listdir(args.out):
        raise ValueError(f"--out {args.out}: not empty")
    os.makedirs(args.out, exist_ok=True)
    return args.out


def _exact(args) -> int:
    import csv
    from dataclasses import asdict

    from ..algos.run.exact_mdp import EXACT_ESTIMATORS, EnumerableMDP, describe, exact_bias, plot_exact
    from ..files import atomic_path

    estimators = _names(args.estimators, EXACT_ESTIMATORS)
    unknown = [e for e in estimators if e not in EXACT_ESTIMATORS]
    if unknown or not estimators:
        raise ValueError(f"--exact-mdp --estimators: unknown {unknown or 'none given'}; valid: "
                         f"{', '.join(EXACT_ESTIMATORS)}")
    if args.resamples < 2 or args.trajs < 1:
        raise ValueError("--resamples must be >= 2 and --trajs >= 1")
    mdp = EnumerableMDP.random(args.mdp_seed)
    rows, _ = exact_bias(mdp, estimators, resamples=args.resamples, trajs=args.trajs, seed=args.mdp_seed)
    print(f"exact MDP ({describe(mdp, args.mdp_seed)}); sampled: {args.resamples} estimates of {args.trajs} "
          f"trajectories each")
    print(f"{'estimator':>10}{'‖E[Ĥ]−∇²J‖/‖∇²J‖':>20}{'bias (rel.)':>13}{'cos to exact':>14}{'sampled mean err':>18}"
          f"{'‖std‖/‖mean‖':>15}")
    for r in rows:
        print(f"{r.estimator:>10}{r.rel_error_hessian:>20.3g}{r.rel_error:>13.3g}{r.cosine:>14.6f}"
              f"{r.sampled_rel_error:>18.3g}{r.rel_std_norm:>15.3g}")
    out = _out_dir(args, ".")
    with atomic_path(os.path.join(out, "diagnose.csv")) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, list(asdict(rows[0])))
        w.writeheader()
        w.writerows(asdict(r) for r in rows)
    title = (f"Bias and spread of the meta-gradient estimators on the exact MDP ({describe(mdp, args.mdp_seed)})\n"
             f"{args.resamples} sampled estimates of {args.trajs} trajectories each")
    drawn = plot_exact(rows, os.path.join(out, "diagnose.png"), title)
    files = ["diagnose.csv"] + (["diagnose.png"] if drawn else [])
    print(f"wrote {', '.join(files)} to {out}" + ("" if drawn else " (diagnose.png needs matplotlib)"))
    return 0


def run(args: argparse.Namespace) -> int:
    from ..algos.run.config import TrainConfig
    from ..algos.run.diagnostics import (ESTIMATORS, describe_sampling, describe_theta, diagnose_theta, headline,
                                         plot, plot_title, thetas_of_run, write_csv)

    if args.exact_mdp:
        return _exact(args)
    if (args.run_dir is None) == (args.env is None):
        raise ValueError("give a run directory, --env or --exact-mdp")
    estimators = _names(args.estimators, list(ESTIMATORS))
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown or not estimators:
        raise ValueError(f"--estimators: unknown {unknown or 'none given'}; valid: {', '.join(ESTIMATORS)}")
    if args.resamples < 2:
        raise ValueError("--resamples must be >= 2 (a standard deviation needs two samples)")
    if args.run_dir is not None:
        if not os.path.isdir(args.run_dir):
            raise ValueError(f"{args.run_dir}: not a run directory")
        thetas = thetas_of_run(args.run_dir, args.every)
        where = args.run_dir
    else:
        from ..algos.run.runner import Runner

        config = TrainConfig.build(algo="vpg-maml", env=args.env).with_overrides(args.set)
        # the θ a training run with these settings starts from (iteration −1: the initial policy)
        thetas = [(-1, Runner(config, None, verbose=False).algorithm.meta_parameters(), config)]
        where = "."
    out = _out_dir(args, where)
    stats = []
    for iteration, theta, config in thetas:
        rows, _ = diagnose_theta(config, theta, estimators, args.resamples, args.reference_trajs, iteration)
        stats += rows
        print(f"{config.env} at {describe_theta(iteration, args.run_dir)}: {describe_sampling(config, args.resamples)}"
              f"; reference: DiCE on {args.reference_trajs}× the trajectories")
        print(f"{'estimator':>10}{'rel. std (mean)':>17}{'(median)':>10}{'‖std‖/‖mean‖':>15}{'cos to ref':>12}"
              f"{'‖mean‖':>11}{'s/estimate':>12}")
        for s in rows:
            print(f"{s.estimator:>10}{s.rel_std_mean:>17.3f}{s.rel_std_median:>10.3f}{s.rel_std_norm:>15.3f}"
                  f"{s.cos_to_reference:>12.3f}{s.grad_norm:>11.4f}{s.seconds:>12.4f}")
        line = headline(rows)
        if line:
            print(line)
    write_csv(stats, os.path.join(out, "diagnose.csv"))
    title = plot_title(thetas[0][2], args.resamples, [t[0] for t in thetas], args.run_dir)
    drawn = plot(stats, os.path.join(out, "diagnose.png"), title, args.reference_trajs)
    files = ["diagnose.csv"] + (["diagnose.png"] if drawn else [])
    print(f"wrote {', '.join(files)} to {out}" + ("" if drawn else " (diagnose.png needs matplotlib)"))
    return 0

"""`metarl-fast plot RUN_DIR ...`: learning curves (post-update return against environment steps),
mean ± std across the runs of each algorithm, and with --level R the environment steps each
algorithm needs to reach a post-update return of R.

    metarl-fast plot RUN_DIR ... [--out PNG] [--title T] [--level R] [--metric return|success|meta-test]

--metric success plots (and --level reads) the post-update success rate of families that report
success (Meta-World). --metric meta-test plots the held-out test success rate of each run's
`metarl-fast eval --protocol metaworld` evaluations against the environment steps of the evaluated
snapshot, and prints it per snapshot and test environment.
"""
from __future__ import annotations

import argparse

HELP = "plot learning curves of runs"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dirs", nargs="+", help="run directories; runs of one algorithm and settings are averaged")
    p.add_argument("--out", default="curves.png", help="the PNG to write (default curves.png)")
    p.add_argument("--title", help="the figure's title")
    p.add_argument("--level", type=float,
                   help="also print the environment steps each algorithm needs to reach this post-update return "
                        "(or success rate)")
    p.add_argument("--metric", choices=("return", "success", "meta-test"), default="return",
                   help="return (default) or success rate after adaptation on the training tasks, or "
                        "meta-test: the held-out test success of the runs' Meta-World protocol evaluations")


def run(args: argparse.Namespace) -> int:
    from ..algos.run.curves import meta_test_points, plot_runs, samples_to_reach

    print(f"wrote {plot_runs(args.run_dirs, args.out, args.title, args.metric)}")
    if args.metric == "meta-test":
        for run_dir in args.run_dirs:
            print_meta_test(run_dir, meta_test_points(run_dir))
    if args.level is not None:
        reach = samples_to_reach(args.run_dirs, args.level, metric=args.metric)
        best = min(reach.values())
        what = {"return": "return", "success": "success rate", "meta-test": "held-out test success rate"}[args.metric]
        print(f"environment steps to a post-update {what} of {args.level:g} (3-iteration mean over seeds):")
        for algo, steps in sorted(reach.items(), key=lambda kv: kv[1]):
            ratio = "" if best == float("inf") else f"  ({steps / best:.1f}× the fewest)"
            print(f"  {algo:>12}: {steps:,.0f}{ratio}" if steps < float("inf") else f"  {algo:>12}: not reached")
    return 0


def print_meta_test(run_dir: str, points: list[dict]) -> None:
    """The held-out test success of one run per evaluated snapshot: iteration, environment steps,
    mean and each test environment's success rate (meta_test_points' rows)."""
    envs = [k for k in points[0] if k not in ("iteration", "env_steps", "evaluations", "mean")]
    print(f"{run_dir}: held-out test success rate (Meta-World protocol)")
    print(f"{'iteration':>9} {'env steps':>12} {'mean':>6}  " + "  ".join(f"{e:>14}" for e in envs))
    for p in points:
        print(f"{p['iteration']:>9} {p['env_steps']:>12,.0f} {p['mean']:>6.3f}  "
              + "  ".join(f"{p[e]:>14.3f}" for e in envs))

"""`metarl-fast plot RUN_DIR ...`: learning curves (post-update return against environment steps),
mean ± std across the runs of each algorithm, and with --level R the environment steps each
algorithm needs to reach a post-update return of R.

    metarl-fast plot RUN_DIR ... [--out PNG] [--title T] [--level R] [--metric return|success]

--metric success plots (and --level reads) the post-update success rate of families that report
success (Meta-World).
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
    p.add_argument("--metric", choices=("return", "success"), default="return",
                   help="return (default) or success rate after adaptation")


def run(args: argparse.Namespace) -> int:
    from ..algos.run.curves import plot_runs, samples_to_reach

    print(f"wrote {plot_runs(args.run_dirs, args.out, args.title, args.metric)}")
    if args.level is not None:
        reach = samples_to_reach(args.run_dirs, args.level, metric=args.metric)
        best = min(reach.values())
        what = "return" if args.metric == "return" else "success rate"
        print(f"environment steps to a post-update {what} of {args.level:g} (3-iteration mean over seeds):")
        for algo, steps in sorted(reach.items(), key=lambda kv: kv[1]):
            ratio = "" if best == float("inf") else f"  ({steps / best:.1f}× the fewest)"
            print(f"  {algo:>12}: {steps:,.0f}{ratio}" if steps < float("inf") else f"  {algo:>12}: not reached")
    return 0

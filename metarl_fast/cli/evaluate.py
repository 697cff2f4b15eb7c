"""`metarl-fast eval RUN_DIR`: meta-test a trained run on fresh tasks — the return after 0..K
adaptation steps (the algorithm's own meta-test step), printed and written to RUN_DIR/eval.csv.

    metarl-fast eval RUN_DIR [--tasks N] [--steps K] [--seed S]
"""
from __future__ import annotations

import argparse

HELP = "meta-test a trained run on fresh tasks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory written by metarl-fast train")
    p.add_argument("--tasks", type=int, default=40, help="fresh tasks drawn from the family (default 40)")
    p.add_argument("--steps", type=int, default=3, help="adaptation steps (returns after 0..K are reported)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the test tasks and rollouts (default 12345)")


def run(args: argparse.Namespace) -> int:
    from ..algos.run.evaluation import meta_test, print_eval

    if args.tasks < 1 or args.steps < 0:
        raise SystemExit("metarl-fast eval: --tasks must be >= 1 and --steps >= 0")
    rows = meta_test(args.run_dir, args.tasks, args.steps, args.seed)
    print_eval(rows, f"meta-test of {args.run_dir} on {args.tasks} fresh tasks")
    return 0

"""The `metarl-fast` command line.

    metarl-fast train --algo promp --env HalfCheetahRandDirec ...   meta-training (metarl-fast train --help)
    metarl-fast demos --env E --expert scripted|sac ... --out D.npz   expert demonstrations for GMPS
    metarl-fast eval RUN_DIR [--tasks N] [--steps K]   meta-test on fresh tasks (eval.csv + a table)
    metarl-fast plot RUN_DIR ... [--out PNG] [--level R]  learning curves, mean ± std across seeds (and the
                                                      environment steps each algorithm needs to reach R)
    metarl-fast bench SUITE [--quick] [--json PATH]   benchmarks (same as python -m metarl_fast.bench)
    metarl-fast info                                  build and machine facts
"""
from __future__ import annotations

import argparse
import sys


def _info() -> int:
    import torch

    import metarl_fast
    from metarl_fast import _C

    print(f"metarl_fast {metarl_fast.__version__}")
    print(f"  policy engine ISA : {_C.policy_isa()}")
    print(f"  thread pool       : {metarl_fast.get_num_threads()} threads (CPUs available: {_C.default_num_threads()})")
    print(f"  MuJoCo            : {_C.mujoco_version_string()} (headers {_C.mujoco_header_version()})")
    cuda = "nvcc found, CUDA enabled in the build" if _C.has_cuda else "CUDA disabled in the build"
    print(f"  CUDA              : {cuda}; no CUDA kernels yet (CUDA tensors use the torch reference)")
    print(f"  torch             : {torch.__version__} ({torch.get_num_threads()} threads)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="metarl-fast", description="Fast gradient-based meta-RL.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bench", help="run a benchmark suite (metarl-fast bench kernels --help)", add_help=False)
    sub.add_parser("info", help="print build and machine facts")
    from metarl_fast import train_cli

    train = sub.add_parser("train", help="meta-train a policy", description=train_cli.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train_cli.add_arguments(train)
    from metarl_fast import demos_cli

    demos = sub.add_parser("demos", help="record expert demonstrations for GMPS", description=demos_cli.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    demos_cli.add_arguments(demos)
    ev = sub.add_parser("eval", help="meta-test a trained run on fresh tasks")
    ev.add_argument("run_dir")
    ev.add_argument("--tasks", type=int, default=40)
    ev.add_argument("--steps", type=int, default=3, help="adaptation steps (returns after 0..K are reported)")
    ev.add_argument("--seed", type=int, default=12345)
    pl = sub.add_parser("plot", help="plot learning curves of runs")
    pl.add_argument("run_dirs", nargs="+")
    pl.add_argument("--out", default="curves.png")
    pl.add_argument("--title")
    pl.add_argument("--level", type=float,
                    help="also print the environment steps each algorithm needs to reach this post-update return")
    args, rest = parser.parse_known_args(argv)
    if args.command in ("eval", "plot"):
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from metarl_fast.algos import evaluation

        if args.command == "eval":
            if args.tasks < 1 or args.steps < 0:
                parser.error("--tasks must be >= 1 and --steps >= 0")
            rows = evaluation.meta_test(args.run_dir, args.tasks, args.steps, args.seed)
            evaluation.print_eval(rows, f"meta-test of {args.run_dir} on {args.tasks} fresh tasks")
        else:
            print(f"wrote {evaluation.plot_runs(args.run_dirs, args.out, args.title)}")
            if args.level is not None:
                reach = evaluation.samples_to_reach(args.run_dirs, args.level)
                best = min(reach.values())
                print(f"environment steps to a post-update return of {args.level:g} (3-iteration mean over seeds):")
                for algo, steps in sorted(reach.items(), key=lambda kv: kv[1]):
                    ratio = "" if best == float("inf") else f"  ({steps / best:.1f}× the fewest)"
                    print(f"  {algo:>12}: {steps:,.0f}{ratio}" if steps < float("inf") else f"  {algo:>12}: not reached")
        return 0
    if args.command in ("train", "demos"):
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return train_cli.run(args) if args.command == "train" else demos_cli.run(args)
    if args.command == "bench":
        from metarl_fast.bench.__main__ import main as bench_main

        return bench_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return _info()


if __name__ == "__main__":
    sys.exit(main())

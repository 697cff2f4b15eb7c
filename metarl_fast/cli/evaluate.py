"""`metarl-fast eval RUN_DIR`: meta-test a trained run — the return after 0..K adaptation steps (the
algorithm's own meta-test step) on fresh or fixed test tasks, across tasks with a 95 % interval and
per task; printed, and written to a new directory RUN_DIR/evals/itr<I>-<k> (summary.csv, tasks.csv,
test_tasks.csv, eval.yaml, eval.png) that no later evaluation overwrites.

    metarl-fast eval RUN_DIR [--tasks N | --tasks-file FILE] [--steps K] [--rollouts-per-task B]
                             [--checkpoint N|FILE] [--seed S] [--out DIR] [--sampler NAME] [--quiet]
    metarl-fast eval RUN_DIR --protocol metaworld [--num-evals 10] [--adaptation-steps 1]
                             [--adaptation-episodes 10] [--evaluation-episodes 3] [--meta-batch-size 20]

--protocol metaworld runs Meta-World's meta-learning evaluation on a Meta-World run's held-out test
tasks (algos/run/metaworld_protocol.py) and reports per-environment and mean success rates. Before
it starts, an evaluation says how many environment steps it will take; then it shows a progress bar
on a terminal, or a line every 10 s on stderr otherwise (--quiet: neither). Rollouts sample with
the run's sampler unless --sampler says otherwise.
"""
from __future__ import annotations

import argparse
import os

HELP = "meta-test a trained run on fresh or fixed tasks (per step and per task, with intervals)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory written by metarl-fast train")
    p.add_argument("--checkpoint", metavar="N|FILE",
                   help="evaluate checkpoints/itr_N.pt of the run, or a checkpoint file (default: the run's last "
                        "good checkpoint)")
    p.add_argument("--tasks", type=int, default=40, help="fresh test tasks drawn from the family (default 40)")
    p.add_argument("--tasks-file", metavar="FILE",
                   help="fixed test tasks: .csv with the family's task fields as columns (e.g. an earlier "
                        "evaluation's test_tasks.csv), .npy [n, task_dim], or .yaml/.json; replaces --tasks")
    p.add_argument("--steps", type=int, default=3, help="adaptation steps (returns after 0..K are reported; default 3)")
    p.add_argument("--rollouts-per-task", type=int, metavar="B",
                   help="trajectories per task at every step (default: the run's rollouts_per_task)")
    p.add_argument("--seed", type=int, default=12345,
                   help="seed of the fresh test tasks and of every rollout (default 12345)")
    p.add_argument("--out", help="write here instead (a new or empty directory)")
    p.add_argument("--no-plot", action="store_true", help="skip eval.png")
    p.add_argument("--protocol", choices=("adaptation", "metaworld"), default="adaptation",
                   help="adaptation: returns after 0..K steps (default); metaworld: Meta-World's meta-learning "
                        "evaluation (success rates on its test tasks)")
    p.add_argument("--sampler", default=None, metavar="NAME",
                   help="the sampler of the evaluation's rollouts: auto, cpp, gymnasium, processes, ray or one "
                        "registered by a plugin (default: the run's)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    mw = p.add_argument_group("--protocol metaworld (Meta-World's defaults; 10 × 20 × (10 + 3) × 500 = 1.3 M "
                              "environment steps)")
    mw.add_argument("--num-evals", type=int, default=10,
                    help="evaluations, each on the next task of every slot (default 10)")
    mw.add_argument("--adaptation-steps", type=int, default=1,
                    help="adaptation steps before the evaluation episodes (default 1)")
    mw.add_argument("--adaptation-episodes", type=int, default=10,
                    help="episodes per task slot and adaptation step (default 10)")
    mw.add_argument("--evaluation-episodes", type=int, default=3,
                    help="episodes per task slot with the adapted policy's mean (default 3)")
    mw.add_argument("--meta-batch-size", type=int, default=20,
                    help="task slots per evaluation, a multiple of the test environments (default 20)")


def checkpoint_source(run_dir: str, checkpoint: str | None) -> str:
    """What to load: the run directory, checkpoints/itr_<N>.pt for an integer, or the file given."""
    if checkpoint is None:
        return run_dir
    if checkpoint.isdigit():
        path = os.path.join(run_dir, "checkpoints", f"itr_{checkpoint}.pt")
        if not os.path.isfile(path):
            folder = os.path.join(run_dir, "checkpoints")
            kept = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            raise ValueError(f"--checkpoint {checkpoint}: {path} does not exist (kept: {', '.join(kept) or 'none'})")
        return path
    if not os.path.isfile(checkpoint):
        raise ValueError(f"--checkpoint {checkpoint}: no such file (give an iteration number or a checkpoint file)")
    return checkpoint


def run(args: argparse.Namespace) -> int:
    from ..algos.run.evaluation import evaluate, print_eval

    if args.tasks < 1 or args.steps < 0:
        raise ValueError("--tasks must be >= 1 and --steps >= 0")
    if not 0 <= args.seed < 2**63:
        raise ValueError(f"--seed must be in [0, 2**63), got {args.seed}")
    if args.rollouts_per_task is not None and args.rollouts_per_task < 1:
        raise ValueError("--rollouts-per-task must be >= 1")
    if not os.path.isdir(args.run_dir):
        raise ValueError(f"{args.run_dir}: not a run directory")
    source = checkpoint_source(args.run_dir, args.checkpoint)
    if args.protocol == "metaworld":
        from ..algos.run.metaworld_protocol import evaluate_metaworld, print_protocol

        result = evaluate_metaworld(source, args.seed, args.out, sampler=args.sampler, num_evals=args.num_evals,
                                    adaptation_steps=args.adaptation_steps,
                                    adaptation_episodes=args.adaptation_episodes,
                                    evaluation_episodes=args.evaluation_episodes, meta_batch_size=args.meta_batch_size,
                                    progress=not args.quiet)
        print_protocol(result, f"Meta-World evaluation of {source}")
        print(f"wrote {', '.join(result.files)} to {result.out_dir}")
        return 0
    result = evaluate(source, args.tasks, args.tasks_file, args.steps, args.rollouts_per_task, args.seed,
                      out_dir=args.out, plot=not args.no_plot, sampler=args.sampler, progress=not args.quiet)
    tasks = f"{len(result.test_tasks)} tasks from {args.tasks_file}" if args.tasks_file else \
        f"{len(result.test_tasks)} fresh tasks"
    print_eval(result, f"meta-test of {source} on {tasks}, {result.summary[0]['rollouts_per_task']} trajectories each")
    print(f"wrote {', '.join(result.files)} to {result.out_dir}")
    return 0

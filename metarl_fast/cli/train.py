"""`metarl-fast train`: meta-train an algorithm on a task family.

    metarl-fast train --algo promp --env HalfCheetahRandDirec [--preset NAME] [--iterations N]
                      [--meta-gradient explicit|autograd] [--sampler auto|cpp|gymnasium]
                      [--set key=value ...] [--seed S] [--out DIR] [--plugin MODULE ...]
    metarl-fast train --resume DIR [--iterations N]
    metarl-fast train --list-keys          every setting, its default and what it does

A run directory must be new or empty (--overwrite replaces the files of an earlier run there);
Ctrl-C stops after saving, and says how to resume.

Settings are common (iterations, meta_batch_size, hidden, ...) or the algorithm's own (inner_lr,
promp_steps for the MAML family; bc_steps for GMPS; ...): ``--set inner_lr=0.05`` or
``--set maml.inner_lr=0.05``. ``--plugin MODULE`` imports a module that registers algorithms,
task families or samplers of your own (docs/extending.md).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HELP = "meta-train a policy"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..algos.run import PRESETS, algorithm_names
    from ..sampling import sampler_names

    p.add_argument("--algo", choices=algorithm_names(), help="the algorithm (default: the preset's, or promp)")
    p.add_argument("--env", help="the task family, e.g. HalfCheetahRandDirec (default: the preset's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a paper configuration or a quick one")
    p.add_argument("--iterations", type=int, help="meta-iterations to run (in total, when resuming)")
    p.add_argument("--meta-gradient", dest="meta_gradient", choices=["explicit", "autograd"],
                   help="the explicit meta-gradient from the compiled kernels, or autograd through the update")
    p.add_argument("--backend", choices=["cpp", "torch"], help=argparse.SUPPRESS)  # the earlier name
    p.add_argument("--sampler", choices=sampler_names(),
                   help="the family's own sampler (auto), C++ rollouts, or a Python loop over gymnasium envs")
    p.add_argument("--seed", type=int, help="the run's seed (every random choice derives from it; default 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="set a setting (--list-keys)")
    p.add_argument("--out", help="run directory, new or empty (default: runs/<algo>-<env>-s<seed>-<time>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the files of an earlier run in --out (config, logs, checkpoints, demonstrations)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    p.add_argument("--list-keys", action="store_true", help="list every setting with its default, and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


# flags that make a new run; --resume continues with the run's own config
_NEW_RUN_FLAGS = ("algo", "env", "preset", "meta_gradient", "backend", "sampler", "seed", "out", "overwrite")


def run(args: argparse.Namespace) -> int:
    from ..algos.run import Runner, list_keys, preset
    from ..algos.run.config import build

    if args.list_keys:
        print(list_keys())
        return 0
    progress = False if args.quiet else None
    if args.resume:
        ignored = [f"--{k.replace('_', '-')}" for k in _NEW_RUN_FLAGS if getattr(args, k) not in (None, False)]
        ignored += ["--set"] if args.set else []
        if ignored:
            print(f"note: ignored with --resume (the run keeps its own config.yaml): {', '.join(ignored)}",
                  file=sys.stderr)
        runner = Runner.from_run_dir(args.resume, verbose=not args.quiet, iterations=args.iterations,
                                     out_dir=args.resume)
        if runner.iteration >= runner.config.iterations:
            raise ValueError(f"{args.resume} is at iteration {runner.iteration} of {runner.config.iterations}; "
                             f"give --iterations above {runner.iteration} to continue it")
        runner.write_config(resume=True)
        print(f"resuming {args.resume} at iteration {runner.iteration} of {runner.config.iterations}")
        return _train(runner, args.resume, resume=True, progress=progress)
    items = [tuple(item.split("=", 1)) if "=" in item else (item, None) for item in args.set]
    bad = [k for k, v in items if v is None]
    if bad:
        raise ValueError(f"--set expects key=value, got {bad[0]!r}")
    for key in ("algo", "env", "iterations", "backend", "meta_gradient", "sampler", "seed"):
        value = getattr(args, key)
        if value is not None:
            items.append((key, str(value)))
    config = preset(args.preset, items) if args.preset else build(items)
    out = args.out or os.path.join("runs", f"{config.algo}-{config.env}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    prepare_run_dir(out, args.overwrite)
    runner = Runner(config, out, verbose=not args.quiet)  # validates everything before the first file
    runner.write_config()
    print(f"run directory: {out}")
    return _train(runner, out, resume=False, progress=progress)


def prepare_run_dir(out: str, overwrite: bool) -> None:
    """Refuses a run directory that holds anything, unless overwrite: then the files of an earlier
    run are removed (and nothing else)."""
    import shutil

    from ..algos.run.runner import LOCK_FILE, RUN_FILES, RunDirectoryLock

    from ..files import remove_leftover_temps

    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise ValueError(f"--out {out}: exists and is not a directory")
    remove_leftover_temps(out, RUN_FILES)  # of a run killed while writing its first file
    entries = [e for e in os.listdir(out) if e != LOCK_FILE]  # a killed run's lock file holds nothing
    if not entries:
        return
    RunDirectoryLock(out).release()  # a run writing there now: refused, naming it
    if not overwrite:
        raise ValueError(f"--out {out}: the directory is not empty (a run is there?); continue it with "
                         f"--resume {out}, choose another --out, or replace it with --overwrite")
    for name in entries:
        path = os.path.join(out, name)
        if name not in RUN_FILES:
            continue
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def _train(runner, out: str, resume: bool, progress) -> int:
    try:
        rows = runner.train(resume=resume, progress=progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted; {out} holds {runner.saved_iteration} iterations; resume with: "
              f"metarl-fast train --resume {out}", file=sys.stderr)
        return 130
    if not rows:
        return 0
    last = rows[-1]
    post = [k for k in last if k.startswith("Step_") and k.endswith("-AverageReturn")][-1]
    print(f"done: {len(rows)} iterations, {last['n_timesteps']} env steps; last iteration pre-update return "
          f"{last['Step_0-AverageReturn']:.3f}, post-update {last[post]:.3f}, {last['Time']:.2f} s/iteration"
          + (f"; success rate {last['Step_0-SuccessRate']:.2f} before, {last[post.replace('AverageReturn', 'SuccessRate')]:.2f} "
             f"after adapting" if "Step_0-SuccessRate" in last else ""))
    return 0

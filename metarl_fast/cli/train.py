"""`metarl-fast train`: meta-train an algorithm on a task family.

    metarl-fast train --algo promp --env HalfCheetahRandDirec [--preset NAME] [--iterations N]
                      [--meta-gradient explicit|autograd] [--sampler auto|cpp|gymnasium]
                      [--set key=value ...] [--seed S] [--out DIR] [--plugin MODULE ...]
    metarl-fast train --resume DIR [--iterations N]
    metarl-fast train --list-keys          every setting, its default and what it does

Settings are common (iterations, meta_batch_size, hidden, ...) or the algorithm's own (inner_lr,
promp_steps for the MAML family; bc_steps for GMPS; ...): ``--set inner_lr=0.05`` or
``--set maml.inner_lr=0.05``. ``--plugin MODULE`` imports a module that registers algorithms,
task families or samplers of your own (docs/extending.md).
"""
from __future__ import annotations

import argparse
import os
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
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="set a setting (--list-keys)")
    p.add_argument("--out", help="run directory (default: runs/<algo>-<env>-s<seed>-<time>)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    p.add_argument("--list-keys", action="store_true", help="list every setting with its default, and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


def run(args: argparse.Namespace) -> int:
    from ..algos.run import Runner, list_keys, preset
    from ..algos.run.config import build

    if args.list_keys:
        print(list_keys())
        return 0
    progress = False if args.quiet else None
    if args.resume:
        runner = Runner.from_run_dir(args.resume, verbose=not args.quiet, iterations=args.iterations,
                                     out_dir=args.resume)
        runner.write_config()
        print(f"resuming {args.resume} at iteration {runner.iteration} of {runner.config.iterations}")
        runner.train(resume=True, progress=progress)
        return 0
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
    runner = Runner(config, out, verbose=not args.quiet)
    runner.write_config()
    print(f"run directory: {out}")
    rows = runner.train(progress=progress)
    last = rows[-1]
    post = [k for k in last if k.startswith("Step_")][-1]
    print(f"done: {len(rows)} iterations, {last['n_timesteps']} env steps; last iteration pre-update return "
          f"{last['Step_0-AverageReturn']:.3f}, post-update {last[post]:.3f}, {last['Time']:.2f} s/iteration")
    return 0

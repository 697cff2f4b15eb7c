"""`metarl-fast train`: meta-train one of the MAML-family variants on a task family.

    metarl-fast train --algo promp --env HalfCheetahRandDirec [--preset NAME] [--iterations N]
                      [--backend cpp|torch] [--sampler cpp|gymnasium] [--set key=value ...] [--seed S] [--out DIR]
    metarl-fast train --resume DIR [--iterations N]
"""
from __future__ import annotations

import argparse
import os
import time

import yaml


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .algos.config import PRESETS
    from .algos.variants import VARIANTS

    p.add_argument("--algo", choices=sorted(VARIANTS), help="the algorithm (default: the preset's, or promp)")
    p.add_argument("--env", help="the task family, e.g. HalfCheetahRandDirec (default: the preset's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a paper configuration or a quick one")
    p.add_argument("--iterations", type=int, help="meta-iterations to run (in total, when resuming)")
    p.add_argument("--backend", choices=["cpp", "torch"], help="explicit kernels or autograd through the update")
    p.add_argument("--sampler", choices=["cpp", "gymnasium"],
                   help="C++ rollouts, or a Python loop over gymnasium vector envs (the reference)")
    p.add_argument("--seed", type=int)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    p.add_argument("--out", help="run directory (default: runs/<algo>-<env>-s<seed>-<time>)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    from .algos.config import TrainConfig, preset
    from .algos.trainer import MetaTrainer

    if args.resume:
        with open(os.path.join(args.resume, "config.yaml")) as f:
            config = TrainConfig.from_dict(yaml.safe_load(f))
        if args.iterations:
            config = config.with_overrides([f"iterations={args.iterations}"])
        trainer = MetaTrainer(config, args.resume)
        trainer.load_state_dict(torch.load(os.path.join(args.resume, "checkpoint.pt"), weights_only=False))
        print(f"resuming {args.resume} at iteration {trainer.iteration} of {config.iterations}")
        trainer.train(resume=True, progress=False if args.quiet else None)
        return 0
    config = preset(args.preset) if args.preset else TrainConfig()
    overrides = list(args.set)
    for key in ("algo", "env", "iterations", "backend", "sampler", "seed"):
        value = getattr(args, key)
        if value is not None:
            overrides.append(f"{key}={value}")
    config = config.with_overrides(overrides)
    out = args.out or os.path.join("runs", f"{config.algo}-{config.env}-s{config.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.yaml"), "w") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    print(f"run directory: {out}")
    rows = MetaTrainer(config, out).train(progress=False if args.quiet else None)
    last = rows[-1]
    k = config.inner_steps
    print(f"done: {len(rows)} iterations, {last['n_timesteps']} env steps; last iteration pre-update return "
          f"{last['Step_0-AverageReturn']:.3f}, post-update {last[f'Step_{k}-AverageReturn']:.3f}, "
          f"{last['Time']:.2f} s/iteration")
    return 0

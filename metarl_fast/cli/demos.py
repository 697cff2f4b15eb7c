"""`metarl-fast demos`: GMPS's phase 1 on its own — train or pick an expert, record demonstrations
in the DemoSet format (docs/gmps.md), for `metarl-fast train --algo gmps --set expert=file
--set demos=PATH`.

    metarl-fast demos --env Point2DNav --expert scripted --tasks 20 --per-task 20 --noise 5 --out demos.npz
    metarl-fast demos --env AntGoalArc --expert sac --sac-steps 1000000 --out ant.npz   (also ant.npz.expert.pt)
"""
from __future__ import annotations

import argparse

HELP = "record expert demonstrations for GMPS"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..envs import family_names
    from ..experts.training import EXPERT_KINDS

    p.add_argument("--env", required=True, choices=family_names(), help="the task family")
    p.add_argument("--expert", default="scripted", choices=EXPERT_KINDS)
    p.add_argument("--tasks", type=int, default=20, help="tasks, drawn from the family with --seed")
    p.add_argument("--per-task", type=int, default=20, help="demonstrations per task")
    p.add_argument("--horizon", type=int, default=0, help="episode length (0: the family's)")
    p.add_argument("--noise", type=float, default=0.0, help="std of the noise on executed actions (policy scale)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sac-steps", type=int, default=200_000, help="SAC: environment steps (per task for sac-per-task)")
    p.add_argument("--sac-hidden", default="256,256", help="SAC: hidden widths, e.g. 256,256")
    p.add_argument("--sac-reward-scale", type=float, default=1.0)
    p.add_argument("--out", required=True, help="the .npz to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import os

    from ..envs import make
    from ..experts import collect_demos
    from ..experts.training import train_expert

    for name in ("tasks", "per_task"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
    if args.horizon < 0:
        raise ValueError(f"--horizon must be >= 0 (0: the family's), got {args.horizon}")
    family = make(args.env)
    horizon = args.horizon or family.default_horizon
    tasks = family.sample_tasks(args.tasks, seed=args.seed)
    sac = None
    if args.expert != "scripted":
        from ..experts.sac import SacConfig

        sac = SacConfig(total_steps=args.sac_steps, hidden=tuple(int(h) for h in args.sac_hidden.split(",") if h),
                        reward_scale=args.sac_reward_scale, seed=args.seed)
    log_dir = os.path.dirname(os.path.abspath(args.out))
    expert = train_expert(family, args.expert, tasks, horizon, sac, log_dir=log_dir,
                          progress=False if args.quiet else None)
    demos = collect_demos(family, expert, tasks, args.per_task, horizon, seed=args.seed + 1, noise=args.noise)
    demos.save(args.out)
    print(f"wrote {args.out}: {demos}")
    if args.expert != "scripted":
        print(f"wrote {expert.save(args.out + '.expert.pt')}")
    return 0

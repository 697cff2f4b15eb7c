"""The `parallel` suite: families stepped from Python (gymnasium; Meta-World's own Python
environments, the reference of its C++ ones), whose loop runs on one core, sampled serially and
on parallel workers of this machine, side by side in one run:

  serial            the Python loop in this process (the baseline)
  processes N       ProcessSampler with N worker processes
  ray N             RaySampler with N single-threaded actors on a local Ray (when Ray is installed)

Every implementation returns the same batch (checked here); rows give env-steps/s and the ratio
to the serial loop.
"""
from __future__ import annotations

import os
import statistics

import torch

from .harness import Row, machine_info, suite_parser, policy_setup, print_table, rows_from_samples, time_interleaved, write_json


def run(argv: list[str] | None = None) -> list[Row]:
    from ..sampling import ProcessSampler, make_sampler

    p = suite_parser("parallel", __doc__, "4 tasks × 2 trajectories × H = 50, 1 repeat", threads=None)
    p.add_argument("--env", default="MetaWorldML1-push-v3")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    T, B, H = (4, 2, 50) if args.quick else (8, 5, 200)
    repeats = 1 if args.quick else args.repeats
    family, spec, params, tasks = policy_setup(args.env, T)
    if hasattr(family, "reference"):  # Meta-World: its own Python environments
        family = family.reference()
    serial = make_sampler("auto", family, spec)
    samplers = {"serial": serial, f"processes {args.workers}": ProcessSampler(family, spec, workers=args.workers)}
    ray = None
    try:
        import ray

        from ..sampling import RaySampler

        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        samplers[f"ray {args.workers}"] = RaySampler(family, spec, actors=args.workers, threads=1)
    except ImportError:
        print("Ray is not installed: no ray row (pip install \"metarl_fast[ray]\")")
    try:
        batches = {name: s.sample(params, tasks, B, H, seed=1) for name, s in samplers.items()}  # warm-up
        for name, batch in batches.items():
            if not torch.equal(batch.obs, batches["serial"].obs) or not torch.equal(batch.rewards,
                                                                                   batches["serial"].rewards):
                raise AssertionError(f"{name} did not return the serial batch")
        steps = batches["serial"].num_steps
        samples = time_interleaved({name: (lambda s=s: s.sample(params, tasks, B, H, seed=1))
                                    for name, s in samplers.items()}, repeats, warmup=0)
    finally:
        for s in samplers.values():
            s.close()
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    rows = rows_from_samples("sample call", samples, "serial", dict(env=args.env, tasks=T, trajs=B, horizon=H),
                             args.workers)
    notes = [f"env-steps per call: {steps} (every implementation returned the serial batch)"]
    notes += [f"{r.implementation:<14} {steps / r.median_s:>9,.0f} env-steps/s  {r.ratio:.2f}x serial" for r in rows]
    print_table(rows, f"parallel: {args.env}, {T} tasks × {B} trajectories × H={H}; {args.workers} workers; "
                      f"{machine_info()['cpu']}; median of {repeats}", notes)
    if args.json:
        write_json(args.json, "parallel", rows, dict(steps=steps, median_s={k: statistics.median(v)
                                                                            for k, v in samples.items()}))
        print(f"wrote {args.json}")
    return rows

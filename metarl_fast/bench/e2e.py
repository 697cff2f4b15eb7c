"""The `e2e` suite: seconds per meta-iteration, end to end (sampling, advantages, inner steps, the
outer step), at the paper configuration: ProMP on HalfCheetahRandDirec, 40 tasks × 20 trajectories
× H = 100, (64, 64) tanh, one inner step, 5 ProMP steps.

  ours       C++ sampler (policy in the loop) + the explicit meta-gradient from the kernels
  reference  the pure-torch pipeline: a Python loop over a gymnasium SyncVectorEnv of the family's
             environments with a torch policy (how PyTorch meta-RL libraries sample) + autograd
             through the unrolled inner update

Each implementation runs `--iterations` meta-iterations after one warm-up iteration; the table
reports the median per phase.
"""
from __future__ import annotations

import argparse
import statistics

from ..runtime import get_num_threads, set_num_threads
from .harness import Row, machine_info, print_table, write_json

PHASES = ("Time-Sampling", "Time-InnerStep", "Time-OuterStep", "Time")


def run(argv: list[str] | None = None) -> list[Row]:
    from ..algos.run import Runner, TrainConfig

    p = argparse.ArgumentParser(prog="python -m metarl_fast.bench e2e", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="8 tasks × 5 trajectories × H = 50, 1 timed iteration")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--algo", default="promp")
    p.add_argument("--env", default="HalfCheetahRandDirec")
    p.add_argument("--iterations", type=int, default=3, help="timed iterations per implementation")
    args = p.parse_args(argv)
    sizes = dict(meta_batch_size=40, rollouts_per_task=20, horizon=100)
    if args.quick:
        sizes = dict(meta_batch_size=8, rollouts_per_task=5, horizon=50)
        args.iterations = 1
    prev = get_num_threads()
    set_num_threads(args.threads)
    import torch

    prev_torch = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    rows: list[Row] = []
    medians = {}
    try:
        for name, sampler, meta_gradient in (("ours (cpp sampler + kernels)", "cpp", "explicit"),
                                             ("reference (gymnasium + autograd)", "gymnasium", "autograd")):
            # ours with the algorithm's torch threads (the default), the reference with torch at --threads
            config = TrainConfig.build(algo=args.algo, env=args.env, sampler=sampler, meta_gradient=meta_gradient,
                                       iterations=args.iterations + 1,
                                       torch_threads=0 if sampler == "cpp" else args.threads, **sizes)
            log = Runner(config, verbose=False).train(progress=False)[1:]  # drop the warm-up iteration
            medians[name] = {ph: statistics.median(r[ph] for r in log) for ph in PHASES}
            medians[name]["env_steps"] = statistics.median(
                r["n_timesteps"] - prev_r["n_timesteps"] for prev_r, r in zip([{"n_timesteps": 0}] + log, log))
    finally:
        set_num_threads(prev)
        torch.set_num_threads(prev_torch)
    ref = medians["reference (gymnasium + autograd)"]
    for name, m in medians.items():
        for ph in PHASES:
            rows.append(Row(f"{ph.replace('Time-', '').replace('Time', 'total')}", name, m[ph], ref[ph] / m[ph],
                            "reference", None, dict(sizes, algo=args.algo, env=args.env), args.threads))
    rows.sort(key=lambda r: (PHASES.index("Time" if r.name == "total" else "Time-" + r.name), r.implementation))
    info = machine_info()
    title = (f"e2e: {args.algo} on {args.env}, {sizes['meta_batch_size']} tasks × {sizes['rollouts_per_task']} "
             f"trajectories × H={sizes['horizon']}; {args.threads} threads; {info['cpu']}; median of "
             f"{args.iterations} iterations; speedup = reference / implementation")
    print_table(rows, title)
    if args.json:
        write_json(args.json, "e2e", rows)
        print(f"wrote {args.json}")
    return rows

"""The `ray` suite: the Ray sampler against the local C++ pool on the same cores, side by side in
one run, at the ProMP batch (HalfCheetahRandDirec, 40 tasks × 20 trajectories × H = 100, (64, 64)
tanh), on a local Ray holding this machine's CPUs.

  local pool        the family's local sampler (the baseline): the C++ pool on every core, or the
                    Python loop (one process) for a Python family (--env PendulumGravity)
  ray A×T           RaySampler with A actors of T C++ threads each (A·T = the cores)

Rows: seconds per call and env-steps/s relative to the local pool (the engine's overhead is 1 −
the ratio). Also printed: bytes moved per call (parameters and tasks out, the batch back), the
round-trip latency of a one-step call, and a model of a ProMP iteration against the number of
nodes built from these measurements (docs/distributed.md explains it).
"""
from __future__ import annotations

import os
import statistics
import time

from ..runtime import get_num_threads, set_num_threads
from .harness import Row, machine_info, suite_parser, policy_setup, print_table, rows_from_samples, time_interleaved, write_json


def iteration_model(local_call_s: float, ray_ratio: float, latency_s: float, bytes_in: int, non_sampling_s: float,
                    nodes: list[int], calls_per_iteration: int = 2, bandwidth_gbps: float = 10.0) -> list[dict]:
    """Modelled seconds per meta-iteration on N nodes like this machine.

    Each sampling call: the physics spread over the N nodes at the Ray sampler's measured
    throughput on one node (local_call_s / (N · ray_ratio): Ray's processes take the same share of
    every node), plus one round trip (latency_s: the first items' start; later items are queued
    behind running ones), plus the batch crossing the network once into the driver (bytes_in at
    bandwidth_gbps) when N > 1. The rest of the iteration (non_sampling_s: inner and outer steps
    on the driver) does not shrink with N."""
    transfer = bytes_in * 8 / (bandwidth_gbps * 1e9)
    rows = []
    for n in nodes:
        per_call = local_call_s / (n * ray_ratio) + latency_s + (transfer if n > 1 else 0.0)
        sampling = calls_per_iteration * per_call
        rows.append(dict(nodes=n, sampling_s=sampling, rest_s=non_sampling_s, iteration_s=sampling + non_sampling_s,
                         speedup=(calls_per_iteration * local_call_s + non_sampling_s) / (sampling + non_sampling_s)))
    return rows


def _non_sampling_seconds(env: str, sizes: dict, iterations: int) -> tuple[float, float]:
    """(median sampling s, median inner + outer step s) per ProMP iteration with the local pool."""
    from ..algos.run import Runner, TrainConfig

    config = TrainConfig.build(algo="promp", env=env, iterations=iterations + 1, **sizes)
    log = Runner(config, verbose=False).train(progress=False)[1:]
    return (statistics.median(r["Time-Sampling"] for r in log),
            statistics.median(r["Time-InnerStep"] + r["Time-OuterStep"] for r in log))


def run(argv: list[str] | None = None) -> list[Row]:
    import ray

    from ..sampling import RaySampler, make_sampler

    p = suite_parser("ray", __doc__, "8 tasks × 5 trajectories × H = 50, 2 repeats", threads=None)
    p.add_argument("--env", default="HalfCheetahRandDirec")
    p.add_argument("--cores", type=int, default=os.cpu_count(), help="CPUs for both the pool and Ray")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--bandwidth-gbps", type=float, default=10.0, help="network bandwidth assumed by the model")
    args = p.parse_args(argv)
    T, B, H = (8, 5, 50) if args.quick else (40, 20, 100)
    repeats = 2 if args.quick else args.repeats
    family, spec, params, tasks = policy_setup(args.env, T)
    prev = get_num_threads()
    set_num_threads(args.cores)
    configs = sorted({1, args.cores})  # actors; threads = cores / actors
    # each configuration's actors reserve the cores; they are timed in turn, never at once
    ray.init(num_cpus=args.cores * len(configs), include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    samplers = {}
    try:
        local = make_sampler("auto", family, spec)  # the C++ pool, or the Python loop of a Python family
        impls = {"local pool": lambda: local.sample(params, tasks, B, H, seed=1)}
        for actors in configs:
            threads = args.cores // actors
            s = samplers[f"ray {actors}x{threads}"] = RaySampler(family, spec, actors=actors, threads=threads)
            impls[f"ray {actors}x{threads}"] = (lambda s=s: s.sample(params, tasks, B, H, seed=1))
        batch = impls["local pool"]()
        steps = batch.num_steps
        samples = time_interleaved(impls, repeats, warmup=1)
        traffic = {name: (s.last_call.bytes_out, s.last_call.bytes_in, s.last_call.items)
                   for name, s in samplers.items()}
        one = samplers[f"ray 1x{args.cores}"]
        latency = []
        for _ in range(20):
            t0 = time.perf_counter()
            one.sample(params, tasks[:1], 1, 1, seed=1)
            latency.append(time.perf_counter() - t0)
    finally:
        for s in samplers.values():
            s.close()
        ray.shutdown()
        set_num_threads(prev)
    sizes = dict(env=args.env, tasks=T, trajs=B, horizon=H)
    rows = rows_from_samples("sample call", samples, "local pool", sizes, args.cores)
    sizes_run = dict(meta_batch_size=T, rollouts_per_task=B, horizon=H)
    sampling_s, rest_s = _non_sampling_seconds(args.env, sizes_run, 1 if args.quick else 2)
    local_s = next(r.median_s for r in rows if r.implementation == "local pool")
    worst = max((r for r in rows if r.implementation != "local pool"), key=lambda r: r.median_s)
    model = iteration_model(local_s, min(1.0, local_s / worst.median_s), statistics.median(latency),
                            traffic[worst.implementation][1], rest_s, [1, 2, 4, 8, 16, 32, 64],
                            bandwidth_gbps=args.bandwidth_gbps)
    crossing = next((m["nodes"] for m in model if m["sampling_s"] < m["rest_s"]), None)
    info = machine_info()
    notes = [f"env-steps per call: {steps}"]
    notes += [f"{r.implementation:<14} {steps / r.median_s:>10,.0f} env-steps/s  {r.ratio:.3f}x the local pool"
              for r in rows]
    notes += [f"{name:<14} per call: {out:,} B out (parameters, tasks, once), {back:,} B back in {items} items"
              for name, (out, back, items) in traffic.items()]
    notes.append(f"one-step call round trip (1 actor): median {statistics.median(latency) * 1e3:.1f} ms")
    notes.append(f"ProMP iteration here: sampling {sampling_s:.2f} s (2 calls), inner + outer steps {rest_s:.2f} s")
    notes.append(f"model (N nodes like this one, {args.bandwidth_gbps:g} Gb/s; each at the slower Ray "
                 f"configuration's throughput, {worst.implementation}: {min(1.0, local_s / worst.median_s):.3f}x):")
    notes += [f"  N={m['nodes']:>2}: sampling {m['sampling_s']:.3f} s + rest {m['rest_s']:.3f} s = "
              f"{m['iteration_s']:.3f} s per iteration ({m['speedup']:.2f}x one node)" for m in model]
    notes.append(f"  sampling falls below the inner + outer steps from N = {crossing} nodes" if crossing else
                 "  sampling stays above the inner + outer steps up to 64 nodes")
    print_table(rows, f"ray: {args.env}, {T} tasks × {B} trajectories × H={H}; {args.cores} cores; {info['cpu']}; "
                      f"median of {repeats}; speedup = local pool / implementation", notes)
    if args.json:
        write_json(args.json, "ray", rows, dict(steps=steps, traffic=traffic, latency_s=latency,
                                               promp_sampling_s=sampling_s, promp_rest_s=rest_s, model=model,
                                               sampling_below_rest_from_nodes=crossing))
        print(f"wrote {args.json}")
    return rows

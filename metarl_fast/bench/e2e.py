"""The `e2e` suite: seconds per meta-iteration, end to end (sampling, advantages, inner steps, the
outer step), at the paper configuration: ProMP on HalfCheetahRandDirec, 40 tasks × 20 trajectories
× H = 100, (64, 64) tanh, one inner step, 5 ProMP steps.

  ours       C++ sampler (policy in the loop) + the explicit meta-gradient from the kernels
  reference  the pure-torch pipeline: a Python loop over a gymnasium SyncVectorEnv of the family's
             environments with a torch policy (how PyTorch meta-RL libraries sample) + autograd
             through the unrolled inner update

Each implementation runs one warm-up iteration, then `--iterations` timed ones, interleaved round
by round (one iteration of each implementation per round), so that a machine whose speed drifts
slows both alike. The table reports the median per phase, and a `total (paired)` row the median over
rounds of each round's ratio.

--device cuda compares where the meta-steps run instead (no pure-torch reference, no breakdown):
ours with parameters, advantages and meta-steps on the CPU, on the GPU with the package's CUDA
kernels, and on the GPU with the torch reference; the C++ sampler runs on the CPU in all three.

Then the phase breakdown of ours (`--no-phases` skips it): 3 more iterations recorded phase by
phase (metarl_fast.phases), each phase's median wall time against its kernel floor (the same
compiled kernel calls replayed alone, fastest of 3), and the C++ sampler against the physics replay
of the same trajectories (MuJoCo families: `family.physics_limit`, interleaved over 3 rounds).
"""
from __future__ import annotations

import gc
import statistics

from ..runtime import get_num_threads, set_num_threads
from .harness import Row, machine_info, suite_parser, print_table, write_json

PHASES = ("Time-Sampling", "Time-InnerStep", "Time-OuterStep", "Time")


def run(argv: list[str] | None = None) -> list[Row]:
    from ..algos.run import Runner, TrainConfig

    p = suite_parser("e2e", __doc__, "8 tasks × 5 trajectories × H = 50, 1 timed iteration",
                     threads_help="threads for the C++ pool and the reference's torch")
    p.add_argument("--algo", default="promp")
    p.add_argument("--env", default="HalfCheetahRandDirec")
    p.add_argument("--iterations", type=int, default=3, help="timed iterations per implementation")
    p.add_argument("--tasks", type=int, default=40, help="meta_batch_size")
    p.add_argument("--trajectories", type=int, default=20, help="rollouts_per_task")
    p.add_argument("--horizon", type=int, default=100)
    p.add_argument("--no-phases", action="store_true", help="skip the phase breakdown of ours")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: the meta-steps on the CPU against the GPU (CUDA kernels, torch reference)")
    args = p.parse_args(argv)
    sizes = dict(meta_batch_size=args.tasks, rollouts_per_task=args.trajectories, horizon=args.horizon)
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
    breakdown: list[Row] = []
    try:
        runners = {}
        for name, settings in _implementations(args.device):
            # ours with the algorithm's torch threads (the default), the reference with torch at --threads
            config = TrainConfig.build(algo=args.algo, env=args.env, iterations=args.iterations + 1,
                                       torch_threads=0 if settings["sampler"] == "cpp" else args.threads,
                                       **settings, **sizes)
            runners[name] = Runner(config, verbose=False)
            runners[name].train(iterations=1, progress=False)  # warm-up
        logs = {name: [] for name in runners}
        for _ in range(args.iterations):
            for name, runner in runners.items():
                gc.collect()  # the other implementation's garbage is not this one's cost
                logs[name] += runner.train(iterations=runner.iteration + 1, progress=False)
        for name, log in logs.items():
            medians[name] = {ph: statistics.median(r[ph] for r in log) for ph in PHASES}
        if not args.no_phases and args.device == "cpu":
            config = TrainConfig.build(algo=args.algo, env=args.env, iterations=2, **sizes)
            breakdown = phase_breakdown(config, args.threads)
    finally:
        set_num_threads(prev)
        torch.set_num_threads(prev_torch)
    baseline = next(name for name, _ in _implementations(args.device) if name.startswith(BASELINE[args.device]))
    ref = medians[baseline]
    meta = dict(sizes, algo=args.algo, env=args.env, device=args.device)
    for name, m in medians.items():
        for ph in PHASES:
            rows.append(Row(f"{ph.replace('Time-', '').replace('Time', 'total')}", name, m[ph], ref[ph] / m[ph],
                            baseline, None, meta, args.threads, [r[ph] for r in logs[name]]))
    rows.sort(key=lambda r: (PHASES.index("Time" if r.name == "total" else "Time-" + r.name), r.implementation))
    for name, log in logs.items():  # each round's ratio, then their median
        ratios = [b["Time"] / r["Time"] for r, b in zip(log, logs[baseline])]
        rows.append(Row("total (paired)", name, statistics.median(r["Time"] for r in log), statistics.median(ratios),
                        baseline, None, dict(meta, round_ratios=ratios), args.threads, [r["Time"] for r in log]))
    info = machine_info()
    gpu = f"; {torch.cuda.get_device_name()}" if args.device == "cuda" else ""
    title = (f"e2e: {args.algo} on {args.env}, {sizes['meta_batch_size']} tasks × {sizes['rollouts_per_task']} "
             f"trajectories × H={sizes['horizon']}; {args.threads} threads; {info['cpu']}{gpu}; median of "
             f"{args.iterations} iterations; speedup = {baseline} / implementation")
    print_table(rows, title)
    if breakdown:
        print_breakdown(breakdown, f"phase breakdown of ours: {args.algo} on {args.env}, median of 3 iterations")
    rows += breakdown
    if args.json:
        write_json(args.json, "e2e", rows)
        print(f"wrote {args.json}")
    return rows


# The row every other is compared with, by --device.
BASELINE = {"cpu": "reference", "cuda": "ours, meta-steps on the CPU"}


def _implementations(device: str) -> list[tuple[str, dict]]:
    """(name, the settings that make it) of the implementations --device compares."""
    if device == "cpu":
        return [("ours (cpp sampler + kernels)", dict(sampler="cpp", meta_gradient="explicit")),
                ("reference (gymnasium + autograd)", dict(sampler="gymnasium", meta_gradient="autograd"))]
    ours = dict(sampler="cpp", meta_gradient="explicit")
    return [("ours, meta-steps on the CPU", ours),
            ("ours, meta-steps on the GPU (CUDA kernels)", dict(ours, device="cuda", cuda_kernels=True)),
            ("ours, meta-steps on the GPU (torch reference)", dict(ours, device="cuda"))]


BREAKDOWN = "phase breakdown"


def phase_breakdown(config, threads: int, iterations: int = 3) -> list[Row]:
    """`iterations` recorded iterations of `config` (after a warm-up iteration), each with its own
    kernel floor → a Row per phase with the medians over them: median_s the phase's wall time, ratio
    its floor / wall time, sizes kernel_s (time inside compiled kernels as the step ran them),
    floor_s (the kernel floor; for sampling, the physics replay of its batches), calls and
    kernel_calls per iteration; then, for MuJoCo families, a "sampler vs physics replay" row (ratio:
    physics / sampler time on the same trajectories). Without a physics replay (the point families)
    the iteration row has no ratio."""
    from .. import phases
    from ..algos.run import Runner

    runner = Runner(config, verbose=False)
    runner.train(iterations=1, progress=False)
    recordings = []
    for _ in range(iterations):
        with phases.recording() as rec:
            runner.train(iterations=runner.iteration + 1, progress=False)
        rec.measure_floor()
        recordings.append(dict(rec.rows()))
    sizes = dict(algo=config.algo, env=config.env, meta_batch_size=config.meta_batch_size,
                 rollouts_per_task=config.rollouts_per_task, horizon=config.horizon, iterations=iterations)
    rows = []
    for path in recordings[0]:
        seen = [r[path] for r in recordings if path in r]
        wall, kernel, floor = (statistics.median(getattr(st, k) for st in seen) for k in ("wall", "kernel", "floor"))
        rows.append(Row(path or "iteration", BREAKDOWN, wall, floor / wall if wall else None, "kernel floor", None,
                        dict(sizes, kernel_s=kernel, floor_s=floor, calls=seen[0].calls,
                             kernel_calls=seen[0].kernel_calls), threads, [st.wall for st in seen]))
    physics = None
    if getattr(runner.ctx.family, "xml_path", ""):  # a C++ family with a MuJoCo model
        physics = _sampler_vs_physics(runner, sizes, threads)
    # The sampling phase's floor is the physics of its batches (each the size of the replayed one);
    # without it the iteration has no floor to compare with.
    by_name = {r.name: r for r in rows}
    sampling, total = by_name.get("sampling"), by_name["iteration"]
    if sampling is not None:
        if physics is None:
            total.ratio = None
        else:
            extra = sampling.sizes["calls"] * physics.sizes["physics_s"]
            for r in (sampling, total):
                r.sizes["floor_s"] += extra
                r.ratio = r.sizes["floor_s"] / r.median_s
    return rows + ([physics] if physics else [])


def _sampler_vs_physics(runner, sizes: dict, threads: int) -> Row:
    from .harness import time_interleaved

    ctx = runner.ctx
    family, c = ctx.family, runner.config
    theta = runner.algorithm.meta_parameters()
    tasks = ctx.sample_tasks(c.meta_batch_size)
    batch = family.rollout(ctx.spec, theta, tasks, c.rollouts_per_task, ctx.horizon, seed=1)
    samples = time_interleaved({
        "sampler": lambda: family.rollout(ctx.spec, theta, tasks, c.rollouts_per_task, ctx.horizon, seed=1),
        "physics": lambda: family.physics_limit(batch, seed=1)}, repeats=3, warmup=1)
    sampler, physics = statistics.median(samples["sampler"]), statistics.median(samples["physics"])
    return Row("sampler vs physics replay", BREAKDOWN, sampler, physics / sampler, "physics replay", None,
               dict(sizes, physics_s=physics, env_steps=int(batch.num_steps)), threads, samples["sampler"])


def print_breakdown(rows: list[Row], title: str) -> None:
    """The phase table: wall ms, in-kernel ms, kernel floor ms and wall / floor per phase."""
    print(f"\n{title}")
    header = f"{'phase':<44}{'calls':>6}{'wall ms':>11}{'in kernels':>12}{'floor ms':>10}{'wall/floor':>12}"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.name == "sampler vs physics replay":
            print(f"{r.name:<44}{'':>6}{r.median_s * 1e3:>11.1f}{'':>12}{r.sizes['physics_s'] * 1e3:>10.1f}"
                  f"{1 / r.ratio:>11.3f}x   (physics replay / sampler = {r.ratio:.3f})")
            continue
        depth = r.name.count("/") if r.name != "iteration" else -1
        label = ("  " * (depth + 1) + r.name.split("/")[-1])[:44]
        s = r.sizes
        ratio = f"{1 / r.ratio:>11.3f}x" if r.ratio else f"{'—':>12}"
        print(f"{label:<44}{s['calls']:>6}{r.median_s * 1e3:>11.1f}{s['kernel_s'] * 1e3:>12.1f}"
              f"{s['floor_s'] * 1e3:>10.1f}{ratio}")

"""The `threads` suite: seconds per training iteration with torch at one intra-op thread against
torch at every core (`--torch-threads`, default the CPUs available), the C++ pool at `--threads`
either way. It measures the default of the `torch_threads` setting (docs/algos.md, "Threads"):
torch's OpenMP workers spin on the cores the C++ pool samples and differentiates on, which costs
more than torch's parallel speed-up gains unless torch's own work dominates.

Cases (paper settings at a reduced batch: 20 tasks × 10 trajectories × H = 100 on MuJoCo):

  gmps-point      the preset (scripted expert, 10 × 10 × 30)
  promp-hc        promp-halfcheetah-dir
  trpo-maml-hc    maml-trpo-halfcheetah-dir
  bomrl-hc        bomrl-halfcheetah-dir

Each case trains `--iterations` + 1 iterations per setting, alternating the settings `--repeats`
times (a noisy machine's drift hits both alike); the table reports the median iteration time
after the first, and speedup = (torch at every core) / (torch at one thread).
"""
from __future__ import annotations

import os
import statistics

from .harness import Row, machine_info, suite_parser, print_table, write_json

_MUJOCO = [("meta_batch_size", "20"), ("rollouts_per_task", "10"), ("horizon", "100")]
CASES = {"gmps-point": ("gmps-point", []), "promp-hc": ("promp-halfcheetah-dir", _MUJOCO),
         "trpo-maml-hc": ("maml-trpo-halfcheetah-dir", _MUJOCO), "bomrl-hc": ("bomrl-halfcheetah-dir", _MUJOCO)}


def _iteration_times(preset_name: str, sets: list, iterations: int, pool: int, torch_threads: int) -> list[float]:
    from ..algos.run import Runner, preset

    config = preset(preset_name, [*sets, ("iterations", str(iterations + 1)), ("threads", str(pool)),
                                  ("torch_threads", str(torch_threads))])
    return [row["Time"] for row in Runner(config, verbose=False).train(progress=False)[1:]]


def run(argv: list[str] | None = None) -> list[Row]:
    p = suite_parser("threads", __doc__, "gmps-point and promp-hc, 1 iteration, 1 repeat",
                     threads=len(os.sched_getaffinity(0)))
    p.add_argument("--torch-threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="torch's threads in the comparison setting")
    p.add_argument("--iterations", type=int, default=2, help="timed iterations per run")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    args = p.parse_args(argv)
    cases = args.cases.split(",")
    if args.quick:
        cases, args.iterations, args.repeats = ["gmps-point", "promp-hc"], 1, 1
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        p.error(f"unknown cases {unknown}; valid: {', '.join(CASES)}")
    settings = {"torch 1 thread": 1, f"torch {args.torch_threads} threads": args.torch_threads}
    rows: list[Row] = []
    for case in cases:
        samples: dict[str, list[float]] = {k: [] for k in settings}
        for _ in range(args.repeats):
            for label, n in settings.items():
                samples[label] += _iteration_times(*CASES[case], args.iterations, args.threads, n)
        base = f"torch {args.torch_threads} threads"
        for label, s in samples.items():
            med = statistics.median(s)
            rows.append(Row(case, label, med, statistics.median(samples[base]) / med, base, None,
                            {"preset": CASES[case][0], **dict(CASES[case][1])}, args.threads, s))
    info = machine_info()
    print_table(rows, f"threads: seconds per training iteration; C++ pool {args.threads} threads; {info['cpu']}; "
                      f"median of {args.iterations} iterations × {args.repeats} repeats; speedup = "
                      f"torch at {args.torch_threads} threads / the row")
    if args.json:
        write_json(args.json, "threads", rows)
        print(f"wrote {args.json}")
    return rows

"""Timing harness shared by the benchmark suites: interleaved repetitions, medians, machine info,
a printed table and JSON rows."""
from __future__ import annotations

import argparse

import contextlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch


@dataclass
class Row:
    """One measured implementation of one benchmark item."""

    name: str
    implementation: str
    median_s: float
    ratio: float | None = None  # baseline median / this median (> 1: faster than the baseline)
    baseline: str | None = None
    gflops: float | None = None
    sizes: dict = field(default_factory=dict)
    threads: int = 0
    samples_s: list[float] = field(default_factory=list)


def suite_parser(suite: str, doc: str, quick: str, threads: int | None = 2,
                 threads_help: str = "threads of the C++ pool") -> argparse.ArgumentParser:
    """The options every suite has: --quick (its smoke size, described by `quick`), --json PATH and,
    unless threads is None, --threads (default `threads`)."""
    p = argparse.ArgumentParser(prog=f"python -m metarl_fast.bench {suite}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    if threads is not None:
        p.add_argument("--threads", type=int, default=threads, help=f"{threads_help} (default {threads})")
    return p


def machine_info() -> dict:
    """CPU model, core count, torch and package build facts for the record."""
    from .. import _C
    from ..runtime import get_num_threads

    model = platform.processor()
    with contextlib.suppress(OSError):  # not Linux: keep platform.processor()
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    return {
        "cpu": model,
        "cpus_available": len(os.sched_getaffinity(0)),
        "pool_threads": get_num_threads(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "isa": _C.policy_isa(),
        "python": platform.python_version(),
    }


def time_interleaved(impls: dict[str, Callable[[], object]], repeats: int, warmup: int = 2,
                     settle_s: float = 0.01) -> dict[str, list[float]]:
    """Run every implementation `warmup` times, then `repeats` rounds of one call each, interleaved
    (so drift of a noisy machine hits all of them alike). Returns the seconds per call.

    Between calls the harness sleeps `settle_s` (untimed): torch's OpenMP workers spin for a while
    after each parallel region, and would otherwise steal the cores of whatever runs next."""
    for fn in impls.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            time.sleep(settle_s)
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return samples


def rows_from_samples(name: str, samples: dict[str, list[float]], baseline: str, sizes: dict, threads: int,
                      flops: float | None = None) -> list[Row]:
    base = statistics.median(samples[baseline])
    rows = []
    for impl, s in samples.items():
        med = statistics.median(s)
        rows.append(Row(name, impl, med, base / med, baseline, flops / med / 1e9 if flops else None, sizes,
                        threads, s))
    return rows


def print_table(rows: list[Row], title: str, notes: list[str] = ()) -> None:
    print(f"\n{title}")
    header = f"{'kernel':<22}{'implementation':<22}{'median ms':>11}{'speedup':>10}{'GFLOP/s':>10}"
    print(header)
    print("-" * len(header))
    last = None
    for r in rows:
        name = r.name if r.name != last else ""
        last = r.name
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        gf = f"{r.gflops:.1f}" if r.gflops is not None else ""
        print(f"{name:<22}{r.implementation:<22}{r.median_s * 1e3:>11.2f}{ratio:>10}{gf:>10}")
    for n in notes:
        print(n)


def write_json(path: str, suite: str, rows: list[Row], extra: dict | None = None) -> None:
    from metarl_fast.runtime import git_commit

    commit, dirty = git_commit()
    doc = {"suite": suite, "git_commit": commit, "git_dirty": dirty, "machine": machine_info(),
           "rows": [asdict(r) for r in rows]}
    if extra:
        doc.update(extra)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def policy_setup(env: str, num_tasks: int, hidden: tuple[int, ...] = (64, 64)):
    """(family, spec, θ, tasks): the family `env`, a Gaussian MLP of `hidden` tanh layers with its
    seed-0 initialisation, and num_tasks tasks drawn with seed 0 — the inputs of the sampling suites."""
    import torch

    from .. import envs
    from ..policies import PolicySpec

    family = envs.make(env)
    spec = PolicySpec(family.obs_dim, family.act_dim, hidden)
    return family, spec, spec.init_params(seed=torch.Generator().manual_seed(0)), family.sample_tasks(num_tasks,
                                                                                                           seed=0)

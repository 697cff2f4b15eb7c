"""The full comparison of the C++ Meta-World environments with Meta-World's own, per environment:

  resets      every one of the 50 training tasks in turn, each after 3 random steps of the previous
              one (the history Meta-World's double reset_model sees), then 5 random steps
  scripted    Meta-World's scripted policy on all 50 training tasks, 500 steps each (to the
              truncation), each side acting on its own observations; success counted per side
  random      uniform random actions, 5 training tasks × 500 steps (goal hidden)
  network     a seeded tanh network on each side's observations, 5 training tasks × 500 steps
  mixed       scripted actions with random ones mixed in, 5 training tasks × 500 steps
  test split  random actions on 5 test tasks × 500 steps

Every step compares observation, reward, the six infos, truncation, qpos, qvel, the solver's warm
start, the mocap pose and the model fields the task moves (metarl_fast/envs/metaworld_oracle.py).

    python tools/metaworld_equivalence.py [--envs push-v3,reach-v3] [--workers 2] [--out FILE.md] [--json FILE]

Prints one line per environment as it finishes and, at the end, the markdown table recorded in
docs/metaworld.md (with the machine and versions). Exits 1 if any environment is not bit-equal or
its scripted success counts differ.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import time
import warnings

SCRIPTED_TASKS = 50
OTHER_TASKS = 5


def check_env(env_name: str) -> dict:
    """Runs every comparison of the module docstring for one environment; a summary dict."""
    warnings.filterwarnings("ignore")
    from metarl_fast.envs.metaworld_oracle import CppMetaWorldEnv, compare_episode, compare_resets, python_env, task_record

    start = time.perf_counter()
    reports = []
    reports += compare_resets(env_name, indices=range(SCRIPTED_TASKS))
    py, cpp = python_env(env_name), CppMetaWorldEnv(env_name)
    scripted = [compare_episode(env_name, task_record(env_name, i, partially_observable=False), "scripted", 500,
                                seed=i, py_env=py, cpp_env=cpp) for i in range(SCRIPTED_TASKS)]
    reports += scripted
    for actions in ("random", "network", "mixed"):
        for i in range(OTHER_TASKS):
            task = task_record(env_name, i, partially_observable=False if actions == "mixed" else None)
            reports.append(compare_episode(env_name, task, actions, 500, seed=100 + i, py_env=py, cpp_env=cpp))
    for i in range(OTHER_TASKS):
        reports.append(compare_episode(env_name, task_record(env_name, i, split=1), "random", 500, seed=200 + i,
                                       py_env=py, cpp_env=cpp))
    unequal = [r for r in reports if not r.equal]
    fields = sorted({m.what for r in unequal for m in r.mismatches})
    return {"env": env_name, "episodes": len(reports), "steps": sum(r.steps for r in reports),
            "bit_equal": not unequal, "unequal_episodes": len(unequal), "fields": fields,
            "max_abs": max((r.max_deviation for r in unequal), default=0.0),
            "first": unequal[0].describe() if unequal else "",
            "scripted_success_python": sum(r.successes[0] for r in scripted),
            "scripted_success_cpp": sum(r.successes[1] for r in scripted),
            "seconds": time.perf_counter() - start}


def table(rows: list[dict]) -> str:
    lines = ["| environment | episodes | steps compared | bit-equal | largest deviation | scripted successes "
             "(Python / C++, of 50) |", "|---|---:|---:|---|---|---|"]
    for r in rows:
        dev = "—" if r["bit_equal"] else f"{r['max_abs']:.3g} in {', '.join(r['fields'])} ({r['unequal_episodes']} episodes)"
        lines.append(f"| {r['env']} | {r['episodes']} | {r['steps']:,} | {'yes' if r['bit_equal'] else 'no'} | {dev} | "
                     f"{r['scripted_success_python']} / {r['scripted_success_cpp']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", default="", help="comma-separated environments (default: every C++ environment)")
    p.add_argument("--workers", type=int, default=2, help="processes, one environment each at a time")
    p.add_argument("--out", help="write the markdown table here")
    p.add_argument("--json", help="write the rows as JSON here")
    args = p.parse_args(argv)
    from metarl_fast.envs.metaworld_oracle import cpp_env_names
    from metarl_fast.envs.metaworld_tasks import benchmark_tasks, metaworld_version

    names = [e for e in args.envs.split(",") if e] or list(cpp_env_names())
    for name in names:  # the task lists, built once here (the workers then read the cache)
        benchmark_tasks("ML1", name, 0)
    start = time.perf_counter()
    rows = []
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for r in pool.imap_unordered(check_env, names):
            rows.append(r)
            status = "bit-equal" if r["bit_equal"] else f"NOT equal: {r['first']}"
            print(f"{r['env']:<30} {r['episodes']} episodes, {r['steps']:,} steps: {status}; scripted successes "
                  f"{r['scripted_success_python']}/{r['scripted_success_cpp']} ({r['seconds']:.0f} s)", flush=True)
    rows.sort(key=lambda r: names.index(r["env"]))
    import mujoco
    import numpy
    import scipy

    header = (f"{len(rows)} environments, {sum(r['steps'] for r in rows):,} steps compared, "
              f"{sum(r['bit_equal'] for r in rows)} bit-equal; {time.perf_counter() - start:.0f} s on {args.workers} "
              f"processes; Meta-World {metaworld_version()}, MuJoCo {mujoco.__version__}, numpy {numpy.__version__}, "
              f"scipy {scipy.__version__}, Python {platform.python_version()}, {platform.processor() or platform.machine()}")
    text = header + "\n\n" + table(rows)
    print("\n" + text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            from metarl_fast.runtime import git_commit

            commit, dirty = git_commit()
            json.dump({"git_commit": commit, "git_dirty": dirty, "summary": header, "rows": rows}, f, indent=1)
    bad = [r for r in rows if not r["bit_equal"] or r["scripted_success_python"] != r["scripted_success_cpp"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

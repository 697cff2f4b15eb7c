"""The `metaworld` suite: sampling throughput (environment steps per second) of Meta-World's
environments, measured in one run, per workload (push-v3, door-open-v3, pick-place-v3 and the
ML10 training mix), for:

  cpp rollout        the C++ environments with the (64, 64) tanh Gaussian policy evaluated inside
                     the workers (MetaWorldFamily.rollout), on --threads threads
  physics floor      the same trajectories' physics alone on the same threads: each reset (hand
                     reset, object placement) and per step the mocap and gripper controls,
                     mj_step × 5 and the forward pass the observation needs; no policy,
                     observation or reward (MetaWorldFamily.physics_limit)
  python serial      Meta-World's own Python environments stepped by the Python loop with the same
                     policy (the `gymnasium` sampler), one process
  python processes   the same on --threads worker processes (the `processes` sampler over
                     Meta-World's Python environments)
  envpool            EnvPool's MetaWorld/<Env>-v3 with random actions on --threads threads, at its
                     best num_envs per thread among 1, 2, 4, 8, 16, 32 (picked by one timed call
                     each, then timed in the rounds with the others; when EnvPool is installed)

Every implementation runs 500-step episodes (Meta-World's length), resets included; the Python
rows run fewer episodes per call (they are 10× slower). Ratios: the C++ rollout against each
baseline, in env-steps/s. `--memory` measures instead the resident memory of an ML45 family with
all 50 models loaded, before and after a rollout over every environment.
"""
from __future__ import annotations

import gc
import os
import statistics
import time

import numpy as np
import torch

from ..runtime import get_num_threads, set_num_threads
from .harness import Row, machine_info, print_table, suite_parser, write_json

WORKLOADS = {"push-v3": "MetaWorldML1-push-v3", "door-open-v3": "MetaWorldML1-door-open-v3",
             "pick-place-v3": "MetaWorldML1-pick-place-v3", "ML10 mix": "MetaWorldML10"}


def _envpool_id(env_name: str) -> str:
    """EnvPool's id of a Meta-World environment: push-v3 → MetaWorld/Push-v3."""
    stem = env_name[:-len("-v3")]
    return "MetaWorld/" + "".join(w.capitalize() for w in stem.split("-")) + "-v3"


class _EnvPoolRun:
    """EnvPool's MetaWorld/<Env>-v3 pools of the workload's environments with random actions:
    `num_envs` per thread on `threads` threads, each pool stepped `rounds` times per call."""

    def __init__(self, env_names: list[str], threads: int, per_thread: int, steps: int) -> None:
        import envpool

        self.n = per_thread * threads
        self.pools = [envpool.make_gymnasium(_envpool_id(e), num_envs=self.n, num_threads=threads, seed=0)
                      for e in env_names]
        self.rounds = max(1, steps // (self.n * len(self.pools)))
        self.actions = np.random.default_rng(0).uniform(-1, 1, (self.rounds, self.n, 4)).astype(np.float32)
        for p in self.pools:
            p.reset()
        self.steps = float(self.rounds * self.n * len(self.pools))

    def __call__(self) -> None:
        for p in self.pools:
            for r in range(self.rounds):
                p.step(self.actions[r])

    def close(self) -> None:
        for p in self.pools:
            p.close()


def _envpool_best(env_names: list[str], threads: int, steps: int) -> _EnvPoolRun | None:
    """EnvPool at its best num_envs per thread among 1, 2, 4, 8, 16, 32 (one timed call each after a
    warm-up call), or None without EnvPool."""
    try:
        import envpool  # noqa: F401
    except ImportError:
        return None
    best, best_rate = None, 0.0
    for per_thread in (1, 2, 4, 8, 16, 32):
        run = _EnvPoolRun(env_names, threads, per_thread, steps)
        run()
        t0 = time.perf_counter()
        run()
        rate = run.steps / (time.perf_counter() - t0)
        if rate > best_rate:
            if best is not None:
                best.close()
            best, best_rate = run, rate
        else:
            run.close()
    return best


def _rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out.get("VmRSS", float("nan")), out.get("VmHWM", float("nan"))


def memory(threads: int) -> None:
    """Resident memory of MetaWorldML45 (all 50 environments' models in one pool) before and after
    a rollout that touches every environment."""
    from .. import envs
    from ..policies import PolicySpec

    set_num_threads(threads)
    base = _rss_mib()[0]
    family = envs.make("MetaWorldML45")
    loaded = _rss_mib()[0]
    spec = PolicySpec(family.obs_dim, family.act_dim, (64, 64))
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    # every environment: one training task per training environment, one test task per test one
    first = {}
    for split, n in ((0, family.num_train_tasks), (1, family.num_test_tasks)):
        for i in range(n):
            first.setdefault(family.task_record(split, i).env_name, (split, i))
    tasks = family.tasks(sorted(first.values()))
    family.rollout(spec, params, tasks, 10, 100, seed=0)
    after, peak = _rss_mib()
    print(f"MetaWorldML45: {len(family.member_envs)} environments, {len(set(family.xml_paths))} model files; "
          f"{threads} threads; {machine_info()['cpu']}")
    print(f"  resident memory: {base:,.0f} MiB before, {loaded:,.0f} MiB with the pool ({loaded - base:,.0f} MiB), "
          f"{after:,.0f} MiB after a rollout over all {len(tasks)} environments × 10 trajectories (peak {peak:,.0f} "
          f"MiB); rollout environments held: {family._sim.rollout_slots}")


def run(argv: list[str] | None = None) -> list[Row]:
    from .. import envs
    from ..policies import PolicySpec
    from ..sampling import GymnasiumSampler, ProcessSampler

    p = suite_parser("metaworld", __doc__, "one workload (push-v3), fewer episodes, 1 repeat")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help=f"any of {', '.join(WORKLOADS)}")
    p.add_argument("--episodes", type=int, default=40, help="500-step episodes per C++ call (default 40)")
    p.add_argument("--python-episodes", type=int, default=4, help="500-step episodes per Python call (default 4)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-python", action="store_true", help="skip the Python rows (they take minutes)")
    p.add_argument("--memory", action="store_true", help="measure ML45's resident memory instead")
    args = p.parse_args(argv)
    if args.memory:
        memory(args.threads)
        return []
    workloads = args.workloads.split(",")
    if args.quick:
        workloads, args.episodes, args.python_episodes, args.repeats = workloads[:1], 8, 2, 1
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads {sorted(unknown)}; valid: {', '.join(WORKLOADS)}")
    prev = (get_num_threads(), torch.get_num_threads())
    set_num_threads(args.threads)
    torch.set_num_threads(1)
    rows: list[Row] = []
    try:
        for w in workloads:
            family = envs.make(WORKLOADS[w])
            spec = PolicySpec(family.obs_dim, family.act_dim, (64, 64), "tanh")
            params = spec.init_params(seed=torch.Generator().manual_seed(0))
            H = 500
            # tasks spread over the workload's environments (ML10: 10 training environments, 2 tasks each)
            T = 20 if w == "ML10 mix" else 10
            B = max(1, args.episodes // T)
            tasks = family.sample_tasks(T, seed=0)
            if w == "ML10 mix":
                per_env = {}
                for i in range(family.num_train_tasks):
                    per_env.setdefault(family.task_record(0, i).env_name, []).append(i)
                tasks = family.tasks([[0, idx[k]] for idx in per_env.values() for k in range(2)])
                T = len(tasks)
            batch = family.rollout(spec, params, tasks, B, H, seed=1)
            cpp_steps = float(batch.num_steps)
            impls = {"cpp rollout": lambda: family.rollout(spec, params, tasks, B, H, seed=1),
                     "physics floor": lambda: family.physics_limit(batch, seed=1)}
            steps = {"cpp rollout": cpp_steps, "physics floor": cpp_steps}
            samplers = []
            if not args.no_python:
                reference = family.reference()
                py_tasks = tasks[np.linspace(0, T - 1, min(T, args.python_episodes)).astype(int)]
                py_b = max(1, args.python_episodes // len(py_tasks))
                serial = GymnasiumSampler(reference, spec)
                procs = ProcessSampler(reference, spec, workers=args.threads)
                samplers += [serial, procs]
                py_steps = float(len(py_tasks) * py_b * H)
                impls["python serial"] = lambda: serial.sample(params, py_tasks, py_b, H, seed=1)
                impls[f"python processes {args.threads}"] = lambda: procs.sample(params, py_tasks, py_b, H, seed=1)
                steps["python serial"] = steps[f"python processes {args.threads}"] = py_steps
            env_names = list(family.train_envs) if w == "ML10 mix" else [w]
            envpool = _envpool_best(env_names, args.threads, int(min(cpp_steps, 20000)))
            if envpool is not None:
                name = f"envpool ({envpool.n // args.threads} envs/thread)"
                impls[name], steps[name] = envpool, envpool.steps
            try:
                for fn in impls.values():  # warm-up (process start, vector envs)
                    fn()
                samples = {k: [] for k in impls}
                for _ in range(args.repeats):
                    for k, fn in impls.items():
                        gc.collect()
                        t0 = time.perf_counter()
                        fn()
                        samples[k].append(time.perf_counter() - t0)
            finally:
                for s in samplers:
                    s.close()
                if envpool is not None:
                    envpool.close()
            rates = {k: steps[k] / statistics.median(v) for k, v in samples.items()}
            cpp = rates["cpp rollout"]
            sizes = dict(T=T, B=B, H=H)
            for k, rate in rates.items():
                rows.append(Row(w, k, statistics.median(samples[k]), cpp / rate, "cpp rollout env-steps/s ÷ this", None,
                                dict(sizes, env_steps_per_s=rate), args.threads, samples[k]))
            floor = rates["physics floor"]
            notes = [f"  {k}: {r:,.0f} env-steps/s" for k, r in rates.items()]
            notes.append(f"  cpp rollout / physics floor = {cpp / floor:.2f}")
            print_table([r for r in rows if r.name == w],
                        f"metaworld: {w}, 500-step episodes, {args.threads} threads, {machine_info()['cpu']}; "
                        f"speedup = cpp rollout env-steps/s ÷ the row's", notes)
            del family
            gc.collect()
    finally:
        set_num_threads(prev[0])
        torch.set_num_threads(prev[1])
    if args.json:
        write_json(args.json, "metaworld", rows, {"pid": os.getpid()})
        print(f"wrote {args.json}")
    return rows

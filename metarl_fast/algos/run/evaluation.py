"""Meta-test: a trained meta-policy adapted on test tasks, the return after 0..K adaptation steps.

Each adaptation step samples fresh trajectories with the current (adapted) policies, with the task
family's own sampler, and takes the algorithm's meta-test step on them (MetaAlgorithm.adapt: the
MAML family's inner step with its step size and the run's advantage estimator — ProMP's J^LR is the
plain policy gradient at the sampling policy; BO-MRL's one-time adaptation, the lower level solved;
GMPS's policy-gradient step with the learned per-parameter step sizes).

An evaluation is written to a new directory, never over an earlier one (default
RUN_DIR/evals/itr<I>-<k>: I the last iteration's index as checkpoints/itr_<I>.pt names it, k the
first unused number):

    summary.csv     per adaptation step: mean return across tasks, its std and 95 % t-interval,
                    tasks, trajectories per task, env steps, non-finite trajectories (and the
                    success rate, for families that report success)
    tasks.csv       per step and task: the task's parameters, its mean return over the trajectories,
                    their std and 95 % t-interval (and its success rate)
    test_tasks.csv  the test tasks (reusable as --tasks-file)
    eval.yaml       what was evaluated: checkpoint, iteration, tasks, seed, steps, versions, command
    eval.png        return against adaptation step (mean ± 95 % interval, each task faint), when
                    matplotlib is installed
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field

import numpy as np

from ...envs.tasks import TaskBatch
from ...files import atomic_path, new_numbered_dir, write_text
from .context import derived_seed
from .intervals import mean_interval
from .meta_policy import MetaPolicy, load, run_dir_of

TASKS_SEED_KEY = 0xE7A1  # the test tasks' seed is derived_seed(seed, TASKS_SEED_KEY)


@dataclass
class EvalResult:
    """summary: one row per adaptation step 0..K; tasks: one row per (step, task); out_dir: where it
    was written (None when not written)."""

    summary: list[dict]
    tasks: list[dict]
    test_tasks: TaskBatch
    out_dir: str | None = None
    files: list[str] = field(default_factory=list)


class EvalProgress:
    """What an evaluation shows while it runs: the environment steps it will take, announced before
    it starts, then a progress bar on a terminal, or a line every `every_s` seconds and at the end
    when stderr is not one (a log file, a job scheduler). Disabled: silent."""

    def __init__(self, what: str, total_steps: int, enabled: bool = True, every_s: float = 10.0) -> None:
        import sys
        import time

        self.what, self.total, self.enabled, self.every_s = what, int(total_steps), enabled, every_s
        self.done, self._start = 0, time.perf_counter()
        self._last = self._start
        self._bar = None
        if not enabled:
            return
        print(f"{what}: about {self.total:,} environment steps", file=sys.stderr, flush=True)
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, unit="step", unit_scale=True, desc=what, leave=False)

    def update(self, steps: int) -> None:
        import sys
        import time

        self.done += int(steps)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(int(steps))
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s or self.done >= self.total:
            self._last = now
            rate = self.done / max(now - self._start, 1e-9)
            print(f"{self.what}: {self.done:,} of {self.total:,} environment steps, {now - self._start:.0f} s "
                  f"({rate:,.0f} steps/s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def meta_test(policy: MetaPolicy, tasks: TaskBatch, steps: int = 3, rollouts_per_task: int | None = None,
              seed: int = 12345, progress: bool = False) -> EvalResult:
    """Returns after 0..steps adaptation steps of `policy` on `tasks` (rollouts of step k seeded
    derived_seed(seed, k)); per step across tasks (mean, std, 95 % t-interval of the mean over
    tasks) and per task (over its trajectories). progress: show EvalProgress on stderr."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"meta_test: steps must be an int >= 0, got {steps!r}")
    adapted = policy.adapt(tasks, steps=0, rollouts_per_task=rollouts_per_task, seed=seed)
    total = (steps + 1) * len(tasks) * adapted.rollouts_per_task * policy.horizon
    bar = EvalProgress(f"meta-test of {policy.family.name}", total, progress)
    summary, per_task = [], []
    for k in range(steps + 1):
        batch = adapted.rollout()
        bar.update(len(tasks) * adapted.rollouts_per_task * policy.horizon)
        returns = batch.returns.numpy()  # [T, B]
        task_means = returns.mean(1)
        mean, low, high = mean_interval(task_means)
        summary.append({"step": k, "mean_return": float(mean), "std_return": float(task_means.std()),
                        "ci95_low": float(low), "ci95_high": float(high), "num_tasks": len(tasks),
                        "rollouts_per_task": returns.shape[1], "env_steps": batch.num_steps,
                        "nonfinite": int(batch.nonfinite.sum())})
        success = batch.successes()  # [T, B] or None
        if success is not None:
            summary[-1]["success_rate"] = float(success.double().mean())
        t_mean, t_low, t_high = mean_interval(returns, axis=1)
        for i in range(len(tasks)):
            per_task.append({"step": k, "task": i, **dict(zip(tasks.fields, map(float, tasks.params[i]))),
                             "mean_return": float(t_mean[i]), "std_return": float(returns[i].std()),
                             "ci95_low": float(t_low[i]), "ci95_high": float(t_high[i]),
                             "rollouts": returns.shape[1]})
            if success is not None:
                per_task[-1]["success_rate"] = float(success[i].double().mean())
        if k < steps:
            adapted = adapted.adapt_on(batch)
    bar.close()
    return EvalResult(summary, per_task, tasks)


def eval_tasks(policy: MetaPolicy, num_tasks: int = 40, tasks_file: str | None = None,
               seed: int = 12345) -> TaskBatch:
    """The tasks of a meta-test: read from `tasks_file` (see read_tasks), else `num_tasks` fresh
    ones drawn with derived_seed(seed, TASKS_SEED_KEY) from the family's held-out test tasks
    (Meta-World's test set; the training distribution for families without one)."""
    if tasks_file is not None:
        return read_tasks(tasks_file, policy.family)
    if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
        raise ValueError(f"the number of test tasks must be an int >= 1, got {num_tasks!r}")
    return policy.sample_tasks(num_tasks, seed=derived_seed(seed, TASKS_SEED_KEY), test=True)


def read_tasks(path: str, family) -> TaskBatch:
    """Test tasks from a file: .csv with a header naming the family's task fields (as test_tasks.csv
    is written; other columns are ignored), .npy [n, task_dim], or .yaml/.json of
    TaskBatch.to_dict()."""
    fields = family.definition.fields
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".csv":
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            missing = [k for k in fields if not rows or k not in rows[0]]
            if missing:
                raise ValueError(f"needs a header with the columns {', '.join(fields)}; missing {', '.join(missing)}")
            params = [[float(r[k]) for k in fields] for r in rows]
        elif ext == ".npy":
            params = np.load(path, allow_pickle=False)
        elif ext in (".yaml", ".yml", ".json"):
            import yaml

            with open(path) as f:
                d = yaml.safe_load(f)
            tasks = TaskBatch.from_dict(d)
            if tasks.family != family.name:
                raise ValueError(f"holds tasks of {tasks.family}, not {family.name}")
            params = tasks.params
        else:
            raise ValueError("must be .csv, .npy, .yaml or .json")
        params = np.asarray(params, dtype=np.float64)
        if params.size == 0:
            raise ValueError("holds no tasks")
        return family.tasks(params.reshape(-1, len(fields)) if params.ndim == 1 and len(fields) == 1 else params)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--tasks-file {path}: {e}") from None


def new_eval_dir(run_dir: str, itr: int) -> str:
    """RUN_DIR/evals/itr<itr>-<k> (itr: the last iteration's index, as checkpoints/itr_<itr>.pt names
    it), k the first number not taken, created (so two evaluations at once never share one)."""
    return new_numbered_dir(os.path.join(run_dir, "evals"), f"itr{itr}-")


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_eval(result: EvalResult, out_dir: str, info: dict, plot: bool = True) -> EvalResult:
    """Writes the evaluation's files (module docstring) into `out_dir` (new or empty) atomically;
    returns the result with out_dir and files set."""
    import yaml

    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise ValueError(f"{out_dir}: not empty; an evaluation never replaces another (choose another --out)")
    os.makedirs(out_dir, exist_ok=True)
    tasks = result.test_tasks
    files = {"summary.csv": _csv_text(result.summary), "tasks.csv": _csv_text(result.tasks),
             "test_tasks.csv": _csv_text([dict(zip(tasks.fields, map(float, row))) for row in tasks.params]),
             "eval.yaml": yaml.safe_dump(info, sort_keys=False)}
    for name, text in files.items():
        write_text(os.path.join(out_dir, name), text)
    result.out_dir, result.files = out_dir, list(files)
    if plot and _plot(result, os.path.join(out_dir, "eval.png"), info.get("title", "")):
        result.files.append("eval.png")
    return result


def _plot(result: EvalResult, path: str, title: str) -> bool:
    """eval.png; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps = [r["step"] for r in result.summary]
    T = result.summary[0]["num_tasks"]
    per_task = np.array([r["mean_return"] for r in result.tasks]).reshape(len(steps), T)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    lines = ax.plot(steps, per_task, color="0.6", alpha=min(1.0, 8 / T), linewidth=0.8)
    lines[0].set_label("each task")
    mean = [r["mean_return"] for r in result.summary]
    low, high = [r["ci95_low"] for r in result.summary], [r["ci95_high"] for r in result.summary]
    ax.fill_between(steps, low, high, color="C0", alpha=0.25, label="95 % interval of the mean")
    ax.plot(steps, mean, "o-", color="C0", label=f"mean over {T} tasks")
    ax.set_xticks(steps)
    ax.set_xlabel("adaptation steps")
    ax.set_ylabel("average return")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True


def evaluate(source: str, num_tasks: int = 40, tasks_file: str | None = None, steps: int = 3,
             rollouts_per_task: int | None = None, seed: int = 12345, out_dir: str | None = None,
             plot: bool = True, write: bool = True, sampler: str | None = None,
             progress: bool = False) -> EvalResult:
    """`metarl-fast eval`: loads `source` (a run directory or a checkpoint file, see load; sampling
    with the run's sampler, or `sampler`), meta-tests it on the test tasks and writes the result to
    `out_dir` (default: a new RUN_DIR/evals/itr<I>-<k> of the run holding the checkpoint)."""
    from ...runtime import run_info

    policy = load(source, sampler=sampler)
    tasks = eval_tasks(policy, num_tasks, tasks_file, seed)
    result = meta_test(policy, tasks, steps, rollouts_per_task, seed, progress)
    if not write:
        return result
    if out_dir is None:
        # the run holding the checkpoint, else the checkpoint's directory
        run_dir = run_dir_of(source) or os.path.dirname(os.path.abspath(source))
        out_dir = new_eval_dir(run_dir, policy.iteration - 1)
    info = {"source": os.path.abspath(source), "algo": policy.algorithm, "env": policy.family.name,
            "iterations_trained": policy.iteration, "steps": steps, "rollouts_per_task": result.summary[0]["rollouts_per_task"],
            "seed": seed, "tasks": {"file": os.path.abspath(tasks_file)} if tasks_file else
            {"drawn": len(tasks), "seed": derived_seed(seed, TASKS_SEED_KEY)},
            "title": f"{policy.algorithm} on {policy.family.name} after {policy.iteration} iterations",
            "run_info": run_info()}
    return write_eval(result, out_dir, info, plot)


def print_eval(result: EvalResult, title: str) -> None:
    print(title)
    success = "success_rate" in result.summary[0]
    print(f"{'adaptation steps':>17}{'mean return':>14}{'95% interval':>24}{'std (tasks)':>14}{'env steps':>12}"
          + (f"{'success':>10}" if success else ""))
    for r in result.summary:
        interval = f"[{r['ci95_low']:.3f}, {r['ci95_high']:.3f}]"
        print(f"{r['step']:>17}{r['mean_return']:>14.3f}{interval:>24}{r['std_return']:>14.3f}{r['env_steps']:>12}"
              + (f"{r['success_rate']:>10.3f}" if success else ""))
    bad = sum(r["nonfinite"] for r in result.summary)
    if bad:
        print(f"note: {bad} trajectories ended early on a non-finite physics state")

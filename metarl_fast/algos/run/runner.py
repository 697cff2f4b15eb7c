"""The runner: the training loop, logging, checkpoints and resumption, for any registered algorithm.

Run directory layout (every file written atomically: a kill never leaves a torn one):
    config.yaml        the resolved TrainConfig (common settings and the algorithm's section), and
                       run_info: the versions, the command line and the git commit it ran with
    progress.csv       one row per iteration (the papers' column names: Itr, n_timesteps,
                       Step_0-AverageReturn, ..., the algorithm's columns, Time-Sampling,
                       Time-InnerStep, Time-OuterStep, Time, Time-Total, SPS)
    train.log          one line per iteration and the algorithm's messages
    tb/                TensorBoard events (tensorboardX)
    checkpoint.pt      the latest state (the algorithm's state, counters, the config)
    checkpoints/       itr_<n>.pt every `checkpoint_every` iterations and at the end
Every random choice is a function of (seed, iteration, key), so a resumed run continues exactly as
an uninterrupted one would. Checkpoints are loaded with torch's weights_only (tensors and plain data
only); one that does not load, or that was made with another config, is refused and the newest good
snapshot in checkpoints/ is used instead.
"""
from __future__ import annotations

import csv
import glob
import math
import os
import re
import sys
import time

import yaml

from ...files import UnsafeFileError, atomic_path, checksum, load_torch, remove_leftover_temps, save_torch, write_text
from ...runtime import run_info, thread_counts
from ..base import MetaAlgorithm
from .config import TrainConfig
from .context import RunContext
from .registry import algorithm

CHECKPOINT_FORMAT = 2  # 1 (no "format" key): the trainer of earlier versions
RUN_FILES = ("config.yaml", "progress.csv", "train.log", "checkpoint.pt", "checkpoints", "tb", "eval.csv",
             "evals", "demos.npz", "sac_expert.pt", "sac_progress.csv")  # what a run writes in its directory


def read_run_config(run_dir: str) -> TrainConfig:
    """The TrainConfig of RUN_DIR/config.yaml (of this or an earlier version)."""
    with open(os.path.join(run_dir, "config.yaml")) as f:
        return TrainConfig.from_dict(yaml.safe_load(f))


class NothingToResume(ValueError):
    """A run directory without a loadable checkpoint."""


def _snapshots(run_dir: str) -> list[str]:
    """checkpoint.pt, then checkpoints/itr_<n>.pt newest first."""
    kept = glob.glob(os.path.join(run_dir, "checkpoints", "itr_*.pt"))
    kept.sort(key=lambda p: int(re.search(r"itr_(\d+)\.pt$", p).group(1)) if re.search(r"itr_(\d+)\.pt$", p)
              else -1, reverse=True)
    return [os.path.join(run_dir, "checkpoint.pt"), *kept]


class Runner:
    """Trains the algorithm `config.algo` on `config.env`, writing into out_dir (None: no files).

    Attributes: config, ctx (the RunContext), algorithm (the MetaAlgorithm)."""

    def __init__(self, config: TrainConfig, out_dir: str | None = None, verbose: bool = True) -> None:
        self.config = config
        self.out_dir = out_dir
        self.ctx = RunContext(config, out_dir, verbose)
        self.algorithm: MetaAlgorithm = algorithm(config.algo).build(self.ctx)
        self.start_time = time.time()
        self.saved_iteration = 0  # iterations held by the last checkpoint written
        self._csv_file = None
        self._writer = None
        self._fieldnames: list[str] | None = None

    @property
    def iteration(self) -> int:
        """Iterations completed."""
        return self.ctx.iteration

    @property
    def timesteps(self) -> int:
        """Environment steps sampled for training so far."""
        return self.ctx.timesteps

    @classmethod
    def from_run_dir(cls, run_dir: str, verbose: bool = True, iterations: int | None = None,
                     out_dir: str | None = None, overrides: tuple[str, ...] = ()) -> "Runner":
        """The run in `run_dir` at its last good checkpoint (its config.yaml, of this or an earlier
        version); iterations: a new total; out_dir: where it continues writing (None: nowhere);
        overrides: ``key=value`` settings of where it runs (device, cuda_kernels, threads).

        checkpoint.pt is used unless it does not load safely or was made with another config; then
        the newest such snapshot in checkpoints/ (the choice is logged). Raises NothingToResume when
        there is none."""
        config_path = os.path.join(run_dir, "config.yaml")
        if not os.path.isfile(config_path):
            raise NothingToResume(f"{run_dir}: no config.yaml, so no run to resume; start one with "
                                  f"metarl-fast train --out {run_dir}")
        config = read_run_config(run_dir)
        if iterations:
            config = config.with_overrides([f"iterations={iterations}"])
        if overrides:
            config = config.with_overrides(list(overrides))
        runner = cls(config, out_dir, verbose)
        refused = []
        for path in _snapshots(run_dir):
            if not os.path.isfile(path):
                continue
            try:
                state = load_torch(path)
                runner._check_snapshot(path, state)
            except UnsafeFileError as e:
                refused.append(str(e))
                continue
            runner.load_state_dict(state)
            for reason in refused:
                runner.ctx.log(f"refused {reason}")
            if refused:
                runner.ctx.log(f"resuming from {path} (iteration {runner.iteration})")
            return runner
        detail = "; ".join(refused) if refused else "no checkpoint was written (the run ended before its first iteration)"
        raise NothingToResume(f"{run_dir}: nothing to resume ({detail}); start again")

    def _check_snapshot(self, path: str, state) -> None:
        """Refuses a snapshot that is not a run state, is corrupted (its checksum; checkpoints of
        earlier versions carry none) or was made with another config."""
        if not isinstance(state, dict) or "iteration" not in state or "config" not in state:
            raise UnsafeFileError(f"{path}: not a metarl_fast checkpoint")
        if "checksum" in state and checksum({k: v for k, v in state.items() if k != "checksum"}) != state["checksum"]:
            raise UnsafeFileError(f"{path}: its contents do not match its checksum (corrupted)")
        # where a run executes (device, kernels) does not change what it is: a GPU run's checkpoint
        # resumes or deploys on the CPU
        here = [f"iterations={self.config.iterations}", f"device={self.config.device}",
                f"cuda_kernels={str(self.config.cuda_kernels).lower()}"]
        made_with = TrainConfig.from_dict(state["config"]).with_overrides(here)
        if made_with != self.config:
            raise UnsafeFileError(f"{path}: made with another config than config.yaml")

    # ---- one iteration
    def run_iteration(self) -> dict:
        """One meta-iteration of the algorithm; returns the log row."""
        ctx = self.ctx
        t_start = time.perf_counter()
        steps_before = ctx.timesteps
        with ctx.kernel_scope():
            log = self.algorithm.run_iteration(ctx)
        ctx.iteration += 1
        row = {"Itr": ctx.iteration - 1, "n_timesteps": ctx.timesteps}
        for k, r in enumerate(log.returns):
            row[f"Step_{k}-AverageReturn"] = r
        if "success" in ctx.family.info_names:
            for k, r in enumerate(log.success):
                row[f"Step_{k}-SuccessRate"] = r
        row.update(log.stats)
        times = log.times
        elapsed = time.perf_counter() - t_start
        row.update({"Time-Sampling": times.get("sampling", 0.0), "Time-InnerStep": times.get("inner", 0.0),
                    "Time-OuterStep": times.get("outer", 0.0), "Time": elapsed,
                    "Time-Total": time.time() - self.start_time,
                    "SPS-Sampling": log.sampled_steps / max(times.get("sampling", 0.0), 1e-9),
                    "SPS-EndToEnd": (ctx.timesteps - steps_before) / max(elapsed, 1e-9)})
        return row

    # ---- logging and checkpoints
    def _open_logs(self, resume: bool) -> None:
        if self.out_dir is None:
            return
        os.makedirs(os.path.join(self.out_dir, "checkpoints"), exist_ok=True)
        if resume:  # what a kill mid-write left behind
            remove_leftover_temps(self.out_dir, RUN_FILES)
            remove_leftover_temps(os.path.join(self.out_dir, "checkpoints"), ["itr_*.pt"])
        path = os.path.join(self.out_dir, "progress.csv")
        if resume and os.path.exists(path):
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self._fieldnames = reader.fieldnames
                rows = list(reader)
            # rows of iterations the checkpoint holds, whole (a row torn by a kill has missing fields)
            kept = [r for r in rows if None not in r.values() and None not in r and r["Itr"].isdigit()
                    and int(r["Itr"]) < self.iteration]
            with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                if self._fieldnames:
                    w = csv.DictWriter(f, self._fieldnames)
                    w.writeheader()
                    w.writerows(kept)
        self._csv_file = open(path, "a", newline="")
        try:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(os.path.join(self.out_dir, "tb"), purge_step=self.timesteps)
            self._writer.add_text("config", "```\n" + yaml.safe_dump(self.config.to_dict(), sort_keys=False) + "```",
                                  self.timesteps)
        except ImportError:  # logging to TensorBoard is optional
            self._writer = None

    def _log(self, row: dict) -> None:
        if self._csv_file is None:
            return
        if self._fieldnames is None:
            self._fieldnames = list(row.keys())
            csv.DictWriter(self._csv_file, self._fieldnames).writeheader()
        if "SPS" in self._fieldnames and "SPS" not in row:  # the column's name in earlier versions
            row = {**row, "SPS": row["SPS-Sampling"]}
        csv.DictWriter(self._csv_file, self._fieldnames, extrasaction="ignore").writerow(row)
        self._csv_file.flush()
        if self._writer is not None:  # the x-axis is environment steps
            for k, v in row.items():
                if k != "n_timesteps" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._writer.add_scalar(k, v, row["n_timesteps"])

    def write_config(self) -> None:
        """config.yaml in the run directory: the resolved config (this version's format) and
        run_info (versions, command line, git commit)."""
        if self.out_dir is None:
            return
        text = yaml.safe_dump({**self.config.to_dict(), "run_info": run_info()}, sort_keys=False)
        write_text(os.path.join(self.out_dir, "config.yaml"), text)

    def state_dict(self) -> dict:
        return {"format": CHECKPOINT_FORMAT, "algorithm": self.algorithm.state_dict(), "iteration": self.iteration,
                "timesteps": self.timesteps, "config": self.config.to_dict(),
                "elapsed": time.time() - self.start_time}

    def load_state_dict(self, state: dict) -> None:
        """Restores state_dict()'s result, or a checkpoint of the trainer of earlier versions (its
        algorithm state and counters in one flat mapping)."""
        self.algorithm.load_state_dict(state["algorithm"] if "format" in state else state)
        self.ctx.iteration = self.saved_iteration = int(state["iteration"])
        self.ctx.timesteps = int(state["timesteps"])
        self.start_time = time.time() - float(state.get("elapsed", 0.0))

    def save_checkpoint(self, keep: bool) -> None:
        """checkpoint.pt (and with keep, checkpoints/itr_<n>.pt), each written atomically."""
        if self.out_dir is None:
            return
        state = self.state_dict()
        state["checksum"] = checksum(state)
        save_torch(state, os.path.join(self.out_dir, "checkpoint.pt"))
        self.saved_iteration = self.iteration
        if keep:
            save_torch(state, os.path.join(self.out_dir, "checkpoints", f"itr_{self.iteration - 1}.pt"))

    # ---- the loop
    def train(self, iterations: int | None = None, resume: bool = False, progress: bool | None = None) -> list[dict]:
        """Runs until `iterations` (default config.iterations) are completed; returns the log rows.
        progress: a progress bar (default: when stderr is a terminal); without one, a line per
        iteration on stderr when the runner is verbose. train.log gets the lines either way."""
        c = self.config
        target = iterations if iterations is not None else c.iterations
        with thread_counts(c.threads, c.torch_threads or type(self.algorithm).torch_threads):
            return self._loop(target, resume, progress)

    def _loop(self, target: int, resume: bool, progress: bool | None) -> list[dict]:
        c, ctx = self.config, self.ctx
        self._open_logs(resume)
        from tqdm import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        ctx.log(f"sampler: {ctx.sampler.describe()}", echo=not show)
        bar = tqdm(total=target, initial=self.iteration, disable=not show, desc=f"{c.algo} {c.env}", unit="itr")
        rows = []
        try:
            while self.iteration < target:
                row = self.run_iteration()
                rows.append(row)
                self._log(row)
                last = self.iteration == target
                self.save_checkpoint(keep=last or self.iteration % c.checkpoint_every == 0)
                post = [v for k, v in row.items() if k.startswith("Step_") and k.endswith("-AverageReturn")][-1]
                success = [v for k, v in row.items() if k.endswith("-SuccessRate")]
                ctx.log(f"itr {row['Itr']}: {row['n_timesteps']} env steps, post-update return {post:.3f}, "
                        + (f"success rate {success[-1]:.2f}, " if success else "")
                        + f"{row['Time']:.2f} s, {row['SPS-EndToEnd']:.0f} steps/s "
                        f"({row['SPS-Sampling']:.0f} while sampling)", echo=not show)
                bar.set_postfix(ret=f"{post:.2f}", sps=f"{row['SPS-EndToEnd']:.0f}")
                bar.update(1)
        finally:
            bar.close()
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
            if self._writer is not None:
                self._writer.close()
            self.ctx.sampler.close()
        return rows

"""The runner: the training loop, logging, checkpoints and resumption, for any registered algorithm.

Run directory layout:
    config.yaml        the resolved TrainConfig (common settings and the algorithm's section)
    progress.csv       one row per iteration (the papers' column names: Itr, n_timesteps,
                       Step_0-AverageReturn, ..., the algorithm's columns, Time-Sampling,
                       Time-InnerStep, Time-OuterStep, Time, Time-Total, SPS)
    train.log          one line per iteration and the algorithm's messages
    tb/                TensorBoard events (tensorboardX)
    checkpoint.pt      the latest state (the algorithm's state, counters, the config)
    checkpoints/       itr_<n>.pt every `checkpoint_every` iterations and at the end
Every random choice is a function of (seed, iteration, key), so a resumed run continues exactly as
an uninterrupted one would.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time

import torch
import yaml

from ...runtime import get_num_threads, set_num_threads
from ..base import MetaAlgorithm
from .config import TrainConfig
from .context import RunContext
from .registry import algorithm

CHECKPOINT_FORMAT = 2  # 1 (no "format" key): the trainer of earlier versions


class Runner:
    """Trains the algorithm `config.algo` on `config.env`, writing into out_dir (None: no files).

    Attributes: config, ctx (the RunContext), algorithm (the MetaAlgorithm)."""

    def __init__(self, config: TrainConfig, out_dir: str | None = None, verbose: bool = True) -> None:
        self.config = config
        self.out_dir = out_dir
        self.ctx = RunContext(config, out_dir, verbose)
        self.algorithm: MetaAlgorithm = algorithm(config.algo).build(self.ctx)
        self.start_time = time.time()
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
                     out_dir: str | None = None) -> "Runner":
        """The run in `run_dir` at its last checkpoint (its config.yaml, of this or an earlier
        version); iterations: a new total; out_dir: where it continues writing (None: nowhere)."""
        with open(os.path.join(run_dir, "config.yaml")) as f:
            config = TrainConfig.from_dict(yaml.safe_load(f))
        if iterations:
            config = config.with_overrides([f"iterations={iterations}"])
        runner = cls(config, out_dir, verbose)
        runner.load_state_dict(torch.load(os.path.join(run_dir, "checkpoint.pt"), weights_only=False))
        return runner

    # ---- one iteration
    def run_iteration(self) -> dict:
        """One meta-iteration of the algorithm; returns the log row."""
        ctx = self.ctx
        t_start = time.perf_counter()
        log = self.algorithm.run_iteration(ctx)
        ctx.iteration += 1
        row = {"Itr": ctx.iteration - 1, "n_timesteps": ctx.timesteps}
        for k, r in enumerate(log.returns):
            row[f"Step_{k}-AverageReturn"] = r
        row.update(log.stats)
        times = log.times
        row.update({"Time-Sampling": times.get("sampling", 0.0), "Time-InnerStep": times.get("inner", 0.0),
                    "Time-OuterStep": times.get("outer", 0.0), "Time": time.perf_counter() - t_start,
                    "Time-Total": time.time() - self.start_time,
                    "SPS": log.sampled_steps / max(times.get("sampling", 0.0), 1e-9)})
        return row

    # ---- logging and checkpoints
    def _open_logs(self, resume: bool) -> None:
        if self.out_dir is None:
            return
        os.makedirs(os.path.join(self.out_dir, "checkpoints"), exist_ok=True)
        path = os.path.join(self.out_dir, "progress.csv")
        if resume and os.path.exists(path):
            with open(path) as f:
                rows = list(csv.DictReader(f))
            self._fieldnames = list(rows[0].keys()) if rows else None
            kept = [r for r in rows if int(r["Itr"]) < self.iteration]  # drop rows past the checkpoint
            with open(path, "w", newline="") as f:
                if self._fieldnames:
                    w = csv.DictWriter(f, self._fieldnames)
                    w.writeheader()
                    w.writerows(kept)
        self._csv_file = open(path, "a", newline="")
        try:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(os.path.join(self.out_dir, "tb"), purge_step=self.iteration)
        except ImportError:  # logging to TensorBoard is optional
            self._writer = None

    def _log(self, row: dict) -> None:
        if self._csv_file is None:
            return
        if self._fieldnames is None:
            self._fieldnames = list(row.keys())
            csv.DictWriter(self._csv_file, self._fieldnames).writeheader()
        csv.DictWriter(self._csv_file, self._fieldnames, extrasaction="ignore").writerow(row)
        self._csv_file.flush()
        if self._writer is not None:
            for k, v in row.items():
                if k != "Itr" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._writer.add_scalar(k, v, row["Itr"])

    def write_config(self) -> None:
        """config.yaml in the run directory (the resolved config, this version's format)."""
        if self.out_dir is None:
            return
        os.makedirs(self.out_dir, exist_ok=True)
        with open(os.path.join(self.out_dir, "config.yaml"), "w") as f:
            yaml.safe_dump(self.config.to_dict(), f, sort_keys=False)

    def state_dict(self) -> dict:
        return {"format": CHECKPOINT_FORMAT, "algorithm": self.algorithm.state_dict(), "iteration": self.iteration,
                "timesteps": self.timesteps, "config": self.config.to_dict(),
                "elapsed": time.time() - self.start_time}

    def load_state_dict(self, state: dict) -> None:
        """Restores state_dict()'s result, or a checkpoint of the trainer of earlier versions (its
        algorithm state and counters in one flat mapping)."""
        self.algorithm.load_state_dict(state["algorithm"] if "format" in state else state)
        self.ctx.iteration = int(state["iteration"])
        self.ctx.timesteps = int(state["timesteps"])
        self.start_time = time.time() - float(state.get("elapsed", 0.0))

    def save_checkpoint(self, keep: bool) -> None:
        if self.out_dir is None:
            return
        state = self.state_dict()
        tmp = os.path.join(self.out_dir, "checkpoint.pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, os.path.join(self.out_dir, "checkpoint.pt"))
        if keep:
            torch.save(state, os.path.join(self.out_dir, "checkpoints", f"itr_{self.iteration - 1}.pt"))

    # ---- the loop
    def train(self, iterations: int | None = None, resume: bool = False, progress: bool | None = None) -> list[dict]:
        """Runs until `iterations` (default config.iterations) are completed; returns the log rows.
        progress: a progress bar (default: when stderr is a terminal); without one, a line per
        iteration on stderr when the runner is verbose. train.log gets the lines either way."""
        c, ctx = self.config, self.ctx
        target = iterations if iterations is not None else c.iterations
        prev_threads = get_num_threads()
        if c.threads:
            set_num_threads(c.threads)
        self._open_logs(resume)
        from tqdm import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=target, initial=self.iteration, disable=not show, desc=f"{c.algo} {c.env}", unit="itr")
        rows = []
        try:
            while self.iteration < target:
                row = self.run_iteration()
                rows.append(row)
                self._log(row)
                last = self.iteration == target
                self.save_checkpoint(keep=last or self.iteration % c.checkpoint_every == 0)
                post = [v for k, v in row.items() if k.startswith("Step_")][-1]
                ctx.log(f"itr {row['Itr']}: {row['n_timesteps']} env steps, post-update return {post:.3f}, "
                        f"{row['Time']:.2f} s, {row['SPS']:.0f} steps/s", echo=not show)
                bar.set_postfix(ret=f"{post:.2f}", sps=f"{row['SPS']:.0f}")
                bar.update(1)
        finally:
            bar.close()
            if c.threads:
                set_num_threads(prev_threads)
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
            if self._writer is not None:
                self._writer.close()
            self.ctx.sampler.close()
        return rows

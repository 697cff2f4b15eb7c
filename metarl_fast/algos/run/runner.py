"""The runner: the training loop, logging, checkpoints and resumption, for any registered algorithm.

Run directory layout (every file written atomically: a kill never leaves a torn one):
    config.yaml        the resolved TrainConfig (common settings and the algorithm's section), and
                       run_info: the versions, the command line and the git commit it started with,
                       and under run_info.resumed the same for each resume, with its iteration
    progress.csv       one row per iteration (the papers' column names: Itr, n_timesteps,
                       Step_0-AverageReturn, ..., the algorithm's columns, Time-Sampling,
                       Time-InnerStep, Time-OuterStep, Time, Time-Total, SPS)
    train.log          one line per iteration and the algorithm's messages
    tb/                TensorBoard events (tensorboardX)
    checkpoint.pt      the latest state (the algorithm's state, counters, the config, the rows of
                       progress.csv so far)
    checkpoints/       itr_<n>.pt every `checkpoint_every` iterations and at the end
    .lock              held (flock) by the runner writing the run, from its creation to the end of
                       train(): a second one refuses to start, naming the holder's pid; the system
                       releases it when the holder dies
Every random choice is a function of (seed, iteration, key), so a resumed run continues exactly as
an uninterrupted one would. Checkpoints are loaded with torch's weights_only (tensors and plain data
only); one that does not load, or that was made with another config, is refused and the newest good
snapshot in checkpoints/ is used instead (with a warning naming both). On resume, progress.csv is
rewritten from the rows the checkpoint holds (a damaged, truncated or deleted file is rebuilt, with
a warning), and a kept snapshot a kill left unwritten is written.
"""
from __future__ import annotations

import contextlib
import csv
import glob
import io
import math
import os
import re
import sys
import time
import warnings

import yaml

from ...files import (UnsafeFileError, atomic_path, checksum, load_torch, named_os_error, remove_leftover_temps,
                      save_torch, write_text)
from ...runtime import run_info, thread_counts
from ..base import MetaAlgorithm
from .config import TrainConfig
from .context import RunContext
from .registry import algorithm

CHECKPOINT_FORMAT = 2  # 1 (no "format" key): the trainer of earlier versions
RUN_FILES = ("config.yaml", "progress.csv", "train.log", "checkpoint.pt", "checkpoints", "tb", "eval.csv",
             "evals", "demos.npz", "sac_expert.pt", "sac_progress.csv")  # what a run writes in its directory
LOCK_FILE = ".lock"


class RunDirectoryInUse(ValueError):
    """Another process is writing the run directory."""


class RunDirectoryLock:
    """An exclusive lock on a run directory (flock on RUN_DIR/.lock, holding the holder's pid): a
    second writer fails at once naming the first; a killed holder's lock is released by the system,
    so a stale file never blocks a resume."""

    def __init__(self, run_dir: str) -> None:
        import fcntl

        self._fd = None
        os.makedirs(run_dir, exist_ok=True)
        self.path = os.path.join(run_dir, LOCK_FILE)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunDirectoryInUse(f"{run_dir} is in use by {holder}: two runs cannot write one directory "
                                    f"(wait for it to end, or choose another --out)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} (started {time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __del__(self) -> None:
        self.release()


def _csv_value(v) -> str:
    """A value as csv.DictWriter writes it."""
    return "" if v is None else str(v)


def read_run_config(run_dir: str) -> TrainConfig:
    """The TrainConfig of RUN_DIR/config.yaml (of this or an earlier version); ValueError naming
    the file when it is not one (not YAML, empty, a tag that would build objects, bad settings)."""
    path = os.path.join(run_dir, "config.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a run config (not YAML text: {str(e).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not doc:
        raise ValueError(f"{path}: not a run config (expected a mapping of settings, got "
                         f"{'nothing' if doc is None else type(doc).__name__})")
    try:
        return TrainConfig.from_dict(doc)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"{path}: {e}") from None


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
        created = out_dir is not None and not os.path.exists(out_dir)
        self._lock = RunDirectoryLock(out_dir) if out_dir is not None else None
        try:
            self.ctx = RunContext(config, out_dir, verbose)
            self.algorithm: MetaAlgorithm = algorithm(config.algo).build(self.ctx)
        except BaseException:  # a setting refused: leave no directory behind
            self.close()
            if created:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(out_dir, LOCK_FILE))
                    os.rmdir(out_dir)
            raise
        self.start_time = time.time()
        self.saved_iteration = 0  # iterations held by the last checkpoint written
        self._csv_file = None
        self._writer = None
        self._fieldnames: list[str] | None = None
        self._rows: list[dict] | None = []  # progress.csv's rows so far (None: a checkpoint of earlier versions)

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
            if out_dir is not None and os.path.abspath(out_dir) == os.path.abspath(run_dir):
                remove_leftover_temps(os.path.join(run_dir, "checkpoints"), ["itr_*.pt"])
                runner._write_pending_snapshot()
            if refused:
                runner.ctx.log(f"resuming from {path} (iteration {runner.iteration})")
                warnings.warn(f"refused {'; '.join(refused)}: using {path} (iteration {runner.iteration}) instead",
                              stacklevel=2)
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
        # where a run executes (device, kernels, the sampler an evaluation uses) does not change what
        # it is: a GPU run's checkpoint resumes or deploys on the CPU
        here = [f"iterations={self.config.iterations}", f"device={self.config.device}",
                f"cuda_kernels={str(self.config.cuda_kernels).lower()}", f"sampler={self.config.sampler}"]
        made_with = TrainConfig.from_dict(state["config"]).with_overrides(here)
        if made_with != self.config:
            raise UnsafeFileError(f"{path}: made with another config than config.yaml")

    # ---- one iteration
    def run_iteration(self) -> dict:
        """One meta-iteration of the algorithm; returns the log row."""
        ctx = self.ctx
        t_start = time.perf_counter()
        steps_before, nonfinite_before = ctx.timesteps, ctx.nonfinite
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
        row["NonFiniteTrajectories"] = ctx.nonfinite - nonfinite_before
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
            self._write_pending_snapshot()
        path = os.path.join(self.out_dir, "progress.csv")
        if resume:
            self._restore_progress(path)
        self._csv_file = open(path, "a", newline="")
        try:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(os.path.join(self.out_dir, "tb"), purge_step=self.timesteps)
            self._writer.add_text("config", "```\n" + yaml.safe_dump(self.config.to_dict(), sort_keys=False) + "```",
                                  self.timesteps)
        except ImportError:  # logging to TensorBoard is optional
            self._writer = None
        except Exception as e:  # noqa: BLE001 — e.g. no thread for its writer (a process limit), a full disk
            self._drop_tensorboard(e)

    def _drop_tensorboard(self, e: BaseException) -> None:
        """TensorBoard logging off for the rest of the run (progress.csv and train.log go on)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        message = f"TensorBoard logging stopped ({type(e).__name__}: {e}); progress.csv and train.log go on"
        warnings.warn(message, stacklevel=3)
        self.ctx.log(message)

    def _write_pending_snapshot(self) -> None:
        """The kept snapshot of the checkpoint's iteration, when a kill between writing checkpoint.pt
        and checkpoints/itr_<n>.pt left it unwritten (the state is the checkpoint's)."""
        n = self.iteration
        if n == 0 or not (n == self.config.iterations or n % self.config.checkpoint_every == 0):
            return
        kept = os.path.join(self.out_dir, "checkpoints", f"itr_{n - 1}.pt")
        if not os.path.isfile(kept):
            state = self.state_dict()
            state["checksum"] = checksum(state)
            save_torch(state, kept)
            self.ctx.log(f"wrote {kept}, the snapshot of iteration {n} an interrupted run left unwritten")

    def _restore_progress(self, path: str) -> None:
        """progress.csv as the checkpoint knows it: its rows rewritten from the checkpoint (the
        file is checked against them; a missing, damaged or truncated file is rebuilt, with a
        warning). A checkpoint of earlier versions holds no rows: the file is kept when its rows
        of the checkpoint's iterations are whole, and refused naming it otherwise."""
        found, problem = self._read_progress(path)
        if self._rows is not None:
            rows = [dict(r) for r in self._rows]
            fields = list(dict.fromkeys(k for r in rows for k in r))
            if problem is None and found is not None:
                problem = self._progress_mismatch(found[1], rows, found[0])
                if problem is None:
                    fields = found[0]  # the file's own columns (an earlier version's names included)
            if problem is not None and self.iteration > 0:
                warnings.warn(f"{path}: {problem}; rebuilt from the checkpoint's {len(rows)} rows", stacklevel=3)
                self.ctx.log(f"{path}: {problem}; rebuilt from the checkpoint's {len(rows)} rows")
            self._fieldnames = fields if rows else None
            self._write_progress(path, self._fieldnames, rows)
            return
        if self.iteration == 0:
            self._fieldnames = None
            self._write_progress(path, None, [])
            return
        if problem is not None:
            raise ValueError(f"{path}: {problem}; this run's checkpoint (of an earlier version) does not hold the "
                             f"rows to rebuild it: restore the file or start the run again")
        fields, rows = found
        kept = [r for r in rows if None not in r.values() and None not in r and str(r.get("Itr", "")).isdigit()
                and int(r["Itr"]) < self.iteration]
        if [int(r["Itr"]) for r in kept] != list(range(self.iteration)):
            raise ValueError(f"{path}: its rows are not those of iterations 0..{self.iteration - 1} the checkpoint "
                             f"holds (damaged or truncated); restore the file or start the run again")
        self._fieldnames = fields
        self._write_progress(path, fields, kept)

    @staticmethod
    def _read_progress(path: str):
        """((fieldnames, rows) or None when missing, problem or None)."""
        if not os.path.isfile(path):
            return None, "missing"
        with open(path, "rb") as f:
            raw = f.read()
        if not raw.strip():
            return None, "empty"
        if b"\x00" in raw:
            return None, "damaged (NUL bytes)"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "damaged (not UTF-8 text)"
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            fields = reader.fieldnames
            rows = list(reader)
        except csv.Error as e:
            return None, f"damaged ({e})"
        if not fields or "Itr" not in fields:
            return None, "damaged (no header with an Itr column)"
        return (list(fields), rows), None

    def _progress_mismatch(self, rows: list[dict], want: list[dict], fields: list[str]) -> str | None:
        """Why the file's rows differ from the checkpoint's (None: they agree)."""
        whole = [r for r in rows if None not in r.values() and None not in r]
        if len(whole) < len(want):
            return f"holds {len(whole)} whole rows, the checkpoint {len(want)} (truncated or damaged)"
        for r, w in zip(whole, want):
            if str(r.get("Itr")) != str(w.get("Itr")) or any(k in r and str(r[k]) != _csv_value(w[k]) for k in w):
                return f"row {r.get('Itr')!r} differs from the checkpoint's (damaged)"
        missing = [k for k in want[0] if k not in fields] if want else []
        if missing:
            return f"its header lacks {missing[:3]} (damaged)"
        return None

    @staticmethod
    def _write_progress(path: str, fields, rows: list[dict]) -> None:
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            if fields:
                w = csv.DictWriter(f, fields, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)

    def _log(self, row: dict) -> None:
        if self._csv_file is None:
            return
        if self._fieldnames is None:
            self._fieldnames = list(row.keys())
            csv.DictWriter(self._csv_file, self._fieldnames).writeheader()
        if "SPS" in self._fieldnames and "SPS" not in row:  # the column's name in earlier versions
            row = {**row, "SPS": row["SPS-Sampling"]}
        if self._rows is not None:
            self._rows.append(row)
        try:
            csv.DictWriter(self._csv_file, self._fieldnames, extrasaction="ignore").writerow(row)
            self._csv_file.flush()
        except OSError as e:
            raise named_os_error(e, os.path.join(self.out_dir, "progress.csv")) from None
        if self._writer is not None:  # the x-axis is environment steps
            try:
                for k, v in row.items():
                    if k != "n_timesteps" and isinstance(v, (int, float)) and math.isfinite(v):
                        self._writer.add_scalar(k, v, row["n_timesteps"])
            except Exception as e:  # noqa: BLE001
                self._drop_tensorboard(e)

    def write_config(self, resume: bool = False) -> None:
        """config.yaml in the run directory: the resolved config (this version's format) and
        run_info (versions, command line, git commit). resume: the run_info of the run's start stays
        (its command is the one that reproduces the run), and this process's run_info is appended
        to its ``resumed`` list with the iteration it resumed at."""
        if self.out_dir is None:
            return
        path = os.path.join(self.out_dir, "config.yaml")
        info = run_info()
        if resume:  # from_run_dir has read this config.yaml as a mapping, so it reads here too
            with open(path) as f:
                earlier = yaml.safe_load(f).get("run_info")
            if isinstance(earlier, dict):  # config.yaml of a version without run_info: this one starts it
                info = {**earlier, "resumed": [*earlier.get("resumed", []), {"at_iteration": self.iteration, **info}]}
        write_text(path, yaml.safe_dump({**self.config.to_dict(), "run_info": info}, sort_keys=False))

    def state_dict(self) -> dict:
        state = {"format": CHECKPOINT_FORMAT, "algorithm": self.algorithm.state_dict(), "iteration": self.iteration,
                 "timesteps": self.timesteps, "config": self.config.to_dict(),
                 "elapsed": time.time() - self.start_time, "nonfinite": self.ctx.nonfinite}
        if self._rows is not None:
            state["progress"] = [dict(r) for r in self._rows]
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restores state_dict()'s result, or a checkpoint of the trainer of earlier versions (its
        algorithm state and counters in one flat mapping)."""
        self.algorithm.load_state_dict(state["algorithm"] if "format" in state else state)
        self.ctx.iteration = self.saved_iteration = int(state["iteration"])
        self.ctx.timesteps = int(state["timesteps"])
        self.ctx.nonfinite = int(state.get("nonfinite", 0))
        self.start_time = time.time() - float(state.get("elapsed", 0.0))
        rows = state.get("progress")
        self._rows = [dict(r) for r in rows] if isinstance(rows, list) else None

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

    def close(self) -> None:
        """Releases the run directory (its lock) without training; train() releases it when it ends."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # ---- the loop
    def train(self, iterations: int | None = None, resume: bool = False, progress: bool | None = None) -> list[dict]:
        """Runs until `iterations` (default config.iterations) are completed; returns the log rows.
        progress: a progress bar (default: when stderr is a terminal); without one, a line per
        iteration on stderr when the runner is verbose. train.log gets the lines either way."""
        c = self.config
        target = iterations if iterations is not None else c.iterations
        if self.out_dir is not None and self._lock is None:  # a second train() of this runner
            self._lock = RunDirectoryLock(self.out_dir)
        try:
            with thread_counts(c.threads, c.torch_threads or type(self.algorithm).torch_threads):
                return self._loop(target, resume, progress)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

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
                        f"({row['SPS-Sampling']:.0f} while sampling)"
                        + (f", {row['NonFiniteTrajectories']} trajectories ended by an unstable state (physics)"
                           if row["NonFiniteTrajectories"] else ""), echo=not show)
                bar.set_postfix(ret=f"{post:.2f}", sps=f"{row['SPS-EndToEnd']:.0f}")
                bar.update(1)
        finally:
            bar.close()
            if self._csv_file is not None:
                with contextlib.suppress(OSError):  # a full disk: the error that stopped the run says so
                    self._csv_file.close()
                self._csv_file = None
            if self._writer is not None:
                with contextlib.suppress(Exception):
                    self._writer.close()
                self._writer = None
            self.ctx.sampler.close()
        return rows

"""Crash safety: a training process killed with SIGKILL at several points — while it writes each of
its files (the temporary file complete or torn, before the rename), between two files, before its
first checkpoint, and in a GMPS DAgger run while the aggregated demonstrations are written — then
resumed with `--resume`, ends exactly as the run that was never interrupted (progress rows and final
parameters), or says there is nothing to resume."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys

import pytest
import torch

from metarl_fast.cli import main

# Runs the CLI with os.replace wrapped: at the n-th rename onto a file matching PATTERN the process
# SIGKILLs itself before the rename ("before"), after truncating the temporary file to half
# ("torn"), or just after the rename ("after").
KILLER = r"""
import fnmatch, os, signal, sys
pattern, nth, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real_replace, seen = os.replace, [0]

def replace(src, dst):
    hit = fnmatch.fnmatchcase(os.path.basename(dst), pattern)
    if hit:
        seen[0] += 1
    if hit and seen[0] == nth and when in ("before", "torn"):
        if when == "torn":
            os.truncate(src, os.path.getsize(src) // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    if hit and seen[0] == nth and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
from metarl_fast.cli import main
sys.exit(main(sys.argv[4:]))
"""

PROMP = ["--preset", "quick", "--iterations", "4", "--set", "meta_batch_size=3", "--set", "rollouts_per_task=2",
         "--set", "horizon=10", "--set", "hidden=8", "--set", "checkpoint_every=1", "--quiet"]
GMPS = ["--preset", "gmps-point", "--iterations", "3", "--set", "gmps_bc_steps=3", "--set", "gmps_num_tasks=3",
        "--set", "gmps_demos_per_task=2", "--set", "rollouts_per_task=3", "--set", "hidden=8", "--set", "horizon=10",
        "--set", "gmps_dagger=true", "--set", "dagger_trajs=2", "--set", "checkpoint_every=1", "--quiet"]


def _rows(out):
    with open(os.path.join(out, "progress.csv"), newline="") as f:
        return [{k: v for k, v in r.items() if not k.startswith(("Time", "SPS"))} for r in csv.DictReader(f)]


def _final(out):
    state = torch.load(os.path.join(out, "checkpoint.pt"), weights_only=True)
    return state["iteration"], state["timesteps"], state["algorithm"]["theta"]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    d = tmp_path_factory.mktemp("uninterrupted")
    out = {}
    for name, args in (("promp", PROMP), ("gmps", GMPS)):
        assert main(["train", *args, "--out", str(d / name)]) == 0
        out[name] = str(d / name)
    return out


def _killed(tmp_path, args, pattern, nth, when):
    out = str(tmp_path / "run")
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    done = subprocess.run([sys.executable, str(script), pattern, str(nth), when, "train", *args, "--out", out],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, (pattern, nth, when, done.returncode, done.stderr[-2000:])
    return out


CASES = [
    # (run, file pattern, n-th rename, when): what the kill interrupts
    ("promp", "checkpoint.pt", 2, "before"),   # iteration 1's row written, its checkpoint not
    ("promp", "checkpoint.pt", 3, "torn"),     # checkpoint.pt half written
    ("promp", "checkpoint.pt", 2, "after"),    # checkpoint.pt written, checkpoints/itr_1.pt not
    ("promp", "itr_*.pt", 3, "torn"),          # a snapshot half written
    ("gmps", "demos.npz", 3, "before"),        # DAgger's aggregation of iteration 1 half written
    ("gmps", "demos.npz", 3, "after"),         # aggregated demonstrations saved, the checkpoint not
    ("gmps", "checkpoint.pt", 2, "torn"),
]


@pytest.mark.parametrize("run,pattern,nth,when", CASES)
def test_killed_then_resumed_is_the_uninterrupted_run(references, tmp_path, run, pattern, nth, when):
    args = PROMP if run == "promp" else GMPS
    out = _killed(tmp_path, args, pattern, nth, when)
    assert main(["train", "--resume", out, "--quiet"]) == 0
    reference = references[run]
    assert _rows(out) == _rows(reference)
    itr, steps, theta = _final(out)
    ref_itr, ref_steps, ref_theta = _final(reference)
    assert (itr, steps) == (ref_itr, ref_steps) and torch.equal(theta, ref_theta)
    leftovers = [f for d in (out, os.path.join(out, "checkpoints")) for f in os.listdir(d) if f.endswith(".tmp")]
    assert leftovers == []


def test_killed_before_the_first_checkpoint_says_start_again(tmp_path, capsys):
    out = _killed(tmp_path, PROMP, "checkpoint.pt", 1, "torn")
    assert main(["train", "--resume", out, "--quiet"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    out = _killed(tmp_path / "x", PROMP, "config.yaml", 1, "torn") if (tmp_path / "x").mkdir() is None else None
    assert main(["train", "--resume", out, "--quiet"]) == 2
    assert "no config.yaml" in capsys.readouterr().err
    # the directory holds only the torn temporary file: a new run may start there
    assert main(["train", *PROMP, "--iterations", "1", "--out", out]) == 0

"""Results never change by accident: fixed-seed short runs of every algorithm, and a rollout of every
C++ task family, reproduce the record in python_tests/data/fixed_seed_runs.json (relative 1e-9 for
runs, 1e-12 for rollouts), and run directories written by an earlier version of the package resume
to the same numbers. The record is written by tools/fixed_seed_runs.py."""
import contextlib
import csv
import io
import json
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import fixed_seed_runs as fsr  # noqa: E402

with open(fsr.RECORD) as _f:
    RECORD = json.load(_f)


@pytest.mark.parametrize("name", sorted(fsr.CASES))
def test_fixed_seed_run_reproduces_the_record(name, tmp_path):
    assert RECORD["runs"][name]["argv"] == fsr.CASES[name]
    got = fsr.run_case(name, str(tmp_path))
    assert fsr.compare(name, RECORD["runs"][name], got) == []


def test_family_rollouts_reproduce_the_record():
    from metarl_fast.envs import FAMILY_NAMES

    assert sorted(RECORD["rollouts"]) == sorted(FAMILY_NAMES)
    got = {name: fsr.rollout_record(name) for name in FAMILY_NAMES}
    assert fsr.compare_rollouts(RECORD["rollouts"], got) == []


LEGACY = os.path.join(HERE, "data", "legacy_runs")


@pytest.mark.parametrize("name", sorted(os.listdir(LEGACY)))
def test_a_run_directory_of_an_earlier_version_resumes_exactly(name, tmp_path):
    """python_tests/data/legacy_runs/<case>: the case's first iterations (all but the last), written
    by metarl_fast 0.1.0 before the algorithm plug-ins (flat config keys, the trainer's checkpoint).
    Resumed to the case's iterations, every row equals the uninterrupted run's record."""
    from metarl_fast.cli import main

    run = tmp_path / name
    shutil.copytree(os.path.join(LEGACY, name), run)
    with contextlib.redirect_stdout(io.StringIO()):
        argv = fsr.CASES[name]
        iterations = argv[argv.index("--iterations") + 1]
        assert main(["train", "--resume", str(run), "--iterations", iterations, "--quiet"]) == 0
    with open(run / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    got = [{k: (int(v) if k == "n_timesteps" else float(v)) for k, v in r.items()
            if k == "n_timesteps" or (k.startswith("Step_") and k.endswith("-AverageReturn"))} for r in rows]
    expected = RECORD["runs"][name]
    assert fsr.compare(name, {"train": expected["train"], "eval": []}, {"train": got, "eval": []}) == []

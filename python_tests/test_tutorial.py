"""docs/tutorial-custom-family.md runs as written: its module is saved as my_families.py, its
commands run in a fresh process each, its Python example runs; the family it defines behaves as its
closed form says (a still policy drifts with the wind), and the evaluation reads the fixed tasks."""
from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "tutorial-custom-family.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


@pytest.fixture(scope="module")
def tutorial_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tutorial")
    module = _blocks("python")[0]
    assert module.startswith("# my_families.py")
    (d / "my_families.py").write_text(module)
    env = {**os.environ, "PYTHONPATH": str(d)}
    for line in _blocks("bash")[0].splitlines():
        if not line.strip():
            continue
        argv = shlex.split(line)
        assert argv[0] == "metarl-fast"
        done = subprocess.run([sys.executable, "-m", "metarl_fast.cli", *argv[1:]], cwd=d, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (line, done.stderr[-3000:])
    return d


def test_the_tutorials_commands_train_evaluate_and_plot(tutorial_dir):
    d = tutorial_dir
    for seed in (1, 2):
        with open(d / "runs" / f"windy-s{seed}" / "progress.csv") as f:
            assert len(list(csv.DictReader(f))) == 15
    first, second = (d / "runs" / f"windy-s{s}" / "evals" / "itr14-0" for s in (1, 2))
    with open(first / "test_tasks.csv") as f:
        tasks = list(csv.DictReader(f))
    assert list(tasks[0]) == ["wind_x", "wind_y"] and len(tasks) == 8
    assert all(abs(float(v)) <= 0.05 for t in tasks for v in t.values())
    assert (first / "test_tasks.csv").read_text() == (second / "test_tasks.csv").read_text()
    with open(second / "tasks.csv") as f:  # the per-task rows carry the file's tasks
        rows = [r for r in csv.DictReader(f) if r["step"] == "0"]
    assert [(r["wind_x"], r["wind_y"]) for r in rows] == [(t["wind_x"], t["wind_y"]) for t in tasks]
    # it meta-learns: the post-update return climbs, and one adaptation step helps on the test tasks
    with open(d / "runs" / "windy-s1" / "progress.csv") as f:
        post = [float(r["Step_1-AverageReturn"]) for r in csv.DictReader(f)]
    assert post[-1] > post[0] + 10
    with open(first / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert float(summary[1]["ci95_low"]) > float(summary[0]["ci95_high"])
    png = (d / "windy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_the_tutorials_python_example_runs(tutorial_dir, monkeypatch):
    monkeypatch.chdir(tutorial_dir)
    monkeypatch.syspath_prepend(str(tutorial_dir))
    exec(compile(_blocks("python")[1], str(DOC), "exec"), {})


def test_the_tutorial_family_follows_its_closed_form(tutorial_dir, monkeypatch):
    """A policy whose mean is 0 and whose std is tiny stays put apart from the wind: position t·w,
    reward −t·|w|, return −|w|·H(H+1)/2 over H steps."""
    monkeypatch.syspath_prepend(str(tutorial_dir))
    import my_families  # noqa: F401  (registers WindyPoint)
    from metarl_fast import PolicySpec, envs

    family = envs.make("WindyPoint")
    spec = PolicySpec(obs_dim=2, act_dim=2, hidden=(8,))
    params = torch.zeros(spec.num_params, dtype=torch.float64)
    tasks = family.tasks([[0.03, -0.04], [0.0, 0.01]])
    batch = family.rollout(spec, params, tasks, 2, 30, seed=0, deterministic=True)
    H = 30
    speed = np.linalg.norm(tasks.params, axis=1)
    np.testing.assert_allclose(batch.returns.numpy(), np.repeat(-speed[:, None] * H * (H + 1) / 2, 2, 1), rtol=1e-12)
    np.testing.assert_allclose(batch.obs[0, 0, 5].numpy(), 5 * tasks.params[0], rtol=1e-12)

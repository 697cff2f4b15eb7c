"""Adding an algorithm is one module plus one registry row (docs/extending.md): a tiny algorithm
defined here, with a settings section of its own, is registered by importing this file
(``--plugin test_extending``) and trained, resumed and meta-tested from the command line — in a
fresh process and in this one — without any package file knowing it."""
import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import torch

from metarl_fast.algos import IterationLog, MetaAlgorithm
from metarl_fast.algos.run import register_algorithm
from metarl_fast.algos.settings import setting


@dataclass
class HillClimbSettings:
    name = "hill_climb"  # its config section

    sigma: float = setting(0.05, "scale of the random perturbation of θ", gt=0)


class HillClimb(MetaAlgorithm):
    """Random-search meta-training: per iteration, the return of θ and of θ + σε on the same tasks;
    keep the better. Meta-test: no adaptation."""

    settings = HillClimbSettings

    def __init__(self, ctx) -> None:
        g = torch.Generator().manual_seed(ctx.seed(1))
        self.theta = ctx.spec.init_params(ctx.config.init_std, seed=g, dtype=ctx.dtype)
        self.sigma = ctx.section.sigma

    def meta_parameters(self):
        return self.theta.clone()

    def run_iteration(self, ctx):
        t0 = time.perf_counter()
        tasks = ctx.sample_tasks(ctx.config.meta_batch_size)
        g = torch.Generator().manual_seed(ctx.iteration_seed(2))
        trial = self.theta + self.sigma * torch.randn(self.theta.shape, generator=g, dtype=self.theta.dtype)
        base, other = ctx.sample(self.theta, tasks, 0), ctx.sample(trial, tasks, 1)
        accepted = other.mean_return() > base.mean_return()
        if accepted:
            self.theta = trial
        return IterationLog([base.mean_return()], {"Accepted": int(accepted)},
                            {"sampling": time.perf_counter() - t0}, base.num_steps + other.num_steps)

    def adapt(self, ctx, batch, params):
        return params

    def state_dict(self):
        return {"theta": self.theta.clone()}

    def load_state_dict(self, state):
        self.theta = state["theta"].clone()


register_algorithm("hill-climb", HillClimb, description="random search (a test of the plug-in interface)",
                   replace=True)

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = ["--plugin", "test_extending", "--algo", "hill-climb", "--env", "Point2DNav", "--set", "meta_batch_size=3",
        "--set", "rollouts_per_task=2", "--set", "horizon=10", "--set", "hidden=8", "--set", "sigma=0.2", "--quiet"]


def _cli(*argv):
    """The installed `metarl-fast` command in a fresh process, with this directory importable."""
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = shutil.which("metarl-fast") or os.path.join(os.path.dirname(sys.executable), "metarl-fast")
    return subprocess.run([command, *argv], capture_output=True, text=True, env=env, cwd=HERE)


def _rows(run):
    with open(os.path.join(run, "progress.csv")) as f:
        return [{k: v for k, v in r.items() if not k.startswith(("Time", "SPS"))} for r in csv.DictReader(f)]


def test_a_plugin_algorithm_trains_resumes_and_meta_tests_from_the_command_line(tmp_path):
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    done = _cli("train", *ARGS, "--iterations", "4", "--out", full)
    assert done.returncode == 0, done.stderr
    rows = _rows(full)
    assert len(rows) == 4 and {"Accepted", "Step_0-AverageReturn", "n_timesteps"} <= set(rows[0])
    assert int(rows[-1]["n_timesteps"]) == 4 * 2 * 3 * 2 * 10  # two batches of T·B·H per iteration
    with open(os.path.join(full, "config.yaml")) as f:
        assert "hill_climb:\n  sigma: 0.2" in f.read()
    assert _cli("train", *ARGS, "--iterations", "2", "--out", part).returncode == 0
    resumed = _cli("train", "--plugin", "test_extending", "--resume", part, "--iterations", "4", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert _rows(part) == rows  # exactly as the uninterrupted run
    listed = _cli("train", "--plugin", "test_extending", "--list-keys")
    assert "[hill_climb] settings of hill-climb" in listed.stdout and "sigma = 0.05" in listed.stdout
    ev = _cli("eval", "--plugin", "test_extending", full, "--tasks", "2", "--steps", "1")
    assert ev.returncode == 0 and "adaptation steps" in ev.stdout, ev.stderr
    unknown = _cli("train", "--algo", "hill-climb", "--out", str(tmp_path / "x"))  # without the plugin
    assert unknown.returncode != 0 and "invalid choice: 'hill-climb'" in unknown.stderr


def test_the_same_in_process(tmp_path):
    from metarl_fast.algos.run import Runner
    from metarl_fast.cli import main

    assert main(["train", *ARGS, "--iterations", "2", "--out", str(tmp_path / "run")]) == 0
    runner = Runner.from_run_dir(str(tmp_path / "run"), verbose=False)
    assert isinstance(runner.algorithm, HillClimb) and runner.iteration == 2 and runner.config.section.sigma == 0.2

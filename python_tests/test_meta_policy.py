"""Trained meta-policies and meta-test: metarl_fast.load (run directories and checkpoint files),
MetaPolicy / AdaptedPolicy actions against the sampler's own in-loop policy, adaptation from tasks
and from a batch, `metarl-fast eval` (checkpoints, fixed task files, per-task rows, intervals, never
overwriting), and the t quantiles against closed forms."""
from __future__ import annotations

import csv
import math
import os
import pickle
import shutil
import statistics

import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast.algos.run import Runner, derived_seed, preset
from metarl_fast.algos.run.intervals import mean_interval, t_quantile
from metarl_fast.cli import main
from metarl_fast.files import UnsafeFileError

SMALL = ["--set", "meta_batch_size=3", "--set", "rollouts_per_task=2", "--set", "horizon=10", "--set", "hidden=8",
         "--quiet"]


def _train(out, *args, iterations=4):
    assert main(["train", *args, *SMALL, "--iterations", str(iterations), "--out", str(out)]) == 0
    return str(out)


@pytest.fixture(scope="module")
def promp_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("runs") / "promp", "--preset", "quick", "--set", "checkpoint_every=2")


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---- t quantiles and intervals
def test_t_quantiles_match_the_closed_forms():
    for p in (0.6, 0.9, 0.975, 0.995):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
        a = 4 * p * (1 - p)  # ν = 4
        assert t_quantile(p, 4) == pytest.approx(2 * math.sqrt(math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a) - 1),
                                                  rel=1e-9)
        assert t_quantile(p, 1e7) == pytest.approx(statistics.NormalDist().inv_cdf(p), rel=1e-6)
        assert t_quantile(1 - p, 3) == -t_quantile(p, 3)
    for bad in ((0.0, 3), (1.0, 3), (0.9, 0)):
        with pytest.raises(ValueError):
            t_quantile(*bad)


def test_mean_interval_is_the_t_interval():
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    mean, low, high = mean_interval(x, axis=1)
    half = t_quantile(0.975, 2) * np.std(x[0], ddof=1) / math.sqrt(3)
    assert mean.tolist() == [7 / 3, 3.0] and low[0] == pytest.approx(7 / 3 - half) and high[1] == 3.0
    assert np.isnan(mean_interval([5.0])[1])


# ---- load
def test_load_a_run_and_its_checkpoints(promp_run, tmp_path):
    policy = metarl_fast.load(promp_run)
    runner = Runner.from_run_dir(promp_run, verbose=False)
    assert policy.iteration == 4 and policy.algorithm == "promp" and policy.family.name == "Point2DNav"
    assert torch.equal(policy.params, runner.algorithm.meta_parameters())
    # checkpoints/itr_1.pt is the state after 2 iterations: a separate 2-iteration run of the same seed
    early = metarl_fast.load(os.path.join(promp_run, "checkpoints", "itr_1.pt"))
    two = _train(tmp_path / "two", "--preset", "quick", iterations=2)
    assert early.iteration == 2 and torch.equal(early.params, metarl_fast.load(two).params)
    # a copy of a checkpoint outside any run uses the config it carries
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(os.path.join(promp_run, "checkpoint.pt"), alone / "ckpt.pt")
    assert torch.equal(metarl_fast.load(str(alone / "ckpt.pt")).params, policy.params)
    with pytest.raises(FileNotFoundError, match="neither a run directory"):
        metarl_fast.load(str(tmp_path / "nothing"))


def test_load_refuses_a_planted_pickle_and_a_foreign_checkpoint(promp_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(promp_run, run)
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with open(run / "checkpoints" / "itr_3.pt", "wb") as f:
        pickle.dump({"iteration": 4, "config": {}, "x": Planted()}, f)
    with pytest.raises(UnsafeFileError):
        metarl_fast.load(str(run / "checkpoints" / "itr_3.pt"))
    assert not marker.exists()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["config"] = {**state["config"], "seed": 9}
    from metarl_fast.files import checksum

    state["checksum"] = checksum({k: v for k, v in state.items() if k != "checksum"})  # a whole checkpoint of another run
    torch.save(state, run / "checkpoints" / "itr_1.pt")
    with pytest.raises(UnsafeFileError, match="another config"):
        metarl_fast.load(str(run / "checkpoints" / "itr_1.pt"))


# ---- actions: against the sampler's in-loop policy
def _check_actions_match_the_sampler(policy, tasks):
    batch = policy.rollout(tasks, rollouts_per_task=2, seed=3, deterministic=True)
    valid = batch.mask.bool()
    obs = batch.obs[0][valid[0]]  # [n, obs_dim], task 0's valid steps
    acts = policy.act(obs.numpy(), native=False)
    torch.testing.assert_close(acts, batch.actions[0][valid[0]].to(acts.dtype), rtol=1e-5, atol=1e-6)
    native = policy.act(obs)
    assert isinstance(native, np.ndarray) and native.dtype == np.float64 and native.shape == (len(obs), policy.spec.act_dim)
    np.testing.assert_allclose(native, policy.family.native_actions(batch.actions[0][valid[0]].numpy()), rtol=1e-6)
    lo, hi = policy.family.ctrl_range[:, 0], policy.family.ctrl_range[:, 1]
    assert (native >= lo).all() and (native <= hi).all()
    # adapted policies: one per task, the same check per task and for the stacked [T, ...] form
    adapted = policy.adapt(tasks, steps=1, rollouts_per_task=2, seed=5)
    after = adapted.rollout(seed=4, deterministic=True)
    for i in range(len(tasks)):
        m = after.mask[i].bool()
        torch.testing.assert_close(adapted.act(after.obs[i][m], task=i, native=False),
                                   after.actions[i][m].to(adapted.params.dtype), rtol=1e-5, atol=1e-6)
    stacked = adapted.act(after.obs[:, 0, 0], native=False)  # [T, obs_dim] → [T, act_dim]
    torch.testing.assert_close(stacked, after.actions[:, 0, 0].to(stacked.dtype), rtol=1e-5, atol=1e-6)
    return adapted


def test_actions_are_the_samplers_and_in_control_units(promp_run):
    policy = metarl_fast.load(promp_run)
    _check_actions_match_the_sampler(policy, policy.sample_tasks(3, seed=1))
    with pytest.raises(ValueError, match="obs_dim"):
        policy.act(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="NaN"):
        policy.act(np.full(2, np.nan))
    with pytest.raises(TypeError, match="obs is required"):
        policy.act(None)
    # sampled actions: seeded, spread by the policy's standard deviation
    obs = np.zeros((4000, 2))
    a, b = policy.act(obs, deterministic=False, seed=1, native=False), policy.act(obs, deterministic=False, seed=1,
                                                                                  native=False)
    assert torch.equal(a, b)
    std = policy.spec.unflatten(policy.policy_params())["log_std"].exp()
    torch.testing.assert_close(a.std(0), std.to(a.dtype), rtol=0.06, atol=0)


def test_gmps_meta_policy_acts_through_its_bias_transformation(tmp_path):
    run = _train(tmp_path / "gmps", "--preset", "gmps-point", "--set", "gmps_bc_steps=3", "--set", "gmps_num_tasks=3",
                 "--set", "gmps_demos_per_task=2", "--set", "gmps_adapt=bias_transform", iterations=1)
    policy = metarl_fast.load(run)
    assert policy.params.numel() > policy.spec.num_params  # θ does not fit the PolicySpec; ψ(θ) does
    assert policy.policy_params().numel() == policy.spec.num_params
    adapted = _check_actions_match_the_sampler(policy, policy.sample_tasks(2, seed=2))
    assert adapted.params.shape == (2, policy.params.numel())


def test_adapting_on_a_batch_is_adapting_on_the_tasks(promp_run):
    policy = metarl_fast.load(promp_run)
    tasks = policy.family.tasks([[0.3, -0.2], [-0.4, 0.1]])
    from_tasks = policy.adapt(tasks, steps=2, seed=11)
    batch = policy.rollout(tasks, seed=derived_seed(11, 0))
    from_batch = policy.adapt(batch, steps=2, seed=11)
    assert from_tasks.steps == from_batch.steps == 2 and len(from_tasks.returns) == 2
    torch.testing.assert_close(from_tasks.params, from_batch.params, rtol=0, atol=0)
    assert not torch.equal(from_tasks.params[0], policy.params)  # it moved
    assert policy.adapt(tasks, steps=0).steps == 0
    with pytest.raises(TypeError, match="not a count"):
        policy.adapt(3)
    with pytest.raises(ValueError, match=r"\[T, 2\]"):
        policy.adapt([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="other tasks"):
        from_tasks.adapt_on(policy.rollout(policy.family.tasks([[0.1, 0.1], [0.2, 0.2]])))
    with pytest.raises(ValueError, match="steps must be"):
        policy.adapt(tasks, steps=-1)


# ---- metarl-fast eval
def test_eval_writes_per_task_rows_with_intervals_and_never_overwrites(promp_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(promp_run, run)
    assert main(["eval", str(run), "--tasks", "3", "--steps", "1", "--rollouts-per-task", "4", "--no-plot"]) == 0
    first = run / "evals" / "itr3-0"
    summary, per_task = _csv(first / "summary.csv"), _csv(first / "tasks.csv")
    assert [int(r["step"]) for r in summary] == [0, 1] and len(per_task) == 6
    for r in summary:  # the interval of the mean over 3 tasks: t with 2 degrees of freedom, in closed form
        means = [float(t["mean_return"]) for t in per_task if t["step"] == r["step"]]
        half = (0.95 / math.sqrt(2 * 0.975 * 0.025)) * statistics.stdev(means) / math.sqrt(3)
        assert float(r["mean_return"]) == pytest.approx(statistics.mean(means), rel=1e-12)
        assert float(r["ci95_high"]) == pytest.approx(statistics.mean(means) + half, rel=1e-9)
        assert int(r["rollouts_per_task"]) == 4 and int(r["num_tasks"]) == 3
    assert all(int(t["rollouts"]) == 4 and float(t["ci95_low"]) <= float(t["mean_return"]) for t in per_task)
    # again with the same settings: a second directory, the first untouched, the same numbers
    before = (first / "summary.csv").read_bytes()
    assert main(["eval", str(run), "--tasks", "3", "--steps", "1", "--rollouts-per-task", "4"]) == 0
    second = run / "evals" / "itr3-1"
    assert (first / "summary.csv").read_bytes() == before
    assert (second / "summary.csv").read_bytes() == before and (second / "eval.png").stat().st_size > 5000
    # fixed tasks from a file: the earlier evaluation's test tasks give its numbers back
    assert main(["eval", str(run), "--tasks-file", str(first / "test_tasks.csv"), "--steps", "1",
                 "--rollouts-per-task", "4", "--out", str(tmp_path / "fixed"), "--no-plot"]) == 0
    assert (tmp_path / "fixed" / "summary.csv").read_bytes() == before
    # an earlier checkpoint, and the refusals
    assert main(["eval", str(run), "--checkpoint", "1", "--tasks", "2", "--steps", "0", "--no-plot"]) == 0
    assert (run / "evals" / "itr1-0" / "summary.csv").exists()
    capsys.readouterr()
    for argv, message in ((["--out", str(tmp_path / "fixed")], "not empty"),
                          (["--checkpoint", "7"], "itr_7.pt does not exist"),
                          (["--tasks-file", str(first / "summary.csv")], "goal_x"),
                          (["--tasks-file", str(tmp_path / "none.csv")], "No such file"),
                          (["--steps", "-1"], "--steps")):
        assert main(["eval", str(run), "--no-plot", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert "metarl-fast eval: error:" in err and message in err and "Traceback" not in err, (argv, err)


def test_the_meta_test_uses_the_runs_advantage_estimator(tmp_path):
    """A run trained with SG-MRL's returns estimator adapts with it at meta-test too: the adapted
    parameters equal θ + α ∇ of the returns surrogate computed here from the batch."""
    from metarl_fast import kernels

    run = _train(tmp_path / "sg", "--algo", "vpg-maml", "--env", "Point2DNav", "--set", "advantages=returns",
                 "--set", "reduction=trajectories", "--set", "dtype=float64", iterations=1)
    policy = metarl_fast.load(run)
    tasks = policy.sample_tasks(2, seed=0)
    batch = policy.rollout(tasks, seed=1)
    adapted = policy.adapt(batch, steps=1)
    T, B, H = batch.shape
    R = kernels.discounted_returns(batch.rewards, batch.mask, policy.config.discount, from_start=True)
    theta = policy.params.expand(T, -1).contiguous()
    grad = kernels.score_vjp(policy.spec, theta, batch.obs.reshape(T, B * H, -1), batch.actions.reshape(T, B * H, -1),
                             (R * batch.mask).reshape(T, B * H) / B, backend="torch")
    torch.testing.assert_close(adapted.params, theta + policy.config.section.inner_lr * grad, rtol=1e-9, atol=1e-12)

"""Estimator diagnostics: the relative standard deviation against a direct computation, the same
numbers for the same seed, J^LR's meta-gradient equal to LVC's at the sampling policy (ProMP §4.3),
and the command end to end on a point task, from a fresh θ and from a run's checkpoints."""
import csv
import re

import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast.algos.run import TrainConfig
from metarl_fast.algos.run.diagnostics import cosine, relative_std, sample_gradients
from metarl_fast.cli import main

SMALL = ["--set", "meta_batch_size=4", "--set", "rollouts_per_task=4", "--set", "horizon=15", "--set", "hidden=8"]


def test_relative_std_against_a_direct_computation():
    g = np.random.default_rng(0).normal(size=(7, 5)) + np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    g[:, 4] = 0.0  # a parameter whose mean is exactly 0 is left out of the mean ratio
    ratios, sq_std, sq_mean = [], 0.0, 0.0
    for p in range(5):
        column = [g[k, p] for k in range(7)]
        m = sum(column) / 7
        s = (sum((x - m) ** 2 for x in column) / 6) ** 0.5
        if m != 0:
            ratios.append(s / abs(m))
        sq_std, sq_mean = sq_std + s * s, sq_mean + m * m
    mean_rel, median_rel, norm_rel = relative_std(g)
    assert mean_rel == pytest.approx(sum(ratios) / len(ratios), rel=1e-12)
    four = sorted(ratios)  # 4 parameters with a non-zero mean: the median averages the middle two
    assert median_rel == pytest.approx((four[1] + four[2]) / 2, rel=1e-12)
    assert norm_rel == pytest.approx((sq_std / sq_mean) ** 0.5, rel=1e-12)
    assert cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(2 ** -0.5)
    with pytest.raises(ValueError, match="K >= 2"):
        relative_std(g[:1])


def test_the_same_seed_gives_the_same_gradients_and_lr_equals_lvc():
    config = TrainConfig.build(algo="vpg-maml", env="Point2DNav", meta_batch_size=3, rollouts_per_task=4,
                               horizon=15, hidden=(8,), dtype="float64")
    P = metarl_fast.PolicySpec(2, 2, (8,)).num_params
    theta = 0.3 * torch.randn(P, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a, _ = sample_gradients(config, theta, "lvc", 3)
    b, _ = sample_gradients(config, theta, "lvc", 3)
    lr, _ = sample_gradients(config, theta, "lr", 3)
    dice, _ = sample_gradients(config, theta, "dice", 3)
    assert a.shape == (3, P) and np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # the resamples draw other batches
    np.testing.assert_allclose(lr, a, rtol=1e-9, atol=1e-12)  # J^LR ≡ LVC at the sampling policy
    assert np.abs(dice - a).max() > 1e-6  # DiCE's curvature is another estimator


def test_the_command_runs_on_a_point_task_and_on_a_runs_checkpoints(tmp_path, capsys):
    assert main(["diagnose", "--env", "Point2DNav", *SMALL, "--estimators", "naive,lvc,dice,lr", "--resamples", "3",
                 "--reference-trajs", "4", "--out", str(tmp_path / "fresh")]) == 0
    out = capsys.readouterr().out
    assert "DiCE / LVC relative std, mean over parameters" in out
    with open(tmp_path / "fresh" / "diagnose.csv") as f:
        rows = {r["estimator"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["naive", "lvc", "dice", "lr"] and (tmp_path / "fresh" / "diagnose.png").exists()
    for r in rows.values():
        assert float(r["rel_std_norm"]) > 0 and -1 <= float(r["cos_to_reference"]) <= 1 and r["resamples"] == "3"
    assert float(rows["lr"]["rel_std_norm"]) == pytest.approx(float(rows["lvc"]["rel_std_norm"]), rel=1e-6)
    run = tmp_path / "run"
    assert main(["train", "--algo", "lvc-vpg", "--env", "Point2DNav", *SMALL, "--iterations", "4", "--set",
                 "checkpoint_every=2", "--out", str(run)]) == 0
    assert main(["diagnose", str(run), "--every", "1", "--estimators", "lvc,dice", "--resamples", "2",
                 "--reference-trajs", "2", "--out", str(tmp_path / "along")]) == 0
    with open(tmp_path / "along" / "diagnose.csv") as f:
        iterations = sorted({int(r["iteration"]) for r in csv.DictReader(f)})
    assert iterations == [1, 3]
    out = capsys.readouterr().out
    assert "Point2DNav at the policy after iteration 1 of" in out and "at the policy after iteration 3 of" in out
    assert "at the policies after iterations 1, 3 of" in _png_title(tmp_path / "along" / "diagnose.png")
    assert main(["diagnose", "--env", "Point2DNav", "--estimators", "magic"]) == 2
    assert main(["diagnose", "--env", "Point2DNav", "--resamples", "1"]) == 2
    assert main(["diagnose", "--exact-mdp", "--estimators", "sgmrl"]) == 2  # no closed form for SG-MRL


@pytest.mark.parametrize("seed", [0, 1])
def test_on_the_exact_mdp_sampled_estimators_converge_to_their_known_expectations(seed):
    """DiCE's expected curvature is ∇²J (autograd on the closed-form J), so its expected
    meta-gradient is the exact one; LVC / J^LR and the naive surrogate miss curvature terms (biased);
    the mean of sampled estimates lands within a few standard errors of each expectation."""
    from metarl_fast.algos.run.exact_mdp import EnumerableMDP, exact_bias

    mdp = EnumerableMDP.random(seed)
    rows = {r.estimator: r for r in exact_bias(mdp, resamples=40, trajs=60, seed=seed)[0]}
    assert rows["dice"].rel_error_hessian < 1e-10 and rows["dice"].rel_error < 1e-10
    assert rows["lvc"].rel_error_hessian > 0.05 and rows["naive"].rel_error_hessian > 0.1
    assert rows["lvc"].rel_error > 1e-3 and rows["naive"].rel_error > 1e-3
    assert rows["lr"].rel_error == pytest.approx(rows["lvc"].rel_error, rel=1e-9)  # J^LR ≡ LVC at θ_old
    for r in rows.values():
        standard_error = r.rel_std_norm / np.sqrt(r.resamples)
        assert 0 < r.sampled_rel_error < 5 * standard_error, r


def test_the_exact_mdp_table_is_printed_and_written(tmp_path, capsys):
    assert main(["diagnose", "--exact-mdp", "--estimators", "lvc,dice", "--resamples", "5", "--trajs", "20",
                 "--out", str(tmp_path / "exact")]) == 0
    out = capsys.readouterr().out
    assert "exact MDP (seed 0" in out and "dice" in out
    with open(tmp_path / "exact" / "diagnose.csv") as f:
        rows = {r["estimator"]: r for r in csv.DictReader(f)}
    assert float(rows["dice"]["rel_error"]) < 1e-10 < float(rows["lvc"]["rel_error"])


JARGON = ("iteration -1", "iteration −1", "H=family", "H=", "K=", "θ of iteration")


def _png_title(path) -> str:
    Image = pytest.importorskip("PIL.Image")
    with Image.open(path) as image:
        return image.text["Title"]


def _read_stats(path):
    from metarl_fast.algos.run.diagnostics import EstimatorStats

    with open(path) as f:
        return [EstimatorStats(r["estimator"], int(r["iteration"]), *(float(r[k]) for k in (
            "rel_std_mean", "rel_std_median", "rel_std_norm", "cos_to_reference", "grad_norm", "seconds")),
            int(r["resamples"])) for r in csv.DictReader(f)]


def test_the_headline_quotes_the_plotted_statistic_and_the_plot_says_what_it_shows(tmp_path, capsys):
    """The DiCE / LVC line names its statistic (ProMP Fig. 3's mean over parameters) and equals the
    ratio of the left panel's bars (the CSV's rel_std_mean); the title names the family, the policy
    in words, the resamples and the trajectories per estimate; no jargon in the printed lines."""
    pytest.importorskip("matplotlib")
    from metarl_fast.algos.run.diagnostics import HEADLINE_STATISTIC, plot_figure

    assert HEADLINE_STATISTIC == "rel_std_mean"
    out_dir = tmp_path / "fresh"
    assert main(["diagnose", "--env", "Point2DNav", *SMALL, "--estimators", "naive,lvc,dice", "--resamples", "3",
                 "--reference-trajs", "2", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not [line for line in lines if any(j in line for j in JARGON)], out
    assert lines[0].startswith("Point2DNav at the initial policy: 3 resamples; each estimate from 2 batches")
    assert "4 tasks × 4 trajectories = 32 trajectories, horizon: 15 steps" in lines[0]
    m = re.search(r"DiCE / LVC relative std, mean over parameters of std/\|mean\| \(ProMP Fig\. 3\): ([\d.]+)", out)
    assert m, out
    stats = _read_stats(out_dir / "diagnose.csv")
    by = {s.estimator: s for s in stats}
    assert float(m.group(1)) == pytest.approx(by["dice"].rel_std_mean / by["lvc"].rel_std_mean, abs=0.006)
    # the left panel's bars are that statistic, in estimator order, and its title quotes the same ratio
    fig = plot_figure(stats, "t")
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == pytest.approx([s.rel_std_mean for s in stats], rel=1e-12)
    assert f"DiCE / LVC = {m.group(1)}" in fig.axes[0].get_title()
    assert "mean over parameters" in fig.axes[0].get_ylabel()
    assert fig.axes[0].get_xlabel() == "estimator" and "cosine" in fig.axes[2].get_ylabel()
    __import__("matplotlib.pyplot").pyplot.close(fig)
    title = _png_title(out_dir / "diagnose.png")
    for words in ("Point2DNav", "at the initial policy", "3 resamples", "4 tasks × 4 trajectories",
                  "32 trajectories", "horizon: 15 steps"):
        assert words in title, title


def test_the_default_horizon_and_a_runs_policy_are_said_in_words():
    from metarl_fast.algos.run.diagnostics import describe_horizon, describe_theta, describe_thetas

    config = TrainConfig.build(algo="vpg-maml", env="Point2DNav")
    assert describe_horizon(config) == "horizon: the family's default (100 steps)"
    assert describe_theta(-1) == "the initial policy"
    assert describe_theta(4, "runs/x") == "the policy after iteration 4 of runs/x"
    assert describe_thetas([1, 3], "runs/x") == "the policies after iterations 1, 3 of runs/x"


def test_the_exact_mdp_writes_a_titled_bar_chart(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["diagnose", "--exact-mdp", "--estimators", "lvc,dice", "--resamples", "3", "--trajs", "10",
                 "--out", str(tmp_path / "exact")]) == 0
    out = capsys.readouterr().out
    assert "wrote diagnose.csv, diagnose.png to" in out and "horizon 3" in out
    assert not [line for line in out.splitlines() if any(j in line for j in JARGON)], out
    title = _png_title(tmp_path / "exact" / "diagnose.png")
    assert "exact MDP (seed 0: 2 states, 2 actions, horizon 3" in title and "3 sampled estimates of 10" in title

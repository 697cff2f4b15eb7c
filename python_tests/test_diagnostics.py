"""Estimator diagnostics: the relative standard deviation against a direct computation, the same
numbers for the same seed, J^LR's meta-gradient equal to LVC's at the sampling policy (ProMP §4.3),
and the command end to end on a point task, from a fresh θ and from a run's checkpoints."""
import csv

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
    assert "DiCE / LVC relative std:" in out
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

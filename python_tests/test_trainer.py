"""The runner and the MAML family: ProMP's invariants, TRPO's KL bound, learning on the point tasks,
exact resumption, the torch reference pipeline, and the command line."""
import csv
import os

import numpy as np

import pytest
import torch

from metarl_fast import reference as R
from metarl_fast.algos import MetaObjective
from metarl_fast.algos.maml import Lvc, ScoreFunction
from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.cli import main

SMALL = dict(env="Point2DNav", meta_batch_size=6, rollouts_per_task=5, horizon=20, hidden=(16, 16), iterations=3)


def runner(out=None, **settings):
    return Runner(TrainConfig.build(**settings), None if out is None else str(out), verbose=False)


def test_promp_first_step_is_lvc_vpg():
    """At θ = θ_o the likelihood ratios are 1 and the KL is 0; with the KL penalty off (and the clip
    inactive at ratio 1), ProMP's first meta-gradient equals LVC-VPG's on the same batch."""
    r = runner(algo="promp", kl_coeff=0.0, dtype="float64", **SMALL)
    meta, theta, _, _, steps, _ = r.algorithm.collect(r.ctx)
    d0, spec = steps[0], r.ctx.spec
    lp = R.log_prob(spec, theta, d0.flat(d0.obs), d0.flat(d0.act))
    ratio = torch.exp(lp - d0.flat(d0.log_prob))[d0.flat(d0.mask) > 0]
    assert torch.allclose(ratio, torch.ones_like(ratio), atol=1e-12)
    assert abs(meta.pre_update_kl(theta)) < 1e-12
    lvc = MetaObjective(spec, [Lvc(spec, d0)], ScoreFunction(spec, steps[1]), r.config.section.inner_lr)
    g_promp, g_lvc = meta.gradient(theta), lvc.gradient(theta)
    assert float(g_lvc.abs().max()) > 1e-4
    assert torch.allclose(g_promp, g_lvc, rtol=1e-9, atol=1e-12)


def test_trpo_maml_step_respects_the_kl_bound_measured_independently():
    r = runner(algo="trpo-maml", dtype="float64", max_kl=0.005, **SMALL)
    algo, s = r.algorithm, r.config.section
    meta, theta, _, _, steps, _ = algo.collect(r.ctx)
    algo.outer_step.step(algo, meta, theta)
    new = algo.meta_parameters()
    assert not torch.equal(new, theta)  # the step was accepted
    post = steps[-1]

    def adapted(th):  # θ'(θ) with autograd objectives (the reference path)
        th = th.expand(meta.num_tasks, -1).clone().requires_grad_(True)
        (g,) = torch.autograd.grad(meta.inner[0].value(th).sum(), th)
        return (th + s.inner_lr * g).detach()

    kl = R.gaussian_kl(r.ctx.spec, adapted(new), post.flat(post.obs), post.flat(post.old_mean),
                       post.old_log_std, post.mean_weights).mean()
    assert 0 < float(kl) <= s.max_kl * (1 + 1e-9)


@pytest.mark.parametrize("env,gain", [("Point2DNav", 5.0), ("MetaPointEnvCorner", 0.2)])
def test_promp_learns_the_point_tasks(env, gain):
    rows = runner(algo="promp", env=env, meta_batch_size=20, rollouts_per_task=10, horizon=50,
                  hidden=(32, 32), outer_lr=1e-2, iterations=40).train(progress=False)
    post = [r["Step_1-AverageReturn"] for r in rows]
    first, last = sum(post[:3]) / 3, sum(post[-5:]) / 5
    assert last > first + gain, (first, last)


def _strip_times(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if not k.startswith(("Time", "SPS"))} for r in csv.DictReader(f)]


def test_resume_continues_exactly(tmp_path):
    settings = dict(algo="promp", checkpoint_every=2, **dict(SMALL, iterations=4))
    full = runner(tmp_path / "full", **settings)
    full.train(progress=False)
    part = runner(tmp_path / "part", **settings)
    part.write_config()
    part.train(iterations=2, progress=False)
    resumed = Runner.from_run_dir(str(tmp_path / "part"), verbose=False, out_dir=str(tmp_path / "part"))
    assert resumed.iteration == 2
    resumed.train(resume=True, progress=False)
    assert torch.equal(resumed.algorithm.meta_parameters(), full.algorithm.meta_parameters())
    assert _strip_times(tmp_path / "part" / "progress.csv") == _strip_times(tmp_path / "full" / "progress.csv")
    assert sorted(os.listdir(tmp_path / "full" / "checkpoints")) == ["itr_1.pt", "itr_3.pt"]


@pytest.mark.parametrize("algo", ["promp", "trpo-maml", "dice-vpg", "sgmrl"])
def test_torch_backend_matches_the_explicit_one(algo):
    """Two iterations with each backend end at the same parameters (1e-7). TRPO runs with a damped
    Fisher: undamped, its 10 truncated CG iterations on an ill-conditioned Fisher turn 1e-16
    differences between the compiled and autograd HVPs into 1e-3 differences in the step."""
    results = {}
    extra = {"sgmrl": dict(advantages="returns", reduction="trajectories", inner_lr=0.02),
             "trpo-maml": dict(cg_damping=0.1)}.get(algo, {})
    for meta_gradient in ("explicit", "autograd"):
        r = runner(algo=algo, meta_gradient=meta_gradient, dtype="float64", **dict(SMALL, iterations=2), **extra)
        r.train(progress=False)
        results[meta_gradient] = r.algorithm.meta_parameters()
    assert torch.allclose(results["explicit"], results["autograd"], rtol=1e-7, atol=1e-9)


def test_train_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--preset", "quick", "--iterations", "3", "--out", str(out), "--quiet",
                 "--set", "meta_batch_size=4"]) == 0
    assert {"config.yaml", "progress.csv", "checkpoint.pt", "checkpoints", "tb", "train.log"} <= set(os.listdir(out))
    with open(out / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {"Itr", "n_timesteps", "Step_0-AverageReturn", "Step_1-AverageReturn",
                               "Time-Sampling", "Time-InnerStep", "Time-OuterStep", "Time"} <= set(rows[0])
    assert main(["train", "--resume", str(out), "--iterations", "5", "--quiet"]) == 0
    with open(out / "progress.csv") as f:
        assert [int(r["Itr"]) for r in csv.DictReader(f)] == [0, 1, 2, 3, 4]
    capsys.readouterr()
    assert main(["train", "--preset", "quick", "--set", "warp_speed=9", "--out", str(tmp_path / "x")]) == 2
    assert "metarl-fast train: error: unknown setting 'warp_speed'" in capsys.readouterr().err


def test_eval_and_plot_commands(tmp_path, capsys):
    runs = []
    for seed in (1, 2):
        out = tmp_path / f"s{seed}"
        assert main(["train", "--preset", "quick", "--iterations", "3", "--seed", str(seed), "--out", str(out),
                     "--quiet"]) == 0
        runs.append(str(out))
    capsys.readouterr()
    assert main(["eval", runs[0], "--tasks", "4", "--steps", "2"]) == 0
    table = capsys.readouterr().out
    assert "adaptation steps" in table
    with open(os.path.join(runs[0], "evals", "itr2-0", "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [0, 1, 2] and all(int(r["num_tasks"]) == 4 for r in rows)
    png = tmp_path / "curves.png"
    assert main(["plot", *runs, "--out", str(png)]) == 0
    assert png.stat().st_size > 5000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from metarl_fast.algos.run.curves import learning_curves

    curves = learning_curves(runs)
    assert list(curves) == ["promp"] and len(curves["promp"]) == 2


def test_gymnasium_sampler_reproduces_the_cpp_sampler_when_nothing_is_random():
    """Point2DNav starts at the origin; with the deterministic policy both samplers must produce the
    same trajectories (the reference pipeline samples exactly what the C++ one does)."""
    import metarl_fast
    from metarl_fast import envs
    from metarl_fast.envs import rollout_gymnasium

    family = envs.make("Point2DNav")
    spec = metarl_fast.PolicySpec(2, 2, (8,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    tasks = family.sample_tasks(3, seed=0)
    a = family.rollout(spec, params, tasks, 2, 30, seed=0, deterministic=True)
    for venv in (None, family.vector_env(6)):  # gymnasium SyncVectorEnv, and the pooled vector env
        b = rollout_gymnasium(family, spec, params, tasks, 2, 30, seed=5, deterministic=True, venv=venv)
        for name in ("obs", "actions", "rewards", "mask"):
            assert torch.allclose(getattr(a, name), getattr(b, name), atol=1e-12), name
        assert torch.equal(a.lengths, b.lengths)


def test_training_with_the_gymnasium_sampler():
    rows = runner(algo="promp", sampler="gymnasium", **SMALL).train(progress=False)
    assert len(rows) == 3 and all(r["Time-Sampling"] > 0 for r in rows)


def test_trainable_inner_step_size(tmp_path):
    r = runner(tmp_path / "a", algo="promp", trainable_inner_step_size=True, **dict(SMALL, iterations=2))
    r.write_config()
    r.train(progress=False)
    alpha = r.algorithm.params.alpha
    assert alpha.shape == r.algorithm.meta_parameters().shape
    assert not torch.allclose(alpha, torch.full_like(alpha, r.config.section.inner_lr))
    again = Runner.from_run_dir(str(tmp_path / "a"), verbose=False)
    assert torch.equal(again.algorithm.params.alpha, alpha)
    with pytest.raises(ValueError, match="trainable_inner_step_size"):
        TrainConfig.build(algo="trpo-maml", trainable_inner_step_size=True)


def test_sgmrl_options_run():
    for extra in (dict(first_order=True), dict(sgmrl_jacobian="paper_literal"), dict(inner_steps=2)):
        rows = runner(algo="sgmrl", **dict(SMALL, iterations=2), **extra).train(progress=False)
        assert len(rows) == 2 and all(np.isfinite(r["GradNorm"]) for r in rows)
    with pytest.raises(ValueError, match="paper-literal"):
        TrainConfig.build(algo="sgmrl", sgmrl_jacobian="paper_literal", meta_gradient="autograd")


def test_plot_counts_seeds_and_draws_a_panel_per_family(tmp_path, capsys):
    from metarl_fast.algos.run.curves import _legend, _seeds

    runs = []
    for name, extra in (("a", []), ("b", []), ("c", ["--seed", "2"]), ("d", ["--env", "MetaPointEnvCorner"])):
        out = tmp_path / name
        assert main(["train", "--preset", "quick", "--iterations", "2", "--out", str(out), "--quiet", *extra]) == 0
        runs.append(str(out))
    seeds = _seeds(runs)
    assert seeds == {"promp · Point2DNav": [1, 1, 2], "promp · MetaPointEnvCorner": [1]}
    assert _legend("promp", [1, 1, 2]) == "promp (3 runs, 2 seeds)" and _legend("promp", [1, 2]) == "promp (2 seeds)"
    png = tmp_path / "two_panels.png"
    assert main(["plot", *runs, "--out", str(png)]) == 0
    import matplotlib.image

    height, width = matplotlib.image.imread(str(png)).shape[:2]
    assert width > 1.8 * height  # two panels side by side
    capsys.readouterr()
    assert main(["presets"]) == 0 and "gmps-point" in capsys.readouterr().out
    assert main(["presets", "quick"]) == 0 and "env: Point2DNav" in capsys.readouterr().out
    assert main(["presets", "nope"]) == 2 and "unknown preset 'nope'" in capsys.readouterr().err

"""Meta-World's ML1 / ML10 / ML45 through our families, against Meta-World's own environments:
the MuJoCo 4 fix still needed, a C++ rollout replayed step by step on Meta-World's environment and
equal to the Python sampler's batch, the benchmark's task sets and their safe cache, its scripted
experts succeeding, success rates in the training log and Meta-World's evaluation protocol."""
import csv
import pickle
import sys

import numpy as np
import pytest
import torch
from conftest import METAWORLD_INSTALL, optional_module

optional_module("metaworld", METAWORLD_INSTALL)

import metarl_fast  # noqa: E402
from metarl_fast import envs  # noqa: E402
from metarl_fast.envs.metaworld_family import import_metaworld  # noqa: E402
from metarl_fast.envs.python_rollout import rollout_actor  # noqa: E402
from metarl_fast.experts import scripted_expert  # noqa: E402

metaworld = import_metaworld()


def test_metaworlds_own_weld_reset_still_fails_on_mujoco_4():
    """When this fails, Meta-World's reset_mocap_welds works on our MuJoCo again: drop the
    replacement in envs/metaworld_tasks.py (and the C++ models' weld numbers, csrc/sim/metaworld)."""
    from metaworld.sawyer_xyz_env import SawyerMocapBase

    env = metaworld.env_dict.ALL_V3_ENVIRONMENTS["reach-v3"]()
    with pytest.raises(ValueError, match="could not broadcast input array from shape \\(11,\\) into shape \\(12,\\)"):
        SawyerMocapBase._original_reset_mocap_welds(env)
    env.reset_mocap_welds()  # the replacement
    welds = env.model.eq_data[env.model.eq_type == 1]  # mjEQ_WELD
    assert np.array_equal(welds[:, :11], np.tile([0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 5.0], (len(welds), 1)))


def _direct_env(family, split, index):
    task = family.metaworld_task(split, index)
    env = metaworld.env_dict.ALL_V3_ENVIRONMENTS[task.env_name]()
    env.set_task(task)
    return env


@pytest.mark.parametrize("name,split,index", [("MetaWorldML1-push-v3", 0, 7), ("MetaWorldML1-door-open-v3", 1, 3),
                                              ("MetaWorldML10", 1, 60)])
def test_a_rollout_replayed_on_metaworlds_own_env_gives_the_same_steps(name, split, index):
    family = envs.make(name)
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (16,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    tasks = family.tasks([[split, index]])
    H = 120
    batch = family.rollout(spec, params, tasks, 2, H, seed=3)
    for b in range(2):
        env = _direct_env(family, split, index)
        obs, _ = env.reset()
        for h in range(H):
            assert np.array_equal(batch.obs[0, b, h].numpy(), obs), (b, h)
            obs, reward, _, _, info = env.step(family.native_actions(batch.actions[0, b, h].numpy()))
            assert batch.rewards[0, b, h].item() == reward
            assert batch.infos["success"][0, b, h].item() == float(info["success"])
    assert np.all(batch.obs[..., -3:].numpy() == 0)  # the goal is hidden


def test_task_sets_are_metaworlds_disjoint_and_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("METARL_FAST_CACHE", str(tmp_path))
    ml1 = envs.make("MetaWorldML1-push-v3")
    assert (ml1.num_train_tasks, ml1.num_test_tasks) == (50, 50)
    goals = {split: {ml1.task_record(split, i).rand_vec for i in range(50)} for split in (0, 1)}
    assert len(goals[0]) == 50 and len(goals[1]) == 50 and not goals[0] & goals[1]
    assert [p.suffix for p in (tmp_path / "metaworld").iterdir()] == [".json"]
    same = envs.make("MetaWorldML1-push-v3")  # from the cache written above
    other = envs.make("MetaWorldML1-push-v3", benchmark_seed=1)
    assert all(same.task_record(1, i) == ml1.task_record(1, i) for i in range(50))
    assert any(other.task_record(0, i) != ml1.task_record(0, i) for i in range(50))
    direct = metaworld.ML1("push-v3", seed=0)
    for split, tasks in ((0, direct.train_tasks), (1, direct.test_tasks)):
        for i, task in enumerate(tasks):
            data = pickle.loads(task.data)
            record = ml1.task_record(split, i)
            assert task.env_name == record.env_name and data["partially_observable"] == record.partially_observable
            assert np.array_equal(data["rand_vec"], record.rand_vec)  # every bit, through the JSON cache
    ml10 = envs.make("MetaWorldML10")
    assert len(ml10.train_envs) == 10 and len(ml10.test_envs) == 5 and not set(ml10.train_envs) & set(ml10.test_envs)
    assert (ml10.num_train_tasks, ml10.num_test_tasks) == (500, 250)
    train, test = ml10.sample_tasks(200, seed=0), ml10.sample_test_tasks(200, seed=0)
    assert set(train.params[:, 0]) == {0.0} and set(test.params[:, 0]) == {1.0}
    assert {ml10.metaworld_task(0, i).env_name for i in train.params[:, 1]} == set(ml10.train_envs)
    assert {ml10.metaworld_task(1, i).env_name for i in test.params[:, 1]} == set(ml10.test_envs)
    assert np.array_equal(ml10.sample_tasks(5, seed=4).params, ml10.sample_tasks(5, seed=4).params)


class _Payload:
    """Runs code when unpickled (what a planted cache file would do)."""

    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED",))


def test_a_planted_pickle_in_the_task_cache_is_never_loaded(tmp_path, monkeypatch):
    from metarl_fast.envs.metaworld_tasks import cache_path, metaworld_version

    monkeypatch.setenv("METARL_FAST_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    path = cache_path("ML1", "reach-v3", 0, metaworld_version())
    import os

    os.makedirs(os.path.dirname(path))
    for planted in (pickle.dumps({"key": "x", "payload": _Payload()}), b"\x00\xff" * 50, b"[1, 2",
                    b'{"format": 1, "benchmark": "ML1"}'):
        with open(path, "wb") as f:
            f.write(planted)
        # the old cache names (.pkl) are not read either
        with open(path[:-len(".json")] + ".pkl", "wb") as f:
            f.write(pickle.dumps(_Payload()))
        with pytest.warns(UserWarning, match="not a valid task list"):
            family = envs.make("MetaWorldML1-reach-v3")
        assert not (tmp_path / "PWNED").exists()
        assert family.num_train_tasks == 50
        with open(path, "rb") as f:
            assert f.read(1) == b"{"  # rebuilt as JSON


def test_an_empty_cache_setting_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("METARL_FAST_CACHE", "")
    monkeypatch.chdir(tmp_path)
    family = envs.make("MetaWorldML1-reach-v3")
    assert family.num_test_tasks == 50 and list(tmp_path.iterdir()) == []
    assert "building Meta-World's ML1 reach-v3 task lists" in capsys.readouterr().err  # a cold build says so


def test_tasks_of_another_benchmark_and_long_horizons_are_refused():
    family = envs.make("MetaWorldML1-push-v3")
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (8,))
    params = spec.init_params(seed=torch.Generator().manual_seed(0))
    for bad in ([[0, 50]], [[2, 0]], [[0, 1.5]], [[1, -1]]):
        with pytest.raises(ValueError, match="is not one of MetaWorldML1-push-v3's"):
            family.rollout(spec, params, family.tasks(bad), 1, 10, seed=0)
    with pytest.raises(ValueError, match="tasks are of family MetaWorldML10"):
        family.rollout(spec, params, envs.make("MetaWorldML10").sample_tasks(1, seed=0), 1, 10, seed=0)
    with pytest.raises(ValueError, match="horizon=501 exceeds MetaWorldML1-push-v3's episode length 500"):
        family.rollout(spec, params, family.tasks([[0, 0]]), 1, 501, seed=0)


@pytest.mark.parametrize("name", ["MetaWorldML1-push-v3", "MetaWorldML10"])
def test_the_cpp_batch_equals_the_python_samplers_batch_on_metaworlds_own_envs(name):
    """Acting with the policy mean (no sampling noise, whose random streams differ), the C++
    rollout and the gymnasium sampler stepping Meta-World's own environments give the same batch
    bit for bit: observations, actions, rewards, log-probabilities and all six infos."""
    from metarl_fast.envs.python_rollout import rollout_gymnasium

    family = envs.make(name)
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (32, 32))
    params = spec.init_params(seed=torch.Generator().manual_seed(1), dtype=torch.float64)
    tasks = family.sample_tasks(3, seed=2)
    cpp = family.rollout(spec, params, tasks, 2, 80, seed=4, deterministic=True)
    py = rollout_gymnasium(family, spec, params, tasks, 2, 80, seed=4, deterministic=True)
    for k in ("obs", "actions", "rewards", "mask", "log_prob", "lengths"):
        assert torch.equal(getattr(cpp, k), getattr(py, k)), k
    assert set(cpp.infos) == set(py.infos) == {"success", "near_object", "grasp_success", "grasp_reward",
                                                "in_place_reward", "obj_to_target"}
    for k in cpp.infos:
        assert torch.equal(cpp.infos[k], py.infos[k]), k


def test_ml45_has_45_training_and_5_test_environments():
    ml45 = envs.make("MetaWorldML45")  # built once per machine (tens of seconds), then cached
    assert len(ml45.train_envs) == 45 and len(ml45.test_envs) == 5 and not set(ml45.train_envs) & set(ml45.test_envs)
    assert list(ml45.test_envs) == list(metaworld.env_dict.ML45_V3["test"])


@pytest.mark.parametrize("env", ["push-v3", "door-open-v3", "reach-v3"])
def test_metaworlds_scripted_expert_succeeds_through_our_adapter(env):
    family = envs.make(f"MetaWorldML1-{env}")
    expert = scripted_expert(family)
    tasks = family.tasks([[0, 0], [1, 5]])

    def act(obs, gen):
        return expert.act(obs, torch.tensor(tasks.params).unsqueeze(1).expand(*obs.shape[:2], -1)), \
            torch.zeros(obs.shape[:2], dtype=obs.dtype)

    batch = rollout_actor(family, act, tasks, 1, 500, seed=0)
    assert batch.success_rate() == 1.0, batch.successes()


def test_the_families_say_how_to_install_metaworld(monkeypatch):
    monkeypatch.setitem(sys.modules, "metaworld", None)
    with pytest.raises(ImportError, match=r"pip install --no-deps metaworld==3\.1\.1"):
        envs.make("MetaWorldML10")
    with pytest.raises(ValueError, match="unknown task family 'MetaWorldML1-push-v2'"):
        envs.make("MetaWorldML1-push-v2")


def test_a_short_promp_run_logs_success_and_the_protocol_prints_its_table(tmp_path, capsys):
    from metarl_fast.cli import main

    assert main(["train", "--algo", "promp", "--env", "MetaWorldML1-reach-v3", "--iterations", "2", "--set",
                 "meta_batch_size=4", "--set", "rollouts_per_task=2", "--set", "horizon=60", "--set", "hidden=16",
                 "--out", str(tmp_path / "run")]) == 0
    with open(tmp_path / "run" / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k in (0, 1):
            assert 0.0 <= float(row[f"Step_{k}-SuccessRate"]) <= 1.0
    assert main(["eval", str(tmp_path / "run"), "--protocol", "metaworld", "--num-evals", "2",
                 "--adaptation-episodes", "2", "--evaluation-episodes", "2", "--meta-batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "Meta-World protocol: 2 evaluations × 4 task slots" in out and "reach-v3" in out and "mean" in out
    with open(next((tmp_path / "run" / "evals").iterdir()) / "protocol.csv") as f:
        evals = list(csv.DictReader(f))
    assert len(evals) == 2 and all(r["env"] == "reach-v3" and r["episodes"] == "8" for r in evals)
    from metarl_fast.algos.run.curves import learning_curves

    (x, y), = learning_curves([str(tmp_path / "run")], metric="success")["promp"]
    assert list(x) == [float(r["n_timesteps"]) for r in rows] and list(y) == [float(r["Step_1-SuccessRate"])
                                                                            for r in rows]
    assert main(["plot", str(tmp_path / "run"), "--metric", "success", "--level", "0.5", "--out",
                 str(tmp_path / "s.png")]) == 0
    assert "environment steps to a post-update success rate of 0.5" in capsys.readouterr().out

    # The held-out test curve: a second evaluation of the same snapshot (another seed) is averaged
    # with the first, per environment and evaluation as protocol.csv holds them.
    assert main(["eval", str(tmp_path / "run"), "--protocol", "metaworld", "--num-evals", "2", "--seed", "7",
                 "--adaptation-episodes", "2", "--evaluation-episodes", "2", "--meta-batch-size", "4", "--quiet"]) == 0
    from metarl_fast.algos.run.curves import meta_test_points

    rates = []
    for d in sorted((tmp_path / "run" / "evals").iterdir()):
        with open(d / "protocol.csv") as f:
            rates.append(np.mean([float(r["success_rate"]) for r in csv.DictReader(f)]))
    (point,) = meta_test_points(str(tmp_path / "run"))
    assert point["iteration"] == 1 and point["env_steps"] == float(rows[-1]["n_timesteps"])
    assert point["evaluations"] == 2 and point["mean"] == pytest.approx(np.mean(rates), abs=1e-12)
    assert point["reach-v3"] == pytest.approx(point["mean"], abs=1e-12)
    capsys.readouterr()
    assert main(["plot", str(tmp_path / "run"), "--metric", "meta-test", "--out", str(tmp_path / "m.png")]) == 0
    assert f"{1:>9} {point['env_steps']:>12,.0f} {point['mean']:>6.3f}" in capsys.readouterr().out
    # Evaluations with other protocol settings are not one curve: refused, naming the settings.
    assert main(["eval", str(tmp_path / "run"), "--protocol", "metaworld", "--num-evals", "1",
                 "--adaptation-episodes", "2", "--evaluation-episodes", "2", "--meta-batch-size", "4", "--quiet"]) == 0
    with pytest.raises(ValueError, match="different settings"):
        meta_test_points(str(tmp_path / "run"))


def test_the_protocols_slots_split_each_test_environment_as_metaworld_does():
    from metarl_fast.algos.run.metaworld_protocol import slot_task_orders

    ml10 = envs.make("MetaWorldML10")
    slots = slot_task_orders(ml10, 20, seed=1)
    assert [name for name, _ in slots] == [n for n in ml10.test_envs for _ in range(4)]
    for e, name in enumerate(ml10.test_envs):
        indices = [i for i in range(250) if ml10.metaworld_task(1, i).env_name == name]
        shares = [order for n, order in slots if n == name]
        assert [sorted(s) for s in shares] == [sorted(indices[j::4]) for j in range(4)]
    with pytest.raises(ValueError, match="multiple of the 5 test environments"):
        slot_task_orders(ml10, 12, seed=1)


@pytest.mark.parametrize("preset", ["gmps-push", "gmps-door"])
def test_the_gmps_sawyer_presets_run_end_to_end_with_metaworlds_experts(preset, tmp_path):
    from metarl_fast.cli import main

    assert main(["train", "--preset", preset, "--iterations", "1", "--set", "num_tasks=2", "--set",
                 "demos_per_task=2", "--set", "meta_batch_size=2", "--set", "rollouts_per_task=2", "--set",
                 "bc_steps=2", "--out", str(tmp_path / "run")]) == 0
    with open(tmp_path / "run" / "progress.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["DemoReturn"]) > 0 and 0 <= float(row["Step_1-SuccessRate"]) <= 1


def test_the_metaworld_benchmark_suite_runs_its_rows(capsys):
    """`python -m metarl_fast.bench metaworld --quick` (without the slow Python rows): the C++
    rollout and its physics floor, on the same trajectories."""
    from metarl_fast.bench.metaworld import run

    rows = run(["--quick", "--no-python", "--threads", "1"])
    impls = {r.implementation for r in rows}
    assert {"cpp rollout", "physics floor"} <= impls
    assert all(r.sizes["env_steps_per_s"] > 0 for r in rows)
    assert "cpp rollout / physics floor" in capsys.readouterr().out

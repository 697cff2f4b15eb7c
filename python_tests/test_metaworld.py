"""Meta-World's ML1 / ML10 / ML45 through our families, against Meta-World's own environments:
the MuJoCo 4 fix still needed, the same observations / rewards / success flags step by step, the
benchmark's task sets, its scripted experts succeeding through our adapter, success rates in the
training log and Meta-World's evaluation protocol."""
import csv
import pickle
import sys

import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast import envs
from metarl_fast.envs.metaworld_family import import_metaworld
from metarl_fast.envs.python_rollout import rollout_actor
from metarl_fast.experts import scripted_expert

metaworld = import_metaworld()


def test_metaworlds_own_weld_reset_still_fails_on_mujoco_4():
    """When this fails, Meta-World's reset_mocap_welds works on our MuJoCo again: drop the
    replacement in envs/metaworld_family.py."""
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
    params = spec.init_params(generator=torch.Generator().manual_seed(0), dtype=torch.float64)
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
    goals = {split: {pickle.loads(ml1.metaworld_task(split, i).data)["rand_vec"].tobytes() for i in range(50)}
             for split in (0, 1)}
    assert len(goals[0]) == 50 and len(goals[1]) == 50 and not goals[0] & goals[1]
    same = envs.make("MetaWorldML1-push-v3")  # from the cache written above
    other = envs.make("MetaWorldML1-push-v3", benchmark_seed=1)
    assert all(same.metaworld_task(1, i).data == ml1.metaworld_task(1, i).data for i in range(50))
    assert any(other.metaworld_task(0, i).data != ml1.metaworld_task(0, i).data for i in range(50))
    direct = metaworld.ML1("push-v3", seed=0)
    assert [t.data for t in direct.test_tasks] == [ml1.metaworld_task(1, i).data for i in range(50)]
    ml10 = envs.make("MetaWorldML10")
    assert len(ml10.train_envs) == 10 and len(ml10.test_envs) == 5 and not set(ml10.train_envs) & set(ml10.test_envs)
    assert (ml10.num_train_tasks, ml10.num_test_tasks) == (500, 250)
    train, test = ml10.sample_tasks(200, seed=0), ml10.sample_test_tasks(200, seed=0)
    assert set(train.params[:, 0]) == {0.0} and set(test.params[:, 0]) == {1.0}
    assert {ml10.metaworld_task(0, i).env_name for i in train.params[:, 1]} == set(ml10.train_envs)
    assert {ml10.metaworld_task(1, i).env_name for i in test.params[:, 1]} == set(ml10.test_envs)
    assert np.array_equal(ml10.sample_tasks(5, seed=4).params, ml10.sample_tasks(5, seed=4).params)


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

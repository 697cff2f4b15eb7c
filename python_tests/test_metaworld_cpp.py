"""The C++ Meta-World environments against Meta-World's own (the oracle), step by step, for every
environment simulated in C++: resets for several tasks after a previous episode, and short
episodes of scripted, random and network actions. Every number — observation, reward, the six
infos, MuJoCo's state and the model fields a task moves — must be equal bit for bit
(metarl_fast/envs/metaworld_oracle.py; tools/metaworld_equivalence.py runs the full 500-step
comparison over all 50 training tasks and records it in docs/metaworld.md)."""
import numpy as np
import pytest
from conftest import METAWORLD_INSTALL, optional_module

optional_module("metaworld", METAWORLD_INSTALL)

from metarl_fast.envs.metaworld_oracle import (  # noqa: E402
    CppMetaWorldEnv, compare_episode, compare_resets, cpp_env_names, python_env, task_record)

ENVS = cpp_env_names()


@pytest.mark.parametrize("env_name", ENVS)
def test_resets_equal_metaworld_after_previous_episodes(env_name):
    for report in compare_resets(env_name, indices=(0, 7, 3)):
        assert report.equal, report.describe()


@pytest.mark.parametrize("env_name", ENVS)
def test_episodes_equal_metaworld_step_by_step(env_name):
    py, cpp = python_env(env_name), CppMetaWorldEnv(env_name)
    runs = [("scripted", 60, task_record(env_name, 11, partially_observable=False)),
            ("random", 30, task_record(env_name, 5)),
            ("network", 30, task_record(env_name, 2, split=1))]
    for actions, steps, task in runs:
        report = compare_episode(env_name, task, actions, steps=steps, seed=3, py_env=py, cpp_env=cpp)
        assert report.equal, report.describe()


def test_the_oracle_sees_a_difference():
    """A changed action on one side shows up (the comparison can fail)."""
    cpp = CppMetaWorldEnv("push-v3")
    task = task_record("push-v3", 0)
    py = python_env("push-v3")
    from metarl_fast.envs.metaworld_tasks import metaworld_task

    py.set_task(metaworld_task(task))
    cpp.set_task(task)
    py.reset()
    cpp.reset()
    a = np.array([0.3, -0.2, 0.1, 0.5])
    o_py = py.step(a)[0]
    o_cpp = cpp.step(a + np.array([1e-9, 0, 0, 0]))[0]
    assert not np.array_equal(o_py, o_cpp)


def test_an_episode_is_truncated_at_500_steps_and_refuses_more():
    cpp = CppMetaWorldEnv("reach-v3" if "reach-v3" in ENVS else "push-v3")
    cpp.set_task(task_record(cpp.env_name, 0))
    cpp.reset()
    truncated = [cpp.step(np.zeros(4))[3] for _ in range(500)]
    assert truncated[-1] and not any(truncated[:-1])
    with pytest.raises(RuntimeError, match="at most 500 steps"):
        cpp.step(np.zeros(4))


def test_an_unstable_step_is_flagged_and_ends_the_trajectory():
    """MuJoCo resets the data on a velocity beyond its limit (a warning, not an error): the C++
    step reports it as non-finite (terminated) instead of continuing from the reset data."""
    cpp = CppMetaWorldEnv("push-v3")
    cpp.set_task(task_record("push-v3", 0))
    cpp.reset()
    state = cpp.state()
    qvel = np.full_like(state["qvel"], 1e20)
    cpp.pool.set_state(0, state["qpos"].copy(), qvel, np.zeros(39))
    _, _, terminated, _, info = cpp.step(np.zeros(4))
    assert info["nonfinite"] and terminated


def test_another_metaworld_version_steps_its_own_python_environments(monkeypatch):
    from metarl_fast.envs import metaworld_family

    monkeypatch.setattr(metaworld_family, "metaworld_version", lambda: "3.2.0")
    with pytest.raises(ValueError, match="reproduce Meta-World 3.1.1, but Meta-World 3.2.0 is installed"):
        metaworld_family.MetaWorldFamily("MetaWorldML1-push-v3")
    with pytest.warns(UserWarning, match="stepping Meta-World 3.2.0's own Python environments"):
        family = metaworld_family.make_family("MetaWorldML1-push-v3")
    assert family.native_sampler == "gymnasium"

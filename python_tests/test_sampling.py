"""The sampler interface: backends chosen by name, the C++ sampler's batch with the policy means it
acted with (bit-equal to the compiled policy_mean), the gymnasium backend, and a backend of the
user's own registered and used by a run."""
import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast import envs, kernels
from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.sampling import CppSampler, GymnasiumSampler, Sampler, make_sampler, register_sampler, sampler_names


def _spec(family, hidden=(16,)):
    return metarl_fast.PolicySpec(family.obs_dim, family.act_dim, hidden)


def test_backends_by_name():
    cheetah, pendulum = envs.make("HalfCheetahRandDirec"), envs.make("PendulumGravity")
    assert isinstance(make_sampler("auto", cheetah, _spec(cheetah)), CppSampler)
    assert isinstance(make_sampler("auto", pendulum, _spec(pendulum)), GymnasiumSampler)
    assert isinstance(make_sampler("gymnasium", cheetah, _spec(cheetah)), GymnasiumSampler)
    with pytest.raises(ValueError, match="sampler='cpp' runs the C\\+\\+ task families; PendulumGravity"):
        make_sampler("cpp", pendulum, _spec(pendulum))
    with pytest.raises(ValueError, match="unknown sampler 'mpi'; valid: auto, cpp, gymnasium, processes, ray"):
        make_sampler("mpi", cheetah, _spec(cheetah))
    with pytest.raises(ValueError, match="obs_dim"):
        make_sampler("cpp", cheetah, metarl_fast.PolicySpec(3, 6))


@pytest.mark.parametrize("name", ["HalfCheetahRandDirec", "AntRandGoal", "HopperRandParams", "MetaPointEnvMomentum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_cpp_batch_carries_the_means_it_acted_with(name, dtype):
    family = envs.make(name)
    spec = _spec(family, (32, 32))
    tasks = family.sample_tasks(3, seed=1)
    g = torch.Generator().manual_seed(0)
    params = spec.init_params(seed=g, dtype=dtype) + 0.1 * torch.randn(3, spec.num_params, generator=g).to(dtype)
    # 11 trajectories: two work items per task (8 + 3), the second a partial register block
    batch = make_sampler("cpp", family, spec).sample(params, tasks, 11, 40, seed=2)
    T, B, H = batch.shape
    expected = kernels.policy_mean(spec, params, batch.obs.reshape(T, B * H, -1)).reshape(T, B, H, -1)
    assert torch.equal(batch.means, expected * batch.mask.unsqueeze(-1))
    again = family.rollout(spec, params, tasks, 11, 40, seed=2)  # the sampler is family.rollout
    assert torch.equal(again.actions, batch.actions) and torch.equal(again.means, batch.means)
    z = (batch.actions - batch.means) / torch.exp(spec.unflatten(params)["log_std"]).unsqueeze(1).unsqueeze(1)
    assert float((z * batch.mask.unsqueeze(-1)).abs().max()) > 0.5  # sampled, not the means themselves


def test_the_gymnasium_backend_reuses_its_envs_and_repeats_itself():
    family = envs.make("Point2DNav")
    spec = _spec(family)
    sampler = make_sampler("gymnasium", family, spec)
    params = spec.init_params(seed=torch.Generator().manual_seed(0), dtype=torch.float64)
    tasks = family.sample_tasks(2, seed=0)
    a = sampler.sample(params, tasks, 3, 20, seed=4)
    venv = sampler._venvs[6]
    b = sampler.sample(params, tasks, 3, 20, seed=4)
    assert sampler._venvs[6] is venv and torch.equal(a.obs, b.obs) and torch.equal(a.rewards, b.rewards)
    assert a.means is None and a.shape == (2, 3, 20)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*64\)"):
        sampler.sample(params, tasks, 3, 20, seed=-1)
    sampler.close()


@pytest.mark.parametrize("name", ["HalfCheetahRandDirec", "HopperRandParams", "PendulumGravity"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_piece_of_a_batch_run_with_its_streams_is_that_piece_of_the_batch(name, dtype):
    """What the Ray sampler relies on: tasks t0.. × trajectories b0.. run alone with streams
    (t0 + t)·B + b0 equal that block of the whole batch, bit for bit (C++ pool and Python loop)."""
    family = envs.make(name)
    spec = _spec(family, (32, 32))
    tasks = family.sample_tasks(5, seed=3)
    g = torch.Generator().manual_seed(0)
    params = spec.init_params(seed=g, dtype=dtype) + 0.1 * torch.randn(5, spec.num_params, generator=g).to(dtype)
    sampler = make_sampler("auto", family, spec)
    B, H = 11, 30
    whole = sampler.sample(params, tasks, B, H, seed=9)
    for t0, t1, b0, b1 in ((0, 5, 0, 11), (1, 3, 3, 10), (4, 5, 10, 11), (2, 5, 0, 4)):
        streams = np.arange(t0, t1) * B + b0
        piece = sampler.sample(params[t0:t1], tasks[t0:t1], b1 - b0, H, seed=9, streams=streams)
        for k in ("obs", "actions", "rewards", "mask", "log_prob", "returns", "lengths", "nonfinite", "means"):
            a, b = getattr(piece, k), getattr(whole, k)
            assert (a is None and b is None) or torch.equal(a, b[t0:t1, b0:b1]), (k, t0, t1, b0, b1)
    other_seed = sampler.sample(params[1:3], tasks[1:3], 7, H, seed=10, streams=np.arange(1, 3) * B + 3)
    assert not torch.equal(other_seed.actions, whole.actions[1:3, 3:10])
    with pytest.raises(ValueError, match="streams must be 2 non-negative integers"):
        sampler.sample(params[1:3], tasks[1:3], 7, H, seed=9, streams=np.array([-1, 3]))


class CountingSampler(Sampler):
    """A backend of the user's own: the C++ sampler, counting its calls."""

    calls = 0

    def __init__(self, family, spec):
        super().__init__(family, spec)
        self.inner = CppSampler(family, spec)

    def sample(self, params, tasks, trajs_per_task, horizon, seed):
        CountingSampler.calls += 1
        return self.inner.sample(params, tasks, trajs_per_task, horizon, seed)


def test_a_registered_backend_runs_a_training_run():
    register_sampler("counting", CountingSampler, replace=True)
    assert "counting" in sampler_names()
    small = dict(algo="promp", env="Point2DNav", meta_batch_size=3, rollouts_per_task=2, horizon=10, hidden=(8,),
                 iterations=2)
    ours = Runner(TrainConfig.build(sampler="counting", **small), verbose=False)
    rows = ours.train(progress=False)
    assert CountingSampler.calls == 4  # pre- and post-update batches of two iterations
    cpp = Runner(TrainConfig.build(sampler="cpp", **small), verbose=False).train(progress=False)
    assert [r["Step_1-AverageReturn"] for r in rows] == [r["Step_1-AverageReturn"] for r in cpp]
    with pytest.raises(ValueError, match="already registered"):
        register_sampler("cpp", CountingSampler)


def test_a_python_family_trains_through_the_gymnasium_backend(tmp_path):
    """sampler=auto on a gymnasium family: the runner samples it with the Python loop (each
    environment's task set through its wrapper), resumably."""
    config = TrainConfig.build(algo="promp", env="PendulumGravity", meta_batch_size=2, rollouts_per_task=2,
                               horizon=15, hidden=(8,), iterations=2)
    runner = Runner(config, str(tmp_path / "run"), verbose=False)
    assert isinstance(runner.ctx.sampler, GymnasiumSampler)
    rows = runner.train(progress=False)
    assert [r["n_timesteps"] for r in rows] == [120, 240]  # pre- and post-update batches of 2·2·15 steps
    with pytest.raises(ValueError, match="sampler='cpp' runs the C\\+\\+ task families"):
        Runner(TrainConfig.build(algo="promp", env="PendulumGravity", sampler="cpp"), verbose=False)

"""The process sampler: worker processes on this machine give the local batch bit for bit whatever
their number (a Python family, a Meta-World family and a C++ family), a killed worker leaves the
batch unchanged, and a training run logs the same numbers as with the local sampler."""
import csv
import os
import signal

import pytest
import torch

import metarl_fast
from metarl_fast import envs
from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.sampling import ProcessSampler, make_sampler

FIELDS = ("obs", "actions", "rewards", "mask", "log_prob", "returns", "lengths", "nonfinite")


def _setup(name):
    family = envs.make(name)
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (16, 16))
    g = torch.Generator().manual_seed(0)
    params = spec.init_params(seed=g) + 0.1 * torch.randn(5, spec.num_params, generator=g)
    return family, spec, family.sample_tasks(5, seed=1), params


def assert_same_batch(a, b):
    for k in FIELDS:
        assert torch.equal(getattr(a, k), getattr(b, k)), k
    assert a.infos.keys() == b.infos.keys() and all(torch.equal(a.infos[k], b.infos[k]) for k in a.infos)


@pytest.mark.parametrize("name,horizon", [("PendulumGravity", 40), ("MetaWorldML1-reach-v3", 30),
                                          ("HalfCheetahRandDirec", 40)])
def test_the_batch_is_the_local_one_whatever_the_workers(name, horizon):
    family, spec, tasks, params = _setup(name)
    local = make_sampler("auto", family, spec).sample(params, tasks, 6, horizon, seed=4)
    for workers in (1, 2, 3):
        sampler = ProcessSampler(family, spec, workers=workers)
        try:
            assert_same_batch(sampler.sample(params, tasks, 6, horizon, seed=4), local)
            assert sampler.last_call.items >= workers
        finally:
            sampler.close()


def test_a_killed_worker_leaves_the_batch_unchanged():
    family, spec, tasks, params = _setup("PendulumGravity")
    local = make_sampler("auto", family, spec).sample(params, tasks, 6, 40, seed=4)
    sampler = ProcessSampler(family, spec, workers=2)
    try:
        assert_same_batch(sampler.sample(params, tasks, 6, 40, seed=4), local)
        os.kill(next(iter(sampler._pool._processes)), signal.SIGKILL)
        assert_same_batch(sampler.sample(params, tasks, 6, 40, seed=4), local)
        assert sampler.last_call.retries == 1
    finally:
        sampler.close()
    with pytest.raises(ValueError, match="processes must be a non-negative int"):
        ProcessSampler(family, spec, workers=-1)


def test_a_training_run_logs_the_same_numbers_as_with_the_local_sampler(tmp_path):
    small = dict(algo="promp", env="PendulumGravity", meta_batch_size=4, rollouts_per_task=3, horizon=20,
                 hidden=(16,), iterations=2)
    for name, extra in (("local", {}), ("processes", dict(sampler="processes", processes=2))):
        Runner(TrainConfig.build(**small, **extra), str(tmp_path / name), verbose=False).train(progress=False)

    def numbers(run):
        with open(tmp_path / run / "progress.csv") as f:
            return [{k: v for k, v in r.items() if not k.startswith(("Time", "SPS"))} for r in csv.DictReader(f)]

    assert len(numbers("local")) == 2 and numbers("local") == numbers("processes")

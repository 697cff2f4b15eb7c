"""The Ray sampler on a local Ray of 2 CPUs: the local sampler's batch bit for bit whatever the
actors and threads (a C++ family and a Python family), an actor dying mid-call, a training run with
the same progress.csv numbers, and clear errors for bad settings."""
import csv
import sys
import warnings

import numpy as np
import pytest
import torch
from conftest import RAY_INSTALL, optional_module

ray = optional_module("ray", RAY_INSTALL)

import metarl_fast
from metarl_fast import envs
from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.sampling import RaySampler, make_sampler
from metarl_fast.sampling.pieces import WorkItem, split_batch
from metarl_fast.sampling.ray import import_ray

FIELDS = ("obs", "actions", "rewards", "mask", "log_prob", "returns", "lengths", "nonfinite", "means")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _setup(name, dtype=torch.float32, per_task=False):
    family = envs.make(name)
    spec = metarl_fast.PolicySpec(family.obs_dim, family.act_dim, (32, 32))
    tasks = family.sample_tasks(5, seed=2)
    g = torch.Generator().manual_seed(0)
    params = spec.init_params(seed=g, dtype=dtype)
    if per_task:
        params = params + 0.1 * torch.randn(5, spec.num_params, generator=g).to(dtype)
    return family, spec, tasks, params


def assert_same_batch(a, b):
    for k in FIELDS:
        x, y = getattr(a, k), getattr(b, k)
        assert (x is None and y is None) or (x.dtype == y.dtype and torch.equal(x, y)), k
    assert a.infos.keys() == b.infos.keys() and all(torch.equal(a.infos[k], b.infos[k]) for k in a.infos)
    assert a.tasks.params.tobytes() == b.tasks.params.tobytes()


def test_split_batch_covers_every_trajectory_once():
    for T, B, n in ((40, 20, 8), (5, 20, 12), (1, 3, 4), (3, 100, 30), (7, 9, 7)):
        cover = np.zeros((T, B), int)
        for item in split_batch(T, B, n):
            cover[item.t0:item.t1, item.b0:item.b1] += 1
        assert (cover == 1).all(), (T, B, n)
    assert split_batch(2, 16, 8) == [WorkItem(0, 1, 0, 8), WorkItem(0, 1, 8, 16), WorkItem(1, 2, 0, 8),
                                     WorkItem(1, 2, 8, 16)]  # no piece under 8 trajectories
    assert list(WorkItem(2, 4, 3, 9).streams(10)) == [23, 33]


@pytest.mark.parametrize("name", ["HalfCheetahRandDirec", "PendulumGravity"])
def test_the_batch_is_the_local_one_whatever_the_actors_and_threads(name):
    family, spec, tasks, params = _setup(name)
    local = make_sampler("auto", family, spec).sample(params, tasks, 10, 40, seed=7)
    for actors in (1, 2, 3):
        for threads in (1, 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 3 × 2 threads on 2 CPUs: oversubscribed
                sampler = RaySampler(family, spec, actors=actors, threads=threads)
            try:
                assert sampler.num_actors == actors and sampler.threads_per_actor == [threads] * actors
                # the layout line says what runs: C++ threads, or Python environments in a loop
                layout = sampler.describe()
                assert ("C++ threads" in layout) == (family.native_sampler == "cpp"), layout
                assert family.native_sampler == "cpp" or "stepping the family's Python environments" in layout
                batch = sampler.sample(params, tasks, 10, 40, seed=7)
                assert_same_batch(batch, local)
                assert sampler.last_call.items >= actors and sampler.last_call.retries == 0
                assert sampler.last_call.bytes_in > batch.obs.numel() * 4
            finally:
                sampler.close()


def test_per_task_float64_parameters_and_automatic_actors():
    family, spec, tasks, params = _setup("AntRandGoal", torch.float64, per_task=True)
    local = make_sampler("cpp", family, spec).sample(params, tasks, 3, 25, seed=11)
    sampler = RaySampler(family, spec)  # one actor per node with all its CPUs
    try:
        assert sampler.threads_per_actor == [2]
        assert_same_batch(sampler.sample(params, tasks, 3, 25, seed=11), local)
        different = sampler.sample(params, tasks, 3, 25, seed=12)
        assert not torch.equal(different.actions, local.actions)
    finally:
        sampler.close()


@pytest.mark.parametrize("name", ["HalfCheetahRandDirec", "PendulumGravity"])
def test_an_actor_dying_mid_call_leaves_the_batch_unchanged(name):
    family, spec, tasks, params = _setup(name, per_task=True)
    local = make_sampler("auto", family, spec).sample(params, tasks, 10, 30, seed=3)
    sampler = RaySampler(family, spec, actors=2, threads=1)
    try:
        first = sampler._actors[0]
        ray.get(first.die_at_item.remote(2))  # the process exits as its 2nd item starts
        assert_same_batch(sampler.sample(params, tasks, 10, 30, seed=3), local)
        assert sampler.last_call.retries >= 1 and sampler._actors[0] is not first
        assert_same_batch(sampler.sample(params, tasks, 10, 30, seed=3), local)  # the new actor serves
        sampler.close()
        assert sampler.num_actors == 0
        assert_same_batch(sampler.sample(params, tasks, 10, 30, seed=3), local)  # started again
        assert sampler.num_actors == 2
    finally:
        sampler.close()


def _progress(run_dir):
    with open(run_dir / "progress.csv") as f:
        return [{k: v for k, v in row.items() if not k.startswith(("Time", "SPS"))} for row in csv.DictReader(f)]


def test_a_training_run_logs_the_same_numbers_as_with_the_local_sampler(tmp_path):
    small = dict(algo="promp", env="HalfCheetahRandDirec", meta_batch_size=4, rollouts_per_task=3, horizon=20,
                 hidden=(16,), iterations=2)
    Runner(TrainConfig.build(**small), str(tmp_path / "local"), verbose=False).train(progress=False)
    runner = Runner(TrainConfig.build(sampler="ray", ray_actors=2, ray_threads=1, **small), str(tmp_path / "ray"),
                    verbose=False)
    assert isinstance(runner.ctx.sampler, RaySampler)
    runner.train(progress=False)
    local, distributed = _progress(tmp_path / "local"), _progress(tmp_path / "ray")
    assert len(local) == 2 and local == distributed


def test_bad_settings_give_errors_naming_them(monkeypatch):
    family, spec, _, _ = _setup("Point2DNav")
    with pytest.raises(ValueError, match="ray_actors must be a positive int"):
        RaySampler(family, spec, actors=0)
    with pytest.raises(ValueError, match="ray_threads must be a non-negative int"):
        RaySampler(family, spec, threads=-1)
    with pytest.raises(ValueError, match="ray_timeout must be a positive number"):
        RaySampler(family, spec, timeout=0)
    with pytest.raises(ValueError, match="ray_actors"):
        TrainConfig.build(sampler="ray", ray_actors=-2)
    # every CPU held by another job: the actors cannot start within ray_timeout
    placeholder = ray.remote(num_cpus=2)(type("Hog", (), {"ping": lambda self: 1})).remote()
    ray.get(placeholder.ping.remote())
    try:
        with pytest.raises(TimeoutError, match=r"did not start within ray_timeout=2 s .*lower ray_actors or "
                                               r"ray_threads, or raise ray_timeout"):
            RaySampler(family, spec, actors=1, threads=1, timeout=2)
    finally:
        ray.kill(placeholder)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "metarl_fast\[ray\]"'):
        import_ray()


def test_an_unreachable_address_is_named_at_once():
    """Run before Ray is initialised in the process (a subprocess): Ray itself retries for minutes."""
    import subprocess

    code = ("import metarl_fast\nfrom metarl_fast import envs\nfrom metarl_fast.sampling import RaySampler\n"
            "f = envs.make('Point2DNav')\n"
            "for address in ('127.0.0.1:1', 'no-such-host.invalid:6379', 'head-node'):\n"
            "    try:\n        RaySampler(f, metarl_fast.PolicySpec(f.obs_dim, f.act_dim), address=address)\n"
            "    except ConnectionError as e:\n        print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 3, out
    assert lines[0].startswith("ray_address='127.0.0.1:1': nothing answers at 127.0.0.1:1")
    assert lines[1].startswith("ray_address='no-such-host.invalid:6379': nothing answers")
    assert lines[2].startswith("ray_address='head-node' is not 'host:port'")


def test_the_scaling_model_of_the_benchmark():
    from metarl_fast.bench.ray import iteration_model

    rows = iteration_model(local_call_s=2.0, ray_ratio=0.8, latency_s=0.01, bytes_in=10**9 // 8, non_sampling_s=0.5,
                           nodes=[1, 4], calls_per_iteration=2, bandwidth_gbps=1.0)
    assert rows[0]["sampling_s"] == pytest.approx(2 * (2.0 / 0.8 + 0.01))  # no network on one node
    assert rows[1]["sampling_s"] == pytest.approx(2 * (2.0 / 3.2 + 0.01 + 1.0))  # 1 Gb over 1 Gb/s
    assert rows[1]["speedup"] == pytest.approx(4.5 / (rows[1]["sampling_s"] + 0.5))


def test_an_address_that_accepts_but_never_answers_times_out_naming_ray_timeout():
    """A 'black hole' on loopback: it accepts TCP connections and says nothing. ray.init alone would
    wait for minutes; the sampler gives up after ray_timeout (run in a subprocess, so the abandoned
    connection attempt cannot touch this process's Ray)."""
    import socket
    import subprocess
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(64)], daemon=True).start()
    code = f"""
import sys
from metarl_fast.sampling.ray import connect, import_ray
try:
    connect(import_ray(), "127.0.0.1:{port}", timeout=4)
except TimeoutError as e:
    print("TIMEOUT", e)
    sys.exit(0)
print("NO TIMEOUT")
"""
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    finally:
        server.close()
    assert "TIMEOUT" in out.stdout and "ray_timeout=4 s" in out.stdout, out.stdout + out.stderr[-2000:]
    assert time.perf_counter() - start < 60


def test_a_refused_connection_names_token_authentication():
    """A cluster with token authentication refuses a driver without its token: Ray says only
    "Failed to connect"; the error names the token and the variables to set (docs/distributed.md)."""
    from metarl_fast.sampling.ray import connect

    class RefusingRay:
        def is_initialized(self):
            return False

        def init(self, **kwargs):
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:6379")

    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    address = f"127.0.0.1:{server.getsockname()[1]}"
    try:
        with pytest.raises(ConnectionError) as info:
            connect(RefusingRay(), address, timeout=10)
    finally:
        server.close()
    message = str(info.value)
    assert message.startswith(f"ray_address={address!r}: could not connect to a Ray cluster (Failed to connect")
    assert "RAY_AUTH_MODE=token" in message and "RAY_AUTH_TOKEN" in message and "docs/distributed.md" in message

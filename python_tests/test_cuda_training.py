"""Training with device=cuda (marked `cuda`, skipped without a GPU): the MAML family with its
parameters, advantages and meta-steps on the GPU — by the package's CUDA kernels and by the torch
reference there — against the same run on the CPU; and the clear refusals that run anywhere."""
import pytest
import torch

from metarl_fast.algos.run import Runner, TrainConfig
from metarl_fast.kernels import cuda

HAS_GPU = torch.cuda.is_available() and cuda.device_count() > 0


def _run(**settings):
    config = TrainConfig.build(env="Point2DNav", iterations=2, meta_batch_size=4, rollouts_per_task=5, horizon=20,
                               dtype="float64", seed=3, **settings)
    runner = Runner(config, verbose=False)
    return runner, runner.train(progress=False)


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA GPU and metarl_fast built with CUDA")
@pytest.mark.parametrize("algo", ["promp", "trpo-maml", "dice-vpg"])
def test_meta_steps_on_the_gpu_match_the_cpu(algo):
    cpu, cpu_log = _run(algo=algo)
    for cuda_kernels in (True, False):
        gpu, log = _run(algo=algo, device="cuda", cuda_kernels=cuda_kernels)
        theta = gpu.algorithm.meta_parameters()
        assert theta.device.type == "cuda"
        # iteration 0 samples with the same θ on the CPU: the same batch, the same returns
        assert log[0]["Step_0-AverageReturn"] == cpu_log[0]["Step_0-AverageReturn"]
        # two meta-steps later, θ agrees to float64 rounding (and so did the second iteration's batch)
        torch.testing.assert_close(theta.cpu(), cpu.algorithm.meta_parameters(), rtol=1e-7, atol=1e-9)


def test_device_settings_are_checked():
    with pytest.raises(ValueError, match="cuda_kernels=true needs device=cuda"):
        _run(algo="promp", cuda_kernels=True)
    with pytest.raises(ValueError, match="gmps runs on cpu only"):
        _run(algo="gmps", device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
            _run(algo="promp", device="cuda")


def test_a_gpu_runs_directory_deploys_on_the_cpu(tmp_path):
    """A run trained with device=cuda (its config.yaml says so) loads for meta-test on a machine
    without a GPU: deployment runs on the CPU, and the checkpoint's check ignores where it ran."""
    import yaml

    from metarl_fast.algos.run import meta_policy

    out = tmp_path / "run"
    config = TrainConfig.build(algo="promp", env="Point2DNav", iterations=1, meta_batch_size=2, rollouts_per_task=2,
                               horizon=10)
    out.mkdir()
    runner = Runner(config, str(out), verbose=False)
    runner.write_config()
    runner.train(progress=False)
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    cfg["device"], cfg["cuda_kernels"] = "cuda", True
    (out / "config.yaml").write_text(yaml.safe_dump(cfg))
    policy = meta_policy.load(str(out))
    assert policy.config.device == "cpu" and policy.params.device.type == "cpu"
    assert policy.adapt(policy.family.sample_tasks(2, seed=0), steps=1).steps == 1

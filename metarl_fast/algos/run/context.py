"""What an algorithm sees of a run: the RunContext.

    ctx.config, ctx.section     the run's settings (common, and the algorithm's own section)
    ctx.family, ctx.spec        the task family and the policy architecture
    ctx.horizon, ctx.dtype      the episode length and the parameters' dtype
    ctx.device                  where parameters and batches live (sampling runs on the CPU)
    ctx.sampler                 the sampler backend (sampling/)
    ctx.kernel_backend          "auto" (the compiled kernels) or "torch" (the autograd reference)
    ctx.kernel_scope()          the context the algorithm's kernels run in (the runner enters it)
    ctx.seed(*keys)             a seed derived from the run's seed; ctx.iteration_seed(*keys) also
                                from the iteration, so a resumed run draws what it would have drawn
    ctx.sample(...)             a Batch from the sampler, counted in ctx.timesteps
    ctx.log(message)            a line on stderr and in RUN_DIR/train.log
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np
import torch

from ... import envs, kernels
from ...phases import phase
from ...policies import PolicySpec
from ...sampling import make_sampler


def derived_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (numpy SeedSequence: independent streams per key tuple)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, np.uint64)[0] >> np.uint64(1))


class RunContext:
    """The run's family, policy, sampler, seeds and counters (see the module docstring).

    Args: config (a TrainConfig), out_dir (the run directory, or None for no files), verbose
    (ctx.log also prints to stderr).
    """

    def __init__(self, config, out_dir: str | None = None, verbose: bool = True) -> None:
        self.config = config
        self.section = config.section
        self.family = envs.make(config.env)
        self.horizon = config.horizon or self.family.default_horizon
        self.dtype = getattr(torch, config.dtype)
        self.spec = PolicySpec(self.family.obs_dim, self.family.act_dim, config.hidden, config.activation)
        self.sampler = make_sampler(config.sampler, self.family, self.spec, config)
        self.device = _device(config)
        self.kernel_backend = "auto" if config.meta_gradient == "explicit" else "torch"
        self.out_dir = out_dir
        self.verbose = verbose
        self.iteration = 0  # iterations completed
        self.timesteps = 0  # environment steps sampled for training so far
        self.nonfinite = 0  # training trajectories ended by an unstable (non-finite) state so far

    def seed(self, *keys: int) -> int:
        """A seed from the run's seed and `keys`."""
        return derived_seed(self.config.seed, *keys)

    def iteration_seed(self, *keys: int) -> int:
        """A seed from the run's seed, the current iteration and `keys`."""
        return derived_seed(self.config.seed, self.iteration, *keys)

    def sample_tasks(self, n: int, key: int = 0xA5) -> envs.TaskBatch:
        """n tasks of the family, drawn for this iteration."""
        return self.family.sample_tasks(n, seed=self.iteration_seed(key))

    def sample(self, params: torch.Tensor, tasks: envs.TaskBatch, key: int, trajs_per_task: int | None = None,
               count: bool = True) -> envs.Batch:
        """rollouts_per_task (or trajs_per_task) trajectories of the horizon on each task with the
        standard policy parameters `params` ([P] or [T, P]), seeded by (iteration, key); counted in
        ctx.timesteps (and its unstable trajectories in ctx.nonfinite) unless count=False
        (evaluation rollouts)."""
        B = trajs_per_task or self.config.rollouts_per_task
        with phase("sampling"):
            batch = self.sampler.sample(params.detach().cpu(), tasks, B, self.horizon, self.iteration_seed(key))
        if count:
            self.timesteps += batch.num_steps
            self.nonfinite += int(batch.nonfinite.sum())
        return batch if self.device.type == "cpu" else batch.to(self.device)

    def kernel_scope(self):
        """The context an iteration's kernels run in: with device=cuda and cuda_kernels, backend
        "auto" sends the run's CUDA tensors to the CUDA kernels (kernels.use_cuda_kernels)."""
        return kernels.use_cuda_kernels(self.config.cuda_kernels) if self.device.type == "cuda" else \
            contextlib.nullcontext()

    def log(self, message: str, echo: bool = True) -> None:
        """A line in RUN_DIR/train.log (when the run has a directory) and, with echo, on stderr
        (when the context is verbose)."""
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}"
        if echo and self.verbose:
            print(line, file=sys.stderr)
        if self.out_dir:
            with open(os.path.join(self.out_dir, "train.log"), "a") as f:
                f.write(line + "\n")


def _device(config) -> torch.device:
    """The run's device; device=cuda needs a GPU visible to torch, and cuda_kernels a CUDA build."""
    if config.device == "cpu":
        if config.cuda_kernels:
            raise ValueError("cuda_kernels=true needs device=cuda")
        return torch.device("cpu")
    from .registry import algorithm

    devices = algorithm(config.algo).cls.devices
    if "cuda" not in devices:
        raise ValueError(f"device=cuda: {config.algo} runs on {' or '.join(devices)} only (the MAML family runs on "
                         "the GPU)")
    if not torch.cuda.is_available():
        raise ValueError("device=cuda: torch sees no CUDA GPU (a CPU build of torch, no driver, or "
                         "CUDA_VISIBLE_DEVICES empty); use device=cpu")
    if config.cuda_kernels:
        from ...kernels import cuda

        if not cuda.built():
            raise ValueError("cuda_kernels=true: this build of metarl_fast has no CUDA kernels (install it with nvcc "
                             "on PATH, METARL_FAST_CUDA=ON)")
    return torch.device("cuda", torch.cuda.current_device())

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
from ..._deprecation import renamed_kwargs
from ...phases import phase
from ...policies import PolicySpec
from ...runtime import max_num_threads
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
        if config.threads > max_num_threads():
            raise ValueError(f"threads={config.threads} is more than {max_num_threads()} (8 per CPU this process may "
                             f"run on, at least 64); 0 uses every CPU")
        check_memory(config, self.family, self.spec, self.horizon)
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

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def sample(self, params: torch.Tensor, tasks: envs.TaskBatch, key: int, rollouts_per_task: int | None = None,
               count: bool = True) -> envs.Batch:
        """rollouts_per_task (default: the config's) trajectories of the horizon on each task with the
        standard policy parameters `params` ([P] or [T, P]), seeded by (iteration, key); counted in
        ctx.timesteps (and its unstable trajectories in ctx.nonfinite) unless count=False
        (evaluation rollouts). ``trajs_per_task=`` is the deprecated name of rollouts_per_task."""
        B = rollouts_per_task or self.config.rollouts_per_task
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
            path = os.path.join(self.out_dir, "train.log")
            try:
                with open(path, "a") as f:
                    f.write(line + "\n")
            except OSError as e:
                from ...files import named_os_error

                raise named_os_error(e, path) from None


def memory_bytes() -> int:
    """The machine's memory (MemTotal; 0 where /proc/meminfo is not readable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # not Linux, or /proc hidden: 0 means "unknown" and the memory check is skipped
        return 0
    return 0


def estimate_memory(config, family, spec, horizon: int) -> dict[str, int]:
    """A lower estimate of a run's memory in bytes, by what drives it: the sampled batches
    ("meta_batch_size × rollouts_per_task × horizon": observations, actions, means, rewards, masks,
    log-probabilities of the pre- and post-update batches), the kernels' workspace over them
    (activations and their tangents, "hidden" and the batch), and the parameters ("hidden": θ, the
    per-task adapted parameters, gradients and optimiser states)."""
    item = 8 if config.dtype == "float64" else 4
    samples = config.meta_batch_size * config.rollouts_per_task * horizon
    batches = 1 + int(getattr(config.section, "inner_steps", 1) or 1)
    per_sample = (family.obs_dim + 3 * family.act_dim + 8) * item
    width = sum(spec.layer_sizes)
    return {"meta_batch_size × rollouts_per_task × horizon": samples * per_sample * batches,
            "meta_batch_size × rollouts_per_task × horizon × the hidden widths (the kernels' workspace)":
                samples * width * item * 4,
            "hidden (the parameters)": spec.num_params * 8 * (4 * config.meta_batch_size + 16)}


def check_memory(config, family, spec, horizon: int, limit: int | None = None) -> None:
    """ValueError naming the setting that drives it when a run's estimated memory (estimate_memory)
    exceeds 80 % of the machine's (`limit` bytes; default MemTotal): refused before anything is
    allocated, instead of a process the system kills (with others) part way."""
    limit = memory_bytes() if limit is None else limit
    if limit <= 0:
        return
    parts = estimate_memory(config, family, spec, horizon)
    total = sum(parts.values())
    if total > 0.8 * limit:
        worst = max(parts, key=parts.get)
        raise ValueError(f"this run needs at least {total / 2**30:,.1f} GiB, more than this machine's "
                         f"{limit / 2**30:,.1f} GiB allows; most of it for {worst} "
                         f"({parts[worst] / 2**30:,.1f} GiB): lower those settings")


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

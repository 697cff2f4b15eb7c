"""A trained meta-policy for meta-test and deployment: ``metarl_fast.load(run_dir or checkpoint)``.

    policy = metarl_fast.load("runs/promp-HalfCheetahRandDirec-s1")
    tasks = policy.family.tasks([[1.0], [-1.0]])         # or policy.sample_tasks(10, seed=0)
    adapted = policy.adapt(tasks, steps=1)               # samples on each task, takes the algorithm's step
    action = adapted.act(obs, task=0)                     # [act_dim] in the simulator's control units
    batch = adapted.rollout()                             # the adapted policies' trajectories (a Batch)

Adaptation is the algorithm's own meta-test step (``MetaAlgorithm.adapt``): the MAML family's inner
step with its (learned or fixed) step size, BO-MRL's lower level solved, GMPS's policy-gradient step
with its learned per-parameter step sizes. Every rollout's seed derives from one seed and the
adaptation step, so an adaptation is reproducible and ``metarl-fast eval`` is this code.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ...envs.batch import Batch
from ...envs.tasks import TaskBatch
from ...files import UnsafeFileError, load_torch
from .context import derived_seed
from .runner import Runner, read_run_config


# Meta-test and deployment run on the CPU (sampling is there anyway), wherever the run trained.
ON_THE_CPU = ("device=cpu", "cuda_kernels=false")


def load(path: str | os.PathLike[str], sampler: str | None = None) -> "MetaPolicy":
    """The meta-policy of a run directory (its last good checkpoint, as ``--resume`` picks it; a
    fall-back from a refused checkpoint.pt is warned about, naming both) or of one checkpoint file
    (``RUN_DIR/checkpoint.pt``, ``RUN_DIR/checkpoints/itr_<n>.pt``, or a copy elsewhere: then the
    config it carries is used). Files load with ``weights_only`` (a planted pickle is refused, not
    run); a checkpoint made with another config than its run's config.yaml is refused. Its
    rollouts sample with the run's sampler, or `sampler` (a name of ``sampling.sampler_names()``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load: path must be a run directory or a checkpoint file, got {type(path).__name__}")
    path = os.fspath(path)
    overrides = ON_THE_CPU if sampler is None else (*ON_THE_CPU, f"sampler={sampler}")
    if os.path.isdir(path):
        return MetaPolicy(Runner.from_run_dir(path, verbose=False, overrides=overrides), path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: {path} is neither a run directory nor a checkpoint file")
    return MetaPolicy(runner_from_checkpoint(path, overrides), path)


def run_dir_of(path: str) -> str | None:
    """The run directory holding `path` (a run directory, its checkpoint.pt or a checkpoints/ file),
    or None when no config.yaml is there."""
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path))
    return next((d for d in (here, os.path.dirname(here)) if os.path.isfile(os.path.join(d, "config.yaml"))), None)


def runner_from_checkpoint(path: str, overrides: tuple[str, ...] = ON_THE_CPU) -> Runner:
    """A runner (writing nowhere) at the state of the checkpoint file `path`, with the config of the
    run directory holding it when there is one (checked against the checkpoint's own), else the
    checkpoint's; `overrides`: where it runs (default: the CPU)."""
    from .config import TrainConfig

    state = load_torch(path)
    if not isinstance(state, dict) or "config" not in state or "iteration" not in state:
        raise UnsafeFileError(f"{path}: not a metarl_fast checkpoint")
    run_dir = run_dir_of(path)
    config = TrainConfig.from_dict(state["config"]) if run_dir is None else read_run_config(run_dir)
    config = config.with_overrides(list(overrides))
    runner = Runner(config, None, verbose=False)
    runner._check_snapshot(path, state)
    runner.load_state_dict(state)
    return runner


def _as_obs(fn: str, obs, dim: int, dtype: torch.dtype) -> torch.Tensor:
    if obs is None:
        raise TypeError(f"{fn}: obs is required (an array [..., {dim}])")
    x = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs).to(dtype)
    if x.dim() == 0 or x.shape[-1] != dim:
        raise ValueError(f"{fn}: obs must have shape [..., obs_dim={dim}], got {list(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{fn}: obs contains NaN or infinite values")
    return x


class _Acting:
    """Actions of Gaussian MLP policies in the family's control units (shared by both classes)."""

    family: object
    spec: object

    def _act(self, std_params: torch.Tensor, obs: torch.Tensor, deterministic: bool, seed: int | None,
             native: bool):
        """std_params [T, P]; obs [T, N, obs_dim] → actions [T, N, act_dim]."""
        from ... import kernels

        with torch.no_grad():
            mean = kernels.policy_mean(self.spec, std_params, obs)
            if not deterministic:
                g = torch.Generator()
                g.manual_seed(int(seed) if seed is not None else int(torch.seed()))
                log_std = self.spec.unflatten(std_params)["log_std"]  # [T, act_dim]
                noise = torch.randn(mean.shape, generator=g, dtype=mean.dtype)
                mean = mean + log_std.exp()[:, None, :] * noise
        return self.family.native_actions(mean.numpy()) if native else mean


class MetaPolicy(_Acting):
    """A trained meta-policy θ with its algorithm's adaptation.

    Attributes: config (the run's TrainConfig), family (TaskFamily), spec (the Gaussian MLP's
    PolicySpec), algorithm (its name), iteration (meta-iterations trained), source (the file or
    directory loaded), horizon (the run's trajectory length).
    """

    def __init__(self, runner: Runner, source: str) -> None:
        self._runner = runner
        self._ctx, self._algo = runner.ctx, runner.algorithm
        self.config, self.family, self.spec = runner.config, runner.ctx.family, runner.ctx.spec
        self.algorithm, self.iteration, self.source = runner.config.algo, runner.iteration, source
        self.horizon = runner.ctx.horizon

    @property
    def params(self) -> torch.Tensor:
        """The meta-parameters θ [P_alg] (a copy; GMPS's include its bias transformation)."""
        return self._algo.meta_parameters().detach().clone()

    def policy_params(self) -> torch.Tensor:
        """θ as the standard Gaussian MLP's flat parameters [P] (the layout of ``spec``)."""
        return self._algo.policy_params(self._algo.meta_parameters()).detach().clone()

    def sample_tasks(self, n: int, seed: int | None = None, test: bool = False) -> TaskBatch:
        """n tasks from the family's training distribution, or with test=True from its held-out
        meta-test tasks (the same distribution for families without a test set)."""
        return self.family.sample_test_tasks(n, seed) if test else self.family.sample_tasks(n, seed)

    def act(self, obs, deterministic: bool = True, seed: int | None = None, native: bool = True):
        """The pre-adaptation policy's actions.

        obs: [..., obs_dim] (numpy or torch). deterministic: the mean action, else a sample with
        noise seeded by `seed` (None: fresh). native: in the simulator's control units (float64
        numpy, rescaled and clipped as the sampler applies them), else the policy's scale (torch).
        Returns [..., act_dim]."""
        x = _as_obs("MetaPolicy.act", obs, self.spec.obs_dim, self._ctx.dtype)
        a = self._act(self.policy_params()[None], x.reshape(1, -1, self.spec.obs_dim), deterministic, seed, native)
        return a.reshape(*x.shape[:-1], self.spec.act_dim)

    def adapt(self, tasks_or_batch, steps: int = 1, rollouts_per_task: int | None = None,
              seed: int = 0) -> "AdaptedPolicy":
        """θ adapted to each task by `steps` of the algorithm's meta-test step.

        tasks_or_batch: a TaskBatch (T tasks of this family), task parameters [T, task_dim], or a
        Batch sampled with ``policy_params()`` (then its tasks, and the first step adapts on it).
        rollouts_per_task: trajectories sampled per task and step (default: the run's). seed: the
        rollouts of step k use ``derived_seed(seed, k)``. Returns an AdaptedPolicy (steps ≥ 0)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"MetaPolicy.adapt: steps must be an int >= 0, got {steps!r}")
        if isinstance(tasks_or_batch, Batch):
            batch = tasks_or_batch
            B = rollouts_per_task or batch.shape[1]
            start = AdaptedPolicy(self, batch.tasks, self._expand(len(batch.tasks)), 0, B, seed)
            if steps == 0:
                return start
            return start.adapt_on(batch).adapt(steps - 1)
        tasks = self._tasks(tasks_or_batch)
        B = self._rollouts(rollouts_per_task)
        return AdaptedPolicy(self, tasks, self._expand(len(tasks)), 0, B, seed).adapt(steps)

    def rollout(self, tasks, rollouts_per_task: int | None = None, seed: int = 0,
                deterministic: bool = False) -> Batch:
        """Trajectories of the pre-adaptation policy on `tasks` (TaskBatch or [T, task_dim]) with the
        rollout seed `seed` (the family's rollout: a Batch [T, B, H, ...])."""
        tasks = self._tasks(tasks)
        return AdaptedPolicy(self, tasks, self._expand(len(tasks)), 0, self._rollouts(rollouts_per_task),
                             seed).rollout(seed=seed, deterministic=deterministic)

    # ---- helpers
    def _expand(self, T: int) -> torch.Tensor:
        return self._algo.meta_parameters().detach().expand(T, -1).contiguous()

    def _tasks(self, tasks) -> TaskBatch:
        if isinstance(tasks, TaskBatch):
            return self.family.check_tasks("MetaPolicy", tasks)
        if isinstance(tasks, (int, np.integer)) and not isinstance(tasks, bool):
            raise TypeError("MetaPolicy: give tasks (policy.sample_tasks(n, seed) draws n of them), not a count")
        try:
            return self.family.tasks(tasks)
        except (TypeError, ValueError) as e:
            raise ValueError(f"MetaPolicy: tasks must be a TaskBatch of {self.family.name} or task parameters "
                             f"[T, {self.family.task_dim}] ({', '.join(self.family.definition.fields)}): {e}") from None

    def _rollouts(self, rollouts_per_task) -> int:
        B = self.config.rollouts_per_task if rollouts_per_task is None else rollouts_per_task
        if isinstance(B, bool) or not isinstance(B, int) or B < 1:
            raise ValueError(f"MetaPolicy: rollouts_per_task must be an int >= 1, got {rollouts_per_task!r}")
        return B

    def __repr__(self) -> str:
        return (f"MetaPolicy({self.algorithm} on {self.family.name}, iteration {self.iteration}, "
                f"{self.spec.num_params} policy parameters, from {self.source})")


class AdaptedPolicy(_Acting):
    """One adapted policy per task: ``params`` [T, P_alg] after ``steps`` adaptation steps on
    ``tasks``; ``returns`` holds, per step taken, the returns [T, B] of the trajectories it adapted
    on (float64 numpy)."""

    def __init__(self, meta: MetaPolicy, tasks: TaskBatch, params: torch.Tensor, steps: int, rollouts_per_task: int,
                 seed: int, returns: list[np.ndarray] | None = None) -> None:
        self.meta, self.family, self.spec = meta, meta.family, meta.spec
        self.tasks, self.params, self.steps = tasks, params, steps
        self.rollouts_per_task, self.seed = rollouts_per_task, seed
        self.returns = list(returns or [])

    def policy_params(self) -> torch.Tensor:
        """The adapted policies as the standard Gaussian MLP's parameters [T, P]."""
        return self.meta._algo.policy_params(self.params).detach()

    def act(self, obs, task: int | None = None, deterministic: bool = True, seed: int | None = None,
            native: bool = True):
        """Actions of the adapted policies.

        obs: [T, ..., obs_dim] (one slice per task) when task is None, else [..., obs_dim] for the
        policy of task index `task`. Other arguments as MetaPolicy.act. Returns [..., act_dim]
        matching obs."""
        x = _as_obs("AdaptedPolicy.act", obs, self.spec.obs_dim, self.params.dtype)
        T, params = len(self.tasks), self.policy_params()
        if task is None:
            if x.dim() < 2 or x.shape[0] != T:
                raise ValueError(f"AdaptedPolicy.act: obs must be [T={T}, ..., obs_dim] (or give task=i), "
                                 f"got {list(x.shape)}")
            a = self._act(params, x.reshape(T, -1, self.spec.obs_dim), deterministic, seed, native)
            return a.reshape(*x.shape[:-1], self.spec.act_dim)
        if isinstance(task, bool) or not isinstance(task, (int, np.integer)) or not -T <= task < T:
            raise ValueError(f"AdaptedPolicy.act: task must be an index in [0, {T}), got {task!r}")
        a = self._act(params[task][None], x.reshape(1, -1, self.spec.obs_dim), deterministic, seed, native)
        return a.reshape(*x.shape[:-1], self.spec.act_dim)

    def rollout(self, rollouts_per_task: int | None = None, seed: int | None = None,
                deterministic: bool = False) -> Batch:
        """Trajectories of the adapted policies on their tasks (rollouts_per_task per task, default
        this policy's; seed default ``derived_seed(self.seed, self.steps)``: what the next
        adaptation step would sample)."""
        meta = self.meta
        B = meta._rollouts(self.rollouts_per_task if rollouts_per_task is None else rollouts_per_task)
        seed = derived_seed(self.seed, self.steps) if seed is None else seed
        params = self.policy_params().contiguous()
        if deterministic:  # acting with the mean: the family's own rollout (samplers draw actions)
            return meta.family.rollout(meta.spec, params, self.tasks, B, meta.horizon, seed=seed, deterministic=True)
        return meta._ctx.sampler.sample(params, self.tasks, B, meta.horizon, seed)

    def adapt_on(self, batch: Batch) -> "AdaptedPolicy":
        """One more adaptation step on `batch`, sampled with these policies on these tasks."""
        if not isinstance(batch, Batch):
            raise TypeError(f"AdaptedPolicy.adapt_on: batch must be a Batch, got {type(batch).__name__}")
        if batch.tasks != self.tasks:
            raise ValueError("AdaptedPolicy.adapt_on: the batch was sampled on other tasks than this policy's")
        params = self.meta._algo.adapt(self.meta._ctx, batch, self.params).detach()
        return AdaptedPolicy(self.meta, self.tasks, params, self.steps + 1, self.rollouts_per_task, self.seed,
                             [*self.returns, batch.returns.numpy().copy()])

    def adapt(self, steps: int = 1) -> "AdaptedPolicy":
        """`steps` more adaptation steps, each on fresh trajectories of the current policies."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"AdaptedPolicy.adapt: steps must be an int >= 0, got {steps!r}")
        adapted = self
        for _ in range(steps):
            adapted = adapted.adapt_on(adapted.rollout())
        return adapted

    def __repr__(self) -> str:
        return (f"AdaptedPolicy({self.meta.algorithm} on {len(self.tasks)} {self.family.name} tasks, "
                f"{self.steps} adaptation steps)")

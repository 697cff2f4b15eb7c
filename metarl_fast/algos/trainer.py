"""The meta-training loop shared by every MAML-family variant: sample → advantages → adapt →
sample post-update → outer step (Adam, ProMP or TRPO) → log and checkpoint.

Run directory layout:
    config.yaml        the resolved TrainConfig
    progress.csv       one row per iteration (the papers' column names: Itr, n_timesteps,
                       Step_0-AverageReturn, ..., Time-Sampling, Time-InnerStep, Time-OuterStep, Time)
    tb/                TensorBoard events (tensorboardX)
    checkpoint.pt      the latest state (parameters, optimiser, counters, KL coefficient)
    checkpoints/       itr_<n>.pt every `checkpoint_every` iterations and at the end
Every random choice is a function of (seed, iteration, step), so a resumed run continues exactly as
an uninterrupted one would.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time

import numpy as np
import torch

from .. import envs, kernels
from ..runtime import get_num_threads, set_num_threads
from ..policies import PolicySpec
from .config import TrainConfig
from .meta_gradient import MetaObjective
from .objectives import Objective, StepData
from .processing import process_batch
from .variants import VARIANTS


def derived_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (numpy SeedSequence: independent streams per key tuple)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, np.uint64)[0] >> np.uint64(1))


class MetaTrainer:
    """Trains a meta-policy with one of the VARIANTS on one task family (see TrainConfig)."""

    def __init__(self, config: TrainConfig, out_dir: str | None = None) -> None:
        self.config = config
        self.variant = VARIANTS[config.algo]
        self.family = envs.make(config.env)
        self.horizon = config.horizon or self.family.default_horizon
        self.dtype = getattr(torch, config.dtype)
        self.spec = PolicySpec(self.family.obs_dim, self.family.act_dim, config.hidden, config.activation)
        g = torch.Generator().manual_seed(derived_seed(config.seed, 0xC0FFEE))
        self.gmps = None  # GMPS: its parameter layout (bias transformation), adapted blocks, demonstrations
        if self.variant.optimizer == "gmps":
            from .gmps import GmpsPolicy

            self.gmps = GmpsPolicy(self.spec, config.gmps_bias_dim)
            self.gmps_mask = self.gmps.adapt_mask(config.gmps_adapt, self.dtype)
            self.demos = None
            self._gmps_sac_expert = None
            self.theta = self.gmps.init_params(config.init_std, g, self.dtype)
        else:
            self.theta = self.spec.init_params(config.init_std, generator=g, dtype=self.dtype)
        self.param = torch.nn.Parameter(self.theta)
        params = [self.param]
        self.alpha_param = None
        if config.trainable_inner_step_size:
            self.alpha_param = torch.nn.Parameter(torch.full_like(self.theta, config.inner_lr))
            params.append(self.alpha_param)
        self.optimizer = torch.optim.Adam(params, lr=config.outer_lr)
        self.iteration = 0          # iterations completed
        self.timesteps = 0          # environment steps sampled so far
        self.kl_coeff = config.kl_coeff
        self.out_dir = out_dir
        self._venv = None  # the gymnasium sampler's vector env, created on first use
        self._csv_file = None
        self._writer = None
        self._fieldnames: list[str] | None = None
        self.start_time = time.time()

    # ---- one meta-iteration
    @property
    def alpha(self):
        """The inner step size: config.inner_lr, or the learned per-parameter step sizes [P]."""
        return self.config.inner_lr if self.alpha_param is None else self.alpha_param.detach().clone()

    def meta_gradient(self, meta: MetaObjective, theta: torch.Tensor):
        """∇θ J, or (∇θ J, ∂J/∂α) with trainable step sizes."""
        with_alpha = self.alpha_param is not None
        if self.config.backend == "cpp":
            return meta.gradient(theta, with_alpha=with_alpha)
        return meta.reference_gradient(theta, with_alpha=with_alpha)

    def derived_seed(self, *keys: int) -> int:
        """A seed from this run's seed and `keys` (see derived_seed)."""
        return derived_seed(self.config.seed, *keys)

    def policy_params(self, params: torch.Tensor) -> torch.Tensor:
        """The standard policy parameters ([P] or [T, P]) the samplers evaluate (GMPS's bias
        transformation folded into the first bias; the parameters themselves otherwise)."""
        return params if self.gmps is None else self.gmps.to_std(params)

    def sample(self, params: torch.Tensor, tasks, key: int):
        c = self.config
        params = self.policy_params(params)
        seed = derived_seed(c.seed, self.iteration, key)
        if self._venv is None:
            from ..sampling import make_sampler

            self._venv = make_sampler(c.sampler, self.family, self.spec)
        return self._venv.sample(params, tasks, c.rollouts_per_task, self.horizon, seed)

    def collect(self):
        """Samples this iteration's pre- and post-update batches and builds the meta-objective.

        Returns (meta, theta, returns per step, times, steps): theta is the current θ [P]."""
        c, v = self.config, self.variant
        times = {"sampling": 0.0, "inner": 0.0}
        tasks = self.family.sample_tasks(c.meta_batch_size, seed=derived_seed(c.seed, self.iteration, 0xA5))
        theta = self.param.detach().clone()
        inner: list[Objective] = []
        returns: list[float] = []
        steps: list[StepData] = []
        sampling_params = theta
        for k in range(c.inner_steps + 1):
            t0 = time.perf_counter()
            batch = self.sample(sampling_params, tasks, k)
            last = k == c.inner_steps
            data = process_batch(batch, self.spec, sampling_params, c.discount, c.gae_lambda, c.normalize_adv,
                                 dice_baseline=(v.outer if last else v.inner) == "dice", advantages=c.advantages,
                                 reduction=c.reduction)
            t1 = time.perf_counter()
            times["sampling"] += t1 - t0
            self.timesteps += batch.num_steps
            returns.append(batch.mean_return())
            steps.append(data)
            if last:
                credit = kernels.emaml_credit(batch.rewards, batch.mask) if v.emaml else None
                break
            objective = Objective(v.inner, self.spec, data, c.clip_eps)
            inner.append(objective)
            rows = sampling_params if sampling_params.dim() == 2 else sampling_params.expand(len(tasks), -1)
            step = objective.grad(rows.contiguous(), self.kernel_backend)
            sampling_params = (rows + self.alpha * step).contiguous()
            times["inner"] += time.perf_counter() - t1
        outer = Objective(v.outer, self.spec, steps[-1], c.clip_eps)
        kl_coeffs = [self.kl_coeff / c.inner_steps] * c.inner_steps if v.optimizer == "promp" else []
        meta = MetaObjective(self.spec, inner, outer, self.alpha, kl_coeffs, credit,
                             sgmrl_credit=self._sgmrl_credit(steps[-1]) if v.sgmrl else None,
                             jacobian=c.sgmrl_jacobian, first_order=c.first_order)
        return meta, theta, returns, times, steps

    def _sgmrl_credit(self, post: StepData) -> torch.Tensor:
        """J̃_i (the post-update batch's mean discounted return), minus the leave-one-out mean over
        the other tasks when configured (a baseline independent of task i's inner data)."""
        j = post.mean_return
        T = j.shape[0]
        if self.config.sgmrl_baseline == "leave_one_out" and T > 1:
            j = j - (j.sum() - j) / (T - 1)
        return j

    @property
    def kernel_backend(self) -> str:
        """The kernels' backend for this run: compiled ("auto") or the torch reference ("torch")."""
        return "auto" if self.config.backend == "cpp" else "torch"

    def run_iteration(self) -> dict:
        """One meta-iteration: collect, then the variant's outer step; returns the log row."""
        if self.variant.optimizer in ("bomrl", "gmps"):
            return self._run_module_iteration(self.variant.optimizer)
        t_start = time.perf_counter()
        meta, theta, returns, times, steps = self.collect()
        t0 = time.perf_counter()
        stats = getattr(self, f"_outer_{self.variant.optimizer}")(meta, theta)
        times["outer"] = time.perf_counter() - t0
        self.iteration += 1
        row = {"Itr": self.iteration - 1, "n_timesteps": self.timesteps}
        for k, r in enumerate(returns):
            row[f"Step_{k}-AverageReturn"] = r
        row.update(stats)
        row.update({"Time-Sampling": times["sampling"], "Time-InnerStep": times["inner"],
                    "Time-OuterStep": times["outer"], "Time": time.perf_counter() - t_start,
                    "Time-Total": time.time() - self.start_time,
                    "SPS": sum(float(s.mask.sum()) for s in steps) / max(times["sampling"], 1e-9)})
        return row

    def _run_module_iteration(self, name: str) -> dict:
        """An iteration of an algorithm with its own loop (bomrl.py, gmps.py): the module's
        run_iteration returns returns/times/stats, logged with the common columns."""
        from . import bomrl, gmps

        t_start = time.perf_counter()
        out = {"bomrl": bomrl, "gmps": gmps}[name].run_iteration(self)
        self.iteration += 1
        row = {"Itr": self.iteration - 1, "n_timesteps": self.timesteps,
               "Step_0-AverageReturn": out["returns"][0], "Step_1-AverageReturn": out["returns"][1]}
        sps = out["stats"].pop("SPS")
        row.update(out["stats"])
        row.update({"Time-Sampling": out["times"]["sampling"], "Time-InnerStep": out["times"]["inner"],
                    "Time-OuterStep": out["times"]["outer"], "Time": time.perf_counter() - t_start,
                    "Time-Total": time.time() - self.start_time, "SPS": sps})
        return row

    # ---- outer steps
    def _adam_step(self, grad) -> torch.Tensor:
        """One Adam ascent step on J (and on the step sizes when trainable); returns ∇θ J."""
        self.optimizer.zero_grad()
        if self.alpha_param is not None:
            grad, g_alpha = grad
            self.alpha_param.grad = -g_alpha.to(self.alpha_param.dtype)
        self.param.grad = -grad.to(self.param.dtype)  # maximise J
        self.optimizer.step()
        return grad

    def _outer_adam(self, meta: MetaObjective, theta: torch.Tensor) -> dict:
        g = self._adam_step(self.meta_gradient(meta, theta))
        return {"GradNorm": float(g.norm())}

    def _pre_kl(self, meta: MetaObjective, theta: torch.Tensor) -> float:
        """Mean KL(π_θo ‖ π_θ) on the pre-update data of every inner step (ProMP's penalty)."""
        thetas = meta.adapt(theta)
        kls = [kernels.gaussian_kl(self.spec, thetas[k], o.data.flat(o.data.obs), o.data.flat(o.data.old_mean),
                                   o.data.old_log_std, o.data.mean_weights).mean() for k, o in enumerate(meta.inner)]
        return float(torch.stack(kls).mean())

    def _outer_promp(self, meta: MetaObjective, theta: torch.Tensor) -> dict:
        c = self.config
        for _ in range(c.promp_steps):
            if self.alpha_param is not None:
                meta.alpha = self.alpha
            g = self._adam_step(self.meta_gradient(meta, self.param.detach().clone()))
        kl = self._pre_kl(meta, self.param.detach().clone())
        coeff = self.kl_coeff
        if c.adaptive_kl:  # the ProMP code's rule
            if kl < c.target_kl / 1.5:
                self.kl_coeff /= 2
            elif kl > 1.5 * c.target_kl:
                self.kl_coeff *= 2
        return {"MeanKL": kl, "KLCoeff": coeff, "GradNorm": float(g.norm())}

    def _post_kl_and_loss(self, meta: MetaObjective, post: StepData):
        spec = self.spec

        def adapted(theta):
            return meta.adapt(theta)[-1]

        def loss(theta):
            th = adapted(theta)
            value = kernels.lr_objective(spec, th, post.obs, post.act, post.log_prob,
                                         (post.advantages * post.scale.unsqueeze(-1)).contiguous(),
                                         mask=post.mask)
            if meta.emaml_credit is not None:
                d = meta.inner[0].data
                lp = kernels.log_prob(spec, theta.expand(meta.num_tasks, -1).contiguous(), d.flat(d.obs), d.flat(d.act))
                value = value + meta.emaml_credit * (d.mean_weights * lp).sum(-1)
            return -float(value.mean())

        def kl(theta):
            return float(kernels.gaussian_kl(spec, adapted(theta), post.flat(post.obs), post.flat(post.old_mean),
                                             post.old_log_std, post.mean_weights).mean())

        return loss, kl

    def _fisher_operator(self, meta: MetaObjective, theta: torch.Tensor, thetas: list[torch.Tensor]):
        """v [P] ↦ mean_i Jᵢᵀ F'ᵢ Jᵢ v: the Hessian of the post-update KL through the inner steps."""
        c, post = self.config, meta.outer.data
        if (len(meta.inner) == 1 and meta.inner[0].kind in ("naive", "lvc") and c.backend == "cpp"):
            d = meta.inner[0].data
            return kernels.MamlTrpoFvpOperator(self.spec, theta.contiguous(), d.flat(d.obs), d.flat(d.act),
                                               d.adv_weights, c.inner_lr, thetas[-1], post.flat(post.obs),
                                               meta.inner[0].kind, 0.0, post.mean_weights, task_mean=True)

        backend = self.kernel_backend

        def matvec(v):
            u = [v.expand(meta.num_tasks, -1).contiguous()]
            for k, o in enumerate(meta.inner):
                u.append((u[-1] + c.inner_lr * o.hvp(thetas[k], u[-1], backend)).contiguous())
            w = kernels.kl_fvp(self.spec, thetas[-1], post.flat(post.obs), u[-1], 0.0, post.mean_weights,
                               backend=backend)
            for k in reversed(range(len(meta.inner))):
                w = (w + c.inner_lr * meta.inner[k].hvp(thetas[k], w.contiguous(), backend)).contiguous()
            return w.mean(0)

        return matvec

    def _outer_trpo(self, meta: MetaObjective, theta: torch.Tensor) -> dict:
        c = self.config
        thetas = meta.adapt(theta)
        g = self.meta_gradient(meta, theta)
        op = self._fisher_operator(meta, theta, thetas)
        x = kernels.conjugate_gradient(op, g.contiguous(), c.cg_iters, 1e-10, c.cg_damping)
        dHd = float(x @ (op(x.contiguous()) + c.cg_damping * x))
        loss, kl = self._post_kl_and_loss(meta, meta.outer.data)
        res = kernels.trpo_step(theta, -x, loss, kl, c.max_kl, dHd=dHd)
        with torch.no_grad():
            self.param.copy_(res.params)
        return {"MeanKL": res.kl, "LossBefore": res.loss_before, "LossAfter": res.loss,
                "TRPO-Accepted": int(res.accepted), "TRPO-Backtracks": res.backtracks, "GradNorm": float(g.norm())}

    # ---- logging and checkpoints
    def _open_logs(self, resume: bool) -> None:
        if self.out_dir is None:
            return
        os.makedirs(os.path.join(self.out_dir, "checkpoints"), exist_ok=True)
        path = os.path.join(self.out_dir, "progress.csv")
        if resume and os.path.exists(path):
            with open(path) as f:
                rows = list(csv.DictReader(f))
            self._fieldnames = list(rows[0].keys()) if rows else None
            kept = [r for r in rows if int(r["Itr"]) < self.iteration]  # drop rows past the checkpoint
            with open(path, "w", newline="") as f:
                if self._fieldnames:
                    w = csv.DictWriter(f, self._fieldnames)
                    w.writeheader()
                    w.writerows(kept)
        self._csv_file = open(path, "a", newline="")
        try:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(os.path.join(self.out_dir, "tb"), purge_step=self.iteration)
        except ImportError:  # logging to TensorBoard is optional
            self._writer = None

    def _log(self, row: dict) -> None:
        if self._csv_file is None:
            return
        if self._fieldnames is None:
            self._fieldnames = list(row.keys())
            csv.DictWriter(self._csv_file, self._fieldnames).writeheader()
        csv.DictWriter(self._csv_file, self._fieldnames, extrasaction="ignore").writerow(row)
        self._csv_file.flush()
        if self._writer is not None:
            for k, v in row.items():
                if k != "Itr" and isinstance(v, (int, float)) and math.isfinite(v):
                    self._writer.add_scalar(k, v, row["Itr"])

    def state_dict(self) -> dict:
        return {"theta": self.param.detach().clone(), "optimizer": self.optimizer.state_dict(),
                "alpha": None if self.alpha_param is None else self.alpha_param.detach().clone(),
                "iteration": self.iteration, "timesteps": self.timesteps, "kl_coeff": self.kl_coeff,
                "config": self.config.to_dict(), "elapsed": time.time() - self.start_time}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            self.param.copy_(state["theta"])
            if self.alpha_param is not None:
                self.alpha_param.copy_(state["alpha"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.timesteps = int(state["timesteps"])
        self.kl_coeff = float(state["kl_coeff"])
        self.start_time = time.time() - float(state.get("elapsed", 0.0))

    def save_checkpoint(self, keep: bool) -> None:
        if self.out_dir is None:
            return
        state = self.state_dict()
        tmp = os.path.join(self.out_dir, "checkpoint.pt.tmp")
        torch.save(state, tmp)
        os.replace(tmp, os.path.join(self.out_dir, "checkpoint.pt"))
        if keep:
            torch.save(state, os.path.join(self.out_dir, "checkpoints", f"itr_{self.iteration - 1}.pt"))

    def train(self, iterations: int | None = None, resume: bool = False, progress: bool | None = None) -> list[dict]:
        """Runs until `iterations` (default config.iterations) are completed; returns the log rows."""
        c = self.config
        target = iterations if iterations is not None else c.iterations
        prev_threads = get_num_threads()
        if c.threads:
            set_num_threads(c.threads)
        self._open_logs(resume)
        from tqdm import tqdm

        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=target, initial=self.iteration, disable=not show, desc=f"{c.algo} {c.env}", unit="itr")
        rows = []
        try:
            while self.iteration < target:
                row = self.run_iteration()
                rows.append(row)
                self._log(row)
                last = self.iteration == target
                self.save_checkpoint(keep=last or self.iteration % c.checkpoint_every == 0)
                bar.set_postfix(ret=f"{row[f'Step_{c.inner_steps}-AverageReturn']:.2f}", sps=f"{row['SPS']:.0f}")
                bar.update(1)
        finally:
            bar.close()
            if c.threads:
                set_num_threads(prev_threads)
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
            if self._writer is not None:
                self._writer.close()
        return rows

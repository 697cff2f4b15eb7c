"""Surrogate estimators of the meta-gradient: objectives, gradients and Hessian-vector products.

Shapes (T task groups, P = spec.num_params):
    params      [P] or [T, P]
    trajectory tensors (DiCE): obs [T, B, H, obs_dim], act [T, B, H, act_dim], rewards and mask
                [T, B, H], baseline [T, H] (time only)
    sample tensors (J^LR, PPO clip, E-MAML): obs [T, N, obs_dim] or [T, B, H, obs_dim], act with the
                same leading dims, old_log_prob / advantages / mask [T, N] or [T, B, H] (or
                [T, B·H], e.g. straight from log_prob on flattened samples)
    v           [P] or [T, P]
Objectives return [T], gradients and HVPs [T, P]: sums over each group's samples or trajectories
(the algorithms apply their own scaling, e.g. the papers' code's mean over all N·H steps).

Padded (masked) steps contribute nothing but must hold finite numbers (zeros, as the samplers write).
``mask`` is an ordinary parameter (positional or keyword) of every estimator, as in the reference
twins: required by DiCE and E-MAML, optional for J^LR and PPO clip (None: every sample valid).
The compiled path composes the policy kernels (one or two fused passes) with C++ weight
computations; the torch path is metarl_fast.reference (autograd). ``backend`` as in
metarl_fast.kernels.policy: objectives follow autograd ("auto" picks torch when an input requires
grad), derivative kernels return values without history.
"""
from __future__ import annotations

from typing import Optional

import torch

from .. import reference
from ..policies import PolicySpec
from ._validation import (Backend, as_mask, check_finite, check_groups, check_tensor, check_unit_interval,
                          requiring_grad, resolve_backend)
from .ops import OPS
from .policy import _Inputs


class _Estimator:
    """Validated estimator inputs. The policy part is checked by _Inputs on [T, N, ·] views."""

    def __init__(self, fn, spec, params, obs, act, v=None, trajectories=False, optional=("mask",), **per_sample):
        self.fn = fn
        for name, x in per_sample.items():
            if x is None and name not in optional:
                raise TypeError(f"{fn}: {name} is required (a torch.Tensor), got None")
        dims = "[T, B, H, obs_dim]" if trajectories else "[T, N, obs_dim] or [T, B, H, obs_dim]"
        shapes = [(None, None, None, None)] if trajectories else [(None, None, None), (None, None, None, None)]
        check_tensor(fn, "obs", obs, shapes, None, None, dims)
        T, batch = obs.shape[0], tuple(obs.shape[1:-1])
        n_flat = 1
        for b in batch:
            n_flat *= b
        lead = "[" + ", ".join(map(str, (T, *batch)))
        check_tensor(fn, "act", act, [(T, *batch, None)], obs.dtype, obs.device, lead + ", act_dim]")
        self.T, self.batch = T, batch
        flat = {}
        for name, x in per_sample.items():
            if x is None:
                flat[name] = None
                continue
            if name == "mask":
                if not trajectories and isinstance(x, torch.Tensor) and len(batch) == 2 and \
                        tuple(x.shape) == (T, n_flat):
                    x = x.reshape(T, *batch)
                x = as_mask(fn, x, (T, *batch), obs.dtype, obs.device, prefix=trajectories)
            else:
                shapes = [(T, *batch)] if len(batch) == 1 else [(T, *batch), (T, n_flat)]
                doc = "[T, N]" if len(batch) == 1 else "[T, B, H] or [T, B·H]"
                check_tensor(fn, name, x, shapes, obs.dtype, obs.device, doc)
                check_finite(fn, name, x)
            flat[name] = x.reshape(T, -1)
        self.flat = flat
        self.N = N = n_flat
        self.policy = _Inputs(fn, spec, params, obs.reshape(T, N, obs.shape[-1]), act=act.reshape(T, N, act.shape[-1]),
                              v=v)
        self.spec, self.params, self.v = spec, params, v
        self.obs_flat, self.act_flat = self.policy.tensors["obs"], self.policy.tensors["act"]

    def backend(self, backend: str) -> str:
        """'cpp' or 'torch' (see resolve_backend): the compiled estimators compose kernels with C++
        weight computations and differentiate with respect to nothing, so an input that requires
        grad takes the reference ('auto') or raises ('cpp')."""
        blocked = requiring_grad(**self.policy.tensors, **self.flat)
        return resolve_backend(self.fn, backend, self.policy.device, blocked)

    def log_prob(self) -> torch.Tensor:
        return self.policy.run_cpp("log_prob")

    def policy_op(self, op: str, **inputs) -> torch.Tensor:
        """Runs a compiled policy op on the validated inputs, with `inputs` (e.g. weights) replaced."""
        return self.policy.run_cpp(op, **inputs)


def _check_gamma(fn, gamma):
    return check_unit_interval(fn, "gamma", gamma)


# ---- DiCE ---------------------------------------------------------------------------------------

def _dice_inputs(fn, spec, params, obs, act, rewards, mask, gamma, baseline, v=None):
    check_tensor(fn, "rewards", rewards, [(None, None, None)], None, None, "[T, B, H]")
    x = _Estimator(fn, spec, params, obs, act, v=v, trajectories=True, optional=(), rewards=rewards, mask=mask)
    if tuple(rewards.shape) != (x.T, *x.batch):
        raise ValueError(f"{fn}: rewards must have shape [T, B, H] = {[x.T, *x.batch]}, got {list(rewards.shape)}")
    if baseline is not None:
        check_tensor(fn, "baseline", baseline, [(x.T, x.batch[1])], rewards.dtype, rewards.device,
                     f"[T, H] = [{x.T}, {x.batch[1]}] (a time-only baseline)")
        check_finite(fn, "baseline", baseline)
    gamma = _check_gamma(fn, gamma)
    mask3 = x.flat["mask"].reshape(rewards.shape)
    return x, mask3, gamma


def _dice_weights(x, rewards, mask3, baseline, gamma, jvp=None):
    W, U, _ = OPS.dice_weights(rewards, mask3, baseline, gamma, jvp)
    return W.reshape(x.T, x.N), None if jvp is None else U.reshape(x.T, x.N)


def dice_objective(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                   rewards: torch.Tensor, mask: torch.Tensor, gamma: float, *,
                   baseline: Optional[torch.Tensor] = None, backend: Backend = "auto") -> torch.Tensor:
    """DiCE objective Σ_b Σ_t □(Σ_{t'≤t} log π_t') (γ^t r_t − b_t) → [T].

    □(x) = exp(x − ⊥x) is 1 in value, so the value is Σ (γ^t r_t − b_t) over valid steps; its
    derivatives are those of the DiCE estimator (unbiased Hessian in expectation). baseline [T, H]
    is an optional time-only baseline (see linear_time_baseline), unbiased inside the magic box.
    """
    fn = "dice_objective"
    x, mask3, gamma = _dice_inputs(fn, spec, params, obs, act, rewards, mask, gamma, baseline)
    if x.backend(backend) == "torch":
        return reference.dice_objective(spec, params, obs, act, rewards, mask3, gamma, baseline)
    return OPS.dice_weights(rewards, mask3, baseline, gamma, None)[2]


def dice_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, rewards: torch.Tensor,
              mask: torch.Tensor, gamma: float, *, baseline: Optional[torch.Tensor] = None,
              backend: Backend = "auto") -> torch.Tensor:
    """∇θ dice_objective = Σ_t W_t ∇log π_t with W_t = Σ_{t'≥t} (γ^t' r_t' − b_t') → [T, P]."""
    fn = "dice_grad"
    x, mask3, gamma = _dice_inputs(fn, spec, params, obs, act, rewards, mask, gamma, baseline)
    if x.backend(backend) == "torch":
        return reference.dice_grad(spec, params, obs, act, rewards, mask3, gamma, baseline)
    W, _ = _dice_weights(x, rewards, mask3, baseline, gamma)
    return x.policy_op("score_vjp", weights=W)


def dice_hvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, rewards: torch.Tensor,
             mask: torch.Tensor, v: torch.Tensor, gamma: float, *, baseline: Optional[torch.Tensor] = None,
             backend: Backend = "auto") -> torch.Tensor:
    """Exact Hessian-vector product of dice_objective → [T, P], in O(B·H) per group (no H×H terms).

    With c_t = γ^t r_t − b_t, g_t = ∇log π_t, h_t = ∇²log π_t:
        ∇²J v = Σ_t W_t h_t v + Σ_t U_t g_t,   W_t = Σ_{t'≥t} c_t',
        U_t = Σ_{t'≥t} c_t' J_t',  J_t = Σ_{t''≤t} g_t''·v (prefix sums of per-step JVPs).
    Compiled path: one JVP pass, the prefix/suffix scans, one fused second-order pass.
    """
    fn = "dice_hvp"
    x, mask3, gamma = _dice_inputs(fn, spec, params, obs, act, rewards, mask, gamma, baseline, v=v)
    if x.backend(backend) == "torch":
        return reference.dice_hvp(spec, params, obs, act, rewards, mask3, v, gamma, baseline)
    jvp = x.policy.run_cpp("score_jvp").reshape(rewards.shape)
    W, U = _dice_weights(x, rewards, mask3, baseline, gamma, jvp)
    return x.policy_op("hvp_split", weights=W, weights2=U)


# ---- likelihood ratio J^LR and PPO clip ----------------------------------------------------------

def _check_clip(fn, clip_eps):
    if isinstance(clip_eps, bool) or not isinstance(clip_eps, (int, float)) or not (0 <= clip_eps < 1):
        raise ValueError(f"{fn}: clip_eps must be a number in [0, 1), got {clip_eps!r}")
    return float(clip_eps)


def _ratio_weights(x, clip_eps):
    """Per-sample weights m·ρ·A (0 where PPO's clipped term is the minimum; clip_eps < 0: J^LR, no
    clipping) [T, N] and the value [T]."""
    f = x.flat
    return OPS.ratio_weights(x.log_prob(), f["old_log_prob"], f["advantages"], f["mask"], clip_eps)


_NO_CLIP = object()  # J^LR: the ratio estimators without PPO's clip


def _ratio_estimator(fn, result, spec, params, obs, act, old_log_prob, advantages, mask, backend, clip_eps=_NO_CLIP,
                     v=None):
    """The J^LR / J^CLIP family: result "value" [T], "grad" [T, P] or "hvp" [T, P] (J^LR only).

    Compiled path: log_prob pass, per-sample ratio weights (C++), then score_vjp or the LVC HVP."""
    clipped = clip_eps is not _NO_CLIP
    eps = _check_clip(fn, clip_eps) if clipped else -1.0
    x = _Estimator(fn, spec, params, obs, act, v=v, old_log_prob=old_log_prob, advantages=advantages, mask=mask)
    if x.backend(backend) == "torch":
        extra = ([] if v is None else [v]) + ([eps] if clipped else [])
        return getattr(reference, fn)(spec, params, obs, act, old_log_prob, advantages, *extra, mask)
    w, value = _ratio_weights(x, eps)
    if result == "value":
        return value
    return x.policy_op("score_vjp" if result == "grad" else "hvp_lvc", weights=w)


def lr_objective(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                 old_log_prob: torch.Tensor, advantages: torch.Tensor, mask: Optional[torch.Tensor] = None, *,
                 backend: Backend = "auto") -> torch.Tensor:
    """J^LR = Σ_n m_n exp(log π_θ(a_n|s_n) − old_log_prob_n) A_n → [T] (ProMP's inner objective).

    old_log_prob are the recorded sampling-time log-probs (constants); at θ = θ_old its gradient
    and Hessian equal LVC's.
    """
    return _ratio_estimator("lr_objective", "value", spec, params, obs, act, old_log_prob, advantages, mask, backend)


def lr_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, old_log_prob: torch.Tensor,
            advantages: torch.Tensor, mask: Optional[torch.Tensor] = None, *,
            backend: Backend = "auto") -> torch.Tensor:
    """∇θ J^LR = Σ_n m_n ρ_n A_n ∇log π_n → [T, P]."""
    return _ratio_estimator("lr_grad", "grad", spec, params, obs, act, old_log_prob, advantages, mask, backend)


def lr_hvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, old_log_prob: torch.Tensor,
           advantages: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None, *,
           backend: Backend = "auto") -> torch.Tensor:
    """∇²θ J^LR v at any θ → [T, P]: surrogate_hvp (LVC curvature) with weights m ρ A."""
    return _ratio_estimator("lr_hvp", "hvp", spec, params, obs, act, old_log_prob, advantages, mask, backend, v=v)


def ppo_clip_objective(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                       old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                       mask: Optional[torch.Tensor] = None, *, backend: Backend = "auto") -> torch.Tensor:
    """J^CLIP = Σ_n m_n min(ρ_n A_n, clip(ρ_n, 1−ε, 1+ε) A_n) → [T] (ProMP's outer objective, PPO's)."""
    return _ratio_estimator("ppo_clip_objective", "value", spec, params, obs, act, old_log_prob, advantages, mask,
                            backend, clip_eps=clip_eps)


def ppo_clip_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                  old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                  mask: Optional[torch.Tensor] = None, *, backend: Backend = "auto") -> torch.Tensor:
    """∇θ J^CLIP = Σ_n m_n ρ_n A_n ∇log π_n over the samples whose unclipped term is the minimum → [T, P]."""
    return _ratio_estimator("ppo_clip_grad", "grad", spec, params, obs, act, old_log_prob, advantages, mask, backend,
                            clip_eps=clip_eps)


# ---- E-MAML -------------------------------------------------------------------------------------

def emaml_credit(rewards: torch.Tensor, mask: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """E-MAML's per-group credit → [T] (the ProMP code's adj_avg_rewards; docs/estimators.md).

    rewards, mask: the post-update per-step rewards [T, ...] of the whole meta-batch. Each reward is
    normalised by the mean and population std over every valid step of the batch (+1e-8), and the
    credit of group i is the mean of its normalised rewards.
    """
    fn = "emaml_credit"
    check_groups(fn, "rewards", rewards)
    check_tensor(fn, "rewards", rewards, [tuple([None] * rewards.dim())], None, None, "[T, ...]")
    check_finite(fn, "rewards", rewards)
    mask = as_mask(fn, mask, rewards.shape, rewards.dtype, rewards.device, prefix=False)
    if requiring_grad(rewards=rewards):
        raise ValueError(f"{fn}: the credit is a constant of the sampled rewards; detach them")
    chosen = resolve_backend(fn, backend, rewards.device)
    if chosen == "torch":
        return reference.emaml_credit(rewards, mask)
    T = rewards.shape[0]
    r, m = rewards.reshape(T, -1).contiguous(), mask.reshape(T, -1).contiguous()
    return OPS.emaml_credit(r, m)


def _emaml_inputs(fn, spec, params, obs, act, mask, credit):
    x = _Estimator(fn, spec, params, obs, act, optional=(), mask=mask)
    check_tensor(fn, "credit", credit, [(x.T,)], obs.dtype, obs.device, f"[T] = [{x.T}]")
    check_finite(fn, "credit", credit)
    return x


def emaml_objective(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor,
                    credit: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """E-MAML's pre-update term credit_i · Σ_n m_n log π_θ(a_n|s_n) over group i's pre-update samples → [T].

    The ProMP code adds −mean_t(credit) · mean_t(log π) to each task's loss; this is the summed
    form (divide by the sample count for the code's mean)."""
    fn = "emaml_objective"
    x = _emaml_inputs(fn, spec, params, obs, act, mask, credit)
    if x.backend(backend) == "torch" or requiring_grad(credit=credit):
        return reference.emaml_objective(spec, params, obs, act, x.flat["mask"].reshape(x.T, *x.batch), credit)
    return credit * (x.flat["mask"] * x.log_prob()).sum(-1)


def emaml_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor,
               credit: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """∇θ emaml_objective = credit_i Σ_n m_n ∇log π_n → [T, P]."""
    fn = "emaml_grad"
    x = _emaml_inputs(fn, spec, params, obs, act, mask, credit)
    if x.backend(backend) == "torch":
        return reference.emaml_grad(spec, params, obs, act, x.flat["mask"].reshape(x.T, *x.batch), credit)
    w = (credit.detach().unsqueeze(-1) * x.flat["mask"]).contiguous()
    return x.policy_op("score_vjp", weights=w)

"""Pure-torch reference of the surrogate estimators: objectives written as the papers' code writes
them, and their derivatives by autograd (double backward for Hessian-vector products). See
metarl_fast.kernels.estimators for the argument documentation.

Every function here reaches the policy only through ``reference.log_prob(spec, ...)``, so `spec`
may be a PolicySpec (Gaussian MLP) or any object with a ``log_prob(params, obs, act)`` method
(e.g. TabularSoftmaxPolicy): the estimator code tested against exact enumeration on a tabular MDP
is the same code the Gaussian kernels are tested against.

Layouts: trajectory tensors [T, B, H, ...] with mask [T, B, H]; sample-level estimators (J^LR,
PPO clip, E-MAML) take [T, N, ...] or [T, B, H, ...] (flattened to [T, N]). All reductions are
sums over each task group's samples; objectives return [T], gradients and HVPs [T, P].
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

from .policy import AnyPolicy, _per_task, inputs_for, keeps_graph, log_prob, no_derivative, rows_to_differentiate


def _flat_samples(x: torch.Tensor, num_tasks: int, feature: bool) -> torch.Tensor:
    """[T, *batch, D] → [T, N, D] (feature=True) or [T, *batch] → [T, N]."""
    return x.reshape(num_tasks, -1, x.shape[-1]) if feature else x.reshape(num_tasks, -1)


def _sample_log_prob(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    T = obs.shape[0]
    return log_prob(spec, params, _flat_samples(obs, T, True), _flat_samples(act, T, True))


def _grad(objective_fn: Callable[..., torch.Tensor], params: torch.Tensor, num_tasks: int,
          *inputs: Optional[torch.Tensor]) -> torch.Tensor:
    """∇θ of objective_fn(θ, *inputs) [T] with one gradient row per task group → [T, P];
    differentiable in params and inputs when one of them requires grad."""
    graph = keeps_graph(params, *inputs)
    inputs = inputs_for(graph, *inputs)
    with torch.enable_grad():
        theta = rows_to_differentiate(params, num_tasks, graph)
        (g,) = torch.autograd.grad(objective_fn(theta, *inputs).sum(), theta, create_graph=graph)
    return g


def _hvp(objective_fn: Callable[..., torch.Tensor], params: torch.Tensor, v: torch.Tensor, num_tasks: int,
         *inputs: Optional[torch.Tensor]) -> torch.Tensor:
    """∇²θ objective_fn(θ, *inputs) · v per task group by double backward → [T, P] (differentiable
    like _grad)."""
    graph = keeps_graph(params, v, *inputs)
    v, *rest = inputs_for(graph, v, *inputs)
    with torch.enable_grad():
        theta = rows_to_differentiate(params, num_tasks, graph)
        (g,) = torch.autograd.grad(objective_fn(theta, *rest).sum(), theta, create_graph=True)
        (h,) = torch.autograd.grad((g * _per_task(v, num_tasks)).sum(), theta, create_graph=graph)
    return h


def _no_params_derivative(fn: str, params: torch.Tensor, *inputs: torch.Tensor) -> None:
    """DiCE's objective holds a stop-gradient of log π_θ (the magic box): its derivative kernels are
    not differentiable again with respect to θ or the samples."""
    if keeps_graph(params, *inputs):
        for name, t in zip(("params", "obs", "act"), (params, *inputs)):
            if t.requires_grad:
                no_derivative(fn, name)


# ---- DiCE ---------------------------------------------------------------------------------------

def dice_objective(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                   rewards: torch.Tensor, mask: torch.Tensor, gamma: float,
                   baseline: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Σ_b Σ_t □(Σ_{t'≤t} log π_t') (γ^t r_t − b_t) m_t → [T], □(x) = exp(x − ⊥x) (differentiable)."""
    T, B, H = rewards.shape
    logp = _sample_log_prob(spec, params, obs, act).reshape(T, B, H) * mask
    cum = logp.cumsum(-1)
    box = torch.exp(cum - cum.detach())
    disc = gamma ** torch.arange(H, dtype=rewards.dtype, device=rewards.device)
    c = disc * rewards
    if baseline is not None:
        c = c - baseline.unsqueeze(1)
    return (box * c * mask).sum((1, 2))


def dice_grad(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, rewards: torch.Tensor,
              mask: torch.Tensor, gamma: float, baseline: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇θ dice_objective → [T, P] (differentiable in the rewards and baseline, not in θ or the samples)."""
    _no_params_derivative("dice_grad", params, obs, act)
    return _grad(lambda th, r, m, b: dice_objective(spec, th, obs.detach(), act.detach(), r, m, gamma, b),
                 params, rewards.shape[0], rewards, mask, baseline)


def dice_hvp(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, rewards: torch.Tensor,
             mask: torch.Tensor, v: torch.Tensor, gamma: float,
             baseline: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇²θ dice_objective · v (double backward) → [T, P] (differentiable as dice_grad, and in v)."""
    _no_params_derivative("dice_hvp", params, obs, act)
    return _hvp(lambda th, r, m, b: dice_objective(spec, th, obs.detach(), act.detach(), r, m, gamma, b),
                params, v, rewards.shape[0], rewards, mask, baseline)


# ---- likelihood ratio J^LR and PPO clip ----------------------------------------------------------

def _ratio(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
           old_log_prob: torch.Tensor) -> torch.Tensor:
    T = obs.shape[0]
    return torch.exp(_sample_log_prob(spec, params, obs, act) - _flat_samples(old_log_prob, T, False))


def _mask_or_one(mask: Optional[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(like) if mask is None else _flat_samples(mask, like.shape[0], False)


def lr_objective(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                 old_log_prob: torch.Tensor, advantages: torch.Tensor,
                 mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """J^LR = Σ_n m_n π_θ(a_n|s_n)/π_old(a_n|s_n) A_n → [T] (differentiable)."""
    ratio = _ratio(spec, params, obs, act, old_log_prob)
    adv = _flat_samples(advantages, ratio.shape[0], False)
    return (_mask_or_one(mask, adv) * ratio * adv).sum(-1)


def lr_grad(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, old_log_prob: torch.Tensor,
            advantages: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇θ J^LR → [T, P] (differentiable in every input when one requires grad)."""
    return _grad(lambda th, *x: lr_objective(spec, th, *x), params, obs.shape[0], obs, act, old_log_prob,
                 advantages, mask)


def lr_hvp(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, old_log_prob: torch.Tensor,
           advantages: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇²θ J^LR · v (double backward) → [T, P] (differentiable in every input when one requires grad)."""
    return _hvp(lambda th, *x: lr_objective(spec, th, *x), params, v, obs.shape[0], obs, act, old_log_prob,
                advantages, mask)


def ppo_clip_objective(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                       old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                       mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """J^CLIP = Σ_n m_n min(ρ_n A_n, clip(ρ_n, 1−ε, 1+ε) A_n) → [T] (differentiable)."""
    ratio = _ratio(spec, params, obs, act, old_log_prob)
    adv = _flat_samples(advantages, ratio.shape[0], False)
    obj = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    return (_mask_or_one(mask, adv) * obj).sum(-1)


def ppo_clip_grad(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                  old_log_prob: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                  mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇θ J^CLIP → [T, P] (differentiable in every input when one requires grad)."""
    return _grad(lambda th, o, a, olp, adv, m: ppo_clip_objective(spec, th, o, a, olp, adv, clip_eps, m),
                 params, obs.shape[0], obs, act, old_log_prob, advantages, mask)


# ---- E-MAML -------------------------------------------------------------------------------------

@torch.no_grad()
def emaml_credit(rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean over each group's valid steps of (r − μ)/(σ + 1e-8), μ, σ over the whole batch → [T]."""
    T = rewards.shape[0]
    r = rewards.reshape(T, -1).to(torch.float64)
    m = mask.reshape(T, -1).to(torch.float64)
    n = m.sum().clamp_min(1)  # no valid step in the batch: μ = σ = 0 and no credit, as compiled
    mean = (m * r).sum() / n
    std = torch.sqrt((m * (r - mean) ** 2).sum() / n)
    adj = m * (r - mean) / (std + 1e-8)
    return (adj.sum(-1) / m.sum(-1).clamp_min(1)).to(rewards.dtype)


def emaml_objective(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor,
                    credit: torch.Tensor) -> torch.Tensor:
    """credit_i · Σ_n m_n log π_θ(a_n|s_n) over the pre-update samples of group i → [T] (differentiable)."""
    logp = _sample_log_prob(spec, params, obs, act)
    return credit * (_flat_samples(mask, logp.shape[0], False) * logp).sum(-1)


def emaml_grad(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor,
               credit: torch.Tensor) -> torch.Tensor:
    """∇θ emaml_objective → [T, P] (differentiable in every input when one requires grad)."""
    return _grad(lambda th, *x: emaml_objective(spec, th, *x), params, obs.shape[0], obs, act, mask, credit)

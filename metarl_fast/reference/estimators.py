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

import torch

from .policy import _leaf, _per_task, log_prob


def _flat_samples(x: torch.Tensor, num_tasks: int, feature: bool) -> torch.Tensor:
    """[T, *batch, D] → [T, N, D] (feature=True) or [T, *batch] → [T, N]."""
    return x.reshape(num_tasks, -1, x.shape[-1]) if feature else x.reshape(num_tasks, -1)


def _sample_log_prob(spec, params, obs, act):
    T = obs.shape[0]
    return log_prob(spec, params, _flat_samples(obs, T, True), _flat_samples(act, T, True))


def _grad(objective_fn, params, num_tasks):
    """∇θ of objective_fn(θ) [T] with one gradient row per task group → [T, P]."""
    with torch.enable_grad():
        theta = _leaf(params, num_tasks)
        (g,) = torch.autograd.grad(objective_fn(theta).sum(), theta)
    return g


def _hvp(objective_fn, params, v, num_tasks):
    """∇²θ objective_fn(θ) · v per task group by double backward → [T, P]."""
    with torch.enable_grad():
        theta = _leaf(params, num_tasks)
        (g,) = torch.autograd.grad(objective_fn(theta).sum(), theta, create_graph=True)
        (h,) = torch.autograd.grad((g * _per_task(v.detach(), num_tasks)).sum(), theta)
    return h


# ---- DiCE ---------------------------------------------------------------------------------------

def dice_objective(spec, params, obs, act, rewards, mask, gamma, baseline=None):
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


def dice_grad(spec, params, obs, act, rewards, mask, gamma, baseline=None):
    """∇θ dice_objective → [T, P]."""
    return _grad(lambda th: dice_objective(spec, th, obs.detach(), act.detach(), rewards.detach(), mask.detach(),
                                           gamma, None if baseline is None else baseline.detach()),
                 params, rewards.shape[0])


def dice_hvp(spec, params, obs, act, rewards, mask, v, gamma, baseline=None):
    """∇²θ dice_objective · v (double backward) → [T, P]."""
    return _hvp(lambda th: dice_objective(spec, th, obs.detach(), act.detach(), rewards.detach(), mask.detach(),
                                          gamma, None if baseline is None else baseline.detach()),
                params, v, rewards.shape[0])


# ---- likelihood ratio J^LR and PPO clip ----------------------------------------------------------

def _ratio(spec, params, obs, act, old_log_prob):
    T = obs.shape[0]
    return torch.exp(_sample_log_prob(spec, params, obs, act) - _flat_samples(old_log_prob, T, False))


def _mask_or_one(mask, like):
    return torch.ones_like(like) if mask is None else _flat_samples(mask, like.shape[0], False)


def lr_objective(spec, params, obs, act, old_log_prob, advantages, mask=None):
    """J^LR = Σ_n m_n π_θ(a_n|s_n)/π_old(a_n|s_n) A_n → [T] (differentiable)."""
    ratio = _ratio(spec, params, obs, act, old_log_prob)
    adv = _flat_samples(advantages, ratio.shape[0], False)
    return (_mask_or_one(mask, adv) * ratio * adv).sum(-1)


def lr_grad(spec, params, obs, act, old_log_prob, advantages, mask=None):
    """∇θ J^LR → [T, P]."""
    return _grad(lambda th: lr_objective(spec, th, obs.detach(), act.detach(), old_log_prob.detach(),
                                         advantages.detach(), None if mask is None else mask.detach()),
                 params, obs.shape[0])


def lr_hvp(spec, params, obs, act, old_log_prob, advantages, v, mask=None):
    """∇²θ J^LR · v (double backward) → [T, P]."""
    return _hvp(lambda th: lr_objective(spec, th, obs.detach(), act.detach(), old_log_prob.detach(),
                                        advantages.detach(), None if mask is None else mask.detach()),
                params, v, obs.shape[0])


def ppo_clip_objective(spec, params, obs, act, old_log_prob, advantages, clip_eps, mask=None):
    """J^CLIP = Σ_n m_n min(ρ_n A_n, clip(ρ_n, 1−ε, 1+ε) A_n) → [T] (differentiable)."""
    ratio = _ratio(spec, params, obs, act, old_log_prob)
    adv = _flat_samples(advantages, ratio.shape[0], False)
    obj = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    return (_mask_or_one(mask, adv) * obj).sum(-1)


def ppo_clip_grad(spec, params, obs, act, old_log_prob, advantages, clip_eps, mask=None):
    """∇θ J^CLIP → [T, P]."""
    return _grad(lambda th: ppo_clip_objective(spec, th, obs.detach(), act.detach(), old_log_prob.detach(),
                                               advantages.detach(), clip_eps, None if mask is None else mask.detach()),
                 params, obs.shape[0])


# ---- E-MAML -------------------------------------------------------------------------------------

@torch.no_grad()
def emaml_credit(rewards, mask):
    """mean over each group's valid steps of (r − μ)/(σ + 1e-8), μ, σ over the whole batch → [T]."""
    T = rewards.shape[0]
    r = rewards.reshape(T, -1).to(torch.float64)
    m = mask.reshape(T, -1).to(torch.float64)
    mean = (m * r).sum() / m.sum()
    std = torch.sqrt((m * (r - mean) ** 2).sum() / m.sum())
    adj = m * (r - mean) / (std + 1e-8)
    return (adj.sum(-1) / m.sum(-1).clamp_min(1)).to(rewards.dtype)


def emaml_objective(spec, params, obs, act, mask, credit):
    """credit_i · Σ_n m_n log π_θ(a_n|s_n) over the pre-update samples of group i → [T] (differentiable)."""
    logp = _sample_log_prob(spec, params, obs, act)
    return credit * (_flat_samples(mask, logp.shape[0], False) * logp).sum(-1)


def emaml_grad(spec, params, obs, act, mask, credit):
    """∇θ emaml_objective → [T, P]."""
    return _grad(lambda th: emaml_objective(spec, th, obs.detach(), act.detach(), mask.detach(), credit.detach()),
                 params, obs.shape[0])

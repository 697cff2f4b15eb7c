"""Pure-torch reference of the Gaussian-MLP policy kernels (see metarl_fast.kernels for the
argument documentation). Inputs are assumed validated.

Shapes: params [P] or [T, P]; obs [T, N, obs_dim]; act [T, N, act_dim]; weights [T, N];
v [P] or [T, P]; old_mean [T, N, act_dim]; old_log_std [act_dim] or [T, act_dim].
log_prob, policy_mean and gaussian_kl are differentiable; the derivative kernels return values
(no autograd history), computed by autograd on a per-task copy of the parameters.
"""
from __future__ import annotations

from typing import Literal, NoReturn, Optional, Protocol, Union

import torch

from ..policies import PolicySpec, gaussian_log_prob, mlp_mean


class LogProbPolicy(Protocol):
    """Any policy with ``log_prob(params, obs, act) → [T, N]`` (e.g. TabularSoftmaxPolicy): what the
    reference estimators and score-function kernels accept in place of a PolicySpec."""

    def log_prob(self, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor: ...


# The `spec` of the reference log_prob, score kernels and estimators.
AnyPolicy = Union[PolicySpec, LogProbPolicy]
# The curvature of surrogate_hvp and the Hessian operators: LVC's, or the naive surrogate's.
Curvature = Literal["lvc", "naive"]


def _per_task(params: torch.Tensor, num_tasks: int) -> torch.Tensor:
    return params.expand(num_tasks, -1) if params.dim() == 1 else params


def _leaf(params: torch.Tensor, num_tasks: int) -> torch.Tensor:
    """A fresh [T, P] leaf, so that autograd gives one gradient row per task group."""
    return _per_task(params.detach(), num_tasks).clone().requires_grad_(True)


def keeps_graph(*tensors: Optional[torch.Tensor]) -> bool:
    """Whether a derivative kernel must return a result with autograd history: grad mode is on and
    an input requires grad (then it is computed with create_graph and never detached)."""
    return torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)


def rows_to_differentiate(params: torch.Tensor, num_tasks: int, graph: bool) -> torch.Tensor:
    """The [T, P] rows a derivative is taken at: params' own rows (so the result stays a function of
    params) when the graph is kept and params require grad, else a fresh leaf."""
    if graph and params.requires_grad:
        return _per_task(params, num_tasks)
    return _leaf(params, num_tasks)


def inputs_for(graph: bool, *tensors: Optional[torch.Tensor]) -> tuple:
    """The tensors as they are (graph kept) or detached."""
    return tuple(t if graph or t is None else t.detach() for t in tensors)


class NoDerivativeError(RuntimeError):
    """A derivative a kernel does not provide (raised instead of returning a detached result)."""


def no_derivative(fn: str, name: str) -> NoReturn:
    raise NoDerivativeError(f"reference.{fn}: no derivative with respect to {name} (its value holds a "
                            f"stop-gradient of {name}, so autograd would differentiate another function)")


def _log_std(spec: PolicySpec, theta: torch.Tensor) -> torch.Tensor:
    return spec.unflatten(theta)["log_std"]  # [T, act_dim]


def policy_mean(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """μ_θ(s) → [T, N, act_dim]."""
    return mlp_mean(spec, _per_task(params, obs.shape[0]), obs)


def log_prob(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """log π(a|s) → [T, N].

    `spec` may also be any policy object with a ``log_prob(params, obs, act)`` method (e.g.
    TabularSoftmaxPolicy): every derivative kernel and estimator of this package's reference is
    written in terms of this function, so the same estimator code runs on any such policy.
    """
    if not isinstance(spec, PolicySpec):
        return spec.log_prob(_per_task(params, obs.shape[0]), obs, act)
    theta = _per_task(params, obs.shape[0])
    return gaussian_log_prob(mlp_mean(spec, theta, obs), _log_std(spec, theta).unsqueeze(-2), act)


def score_vjp(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
              weights: torch.Tensor) -> torch.Tensor:
    """Σ_n w_n ∇θ log π(a_n|s_n) → [T, P] (differentiable in every input when one requires grad)."""
    graph = keeps_graph(params, obs, act, weights)
    obs, act, weights = inputs_for(graph, obs, act, weights)
    with torch.enable_grad():
        theta = rows_to_differentiate(params, obs.shape[0], graph)
        (grad,) = torch.autograd.grad((log_prob(spec, theta, obs, act) * weights).sum(), theta, create_graph=graph)
    return grad


def score_jvp(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
              v: torch.Tensor) -> torch.Tensor:
    """∇θ log π(a_n|s_n) · v → [T, N] (differentiable in every input when one requires grad)."""
    num_tasks = obs.shape[0]
    graph = keeps_graph(params, obs, act, v)
    params, obs, act, v = inputs_for(graph, params, obs, act, v)
    # forward-mode AD writes into its primal and tangent: they must own their memory (not expand views)
    theta, tangent = _per_task(params, num_tasks).contiguous(), _per_task(v, num_tasks).contiguous()
    return torch.func.jvp(lambda th: log_prob(spec, th, obs, act), (theta,), (tangent,))[1]


def surrogate_hvp(spec: AnyPolicy, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor,
                  weights: torch.Tensor, v: torch.Tensor, curvature: Curvature = "lvc") -> torch.Tensor:
    """Hessian-vector product of a score-function surrogate → [T, P].

    curvature="lvc": the Hessian of Σ_n w_n π_n/⊥π_n, i.e. Σ_n w_n [∇²log π_n v + (∇log π_n·v) ∇log π_n];
    curvature="naive": the Hessian of Σ_n w_n log π_n, i.e. Σ_n w_n ∇²log π_n v.
    Differentiable in v and weights, and (naive only) in params, obs and act, when they require grad.
    """
    graph = keeps_graph(params, obs, act, weights, v)
    if graph and curvature == "lvc":
        for name, t in (("params", params), ("obs", obs), ("act", act)):
            if t.requires_grad:
                no_derivative("surrogate_hvp (LVC curvature)", name)
    obs, act, weights, v = inputs_for(graph, obs, act, weights, v)
    with torch.enable_grad():
        theta = rows_to_differentiate(params, obs.shape[0], graph)
        logp = log_prob(spec, theta, obs, act)
        if curvature == "lvc":
            surrogate = (weights * torch.exp(logp - logp.detach())).sum()
        else:
            surrogate = (weights * logp).sum()
        (grad,) = torch.autograd.grad(surrogate, theta, create_graph=True)
        (hvp,) = torch.autograd.grad((grad * _per_task(v, obs.shape[0])).sum(), theta, create_graph=graph)
    return hvp


def gaussian_kl(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, old_mean: torch.Tensor,
                old_log_std: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """mean_n KL(N(old_mean_n, exp(old_log_std)²) ‖ π_θ(·|s_n)) → [T]; Σ_n w_n KL_n with weights [T, N]."""
    theta = _per_task(params, obs.shape[0])
    mean = mlp_mean(spec, theta, obs)
    log_std = _log_std(spec, theta).unsqueeze(-2)  # [T, 1, A]
    old_ls = old_log_std if old_log_std.dim() == 1 else old_log_std.unsqueeze(-2)
    kl = log_std - old_ls + (torch.exp(2 * old_ls) + (old_mean - mean) ** 2) / (2 * torch.exp(2 * log_std)) - 0.5
    kl = kl.sum(-1)
    return kl.mean(-1) if weights is None else (kl * weights).sum(-1)


def kl_grad(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, old_mean: torch.Tensor,
            old_log_std: torch.Tensor, weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """∇θ gaussian_kl → [T, P] (differentiable in every input when one requires grad)."""
    graph = keeps_graph(params, obs, old_mean, old_log_std, weights)
    obs, old_mean, old_log_std, weights = inputs_for(graph, obs, old_mean, old_log_std, weights)
    with torch.enable_grad():
        theta = rows_to_differentiate(params, obs.shape[0], graph)
        kl = gaussian_kl(spec, theta, obs, old_mean, old_log_std, weights)
        (grad,) = torch.autograd.grad(kl.sum(), theta, create_graph=graph)
    return grad


def kl_fvp(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor, v: torch.Tensor, damping: float = 0.0,
           weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Fisher-vector product of the mean (or w-weighted) KL at params, plus damping·v → [T, P].

    Computed as TRPO implementations do: the Hessian of KL(⊥π_θ ‖ π_θ) by double backward.
    Differentiable in v and weights when they require grad (not in params or obs: the old policy
    is a stop-gradient copy of π_θ).
    """
    num_tasks = obs.shape[0]
    graph = keeps_graph(params, obs, v, weights)
    if graph:
        for name, t in (("params", params), ("obs", obs)):
            if t.requires_grad:
                no_derivative("kl_fvp", name)
    obs, v, weights = inputs_for(graph, obs, v, weights)
    with torch.enable_grad():
        theta = _leaf(params, num_tasks)
        old_mean = mlp_mean(spec, theta, obs).detach()
        old_log_std = _log_std(spec, theta).detach()
        kl = gaussian_kl(spec, theta, obs, old_mean, old_log_std, weights)
        (grad,) = torch.autograd.grad(kl.sum(), theta, create_graph=True)
        tangent = _per_task(v, num_tasks)
        (fvp,) = torch.autograd.grad((grad * tangent).sum(), theta, create_graph=graph)
    return fvp + damping * tangent

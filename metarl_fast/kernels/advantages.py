"""Advantage estimation kernels, per task group.

Trajectory tensors are [T, B, H] (task groups, trajectories per group, horizon) with a mask of the
same shape: 1 on valid steps, 0 after a trajectory ends (valid steps form a prefix; a bool mask is
accepted). Every output is zero on masked steps and carries no autograd history (returns,
advantages and baselines are constants of the surrogates). ``backend``: "auto" (compiled C++ for
CPU tensors, the torch reference otherwise), "cpp" or "torch" (metarl_fast.reference).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from .. import reference
from ._validation import (Backend, as_mask, check_finite, check_groups, check_tensor, check_unit_interval,
                          requiring_grad, resolve_backend)
from .ops import OPS


def _trajectories(fn: str, name: str, x) -> torch.Tensor:
    check_tensor(fn, name, x, [(None, None, None)], None, None, "[T, B, H]")
    if min(x.shape) < 1:
        raise ValueError(f"{fn}: {name} must hold at least one task group, trajectory and step [T, B, H], got "
                         f"shape {list(x.shape)}")
    check_finite(fn, name, x)
    return x


def _like(fn: str, name: str, x, ref: torch.Tensor) -> None:
    check_tensor(fn, name, x, [tuple(ref.shape)], ref.dtype, ref.device, "[" + ", ".join(map(str, ref.shape)) + "]")
    check_finite(fn, name, x)


def _backend(fn: str, backend: str, ref: torch.Tensor, **tensors) -> str:
    """The compiled advantages differentiate with respect to nothing: an input that requires grad
    takes the reference ('auto', plain torch: differentiable) or raises ('cpp')."""
    return resolve_backend(fn, backend, ref.device, requiring_grad(**tensors))


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float, from_start: bool = False, *,
                       backend: Backend = "auto") -> torch.Tensor:
    """Reward-to-go R_t = Σ_{t'≥t} γ^{t'−t} r_t' → [T, B, H] (the ProMP code's discount_cumsum).

    from_start=True gives γ^t R_t = Σ_{t'≥t} γ^{t'} r_t', discounted from the episode start (SG-MRL's
    R_h, the unbiased gradient weights of the discounted objective).
    """
    fn = "discounted_returns"
    if not isinstance(from_start, (bool, np.bool_)):
        raise TypeError(f"{fn}: from_start must be True or False, got {from_start!r}")
    _trajectories(fn, "rewards", rewards)
    mask = as_mask(fn, mask, rewards.shape, rewards.dtype, rewards.device, prefix=True)
    gamma = check_unit_interval(fn, "gamma", gamma)
    if _backend(fn, backend, rewards, rewards=rewards) == "torch":
        return reference.discounted_returns(rewards, mask, gamma, bool(from_start))
    return OPS.discounted_returns(rewards, mask, gamma, bool(from_start))


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float, *,
        backend: Backend = "auto") -> torch.Tensor:
    """Generalised advantage estimates → [T, B, H].

    δ_t = r_t + γ V_{t+1} − V_t with V = 0 after the last valid step (no bootstrap, as the papers'
    code), A_t = Σ_k (γλ)^k δ_{t+k}. λ = 1 gives R_t − V_t.
    """
    fn = "gae"
    _trajectories(fn, "rewards", rewards)
    _like(fn, "values", values, rewards)
    mask = as_mask(fn, mask, rewards.shape, rewards.dtype, rewards.device, prefix=True)
    gamma = check_unit_interval(fn, "gamma", gamma)
    lam = check_unit_interval(fn, "lam", lam)
    if _backend(fn, backend, rewards, rewards=rewards, values=values) == "torch":
        return reference.gae(rewards, values, mask, gamma, lam)
    return OPS.gae(rewards, values, mask, gamma, lam)


def normalize_per_task(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8, *,
                       backend: Backend = "auto") -> torch.Tensor:
    """(x − mean) / (std + eps) with the mean and population std of each group's valid entries.

    x and mask: [T, ...] (e.g. [T, B, H] or [T, N]); the result has x's shape, zero where masked.
    """
    fn = "normalize_per_task"
    check_groups(fn, "x", x)
    check_tensor(fn, "x", x, [tuple([None] * x.dim())], None, None, "[T, ...]")
    check_finite(fn, "x", x)
    mask = as_mask(fn, mask, x.shape, x.dtype, x.device, prefix=False)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (eps > 0):
        raise ValueError(f"normalize_per_task: eps must be a positive number, got {eps!r}")
    if _backend(fn, backend, x, x=x) == "torch":
        return reference.normalize_per_task(x, mask, float(eps))
    shape3 = (x.shape[0], 1, x[0].numel())
    return OPS.normalize_per_task(x.reshape(shape3), mask.reshape(shape3), float(eps)).reshape(x.shape)


def _constant_of_data(fn: str, **tensors) -> None:
    """A baseline is a control variate fitted to sampled data: a constant, with no derivative."""
    needing = requiring_grad(**tensors)
    if needing:
        raise ValueError(f"{fn}: the baseline is a constant of the sampled data, with no derivative; detach "
                         f"{', '.join(sorted(needing))}")


def _warn_failed(fn: str, ridge: torch.Tensor) -> None:
    if torch.compiler.is_compiling():  # a value-dependent warning: eager only
        return
    failed = torch.nonzero(torch.isnan(ridge)).flatten().tolist()
    if failed:
        warnings.warn(f"{fn}: the ridge regression failed for task groups {failed} even with ridge 0.1; "
                      "their baseline is 0", RuntimeWarning, stacklevel=3)


def linear_feature_baseline(obs: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor, *,
                            backend: Backend = "auto") -> torch.Tensor:
    """The linear feature baseline of Duan et al. (the papers' code), fitted per task group → [T, B, H].

    Ridge regression of `returns` [T, B, H] on [clip(o,±10), clip(o,±10)², t/100, (t/100)², (t/100)³, 1]
    over the valid steps of each group (obs [T, B, H, obs_dim], t the step index), ridge 1e-5
    multiplied by 10 (at most 5 tries) while the solve fails or is not finite; the fitted values at
    the same steps are returned. A group whose every try fails gets 0 (with a RuntimeWarning).
    """
    fn = "linear_feature_baseline"
    _trajectories(fn, "returns", returns)
    T, B, H = returns.shape
    check_tensor(fn, "obs", obs, [(T, B, H, None)], returns.dtype, returns.device, "[T, B, H, obs_dim]")
    check_finite(fn, "obs", obs)
    if obs.shape[-1] < 1:
        raise ValueError(f"{fn}: obs must have obs_dim >= 1, got shape {list(obs.shape)}")
    mask = as_mask(fn, mask, returns.shape, returns.dtype, returns.device, prefix=True)
    _constant_of_data(fn, obs=obs, returns=returns)
    if _backend(fn, backend, returns) == "torch":
        return reference.linear_feature_baseline(obs, returns, mask)
    values, ridge = OPS.linear_baseline(obs, returns, mask, mask)
    _warn_failed(fn, ridge)
    return values


def linear_time_baseline(targets: torch.Tensor, mask: torch.Tensor, *, backend: Backend = "auto") -> torch.Tensor:
    """A time-only baseline b_t per task group → [T, H] (the ProMP code's LinearTimeBaseline).

    Ridge regression of `targets` [T, B, H] (DiCE: the discounted rewards γ^t r_t) on
    [t/100, (t/100)², (t/100)³, 1] over the valid steps, with the ridge schedule of
    linear_feature_baseline. It depends on time alone, so it may sit inside DiCE's magic box
    without biasing the estimator (a state-dependent baseline would).
    """
    fn = "linear_time_baseline"
    _trajectories(fn, "targets", targets)
    mask = as_mask(fn, mask, targets.shape, targets.dtype, targets.device, prefix=True)
    _constant_of_data(fn, targets=targets)
    if _backend(fn, backend, targets) == "torch":
        return reference.linear_time_baseline(targets, mask)
    T, _, H = targets.shape
    values, ridge = OPS.linear_baseline(None, targets, mask, None)
    _warn_failed(fn, ridge)
    return values.reshape(T, H)

"""The one advantage pipeline every algorithm uses: a sampled Batch → StepData.

reward-to-go → per-task linear feature baseline → GAE(γ, λ) → per-task normalisation (the ProMP
code's SampleProcessor), plus the sampling policy's mean for KL penalties and, for DiCE, the
time-only baseline fitted to γ^t r_t.
"""
from __future__ import annotations

import torch

from .. import kernels
from ..envs import Batch
from ..policies import PolicySpec
from .objectives import StepData


def process_batch(batch: Batch, spec: PolicySpec, params: torch.Tensor, discount: float, gae_lambda: float,
                  normalize: bool, dice_baseline: bool = False, advantages: str = "gae",
                  reduction: str = "steps") -> StepData:
    """params: the sampling parameters ([P] or [T, P]) the batch was collected with.

    advantages: "gae" (the papers' code: baseline, GAE, optional normalisation) or "returns"
    (SG-MRL's estimator: R_h = Σ_{t≥h} γ^t r_t, discounted from the episode start, no baseline);
    reduction: see StepData."""
    T, B, H = batch.shape
    if advantages == "returns":
        adv = kernels.discounted_returns(batch.rewards, batch.mask, discount, from_start=True)
    else:
        returns = kernels.discounted_returns(batch.rewards, batch.mask, discount)
        values = kernels.linear_feature_baseline(batch.obs, returns, batch.mask)
        adv = kernels.gae(batch.rewards, values, batch.mask, discount, gae_lambda)
        if normalize:
            adv = kernels.normalize_per_task(adv, batch.mask)
    disc = discount ** torch.arange(H, dtype=batch.rewards.dtype)
    mean_return = (batch.rewards * disc).sum(-1).mean(-1)  # J̃: discounted return, mean over trajectories
    theta = params if params.dim() == 2 else params.expand(T, -1).contiguous()
    if batch.means is not None:  # the means the sampler acted with
        old_mean = batch.means
    else:
        old_mean = kernels.policy_mean(spec, theta, batch.obs.reshape(T, B * H, -1)).reshape(T, B, H, -1)
    base = None
    if dice_baseline:
        base = kernels.linear_time_baseline((batch.rewards * disc).contiguous(), batch.mask)
    return StepData(obs=batch.obs, act=batch.actions, mask=batch.mask, rewards=batch.rewards,
                    log_prob=batch.log_prob, advantages=adv, old_mean=old_mean,
                    old_log_std=spec.unflatten(theta)["log_std"].contiguous(), dice_baseline=base, gamma=discount,
                    reduction=reduction, mean_return=mean_return)

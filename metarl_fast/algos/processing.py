"""The one advantage pipeline every algorithm uses: a sampled Batch → StepData.

reward-to-go → per-task linear feature baseline → GAE(γ, λ) → per-task normalisation (the ProMP
code's SampleProcessor), plus the sampling policy's mean for KL penalties (the sampler's, when it
kept them) and, for DiCE, the time-only baseline fitted to γ^t r_t.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import kernels
from ..envs import Batch
from ..policies import PolicySpec


@dataclass
class StepData:
    """One sampling step of every task group (trajectories [T, B, H, ...], valid steps first).

    obs, act: [T, B, H, obs_dim], [T, B, H, act_dim]; mask, rewards, log_prob (the sampling
    policy's), advantages (processed: baseline, GAE, normalisation): [T, B, H]; old_mean
    [T, B, H, act_dim] and old_log_std [T, act_dim]: the sampling policy, for KL penalties;
    dice_baseline [T, H]: the time-only baseline of DiCE objectives (or None).
    """

    obs: torch.Tensor
    act: torch.Tensor
    mask: torch.Tensor
    rewards: torch.Tensor
    log_prob: torch.Tensor
    advantages: torch.Tensor
    old_mean: torch.Tensor | None = None
    old_log_std: torch.Tensor | None = None
    dice_baseline: torch.Tensor | None = None
    gamma: float = 0.99
    reduction: str = "steps"   # surrogates: "steps" mean over valid steps (ProMP code), "trajectories"
                               # mean over trajectories of the sum over time (SG-MRL's ∇̃J)
    mean_return: torch.Tensor | None = None  # [T] J̃: mean discounted return of the trajectories

    @property
    def num_tasks(self) -> int:
        return self.mask.shape[0]

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """[T, B, H, ...] → [T, B·H, ...]."""
        T = self.num_tasks
        return x.reshape(T, -1, *x.shape[3:]) if x.dim() > 3 else x.reshape(T, -1)

    @property
    def inv_count(self) -> torch.Tensor:
        """[T, 1] 1 / (valid steps of each task): a mean over all N·H steps."""
        return 1.0 / self.mask.reshape(self.num_tasks, -1).sum(-1, keepdim=True).clamp_min(1.0)

    @property
    def scale(self) -> torch.Tensor:
        """[T, 1] the surrogates' scale: 1/count ("steps") or 1/B ("trajectories")."""
        if self.reduction == "trajectories":
            return torch.full_like(self.inv_count, 1.0 / self.mask.shape[1])
        return self.inv_count

    @property
    def score_term_weights(self) -> torch.Tensor:
        """[T, B·H] per-sample weights of SG-MRL's score term Σ_{τ∈D} ∇log π(τ): the paper's sum
        ("trajectories"), or its per-step-mean analogue for the code's scaling ("steps")."""
        w = self.flat(self.mask)
        return w if self.reduction == "trajectories" else w * self.inv_count

    @property
    def mean_weights(self) -> torch.Tensor:
        """[T, B·H] mask / count: per-sample weights of a mean over valid steps."""
        return self.flat(self.mask) * self.inv_count

    @property
    def adv_weights(self) -> torch.Tensor:
        """[T, B·H] advantage · mask · scale."""
        return self.flat(self.advantages) * self.flat(self.mask) * self.scale

    def dice_terms(self):
        """(rewards, baseline) scaled by the surrogate scale (DiCE is linear in them)."""
        s = self.scale.unsqueeze(-1)  # [T, 1, 1]
        rew = self.rewards * s
        base = None if self.dice_baseline is None else self.dice_baseline * s[:, :, 0]
        return rew, base



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
    disc = discount ** torch.arange(H, dtype=batch.rewards.dtype, device=batch.rewards.device)
    mean_return = (batch.rewards * disc).sum(-1).mean(-1)  # J̃: discounted return, mean over trajectories
    theta = params if params.dim() == 2 else params.expand(T, -1)
    if batch.means is not None:  # the means the sampler acted with
        old_mean = batch.means
    else:
        old_mean = kernels.policy_mean(spec, theta, batch.obs.reshape(T, B * H, -1)).reshape(T, B, H, -1)
    base = None
    if dice_baseline:
        base = kernels.linear_time_baseline(batch.rewards * disc, batch.mask)
    return StepData(obs=batch.obs, act=batch.actions, mask=batch.mask, rewards=batch.rewards,
                    log_prob=batch.log_prob, advantages=adv, old_mean=old_mean,
                    old_log_std=spec.unflatten(theta)["log_std"].clone(), dice_baseline=base, gamma=discount,
                    reduction=reduction, mean_return=mean_return)

"""A batch of trajectories as the samplers return it."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .tasks import TaskBatch


@dataclass
class Batch:
    """Trajectories of T task groups × B trajectories × H steps (valid steps first, then zeros).

    obs       [T, B, H, obs_dim]  observation before each action
    actions   [T, B, H, act_dim]  the policy's actions (policy scale, before rescaling to the controls)
    rewards   [T, B, H]
    mask      [T, B, H]           1 on steps taken, 0 after the trajectory ended
    log_prob  [T, B, H]           log π(a|s) under the sampling policy (the recorded "old" log-probs)
    infos     {name: [T, B, H]}   per-step diagnostics of the family (e.g. forward_velocity)
    returns   [T, B] float64      undiscounted return of each trajectory
    lengths   [T, B] int32        valid steps of each trajectory
    nonfinite [T, B] bool         trajectories cut short by a non-finite physics state
    tasks     the TaskBatch the groups were run on (len T)
    means     [T, B, H, act_dim]  the policy mean μ(s) the sampler acted with (zeros after the
                                  trajectory ended), or None when the sampler does not keep it
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor
    log_prob: torch.Tensor
    infos: dict[str, torch.Tensor]
    returns: torch.Tensor
    lengths: torch.Tensor
    nonfinite: torch.Tensor
    tasks: TaskBatch
    means: torch.Tensor | None = None

    @property
    def num_steps(self) -> int:
        """Environment steps in the batch (valid steps only)."""
        return int(self.lengths.sum())

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, B, H)."""
        T, B, H = self.rewards.shape
        return int(T), int(B), int(H)

    def mean_return(self) -> float:
        return float(self.returns.mean())

    def successes(self) -> torch.Tensor | None:
        """[T, B] bool: whether each trajectory succeeded on some step it took (Meta-World's
        ``success``); None when the family reports no success."""
        if "success" not in self.infos:
            return None
        return ((self.infos["success"] * self.mask) > 0).any(-1)

    def success_rate(self) -> float:
        """The fraction of trajectories that succeeded (NaN when the family reports no success)."""
        s = self.successes()
        return float("nan") if s is None else float(s.double().mean())

    def to(self, device: torch.device | str) -> "Batch":
        """The same batch with every tensor on `device` (the tasks stay as they are)."""
        def move(x: torch.Tensor) -> torch.Tensor:
            return x.to(device)

        return replace(self, obs=move(self.obs), actions=move(self.actions), rewards=move(self.rewards),
                       mask=move(self.mask), log_prob=move(self.log_prob),
                       infos={k: move(v) for k, v in self.infos.items()}, returns=move(self.returns),
                       lengths=move(self.lengths), nonfinite=move(self.nonfinite),
                       means=None if self.means is None else move(self.means))

    def __repr__(self) -> str:
        T, B, H = self.shape
        return (f"Batch({self.tasks.family}: T={T} B={B} H={H}, {self.num_steps} steps, "
                f"mean return {self.mean_return():.3f}, {int(self.nonfinite.sum())} non-finite)")

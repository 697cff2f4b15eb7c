"""Settings of GMPS (section ``gmps``): phase 1 (experts and demonstrations), phase 2 (BC steps, the
importance-weighted inner step, the bias transformation, DAgger) and the SAC experts. The paper's
choices where it gives them, the public code's otherwise (docs/gmps.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..settings import AdamSettings, InnerStepSettings, setting


@dataclass
class GmpsSettings(InnerStepSettings, AdamSettings):
    name = "gmps"
    legacy_prefix = "gmps_"  # flat key of each setting in earlier run directories

    expert: Literal["scripted", "sac", "sac-per-task", "file"] = setting(
        "scripted", "scripted (point families, Meta-World) | sac (contextual SAC, the paper) | sac-per-task | "
                    "file (demos)")
    demos: str = setting("", "a DemoSet .npz for expert=file (metarl-fast demos)")
    num_tasks: int = setting(20, "meta-training tasks (the paper sweeps 10, 20)", ge=1)
    demos_per_task: int = setting(20, "expert trajectories per task", ge=1)
    expert_noise: float = setting(0.0, "Gaussian noise on the executed expert actions (policy scale)", ge=0)
    demo_batch: int = setting(0, "expert trajectories per task per BC step (0: all)", ge=0)
    bc_steps: int = setting(100, "N_BC: Adam steps per on-policy batch (the code: 500; the paper sweeps 1–2000)",
                            ge=1)
    bc_loss: Literal["nll", "mse"] = setting("nll", "the paper's L_BC (nll) or the code's MSE of the mean")
    ratio: Literal["step", "trajectory", "full"] = setting(
        "step", "inner IS ratio: per-step stop-gradient (the code) | trajectory (Eq. 3) | full (J^LR)")
    ratio_clip: float = setting(0.0, "clip ρ to [1/c, c] (0: none; the code's clip0.5_2.0 is 2)", ge=0)
    bias_dim: int = setting(4, "bias-transformation dimension (0: none; the paper sweeps 2, 4)", ge=0)
    adapt: str = setting("all", "adapted blocks: all | bias_transform | comma-separated block names")
    dagger: bool = setting(False, "Algorithm 1's aggregation (off in the paper's experiments)")
    dagger_beta: float = setting(0.5, "β_0 of the expert/adapted-policy mixture (App. A)", ge=0, le=1)
    dagger_decay: float = setting(0.5, "β_j = β_0 · decay^j", ge=0, le=1)
    dagger_trajs: int = setting(5, "aggregated trajectories per task per iteration", ge=1)
    eval_every: int = setting(1, "post-update evaluation rollouts every k iterations (0: never)", ge=0)
    sac_steps: int = setting(200000, "SAC experts: environment steps (per task for sac-per-task)", ge=1)
    sac_hidden: tuple[int, ...] = setting((256, 256), "SAC experts: hidden widths")
    sac_updates_per_step: float = setting(1.0, "SAC gradient steps per environment step", gt=0)
    sac_reward_scale: float = setting(10.0, "SAC reward scale (the paper sweeps 10, 50, 100)", gt=0)

    def check(self, config) -> None:
        if self.ratio_clip and (self.ratio_clip <= 1 or self.ratio == "full"):
            raise ValueError("gmps.ratio_clip must be 0 or > 1, with a stop-gradient ratio (not ratio=full)")
        if self.expert == "file" and not self.demos:
            raise ValueError("gmps.expert=file needs gmps.demos=PATH (a DemoSet .npz)")

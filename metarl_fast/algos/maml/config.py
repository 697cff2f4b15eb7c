"""Settings of the MAML family (section ``maml``): the inner steps, the outer optimiser (Adam,
ProMP or TRPO) and SG-MRL's options. Defaults are the ProMP code's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..settings import AdamSettings, InnerStepSettings, TrpoSettings, setting


@dataclass
class MamlSettings(InnerStepSettings, AdamSettings, TrpoSettings):
    name = "maml"

    inner_steps: int = setting(1, "inner adaptation steps", ge=1)
    first_order: bool = setting(False, "drop the Hessian factors of the meta-gradient (FO-MAML, FO-SG-MRL)")
    promp_steps: int = setting(5, "ProMP: Adam steps per batch", ge=1)
    clip_eps: float = setting(0.3, "ProMP: PPO's clip ε", gt=0, lt=1)
    kl_coeff: float = setting(5e-4, "ProMP: η, the KL penalty per inner step", ge=0)
    adaptive_kl: bool = setting(False, "ProMP: η ← η/2 or 2η towards target_kl (the ProMP code's rule)")
    target_kl: float = setting(0.01, "ProMP: the KL the adaptive rule aims at", gt=0)
    sgmrl_jacobian: Literal["pathwise", "paper_literal"] = setting(
        "pathwise", "SG-MRL: the correct pathwise Jacobian, or the paper's eq. 10/13 (score outer product)")
    sgmrl_baseline: Literal["leave_one_out", "none"] = setting(
        "leave_one_out", "SG-MRL: J̃ minus the mean J̃ of the other tasks, or the paper's raw J̃")

    def check(self, config) -> None:
        """Rules across settings (the generic checks already passed)."""
        from .variants import VARIANTS

        variant = VARIANTS[config.algo]
        if self.trainable_inner_step_size and not variant.optimizer.adam_based:
            raise ValueError(f"trainable_inner_step_size needs an Adam-based algorithm, not {config.algo} "
                             f"(a TRPO meta-step)")
        if self.sgmrl_jacobian == "paper_literal" and config.meta_gradient == "autograd":
            raise ValueError("the paper-literal SG-MRL estimator has no autograd form; use meta_gradient=explicit")

"""Settings of BO-MRL (section ``bomrl``): the lower level (λ, the distance, Adam on it), the Q
estimate, and the TRPO meta-step. Defaults are the paper's (App. D) where it gives them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..settings import TrpoSettings, setting


@dataclass
class BomrlSettings(TrpoSettings):
    name = "bomrl"

    lam: float = setting(0.5, "λ of the lower level (0.5; 0.4 for HalfCheetah velocity with D2)", gt=0,
                         legacy="bomrl_lambda")
    distance: Literal["kl_phi_pi", "kl_pi_phi", "l2"] = setting(
        "kl_phi_pi", "the lower level's distance: KL(π_φ‖π_θ) (D1), KL(π_θ‖π_φ) (D2) or ‖θ − φ‖² (D3)",
        legacy="bomrl_distance")
    lower_iters: int = setting(50, "Adam iterations of the lower level (the paper's 50)", ge=1,
                               legacy="bomrl_lower_iters")
    lower_lr: float = setting(1e-2, "their learning rate (not given by the paper)", gt=0, legacy="bomrl_lower_lr")
    q: Literal["q", "advantage"] = setting("q", "Monte-Carlo Q (the paper) or Q minus the linear baseline",
                                           legacy="bomrl_q")

    def check(self, config) -> None:
        if config.meta_gradient != "explicit":
            raise ValueError("bomrl's hypergradient is explicit (implicit differentiation); use meta_gradient=explicit")

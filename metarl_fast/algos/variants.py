"""The algorithms of the MAML family as declarative choices (digest papers-promp-sgmrl.md A.5):
inner curvature × outer objective × optimiser × E-MAML term. One sampler, one advantage pipeline
and one meta-gradient assembly (meta_gradient.MetaObjective) serve all of them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """inner: the inner surrogate ("naive" Σ log π·A → H₂ only; "lvc" π/⊥π·A → H₁ + H₂; "lr" J^LR,
    = LVC at θ_o and correct away from it; "dice" the DiCE objective → the exact Hessian).
    outer: "vpg" (log π·A at θ'), "lr" (π/π_old·A, TRPO's surrogate), "clip" (PPO clip, ProMP),
    "dice". optimizer: "adam", "trpo" or "promp" (several Adam steps with the clip objective and KL
    penalties on the same data). emaml: add E-MAML's pre-update credit term."""

    name: str
    inner: str
    outer: str
    optimizer: str
    emaml: bool = False
    description: str = ""
    sgmrl: bool = False  # SG-MRL's formulation-II score term J̃ · Σ_{D_in} ∇log π


VARIANTS = {v.name: v for v in (
    Variant("vpg-maml", "naive", "vpg", "adam", description="MAML with VPG (Finn et al.): naive inner curvature"),
    Variant("trpo-maml", "naive", "lr", "trpo", description="MAML with a TRPO meta-step (Finn et al.)"),
    Variant("emaml-trpo", "naive", "lr", "trpo", True, "E-MAML with a TRPO meta-step (Stadie et al.)"),
    Variant("emaml-vpg", "naive", "vpg", "adam", True, "E-MAML with VPG"),
    Variant("lvc-vpg", "lvc", "vpg", "adam", description="LVC inner curvature, VPG meta-step (ProMP §4.1)"),
    Variant("lvc-trpo", "lvc", "lr", "trpo", description="LVC inner curvature, TRPO meta-step (ProMP §4.3)"),
    Variant("dice-vpg", "dice", "dice", "adam", description="DiCE inner and outer objectives, VPG (ProMP §4.2)"),
    Variant("promp", "lr", "clip", "promp", description="ProMP: J^CLIP(θ + α∇J^LR(θ)) − η KL, N Adam steps"),
    Variant("bomrl", "naive", "vpg", "bomrl",
            description="BO-MRL (practical, App. D): lower level solved on one batch, Eq. 8 CG hypergradient, TRPO"),
    Variant("gmps", "gmps", "bc", "gmps",
            description="GMPS (Mendonca et al.): importance-weighted PG inner step, behaviour cloning of experts "
                        "outer loss, N_BC Adam steps per batch"),
    Variant("sgmrl", "naive", "vpg", "adam", sgmrl=True,
            description="SG-MRL (Fallah et al.): formulation II, pathwise Jacobian + J̃·Σ∇log π over D_in"),
)}

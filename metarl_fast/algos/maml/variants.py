"""The algorithms of the MAML family as declarative rows (ProMP §4–5; docs/algos.md): inner
surrogate × outer surrogate × outer optimiser × the E-MAML and SG-MRL score terms. One sampler, one advantage pipeline and one meta-gradient assembly
(meta_objective.MetaObjective) serve all of them; each row is registered as an ``--algo``."""
from __future__ import annotations

from dataclasses import dataclass

from ..objectives import InnerSurrogate, Surrogate
from .outer import AdamStep, OuterStep, PrompStep, TrpoStep
from .surrogates import Dice, LikelihoodRatio, Lvc, PpoClip, ScoreFunction


@dataclass(frozen=True)
class Variant:
    """inner: the inner surrogate (ScoreFunction: H₂ only; Lvc: H₁ + H₂; LikelihoodRatio: = LVC at
    θ_o and correct away from it; Dice: the exact Hessian). outer: the objective at θ'
    (ScoreFunction for VPG, LikelihoodRatio for TRPO, PpoClip for ProMP, Dice). optimizer: an
    OuterStep class. emaml: add E-MAML's pre-update credit term. sgmrl: SG-MRL's formulation-II
    score term J̃ · Σ_{D_in} ∇log π."""

    name: str
    inner: type[InnerSurrogate]
    outer: type[Surrogate]
    optimizer: type[OuterStep]
    emaml: bool = False
    sgmrl: bool = False
    description: str = ""


VARIANTS = {v.name: v for v in (
    Variant("vpg-maml", ScoreFunction, ScoreFunction, AdamStep,
            description="MAML with VPG (Finn et al.): naive inner curvature"),
    Variant("trpo-maml", ScoreFunction, LikelihoodRatio, TrpoStep,
            description="MAML with a TRPO meta-step (Finn et al.)"),
    Variant("emaml-trpo", ScoreFunction, LikelihoodRatio, TrpoStep, emaml=True,
            description="E-MAML with a TRPO meta-step (Stadie et al.)"),
    Variant("emaml-vpg", ScoreFunction, ScoreFunction, AdamStep, emaml=True, description="E-MAML with VPG"),
    Variant("lvc-vpg", Lvc, ScoreFunction, AdamStep, description="LVC inner curvature, VPG meta-step (ProMP §4.1)"),
    Variant("lvc-trpo", Lvc, LikelihoodRatio, TrpoStep, description="LVC inner curvature, TRPO meta-step (ProMP §4.3)"),
    Variant("dice-vpg", Dice, Dice, AdamStep, description="DiCE inner and outer objectives, VPG (ProMP §4.2)"),
    Variant("promp", LikelihoodRatio, PpoClip, PrompStep,
            description="ProMP: J^CLIP(θ + α∇J^LR(θ)) − η KL, N Adam steps"),
    Variant("sgmrl", ScoreFunction, ScoreFunction, AdamStep, sgmrl=True,
            description="SG-MRL (Fallah et al.): formulation II, pathwise Jacobian + J̃·Σ∇log π over D_in"),
)}

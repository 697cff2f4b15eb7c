"""Meta-RL algorithms. So far: the MAML family's objectives, variants and explicit meta-gradient
(see meta_gradient.py); the training loop and command line follow."""
from .meta_gradient import MetaObjective
from .objectives import INNER_KINDS, OUTER_KINDS, Objective, StepData, kl_penalty_grad, kl_penalty_value
from .variants import VARIANTS, Variant

__all__ = ["INNER_KINDS", "MetaObjective", "OUTER_KINDS", "Objective", "StepData", "VARIANTS", "Variant",
           "kl_penalty_grad", "kl_penalty_value"]

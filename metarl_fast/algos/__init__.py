"""Meta-RL algorithms.

- The MAML family, ProMP and SG-MRL: objectives.py (surrogates), variants.py (the declarative
  table), meta_gradient.py (the explicit meta-gradient and its autograd reference), processing.py
  (the advantage pipeline), trainer.py (the training loop), config.py (configs and presets),
  evaluation.py (meta-test and plots).
- BO-MRL, tabular: bomrl_tabular.py (with metarl_fast.tabular); function approximation: bomrl.py.
- GMPS: gmps_objectives.py (the importance-weighted inner step, behaviour cloning, the bias
  transformation) and gmps.py (phases 1 and 2, DAgger); experts in metarl_fast.experts.
"""
from .meta_gradient import MetaObjective
from .objectives import INNER_KINDS, OUTER_KINDS, Objective, StepData, kl_penalty_grad, kl_penalty_value
from .variants import VARIANTS, Variant

__all__ = ["INNER_KINDS", "MetaObjective", "OUTER_KINDS", "Objective", "StepData", "VARIANTS", "Variant",
           "kl_penalty_grad", "kl_penalty_value"]

"""Meta-RL algorithms, each a MetaAlgorithm plug-in (base.py) registered by name (run/registry.py).

Shared by all: processing (the advantage pipeline: Batch → StepData), objectives (the surrogate
protocol), meta_objective (the explicit meta-gradient and its autograd reference, TRPO's Fisher
through the adaptation), settings (typed, documented settings and their validator), base (the
plug-in interface, meta-parameters with Adam). One package per algorithm family: maml/ (the MAML
variants, ProMP, SG-MRL), bomrl/, gmps/. run/ runs them: the config, the context, the runner,
meta-test and learning curves. Adding an algorithm: docs/extending.md.
"""
from .base import IterationLog, MetaAlgorithm, MetaParameters
from .meta_objective import Adaptation, MetaObjective
from .objectives import InnerSurrogate, Surrogate, kl_penalty_grad, kl_penalty_value
from .processing import StepData, process_batch

__all__ = ["Adaptation", "InnerSurrogate", "IterationLog", "MetaAlgorithm", "MetaObjective", "MetaParameters",
           "StepData", "Surrogate", "kl_penalty_grad", "kl_penalty_value", "process_batch"]

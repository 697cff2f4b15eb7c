"""Public kernel API: validation in Python, then the compiled C++ path or the torch reference.

Every kernel here has a pure-torch twin of the same name and signature (less `backend`) in
metarl_fast.reference. Modules: policy (Gaussian-MLP derivatives), estimators (DiCE, J^LR, PPO
clip, E-MAML), advantages (returns, GAE, baselines, normalisation), solvers (CG on fused
operators, TRPO line search). See each module for shapes and conventions. ``use_cuda_kernels()``
sends CUDA tensors under backend="auto" to the CUDA kernels (opt-in until they are verified on a
GPU; kernels/cuda.py). ``shared_forward()``
(forward_cache) lets the compiled kernels called on the same parameters and observations share one
forward pass.
"""
from .. import reference as _reference
from .advantages import (  # noqa: F401
    discounted_returns,
    gae,
    linear_feature_baseline,
    linear_time_baseline,
    normalize_per_task,
)
from .estimators import (  # noqa: F401
    dice_grad,
    dice_hvp,
    dice_objective,
    emaml_credit,
    emaml_grad,
    emaml_objective,
    lr_grad,
    lr_hvp,
    lr_objective,
    ppo_clip_grad,
    ppo_clip_objective,
)
from ._validation import use_cuda_kernels  # noqa: F401
from .forward_cache import shared_forward  # noqa: F401
from .policy import (  # noqa: F401
    gaussian_kl,
    kl_fvp,
    kl_grad,
    log_prob,
    policy_mean,
    score_jvp,
    score_vjp,
    surrogate_hvp,
)
from .solvers import (  # noqa: F401
    CgInfo,
    KlFvpOperator,
    MamlTrpoFvpOperator,
    PolicyOperator,
    SurrogateHvpOperator,
    TrpoStepResult,
    conjugate_gradient,
    trpo_step,
)

__all__ = list(_reference.__all__) + ["CgInfo", "KlFvpOperator", "MamlTrpoFvpOperator", "PolicyOperator",
                                      "SurrogateHvpOperator", "TrpoStepResult", "shared_forward", "use_cuda_kernels"]

"""Pure-torch twins of every compiled kernel: same names, same shapes, autograd from scratch.

They are the oracle the compiled kernels are tested against and the baseline they are benchmarked
against ("as existing libraries compute it": eager autograd per call). The estimators accept any
policy with a ``log_prob(params, obs, act)`` method in place of a PolicySpec (see estimators.py).
"""
from .advantages import (
    discounted_returns,
    gae,
    linear_feature_baseline,
    linear_time_baseline,
    normalize_per_task,
)
from .estimators import (
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
from .policy import (
    gaussian_kl,
    kl_fvp,
    kl_grad,
    log_prob,
    policy_mean,
    score_jvp,
    score_vjp,
    surrogate_hvp,
)
from .solvers import CgInfo, TrpoStepResult, conjugate_gradient, trpo_step

__all__ = [
    "conjugate_gradient",
    "dice_grad",
    "dice_hvp",
    "dice_objective",
    "discounted_returns",
    "emaml_credit",
    "emaml_grad",
    "emaml_objective",
    "gae",
    "gaussian_kl",
    "kl_fvp",
    "kl_grad",
    "linear_feature_baseline",
    "linear_time_baseline",
    "log_prob",
    "lr_grad",
    "lr_hvp",
    "lr_objective",
    "normalize_per_task",
    "policy_mean",
    "ppo_clip_grad",
    "ppo_clip_objective",
    "score_jvp",
    "score_vjp",
    "surrogate_hvp",
    "trpo_step",
]

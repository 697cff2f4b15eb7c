"""Public kernel API: validation in Python, then the compiled C++ path or the torch reference.

See metarl_fast.kernels.policy for shapes and conventions.
"""
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

__all__ = [
    "gaussian_kl",
    "kl_fvp",
    "kl_grad",
    "log_prob",
    "policy_mean",
    "score_jvp",
    "score_vjp",
    "surrogate_hvp",
]

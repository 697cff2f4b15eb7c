"""Pure-torch twins of every compiled kernel: same names, same shapes, autograd from scratch.

They are the oracle the compiled kernels are tested against and the baseline they are benchmarked
against ("as existing libraries compute it": eager autograd per call).
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

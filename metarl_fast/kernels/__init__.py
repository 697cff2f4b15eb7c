"""Public kernel API: validation in Python, then the compiled C++ path or the torch reference.

Every kernel here has a pure-torch twin of the same name and signature (less `backend`) in
metarl_fast.reference. See metarl_fast.kernels.policy for shapes and conventions.
"""
from .. import reference as _reference
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

__all__ = list(_reference.__all__)

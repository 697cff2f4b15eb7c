"""Confidence intervals of a mean: Student's t quantiles (computed here, no SciPy) and the
t-interval of a sample mean."""
from __future__ import annotations

import math

import numpy as np


def _t_cdf(x: float, df: float) -> float:
    """P(X ≤ x) for Student's t with df degrees of freedom, x ≥ 0: ½ + ∫₀ˣ f, the density
    integrated in u = atan(t/√df) (smooth and bounded on [0, π/2), so Simpson's rule converges
    fast even for df = 1)."""
    # f(t) dt = c · cos(u)^(df−1) du with t = √df·tan u, c = Γ((df+1)/2) / (√π Γ(df/2))
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(math.pi)
    upper = math.atan(x / math.sqrt(df))
    u = np.linspace(0.0, upper, 2049)
    w = np.ones_like(u)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return 0.5 + c * float((w * np.cos(u) ** (df - 1)).sum()) * (upper / 2048) / 3


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with df > 0 degrees of freedom (absolute error < 1e-9)."""
    if not 0 < p < 1:
        raise ValueError(f"t_quantile: p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"t_quantile: df must be > 0, got {df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, 2 * hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def mean_interval(values, level: float = 0.95, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high) along `axis`: the t-interval mean ± t_{(1+level)/2, n−1} · s/√n with s the
    sample standard deviation (ddof 1). With n = 1 the bounds are NaN (no spread to estimate)."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[axis]
    mean = x.mean(axis)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    half = t_quantile((1 + level) / 2, n - 1) * x.std(axis, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half

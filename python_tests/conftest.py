import pytest
import torch

import metarl_fast

# Cases: (T, N, obs_dim, act_dim, hidden, activation, per_task_params)
POLICY_CASES = [
    pytest.param((1, 1, 3, 1, (5,), "tanh", False), id="T1-N1-h5-tanh-shared"),
    pytest.param((3, 37, 4, 2, (7, 5, 3), "relu", True), id="T3-N37-h7x5x3-relu-task"),
    pytest.param((2, 130, 20, 6, (64, 64), "tanh", True), id="T2-N130-h64x64-tanh-task"),
    pytest.param((1, 700, 11, 3, (33,), "relu", False), id="T1-N700-h33-relu-shared"),
    pytest.param((5, 65, 17, 5, (19, 17, 23), "tanh", False), id="T5-N65-h19x17x23-tanh-shared"),
    pytest.param((2, 9, 2, 3, (), "tanh", True), id="T2-N9-linear-task"),
]

TOL = {torch.float64: 1e-10, torch.float32: 1e-4}


def make_inputs(T, N, obs_dim, act_dim, hidden, activation, per_task, dtype, seed=0):
    """Random but well-scaled inputs: params near a Glorot init, log_std in [-0.5, 0.5]."""
    g = torch.Generator().manual_seed(seed)
    spec = metarl_fast.PolicySpec(obs_dim, act_dim, hidden, activation)
    P = spec.num_params
    base = spec.init_params(seed=g, dtype=torch.float64)
    ls = spec.layout[-1]
    base[ls.offset:] = torch.rand(act_dim, generator=g, dtype=torch.float64) - 0.5
    # Non-zero biases so relu units are not exactly at their kink.
    params = base + 0.1 * torch.randn((T, P) if per_task else (P,), generator=g, dtype=torch.float64)
    obs = torch.randn(T, N, obs_dim, generator=g, dtype=torch.float64)
    act = torch.randn(T, N, act_dim, generator=g, dtype=torch.float64)
    weights = torch.randn(T, N, generator=g, dtype=torch.float64)
    v = torch.randn((T, P) if per_task else (P,), generator=g, dtype=torch.float64)
    old_mean = torch.randn(T, N, act_dim, generator=g, dtype=torch.float64)
    old_log_std = 0.3 * torch.randn((T, act_dim) if per_task else (act_dim,), generator=g, dtype=torch.float64)
    d = dict(params=params, obs=obs, act=act, weights=weights, v=v, old_mean=old_mean, old_log_std=old_log_std)
    return spec, {k: x.to(dtype) for k, x in d.items()}


def optional_module(name: str, install: str):
    """The optional package `name` for a test module that needs it: skipped, with the install
    command as the reason, when it is missing; under CI=true a missing package fails instead (CI
    installs every extra, and must never skip silently)."""
    import importlib
    import os

    try:
        return importlib.import_module(name)
    except ImportError as e:
        reason = f"needs the optional package {name} ({install}): {e}"
        if _in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


METAWORLD_INSTALL = 'pip install "metarl_fast[metaworld]" && pip install --no-deps metaworld==3.1.1'
RAY_INSTALL = 'pip install "metarl_fast[ray]"'


def _in_ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_package_index() -> None:
    """Skips the calling test when pip cannot reach a package index (an offline machine: building
    a wheel in an isolated environment downloads its build requirements); under CI=true fails instead."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="metarl_fast_index_probe_") as scratch:
        try:
            probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q",
                                    "-d", scratch, "scikit-build-core>=1.1"], capture_output=True, text=True, timeout=120)
            reachable, detail = probe.returncode == 0, (probe.stderr or probe.stdout).strip().splitlines()[-1:]
        except subprocess.TimeoutExpired:
            reachable, detail = False, ["timed out after 120 s"]
    if not reachable:
        reason = f"needs a reachable package index (pip download scikit-build-core: {' '.join(detail)})"
        if _in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)

"""The compiled kernels and their pure-torch twins agree on every input they accept, or both refuse
it: all-zero masks, values up to the accepted magnitude (max_magnitude), values beyond it, and
inputs whose mathematics overflows (both then give ±inf/NaN at the same positions)."""
from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest
import torch

from metarl_fast import kernels as K
from metarl_fast.kernels._validation import max_magnitude

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz_calls import ADV_OPS, ESTIMATOR_OPS, POLICY_OPS, _arguments  # noqa: E402

OPS = [op for op in POLICY_OPS + ESTIMATOR_OPS + ADV_OPS
       if "backend" in inspect.signature(getattr(K, op)).parameters]
# 0 replaces the argument by zeros (an all-zero mask, zero rewards, zero parameters ...)
SCALES = (0.0, 1e10, 1e30, 0.5, 0.99, 2.0, 1e10)
SCALE_IS_OF_LIMIT = (False, False, False, True, True, True, True)


def _call(f, args, backend):
    try:
        return f(*args, backend=backend)
    except (ValueError, TypeError) as e:
        return e


def _assert_twins_agree(compiled, reference, where):
    if isinstance(compiled, Exception) or isinstance(reference, Exception):
        assert type(compiled) is type(reference), f"{where}: {compiled!r} vs {reference!r}"
        assert str(compiled) == str(reference), where
        return
    pairs = zip(*(x if isinstance(x, tuple) else (x,) for x in (compiled, reference)))
    for c, r in pairs:
        tol = 1e-4 if r.dtype == torch.float32 else 1e-8
        c, r = c.detach().double(), r.detach().double()
        finite = torch.isfinite(r)
        assert torch.equal(torch.isfinite(c), finite), f"{where}: finite at other positions\n{c}\n{r}"
        assert torch.equal(c[~finite].isnan(), r[~finite].isnan()), where
        scale = 1.0 + (float(r[finite].abs().max()) if finite.any() else 0.0)
        torch.testing.assert_close(c[finite], r[finite], rtol=tol, atol=tol * scale, msg=where)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("op", OPS)
def test_compiled_and_reference_agree_or_both_refuse_at_extreme_values(op, dtype):
    f, args, _ = _arguments({"op": op, "seed": 3}, torch, np)
    args = [a.to(dtype) if isinstance(a, torch.Tensor) else a for a in args]
    limit = max_magnitude(dtype)
    checked = 0
    for i, a in enumerate(args):
        if not isinstance(a, torch.Tensor):
            continue
        for s, of_limit in zip(SCALES, SCALE_IS_OF_LIMIT):
            factor = s * limit if of_limit else s
            changed = list(args)
            changed[i] = (a * factor).to(dtype) if factor else torch.zeros_like(a)
            compiled, reference = _call(f, changed, "cpp"), _call(f, changed, "torch")
            _assert_twins_agree(compiled, reference, f"{op} argument {i} × {factor:.3g} ({dtype})")
            if of_limit and s > 1 and bool(a.any()):  # beyond the accepted magnitude (or a mask that is not 0/1)
                assert isinstance(compiled, ValueError), f"{op} argument {i} × {factor:.3g}: {compiled!r}"
            checked += 1
    assert checked >= 2 * len(SCALES)


def test_emaml_credit_of_an_empty_batch_is_zero_on_both_twins():
    rewards = torch.randn(3, 4, 5, dtype=torch.float64)
    mask = torch.zeros(3, 4, 5, dtype=torch.float64)
    for backend in ("cpp", "torch"):
        assert torch.equal(K.emaml_credit(rewards, mask, backend=backend), torch.zeros(3, dtype=torch.float64))


def test_surrogate_hvp_operator_refuses_float32_observations_where_its_products_overflow():
    from conftest import make_inputs

    spec, x = make_inputs(3, 10, 4, 2, (8,), "tanh", False, dtype=torch.float32)
    for magnitude, refused in ((1e14, False), (1e19, True)):
        obs = torch.sign(x["obs"]) * magnitude
        results = []
        for backend in ("cpp", "torch"):
            try:
                op = K.SurrogateHvpOperator(spec, x["params"], obs, x["act"], x["weights"], task_mean=True,
                                            backend=backend)
                results.append(op(x["v"]))
            except ValueError as e:
                assert refused and "obs holds values beyond" in str(e), e
                results.append(None)
        if refused:
            assert results == [None, None]
        else:
            assert all(bool(torch.isfinite(r).all()) for r in results)
            torch.testing.assert_close(results[0], results[1], rtol=1e-3, atol=1e-3 * float(results[1].abs().max()))
            direct = K.surrogate_hvp(spec, x["params"], obs, x["act"], x["weights"], x["v"], backend="torch")
            torch.testing.assert_close(results[0], direct.mean(0) if direct.dim() == 2 and results[0].dim() == 1
                                       else direct, rtol=1e-3, atol=1e-3 * float(direct.abs().max()))


@pytest.mark.parametrize("flag", ["no", 0, 1, None, 1.0])
def test_discounted_returns_refuses_a_flag_that_is_not_a_bool(flag):
    r = torch.randn(2, 3, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match="from_start must be True or False"):
        K.discounted_returns(r, torch.ones_like(r), 0.99, from_start=flag)

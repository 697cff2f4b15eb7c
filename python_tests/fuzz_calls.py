"""Random calls of the public kernels, advantages and rollouts for the fuzz test (test_fuzz.py).

Each call is described by a JSON-able dict (the op and a mutation of one or two of its arguments);
``run_call`` builds the arguments from the description, calls the public function and classifies
the outcome:

  ok             returned, and (for valid inputs) equal to the pure-torch reference
  clear_error    TypeError / ValueError / FileNotFoundError / MujocoError whose message names the
                 function or the argument, in one line, with none of the signs of an internal error
  unclear_error  any other exception, or a message of an internal error (pybind11's "incompatible
                 function arguments", a reshape or index error, an empty message)
  wrong          returned for valid inputs, but differs from the reference or is not finite
  (crash and hang are seen by the parent: the worker process dies or stops reporting)

Run as a worker: ``python fuzz_calls.py`` reads one JSON call per line on stdin and writes one JSON
outcome per line on stdout (flushed), so a crash loses only the call in progress.
"""
from __future__ import annotations

import json
import random
import sys
import traceback

POLICY_OPS = ("log_prob", "policy_mean", "score_vjp", "score_jvp", "surrogate_hvp", "kl_fvp", "gaussian_kl")
ESTIMATOR_OPS = ("lr_grad", "ppo_clip_objective", "dice_objective", "emaml_grad")
ADV_OPS = ("discounted_returns", "gae", "linear_feature_baseline", "normalize_per_task", "emaml_credit")
ROLLOUT_OPS = ("rollout_point", "rollout_cheetah", "sample_tasks", "vector_step")
OPS = POLICY_OPS + ESTIMATOR_OPS + ADV_OPS + ROLLOUT_OPS

TENSOR_MUTATIONS = ("none", "float16", "int64", "numpy", "list", "drop_dim", "add_dim", "zero_dim", "wrong_size",
                    "nan", "inf", "huge", "strided", "scalar", "bool")
SCALAR_MUTATIONS = ("none", "negative", "nan", "inf", "string", "bool", "huge", "float")

INTERNAL_SIGNS = ("incompatible function arguments", "cannot reshape", "index out of range", "IndexError",
                  "out of bounds", "Expected all tensors", "size mismatch", "shape '[", "std::", "Assertion")


def make_calls(n: int, seed: int) -> list[dict]:
    """n call descriptions: a quarter valid, the rest with one or two mutated arguments."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        op = OPS[i % len(OPS)]
        k = rng.choice([0, 1, 1, 1, 2])
        calls.append({"id": i, "op": op, "seed": rng.randrange(2**31), "mutations": [
            [rng.randrange(8), rng.choice(TENSOR_MUTATIONS), rng.choice(SCALAR_MUTATIONS)] for _ in range(k)]})
    return calls


# ---- building arguments
def _mutate_tensor(x, how, torch, np):
    if how == "none":
        return None
    if how == "float16":
        return x.half()
    if how == "int64":
        return x.long()
    if how == "bool":
        return x > 0
    if how == "numpy":
        return x.numpy()
    if how == "list":
        return x.tolist()
    if how == "drop_dim":
        return x[0] if x.dim() > 0 else x
    if how == "add_dim":
        return x.unsqueeze(0)
    if how == "zero_dim":
        return x.narrow(x.dim() - 1, 0, 0) if x.dim() > 0 else x
    if how == "wrong_size":
        return torch.cat([x, x.narrow(x.dim() - 1, 0, 1)], x.dim() - 1) if x.dim() > 0 else x
    if how == "nan":
        y = x.clone()
        y.view(-1)[0] = float("nan")
        return y
    if how == "inf":
        y = x.clone()
        y.view(-1)[-1] = float("inf")
        return y
    if how == "huge":
        return x * 1e30
    if how == "strided":
        return x.transpose(0, -1).contiguous().transpose(0, -1) if x.dim() > 1 else x
    if how == "scalar":
        return 1.0
    raise AssertionError(how)


def _mutate_scalar(v, how):
    return {"none": None, "negative": -abs(v) - 1, "nan": float("nan"), "inf": float("inf"), "string": "x",
            "bool": True, "huge": 2**64 + 5, "float": float(v) + 0.5}[how]


def _arguments(call, torch, np):
    """(function, positional args, keyword args, names of the mutable arguments, valid?)."""
    import metarl_fast
    from metarl_fast import PolicySpec, envs, kernels

    g = torch.Generator().manual_seed(call["seed"])
    op = call["op"]
    T, N, obs_dim, act_dim = 2, 5, 3, 2
    if op in POLICY_OPS:
        spec = PolicySpec(obs_dim=obs_dim, act_dim=act_dim, hidden=(4,))
        theta = spec.init_params(seed=g, dtype=torch.float64)
        obs = torch.randn(T, N, obs_dim, generator=g, dtype=torch.float64)
        act = torch.randn(T, N, act_dim, generator=g, dtype=torch.float64)
        w = torch.randn(T, N, generator=g, dtype=torch.float64)
        v = torch.randn(T, spec.num_params, generator=g, dtype=torch.float64)
        args = {"log_prob": [spec, theta, obs, act], "policy_mean": [spec, theta, obs],
                "score_vjp": [spec, theta, obs, act, w], "score_jvp": [spec, theta, obs, act, v],
                "surrogate_hvp": [spec, theta, obs, act, w, v], "kl_fvp": [spec, theta, obs, v],
                "gaussian_kl": [spec, theta, obs, torch.randn(T, N, act_dim, generator=g, dtype=torch.float64),
                                torch.zeros(act_dim, dtype=torch.float64)]}[op]
        return getattr(kernels, op), args, {}
    if op in ESTIMATOR_OPS:
        spec = PolicySpec(obs_dim=obs_dim, act_dim=act_dim, hidden=(4,))
        theta = spec.init_params(seed=g, dtype=torch.float64)
        B, H = 3, 4
        o = torch.randn(T, B, H, obs_dim, generator=g, dtype=torch.float64)
        a = torch.randn(T, B, H, act_dim, generator=g, dtype=torch.float64)
        r = torch.randn(T, B, H, generator=g, dtype=torch.float64)
        mask = torch.ones(T, B, H, dtype=torch.float64)
        mask[1, 2, 1:] = 0
        with torch.no_grad():
            old = kernels.log_prob(spec, theta, o.reshape(T, -1, obs_dim), a.reshape(T, -1, act_dim)).reshape(T, B, H)
        args = {"lr_grad": [spec, theta, o, a, old, r], "ppo_clip_objective": [spec, theta, o, a, old, r, 0.2],
                "dice_objective": [spec, theta, o, a, r, mask, 0.99],
                "emaml_grad": [spec, theta, o, a, mask, torch.randn(T, generator=g, dtype=torch.float64)]}[op]
        return getattr(kernels, op), args, {}
    if op in ADV_OPS:
        B, H = 3, 4
        r = torch.randn(T, B, H, generator=g, dtype=torch.float64)
        mask = torch.ones(T, B, H, dtype=torch.float64)
        mask[0, 0, 2:] = 0
        args = {"discounted_returns": [r, mask, 0.99], "gae": [r, torch.randn(T, B, H, generator=g, dtype=torch.float64),
                                                               mask, 0.99, 0.95],
                "linear_feature_baseline": [torch.randn(T, B, H, obs_dim, generator=g, dtype=torch.float64), r, mask],
                "normalize_per_task": [r, mask], "emaml_credit": [r, mask]}[op]
        return getattr(kernels, op), args, {}
    if op == "sample_tasks":
        fam = envs.make("Point2DNav")
        return fam.sample_tasks, [3, 7], {}
    if op == "vector_step":
        fam = envs.make("HalfCheetahRandDirec")
        venv = fam.vector_env(2)
        venv.reset(seed=call["seed"])
        return venv.step, [torch.randn(2, fam.act_dim, generator=g, dtype=torch.float64).numpy()], {}
    fam = envs.make("Point2DNav" if op == "rollout_point" else "HalfCheetahRandDirec")
    spec = PolicySpec(obs_dim=fam.obs_dim, act_dim=fam.act_dim, hidden=(4,))
    theta = spec.init_params(seed=g, dtype=torch.float64)
    return fam.rollout, [spec, theta, fam.sample_tasks(2, seed=call["seed"]), 2, 6, call["seed"]], {}


def _reference(call, args, torch):
    from metarl_fast import kernels

    op = call["op"]
    if op in POLICY_OPS or op in ADV_OPS or op in ESTIMATOR_OPS:
        return getattr(kernels, op)(*args, backend="torch")
    return None


def _equal(a, b, torch) -> bool:
    if b is None:
        return True
    return bool(torch.allclose(a, b, rtol=1e-7, atol=1e-9, equal_nan=True))


def run_call(call) -> dict:
    import numpy as np
    import torch

    import metarl_fast

    fn, args, kwargs = _arguments(call, torch, np)
    valid = not call["mutations"]
    for index, tmut, smut in call["mutations"]:
        i = index % len(args)
        a = args[i]
        if isinstance(a, np.ndarray):
            m = _mutate_tensor(torch.from_numpy(a), tmut, torch, np)
            args[i] = m.numpy() if isinstance(m, torch.Tensor) else m
        elif isinstance(a, torch.Tensor):
            args[i] = _mutate_tensor(a, tmut, torch, np)
        elif isinstance(a, bool) or not isinstance(a, (int, float)):
            args[i] = None if tmut == "none" else ("spec" if tmut == "list" else a)
        else:
            args[i] = _mutate_scalar(a, smut)
    try:
        result = fn(*args, **kwargs)
    except (TypeError, ValueError, FileNotFoundError, metarl_fast.MujocoError) as e:
        msg = str(e)
        internal = not msg.strip() or "\n" in msg.strip() or any(s in msg for s in INTERNAL_SIGNS)
        return {"id": call["id"], "outcome": "unclear_error" if internal else "clear_error",
                "detail": f"{type(e).__name__}: {msg[:300]}", "valid": valid}
    except Exception as e:  # noqa: BLE001 (classified, not hidden)
        return {"id": call["id"], "outcome": "unclear_error", "valid": valid,
                "detail": f"{type(e).__name__}: {str(e)[:300]} | {traceback.format_exc(limit=3)[-400:]}"}
    # a mutated call that went through is fine only if the result equals the reference's (a strided
    # tensor, an int dtype converted, a spec left as it was)
    out = result if isinstance(result, torch.Tensor) else None
    if out is not None:
        if not bool(torch.isfinite(out).all()) and valid:
            return {"id": call["id"], "outcome": "wrong", "detail": "non-finite result", "valid": valid}
        try:
            ref = _reference(call, args, torch)
        except (TypeError, ValueError) as e:  # the reference refuses what the kernel took
            return {"id": call["id"], "outcome": "wrong", "valid": valid,
                    "detail": f"accepted, but the reference refuses: {e}"}
        if not _equal(out, ref, torch):
            return {"id": call["id"], "outcome": "wrong", "detail": "differs from the torch reference", "valid": valid}
    return {"id": call["id"], "outcome": "ok", "valid": valid}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    for line in sys.stdin:
        call = json.loads(line)
        print(json.dumps(run_call(call)), flush=True)


if __name__ == "__main__":
    main()

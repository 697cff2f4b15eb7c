"""Compiled estimator kernels against their torch twins (autograd, double backward) and against
identities that hold exactly: float64 tight, float32 looser; masked, variable-length trajectories."""
import numpy as np
import pytest
import torch

import metarl_fast
from metarl_fast import kernels as K
from metarl_fast import reference as R

# (T, B, H, obs_dim, act_dim, hidden, activation, per_task)
CASES = [
    pytest.param((1, 1, 1, 3, 1, (4,), "tanh", False), id="T1-B1-H1"),
    pytest.param((3, 4, 7, 5, 2, (8,), "tanh", True), id="T3-B4-H7-task"),
    pytest.param((2, 5, 33, 6, 3, (16, 12), "relu", False), id="T2-B5-H33-relu"),
    pytest.param((4, 3, 70, 17, 6, (64, 64), "tanh", True), id="T4-B3-H70-64x64"),
]


def make(case, dtype, seed=0, full_length=False):
    T, B, H, od, ad, hidden, act_fn, per_task = case
    g = torch.Generator().manual_seed(seed)
    spec = metarl_fast.PolicySpec(od, ad, hidden, act_fn)
    P = spec.num_params
    base = spec.init_params(seed=g, dtype=torch.float64)
    params = base + 0.1 * torch.randn((T, P) if per_task else (P,), generator=g, dtype=torch.float64)
    lengths = torch.full((T, B), H) if full_length else torch.randint(1, H + 1, (T, B), generator=g)
    mask = (torch.arange(H) < lengths.unsqueeze(-1)).double()
    obs = torch.randn(T, B, H, od, generator=g, dtype=torch.float64) * mask.unsqueeze(-1)
    act = torch.randn(T, B, H, ad, generator=g, dtype=torch.float64) * mask.unsqueeze(-1)
    rew = torch.randn(T, B, H, generator=g, dtype=torch.float64) * mask
    v = torch.randn((T, P) if per_task else (P,), generator=g, dtype=torch.float64)
    # the sampling policy: a perturbation of params, so ratios are away from 1
    old_params = params + 0.05 * torch.randn(params.shape, generator=g, dtype=torch.float64)
    old_lp = R.log_prob(spec, old_params, obs.reshape(T, B * H, od), act.reshape(T, B * H, ad)).reshape(T, B, H)
    adv = torch.randn(T, B, H, generator=g, dtype=torch.float64) * mask
    baseline = torch.randn(T, H, generator=g, dtype=torch.float64)
    d = dict(params=params, obs=obs, act=act, rew=rew, mask=mask, v=v, old_lp=old_lp, adv=adv, baseline=baseline)
    return spec, {k: x.to(dtype) for k, x in d.items()}


def close(a, b, dtype):
    tol = 1e-10 if dtype == torch.float64 else 2e-4
    scale = max(1.0, float(b.abs().max()))
    assert float((a - b).abs().max()) <= tol * scale, float((a - b).abs().max())


DTYPES = [torch.float64, torch.float32]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_baseline", [False, True])
def test_dice_kernels_match_double_backward(case, dtype, with_baseline):
    spec, x = make(case, dtype)
    bl = x["baseline"] if with_baseline else None
    args = (spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"])
    hvp = K.dice_hvp(*args, x["v"], 0.97, baseline=bl, backend="cpp")
    assert hvp.dtype == dtype and hvp.shape == (x["obs"].shape[0], spec.num_params)
    # reference in float64 from the same (rounded) inputs: the independent double-backward oracle
    x64 = {k: t.double() for k, t in x.items()}
    args64 = (spec, x64["params"], x64["obs"], x64["act"], x64["rew"], x64["mask"])
    bl64 = x64["baseline"] if with_baseline else None
    close(hvp.double(), R.dice_hvp(*args64, x64["v"], 0.97, bl64), dtype)
    close(K.dice_grad(*args, 0.97, baseline=bl, backend="cpp").double(), R.dice_grad(*args64, 0.97, bl64), dtype)
    close(K.dice_objective(*args, 0.97, baseline=bl, backend="cpp").double(),
          R.dice_objective(*args64, 0.97, bl64), dtype)


def test_dice_hvp_equals_explicit_double_sum():
    """∇²J v = Σ_t c_t [(Σ_{t'≤t} g_t'·v)(Σ_{t'≤t} g_t') + Σ_{t'≤t} h_t' v], by per-step autograd (H² work)."""
    spec, x = make(CASES[1].values[0], torch.float64, seed=3)
    T, B, H = x["rew"].shape
    gamma = 0.9
    hvp = K.dice_hvp(spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"], x["v"], gamma)
    for t_idx in range(T):
        theta = x["params"][t_idx] if x["params"].dim() == 2 else x["params"]
        v = x["v"][t_idx] if x["v"].dim() == 2 else x["v"]
        expected = torch.zeros_like(theta)
        for b in range(B):
            o = x["obs"][t_idx, b].unsqueeze(0)
            a = x["act"][t_idx, b].unsqueeze(0)
            lp = lambda th: R.log_prob(spec, th, o, a)[0]  # noqa: E731  [H]
            G = torch.autograd.functional.jacobian(lp, theta)  # [H, P]
            for t in range(H):
                if x["mask"][t_idx, b, t] == 0:
                    continue
                c = gamma**t * x["rew"][t_idx, b, t]
                gsum = G[: t + 1].sum(0)
                hsum_v = torch.autograd.functional.hvp(lambda th: lp(th)[: t + 1].sum(), theta, v)[1]
                expected += c * ((gsum @ v) * gsum + hsum_v)
        assert torch.allclose(hvp[t_idx], expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_likelihood_ratio_kernels_match_autograd_away_from_sampling_policy(case, dtype):
    spec, x = make(case, dtype, seed=1)
    args = (spec, x["params"], x["obs"], x["act"], x["old_lp"], x["adv"])
    x64 = {k: t.double() for k, t in x.items()}
    args64 = (spec, x64["params"], x64["obs"], x64["act"], x64["old_lp"], x64["adv"])
    close(K.lr_objective(*args, mask=x["mask"], backend="cpp").double(), R.lr_objective(*args64, x64["mask"]), dtype)
    close(K.lr_grad(*args, mask=x["mask"], backend="cpp").double(), R.lr_grad(*args64, x64["mask"]), dtype)
    close(K.lr_hvp(*args, x["v"], mask=x["mask"], backend="cpp").double(), R.lr_hvp(*args64, x64["v"], x64["mask"]),
          dtype)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ppo_clip_kernels_match_autograd(case, dtype):
    spec, x = make(case, dtype, seed=2)
    # a sampling policy far enough away that many ratios are clipped
    T, B, H = x["rew"].shape
    old = x["old_lp"] + 0.3 * torch.randn(x["old_lp"].shape, generator=torch.Generator().manual_seed(5)).to(dtype)
    args = (spec, x["params"], x["obs"], x["act"], old, x["adv"], 0.2)
    x64 = {k: t.double() for k, t in x.items()}
    args64 = (spec, x64["params"], x64["obs"], x64["act"], old.double(), x64["adv"], 0.2)
    close(K.ppo_clip_objective(*args, mask=x["mask"], backend="cpp").double(),
          R.ppo_clip_objective(*args64, x64["mask"]), dtype)
    close(K.ppo_clip_grad(*args, mask=x["mask"], backend="cpp").double(), R.ppo_clip_grad(*args64, x64["mask"]), dtype)


def test_ppo_clip_actually_clips():
    spec, x = make(CASES[3].values[0], torch.float64, seed=4, full_length=True)
    old = x["old_lp"] + 0.5 * torch.randn(x["old_lp"].shape, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    args = (spec, x["params"], x["obs"], x["act"], old, x["adv"])
    ratio = torch.exp(R.log_prob(spec, x["params"], x["obs"].flatten(1, 2), x["act"].flatten(1, 2)) - old.flatten(1))
    assert float(((ratio < 0.8) | (ratio > 1.2)).double().mean()) > 0.2
    clipped = K.ppo_clip_grad(*args, 0.2)
    unclipped = K.lr_grad(*args)
    assert float((clipped - unclipped).abs().max()) > 1e-3 * float(unclipped.abs().max())


def test_at_sampling_policy_all_gradients_coincide_and_lr_hessian_is_lvc():
    spec, x = make(CASES[3].values[0], torch.float64, seed=7)
    T, B, H = x["rew"].shape
    gamma = 0.95
    obs, act = x["obs"].flatten(1, 2), x["act"].flatten(1, 2)
    old = K.log_prob(spec, x["params"], obs, act)
    Rt = K.discounted_returns(x["rew"], x["mask"], gamma, from_start=True).flatten(1)
    lr = K.lr_grad(spec, x["params"], obs, act, old, Rt, mask=x["mask"].flatten(1))
    dice = K.dice_grad(spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"], gamma)
    naive = K.score_vjp(spec, x["params"], obs, act, Rt)
    for g in (dice, naive):
        assert torch.allclose(g, lr, rtol=1e-10, atol=1e-10)
    lvc = K.surrogate_hvp(spec, x["params"], obs, act, Rt, x["v"], "lvc")
    assert torch.allclose(K.lr_hvp(spec, x["params"], obs, act, old, Rt, x["v"]), lvc, rtol=1e-10, atol=1e-10)


def test_lr_hvp_matches_finite_differences_of_lr_grad():
    spec, x = make(CASES[1].values[0], torch.float64, seed=8)
    args = (spec, x["params"], x["obs"], x["act"], x["old_lp"], x["adv"])
    eps = 1e-6
    plus = K.lr_grad(spec, x["params"] + eps * x["v"], *args[2:], mask=x["mask"])
    minus = K.lr_grad(spec, x["params"] - eps * x["v"], *args[2:], mask=x["mask"])
    fd = (plus - minus) / (2 * eps)
    hvp = K.lr_hvp(*args, x["v"], mask=x["mask"])
    assert torch.allclose(hvp, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_emaml_credit_and_term(dtype):
    spec, x = make(CASES[2].values[0], dtype, seed=9)
    credit = K.emaml_credit(x["rew"], x["mask"], backend="cpp")
    r = x["rew"].double().numpy()
    m = x["mask"].double().numpy().astype(bool)
    valid = r[m]
    adj = (r - valid.mean()) / (valid.std() + 1e-8)
    expected = np.array([adj[t][m[t]].mean() for t in range(r.shape[0])])
    np.testing.assert_allclose(credit.double().numpy(), expected, rtol=1e-5 if dtype == torch.float32 else 1e-12)
    args = (spec, x["params"], x["obs"], x["act"], x["mask"], credit)
    args64 = (spec, x["params"].double(), x["obs"].double(), x["act"].double(), x["mask"].double(), credit.double())
    close(K.emaml_objective(*args, backend="cpp").double(), R.emaml_objective(*args64), dtype)
    close(K.emaml_grad(*args, backend="cpp").double(), R.emaml_grad(*args64), dtype)


def test_estimators_are_thread_count_invariant():
    spec, x = make(CASES[3].values[0], torch.float32, seed=10)
    args = (spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"], x["v"], 0.99)
    before = metarl_fast.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            metarl_fast.set_num_threads(n)
            results.append((K.dice_hvp(*args), K.lr_hvp(spec, x["params"], x["obs"], x["act"], x["old_lp"], x["adv"],
                                                         x["v"], mask=x["mask"])))
    finally:
        metarl_fast.set_num_threads(before)
    for r in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(r, results[0]))


def test_auto_backend_differentiates_objectives():
    spec, x = make(CASES[1].values[0], torch.float64, seed=11)  # per-task params [T, P]
    theta = x["params"].clone().requires_grad_(True)
    val = K.lr_objective(spec, theta, x["obs"], x["act"], x["old_lp"], x["adv"], mask=x["mask"]).sum()
    (g,) = torch.autograd.grad(val, theta)
    expected = K.lr_grad(spec, x["params"], x["obs"], x["act"], x["old_lp"], x["adv"], mask=x["mask"])
    assert torch.allclose(g, expected, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="backend='cpp' has no derivative with respect to params"):
        K.lr_objective(spec, theta, x["obs"], x["act"], x["old_lp"], x["adv"], mask=x["mask"], backend="cpp")


# ---- bad input -----------------------------------------------------------------------------------

def _dice_args():
    spec, x = make(CASES[1].values[0], torch.float64)
    return spec, x


def test_dice_rejects_non_prefix_mask():
    spec, x = _dice_args()
    mask = x["mask"].clone()
    mask[0, 0, :] = 1
    mask[0, 0, 2] = 0
    with pytest.raises(ValueError, match="mask.*prefix"):
        K.dice_hvp(spec, x["params"], x["obs"], x["act"], x["rew"], mask, x["v"], 0.9)


def test_dice_rejects_non_binary_mask_and_bad_shapes():
    spec, x = _dice_args()
    with pytest.raises(ValueError, match="mask.*0/1"):
        K.dice_grad(spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"] * 0.5, 0.9)
    with pytest.raises(ValueError, match="rewards"):
        K.dice_grad(spec, x["params"], x["obs"], x["act"], x["rew"][:, :, :-1], x["mask"], 0.9)
    with pytest.raises(ValueError, match="baseline.*time-only"):
        K.dice_grad(spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"], 0.9, baseline=x["rew"])
    with pytest.raises(ValueError, match="gamma"):
        K.dice_grad(spec, x["params"], x["obs"], x["act"], x["rew"], x["mask"], 1.5)
    with pytest.raises(ValueError, match="obs"):
        K.dice_grad(spec, x["params"], x["obs"].flatten(1, 2), x["act"], x["rew"], x["mask"], 0.9)


def test_ratio_estimators_reject_bad_input():
    spec, x = _dice_args()
    args = (spec, x["params"], x["obs"], x["act"])
    with pytest.raises(ValueError, match="advantages"):
        K.lr_grad(*args, x["old_lp"], x["adv"][:, :1])
    with pytest.raises(ValueError, match="old_log_prob.*NaN"):
        K.lr_grad(*args, x["old_lp"] * float("nan"), x["adv"])
    with pytest.raises(ValueError, match="clip_eps"):
        K.ppo_clip_grad(*args, x["old_lp"], x["adv"], 1.5)
    with pytest.raises(TypeError, match="dtype"):
        K.lr_grad(*args, x["old_lp"].float(), x["adv"])
    with pytest.raises(ValueError, match="credit"):
        K.emaml_grad(*args, x["mask"], torch.zeros(7, dtype=torch.float64))


def test_sample_tensors_accept_flat_or_trajectory_layout():
    spec, x = make(CASES[1].values[0], torch.float64, seed=12)
    T = x["rew"].shape[0]
    a = K.lr_grad(spec, x["params"], x["obs"], x["act"], x["old_lp"], x["adv"], mask=x["mask"])
    b = K.lr_grad(spec, x["params"], x["obs"], x["act"], x["old_lp"].reshape(T, -1), x["adv"].reshape(T, -1),
                  mask=x["mask"].reshape(T, -1))
    c = K.lr_grad(spec, x["params"], x["obs"].flatten(1, 2), x["act"].flatten(1, 2), x["old_lp"].reshape(T, -1),
                  x["adv"].reshape(T, -1), mask=x["mask"].reshape(T, -1))
    assert torch.equal(a, b) and torch.equal(a, c)

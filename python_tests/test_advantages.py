"""Advantage kernels against closed forms and numpy: returns, GAE, per-task normalisation, and the
linear feature / time baselines against numpy.linalg.lstsq of the same ridge system."""
import numpy as np
import pytest
import torch

from metarl_fast import kernels as K

BACKENDS = ["cpp", "torch"]


def traj_batch(T=3, B=4, H=9, D=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, H + 1, (T, B), generator=g)
    lengths[0, 0] = H
    mask = (torch.arange(H) < lengths.unsqueeze(-1)).to(dtype)
    rew = (torch.randn(T, B, H, generator=g, dtype=torch.float64) * mask).to(dtype)
    values = torch.randn(T, B, H, generator=g, dtype=torch.float64).to(dtype)
    obs = (3 * torch.randn(T, B, H, D, generator=g, dtype=torch.float64)).to(dtype)  # some beyond the ±10 clip
    obs[0, 0, 0, 0] = 25.0
    return rew, values, obs, mask


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("from_start", [False, True])
def test_discounted_returns_closed_form(backend, from_start):
    rew, _, _, mask = traj_batch()
    gamma = 0.9
    out = K.discounted_returns(rew, mask, gamma, from_start, backend=backend).numpy()
    r, m = rew.numpy(), mask.numpy()
    T, B, H = r.shape
    for t in range(T):
        for b in range(B):
            L = int(m[t, b].sum())
            for h in range(H):
                expected = sum(gamma ** (k - h) * r[t, b, k] for k in range(h, L)) if h < L else 0.0
                if from_start:
                    expected *= gamma**h
                assert out[t, b, h] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_closed_form(backend, lam):
    rew, values, _, mask = traj_batch(seed=1)
    gamma = 0.99
    out = K.gae(rew, values, mask, gamma, lam, backend=backend).numpy()
    r, v, m = rew.numpy(), values.numpy(), mask.numpy()
    T, B, H = r.shape
    for t in range(T):
        for b in range(B):
            L = int(m[t, b].sum())
            vv = np.append(v[t, b, :L], 0.0)  # no bootstrap after the last valid step
            delta = r[t, b, :L] + gamma * vv[1:] - vv[:-1]
            for h in range(H):
                expected = sum((gamma * lam) ** (k - h) * delta[k] for k in range(h, L)) if h < L else 0.0
                assert out[t, b, h] == pytest.approx(expected, abs=1e-12)
    if lam == 1.0:  # GAE(λ=1) = reward-to-go − V
        ret = K.discounted_returns(rew, mask, gamma).numpy()
        np.testing.assert_allclose(out, (ret - v) * m, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_normalize_per_task(backend):
    rew, _, _, mask = traj_batch(seed=2)
    out = K.normalize_per_task(rew * 3 + 1, mask, backend=backend).numpy()
    m = mask.numpy().astype(bool)
    for t in range(out.shape[0]):
        x = (rew[t].numpy() * 3 + 1)[m[t]]
        np.testing.assert_allclose(out[t][m[t]], (x - x.mean()) / (x.std() + 1e-8), atol=1e-12)
        assert np.all(out[t][~m[t]] == 0)
    flat = K.normalize_per_task(rew.flatten(1), mask.flatten(1), backend=backend)
    np.testing.assert_allclose(flat.numpy(), out.reshape(out.shape[0], -1), atol=1e-12)


def numpy_ridge_fit(F, y, ridge=1e-5):
    """The papers' code: lstsq on the ridge normal equations."""
    return np.linalg.lstsq(F.T @ F + ridge * np.eye(F.shape[1]), F.T @ y, rcond=-1)[0]


def numpy_features(o, H_idx):
    o = np.clip(o, -10, 10)
    t = H_idx.reshape(-1, 1) / 100.0
    return np.concatenate([o, o**2, t, t**2, t**3, np.ones_like(t)], axis=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_feature_baseline_matches_lstsq(backend):
    rew, _, obs, mask = traj_batch(T=3, B=6, H=30, D=4, seed=3)
    returns = K.discounted_returns(rew, mask, 0.99)
    out = K.linear_feature_baseline(obs, returns, mask, backend=backend).numpy()
    T, B, H, D = obs.shape
    for t in range(T):
        m = mask[t].numpy().astype(bool)
        hidx = np.broadcast_to(np.arange(H), (B, H))
        F = numpy_features(obs[t].numpy()[m], hidx[m])
        c = numpy_ridge_fit(F, returns[t].numpy()[m])
        np.testing.assert_allclose(out[t][m], F @ c, rtol=1e-7, atol=1e-7)
        assert np.all(out[t][~m] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_feature_baseline_with_degenerate_features(backend):
    """Constant observations make FᵀF singular; the ridge keeps the solve well defined."""
    rew, _, obs, mask = traj_batch(T=2, B=3, H=12, D=3, seed=4)
    obs = torch.zeros_like(obs)
    out = K.linear_feature_baseline(obs, rew, mask, backend=backend).numpy()
    for t in range(2):
        m = mask[t].numpy().astype(bool)
        F = numpy_features(np.zeros((int(m.sum()), 3)), np.broadcast_to(np.arange(12), (3, 12))[m])
        np.testing.assert_allclose(out[t][m], F @ numpy_ridge_fit(F, rew[t].numpy()[m]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_time_baseline_matches_lstsq(backend):
    rew, _, _, mask = traj_batch(T=2, B=5, H=40, seed=5)
    out = K.linear_time_baseline(rew, mask, backend=backend).numpy()
    assert out.shape == (2, 40)
    for t in range(2):
        m = mask[t].numpy().astype(bool)
        hidx = np.broadcast_to(np.arange(40), (5, 40))[m].reshape(-1, 1) / 100.0
        F = np.concatenate([hidx, hidx**2, hidx**3, np.ones_like(hidx)], axis=1)
        c = numpy_ridge_fit(F, rew[t].numpy()[m])
        t_all = np.arange(40).reshape(-1, 1) / 100.0
        F_all = np.concatenate([t_all, t_all**2, t_all**3, np.ones_like(t_all)], axis=1)
        np.testing.assert_allclose(out[t], F_all @ c, rtol=1e-7, atol=1e-7)


def test_float32_matches_float64():
    rew, values, obs, mask = traj_batch(T=4, B=5, H=50, D=6, seed=6)
    r32, v32, o32, m32 = (x.float() for x in (rew, values, obs, mask))
    pairs = [
        (K.gae(r32, v32, m32, 0.99, 0.97), K.gae(rew, values, mask, 0.99, 0.97)),
        (K.discounted_returns(r32, m32, 0.99, True), K.discounted_returns(rew, mask, 0.99, True)),
        (K.linear_feature_baseline(o32, r32, m32), K.linear_feature_baseline(obs, rew, mask)),
        (K.normalize_per_task(r32, m32), K.normalize_per_task(rew, mask)),
    ]
    for a, b in pairs:
        assert a.dtype == torch.float32
        np.testing.assert_allclose(a.double().numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_bool_mask_is_accepted():
    rew, values, _, mask = traj_batch(seed=7)
    assert torch.equal(K.gae(rew, values, mask.bool(), 0.9, 1.0), K.gae(rew, values, mask, 0.9, 1.0))


def test_advantages_reject_bad_input():
    rew, values, obs, mask = traj_batch(seed=8)
    bad = mask.clone()
    bad[0, 0, 0] = 0  # trajectory 0 of group 0 has length H: now a hole at its start
    with pytest.raises(ValueError, match="prefix"):
        K.gae(rew, values, bad, 0.99, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        K.discounted_returns(rew, mask, -0.1)
    with pytest.raises(ValueError, match="lam"):
        K.gae(rew, values, mask, 0.9, 2.0)
    with pytest.raises(ValueError, match="values"):
        K.gae(rew, values[:, :, :-1], mask, 0.9, 1.0)
    with pytest.raises(ValueError, match="obs"):
        K.linear_feature_baseline(obs[:, :2], rew, mask)
    with pytest.raises(ValueError, match="rewards.*NaN"):
        K.discounted_returns(rew * float("nan"), mask, 0.9)
    with pytest.raises(ValueError, match="rewards.*\\[T, B, H\\]"):
        K.discounted_returns(rew.flatten(1), mask.flatten(1), 0.9)
    strided = torch.cat([rew, rew], -1)[..., : rew.shape[-1]]  # a view: accepted, same result
    assert torch.equal(K.gae(strided, values, mask, 0.9, 1.0, backend="cpp"), K.gae(rew, values, mask, 0.9, 1.0))

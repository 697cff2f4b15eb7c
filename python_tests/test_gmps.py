"""GMPS's meta-gradient (explicit, compiled kernels) against autograd through the unrolled
importance-weighted inner step, written here from scratch in float64 (the policy with the bias
transformation concatenated to the observation, as Finn et al. define it)."""
import math

import pytest
import torch

from metarl_fast.algos import MetaObjective, StepData
from metarl_fast.algos.gmps.objectives import BehaviourCloning, BiasTransform, ImportanceWeightedPG, ReparamObjective
from metarl_fast.experts import ExpertData
from metarl_fast.policies import PolicySpec

T, B, H, OBS, ACT = 2, 3, 5, 3, 2
DT = torch.float64


def _mlp(spec, std_params, obs, bt=None):
    """μ(s) [T, N, act] from per-task standard params [T, P]; with bt = (W_z [T, h1, k], z [T, k]) the
    bias-transformation vector is concatenated to every observation."""
    blocks = spec.unflatten(std_params)
    h = obs
    for layer in range(spec.num_layers):
        w, b = blocks[f"W{layer}"], blocks[f"b{layer}"]
        if layer == 0 and bt is not None:
            w_z, z = bt
            h = torch.cat([h, z.unsqueeze(1).expand(-1, h.shape[1], -1)], -1)
            w = torch.cat([w, w_z], -1)
        h = torch.einsum("tni,toi->tno", h, w) + b.unsqueeze(1)
        if layer < spec.num_layers - 1:
            h = torch.tanh(h)
    return h


def _log_prob(mean, log_std, act):
    z = (act - mean) / torch.exp(log_std).unsqueeze(1)
    return -0.5 * (z * z).sum(-1) - log_std.sum(-1, keepdim=True) - 0.5 * act.shape[-1] * math.log(2 * math.pi)


def _problem(seed=0, bias_dim=0):
    g = torch.Generator().manual_seed(seed)
    spec = PolicySpec(OBS, ACT, (5, 4))
    reparam = BiasTransform(spec, bias_dim) if bias_dim else None
    P = reparam.num_params if reparam else spec.num_params
    theta_init = (reparam.init_params(1.0, g, DT) if reparam else spec.init_params(1.0, g, DT))
    theta_init = theta_init + 0.1 * torch.randn(P, generator=g, dtype=DT)
    theta = theta_init + 0.05 * torch.randn(P, generator=g, dtype=DT)  # θ has moved away from θ_init
    lengths = torch.tensor([[5, 3, 4], [2, 5, 5]])
    mask = (torch.arange(H) < lengths.unsqueeze(-1)).to(DT)
    obs = torch.randn(T, B, H, OBS, generator=g, dtype=DT) * mask.unsqueeze(-1)
    act = torch.randn(T, B, H, ACT, generator=g, dtype=DT) * mask.unsqueeze(-1)
    std_init = (reparam.to_std(theta_init) if reparam else theta_init).expand(T, -1)
    mean = _mlp(spec, std_init, obs.reshape(T, B * H, OBS))
    lp_init = _log_prob(mean, spec.unflatten(std_init)["log_std"], act.reshape(T, B * H, ACT)).reshape(T, B, H) * mask
    adv = torch.randn(T, B, H, generator=g, dtype=DT) * mask
    data = StepData(obs=obs, act=act, mask=mask, rewards=torch.zeros_like(mask), log_prob=lp_init, advantages=adv)
    N = 7
    e_mask = torch.ones(T, N, dtype=DT)
    e_mask[1, 5:] = 0
    expert = ExpertData(torch.randn(T, N, OBS, generator=g, dtype=DT), torch.randn(T, N, ACT, generator=g, dtype=DT),
                        e_mask)
    alpha = 0.1 + 0.2 * torch.rand(P, generator=g, dtype=DT)
    return spec, reparam, theta, data, expert, alpha


def _autograd_truth(spec, reparam, theta, data, expert, alpha, adapt_mask, ratio, loss, clip=0.0):
    """(∇θ J, ∇α J) by autograd through φ = θ + (α ⊙ m) ⊙ ∇J_in(θ), everything written out here."""
    th = theta.detach().clone().requires_grad_(True)
    al = alpha.detach().clone().requires_grad_(True)
    rows = th.expand(T, -1)

    def policy(params, obs):
        if reparam is None:
            return _mlp(spec, params, obs), spec.unflatten(params)["log_std"]
        p_std = spec.num_params
        w = params[:, p_std:p_std + 5 * reparam.dim].reshape(T, 5, reparam.dim)
        z = params[:, p_std + 5 * reparam.dim:]
        std = params[:, :p_std]
        return _mlp(spec, std, obs, (w, z)), spec.unflatten(std)["log_std"]

    obs, act = data.obs.reshape(T, B * H, OBS), data.act.reshape(T, B * H, ACT)
    m = data.mask.reshape(T, B * H)
    count = m.sum(-1, keepdim=True)
    mean, log_std = policy(rows, obs)
    lp = _log_prob(mean, log_std, act)
    log_ratio = (lp - data.log_prob.reshape(T, B * H)) * m
    adv = data.advantages.reshape(T, B * H)
    if ratio == "full":
        j_in = (torch.exp(log_ratio) * adv * m / count).sum()
    else:
        if ratio == "trajectory":
            log_ratio = log_ratio.reshape(T, B, H).sum(-1, keepdim=True).expand(T, B, H).reshape(T, B * H)
        if clip:
            log_ratio = log_ratio.clamp(-math.log(clip), math.log(clip))
        j_in = (torch.exp(log_ratio).detach() * lp * adv * m / count).sum()
    (g_in,) = torch.autograd.grad(j_in, rows, create_graph=True)
    phi = rows + al * adapt_mask * g_in
    mean_e, log_std_e = policy(phi, expert.obs)
    w = expert.mask / expert.mask.sum(-1, keepdim=True)
    if loss == "nll":
        j = (w * _log_prob(mean_e, log_std_e, expert.act)).sum(-1)
    else:
        j = -(w * ((mean_e - expert.act) ** 2).mean(-1)).sum(-1)
    return torch.autograd.grad(j.mean(), (th, al))


def _explicit(spec, reparam, theta, data, expert, alpha, adapt_mask, ratio, loss):
    inner = ImportanceWeightedPG(spec, data, ratio)
    outer = BehaviourCloning(spec, expert, loss)
    if reparam is not None:
        inner, outer = ReparamObjective(inner, reparam), ReparamObjective(outer, reparam)
    meta = MetaObjective(spec, [inner], outer, alpha * adapt_mask)
    g, g_alpha = meta.gradient(theta, with_alpha=True)
    return g, g_alpha * adapt_mask


@pytest.mark.parametrize("ratio", ["step", "trajectory", "full"])
@pytest.mark.parametrize("loss", ["nll", "mse"])
@pytest.mark.parametrize("bias_dim", [0, 3])
def test_meta_gradient_equals_autograd(ratio, loss, bias_dim):
    spec, reparam, theta, data, expert, alpha = _problem(1, bias_dim)
    ones = torch.ones_like(theta)
    truth = _autograd_truth(spec, reparam, theta, data, expert, alpha, ones, ratio, loss)
    ours = _explicit(spec, reparam, theta, data, expert, alpha, ones, ratio, loss)
    for a, b in zip(ours, truth):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-11), (a - b).abs().max()
    # the second-order term matters: the first-order gradient (∇J_bc at φ) is far off
    inner, outer = ImportanceWeightedPG(spec, data, ratio), BehaviourCloning(spec, expert, loss)
    if reparam is not None:
        inner, outer = ReparamObjective(inner, reparam), ReparamObjective(outer, reparam)
    first = MetaObjective(spec, [inner], outer, alpha, first_order=True).gradient(theta)
    assert (first - truth[0]).abs().max() > 1e-3 * truth[0].abs().max()


@pytest.mark.parametrize("bias_dim,adapt", [(0, ["W2", "b2", "log_std"]), (3, ["bt"]), (3, ["W0", "bt", "W_bt"])])
def test_subset_adaptation_and_learned_step_sizes(bias_dim, adapt):
    spec, reparam, theta, data, expert, alpha = _problem(2, bias_dim)
    slices = reparam.block_slices() if reparam else {b.name: slice(b.offset, b.offset + b.size) for b in spec.layout}
    mask = torch.zeros_like(theta)
    for name in adapt:
        mask[slices[name]] = 1.0
    truth = _autograd_truth(spec, reparam, theta, data, expert, alpha, mask, "step", "mse")
    ours = _explicit(spec, reparam, theta, data, expert, alpha, mask, "step", "mse")
    for a, b in zip(ours, truth):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-11)
    assert ours[1][mask == 0].abs().max() == 0 and ours[1][mask == 1].abs().max() > 0


def test_at_theta_init_weights_are_one_and_step_is_plain_policy_gradient():
    spec, _, theta, data, _, _ = _problem(3)
    rows = theta.expand(T, -1).contiguous()
    m = data.mask.reshape(T, B * H)
    lp = _log_prob(_mlp(spec, rows, data.obs.reshape(T, B * H, OBS)), spec.unflatten(rows)["log_std"],
                   data.act.reshape(T, B * H, ACT)).reshape(T, B, H) * data.mask
    data.log_prob = lp.detach()  # the batch was sampled by π_θ itself
    for ratio in ("step", "trajectory", "full"):
        inner = ImportanceWeightedPG(spec, data, ratio)
        if ratio != "full":
            assert torch.allclose(inner.weights(rows), data.adv_weights, atol=1e-13)
        leaf = rows.detach().clone().requires_grad_(True)
        lp_leaf = _log_prob(_mlp(spec, leaf, data.obs.reshape(T, B * H, OBS)), spec.unflatten(leaf)["log_std"],
                            data.act.reshape(T, B * H, ACT))
        vpg = (lp_leaf * data.advantages.reshape(T, B * H) * m / m.sum(-1, keepdim=True)).sum()
        (expected,) = torch.autograd.grad(vpg, leaf)
        assert torch.allclose(inner.grad(rows), expected, atol=1e-12)


def test_clipped_ratios():
    """clip c: ρ ∈ [1/c, c] (the code's clip0.5_2.0 is c = 2), with the same stop-gradient derivatives."""
    spec, _, theta, data, expert, alpha = _problem(6)
    noise = torch.randn(theta.shape, generator=torch.Generator().manual_seed(1), dtype=DT)
    far = (theta + 0.5 * noise).expand(T, -1).contiguous()
    nz = data.adv_weights != 0
    plain = ImportanceWeightedPG(spec, data, "step").weights(far)[nz] / data.adv_weights[nz]
    clipped = ImportanceWeightedPG(spec, data, "step", clip=2.0)
    ratio = clipped.weights(far)[nz] / data.adv_weights[nz]
    assert ratio.min() >= 0.5 - 1e-12 and ratio.max() <= 2 + 1e-12
    assert plain.max() > 2 and plain.min() < 0.5  # clipping was active on both sides
    truth = _autograd_truth(spec, None, far[0], data, expert, alpha, torch.ones_like(theta), "step", "nll", clip=2.0)
    assert torch.allclose(MetaObjective(spec, [clipped], BehaviourCloning(spec, expert), alpha).gradient(far[0]),
                          truth[0], rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match="stop-gradient ratio"):
        ImportanceWeightedPG(spec, data, "full", clip=2.0)
    import dataclasses

    unlikely = dataclasses.replace(data, log_prob=data.log_prob - 400.0)  # π_θinit(a|s) ≈ e^-400 π_θ(a|s)
    with pytest.raises(FloatingPointError, match="gmps.ratio_clip"):  # overflowing ratios: a clear error
        ImportanceWeightedPG(spec, unlikely, "trajectory").weights(far)
    assert torch.isfinite(ImportanceWeightedPG(spec, unlikely, "trajectory", clip=2.0).weights(far)).all()


def test_bias_transform_reparametrisation_matches_concatenation():
    spec = PolicySpec(OBS, ACT, (5, 4))
    bt = BiasTransform(spec, 4)
    g = torch.Generator().manual_seed(4)
    theta = bt.init_params(1.0, g, DT).expand(T, -1).contiguous() + 0.1 * torch.randn(T, bt.num_params, generator=g,
                                                                                        dtype=DT)
    assert torch.all(bt.init_params(1.0, None, DT)[-4:] == 1.0)  # z starts at ones (the code)
    obs = torch.randn(T, 6, OBS, generator=g, dtype=DT)
    w = theta[:, spec.num_params:spec.num_params + 20].reshape(T, 5, 4)
    z = theta[:, spec.num_params + 20:]
    ours = _mlp(spec, bt.to_std(theta), obs)
    truth = _mlp(spec, theta[:, :spec.num_params], obs, (w, z))
    assert torch.allclose(ours, truth, atol=1e-13)
    with pytest.raises(ValueError, match="positive int"):
        BiasTransform(spec, 0)


def test_bad_options_are_rejected():
    spec, _, _, data, expert, _ = _problem(5)
    with pytest.raises(ValueError, match="ratio must be one of"):
        ImportanceWeightedPG(spec, data, "episode")
    with pytest.raises(ValueError, match="loss must be one of"):
        BehaviourCloning(spec, expert, "l1")
    assert not hasattr(BehaviourCloning(spec, expert), "hvp")  # an outer objective


def test_reused_ratios_follow_in_place_changes():
    """The ratios computed for the gradient are reused for the HVP at the same θ, never after θ changed."""
    spec, _, theta, data, _, _ = _problem(7)
    inner = ImportanceWeightedPG(spec, data, "step")
    rows = theta.expand(T, -1).contiguous()
    first = inner.weights(rows)
    assert inner.weights(rows) is first  # same tensor, unchanged: reused
    rows.add_(0.05)
    fresh = ImportanceWeightedPG(spec, data, "step").weights(rows)
    assert torch.equal(inner.weights(rows), fresh) and not torch.equal(fresh, first)


def test_a_collapsed_standard_deviation_is_named_not_propagated():
    """With the NLL loss, a policy whose std collapsed onto the expert actions has an infinite BC
    gradient: GMPS stops with an error naming the way out, not a NaN deep in the meta-gradient."""
    spec, _, theta, _, expert, _ = _problem()
    collapsed = theta.clone()
    collapsed[..., spec.layout[-1].offset:] = -400.0  # σ = e^-400 (float64: 1/σ² overflows)
    with pytest.raises(FloatingPointError, match="ratio_clip=2.*bc_loss=mse"):
        BehaviourCloning(spec, expert, "nll").grad(collapsed)
    assert torch.isfinite(BehaviourCloning(spec, expert, "mse").grad(collapsed)).all()

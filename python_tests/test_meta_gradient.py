"""The explicit meta-gradient (compiled kernels, one HVP per task per inner step) equals autograd
through the unrolled inner updates (the pure-torch reference), in float64, for every variant of
the MAML family with one and two inner steps, with ProMP's KL penalties and E-MAML's term; the
adapted parameters are reused exactly; the TRPO Fisher through the adaptation equals the Hessian
of the post-update KL by double backward."""
from types import SimpleNamespace

import pytest
import torch

import metarl_fast
from metarl_fast import reference as R
from metarl_fast.algos import Adaptation, MetaObjective, StepData
from metarl_fast.algos.maml import INNER_SURROGATES, VARIANTS, Dice, Lvc, ScoreFunction
from metarl_fast.algos.objectives import mean_kl

T, B, H = 3, 4, 9


def make_step(spec, sampling_params, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, H + 1, (T, B), generator=g)
    mask = (torch.arange(H) < lengths.unsqueeze(-1)).to(dtype)
    obs = torch.randn(T, B, H, spec.obs_dim, generator=g, dtype=dtype) * mask.unsqueeze(-1)
    act = torch.randn(T, B, H, spec.act_dim, generator=g, dtype=dtype) * mask.unsqueeze(-1)
    flat_obs, flat_act = obs.reshape(T, B * H, -1), act.reshape(T, B * H, -1)
    log_prob = R.log_prob(spec, sampling_params, flat_obs, flat_act).reshape(T, B, H).detach()
    old_mean = R.policy_mean(spec, sampling_params, flat_obs).reshape(T, B, H, -1).detach()
    return StepData(
        obs=obs, act=act, mask=mask,
        rewards=torch.randn(T, B, H, generator=g, dtype=dtype) * mask,
        log_prob=log_prob,
        advantages=torch.randn(T, B, H, generator=g, dtype=dtype) * mask,
        old_mean=old_mean,
        old_log_std=spec.unflatten(sampling_params)["log_std"].detach().contiguous(),
        dice_baseline=torch.randn(T, H, generator=g, dtype=dtype),
        gamma=0.95,
    )


def build(variant, steps, seed=0, kl=False, alpha=0.3):
    spec = metarl_fast.PolicySpec(5, 2, (8, 8))
    g = torch.Generator().manual_seed(seed)
    theta = spec.init_params(seed=g, dtype=torch.float64)
    theta[spec.layout[-1].offset:] = 0.2 * torch.randn(spec.act_dim, generator=g, dtype=torch.float64)
    sampling = theta + 0.05 * torch.randn(T, spec.num_params, generator=g, dtype=torch.float64)
    v = VARIANTS[variant]
    inner = [v.inner(spec, make_step(spec, sampling, seed + 10 + k)) for k in range(steps)]
    outer = v.outer.build(spec, make_step(spec, sampling + 0.02, seed + 99), SimpleNamespace(clip_eps=0.2))
    credit = torch.randn(T, generator=g, dtype=torch.float64) if v.emaml else None
    kl_coeffs = [0.7 + 0.1 * k for k in range(steps)] if kl else []
    # evaluate away from the sampling policy, so ratios differ from 1 and clipping is active
    theta_eval = theta + 0.03 * torch.randn(spec.num_params, generator=g, dtype=torch.float64)
    return MetaObjective(spec, inner, outer, alpha, kl_coeffs, credit), theta_eval


# every variant of the MAML family (GMPS's objectives have their own test: test_gmps.py)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("steps", [1, 2])
def test_explicit_meta_gradient_equals_autograd_through_the_unrolled_update(variant, steps):
    meta, theta = build(variant, steps, kl=VARIANTS[variant].optimizer.kl_penalty)
    explicit = meta.gradient(theta)
    ref = meta.reference_gradient(theta)
    assert explicit.shape == theta.shape
    assert torch.allclose(explicit, ref, rtol=1e-9, atol=1e-11), (explicit - ref).abs().max()
    assert float(ref.abs().max()) > 1e-3  # not a vacuous comparison


@pytest.mark.parametrize("steps", [1, 2])
def test_kl_penalties_and_emaml_term_enter_the_gradient(steps):
    with_terms, theta = build("emaml-vpg", steps, kl=True)
    without = MetaObjective(with_terms.spec, with_terms.inner, with_terms.outer, with_terms.alpha)
    diff = with_terms.gradient(theta) - without.gradient(theta)
    ref_diff = with_terms.reference_gradient(theta) - without.reference_gradient(theta)
    assert float(diff.abs().max()) > 1e-3
    assert torch.allclose(diff, ref_diff, rtol=1e-8, atol=1e-11)


def test_inner_curvatures_give_different_meta_gradients():
    """The curvature choice matters (naive H₂ vs LVC H₁ + H₂ vs DiCE): same data, same outer objective."""
    grads = {}
    for inner in ("naive", "lvc", "dice"):
        meta, theta = build("vpg-maml", 1)
        meta.inner = [INNER_SURROGATES[inner](meta.spec, meta.inner[0].data)]
        grads[inner] = meta.gradient(theta)
    assert float((grads["naive"] - grads["lvc"]).abs().max()) > 1e-4
    assert float((grads["lvc"] - grads["dice"]).abs().max()) > 1e-4


@pytest.mark.parametrize("variant", ["lvc-vpg", "promp", "dice-vpg", "emaml-vpg"])
@pytest.mark.parametrize("steps", [1, 2])
def test_per_parameter_step_sizes_and_their_gradient(variant, steps):
    """The papers' code's trainable inner step size: one α per parameter; both ∇θ J and ∂J/∂α
    equal autograd through the unrolled update."""
    meta, theta = build(variant, steps, kl=VARIANTS[variant].optimizer.kl_penalty)
    P = theta.numel()
    meta.alpha = 0.1 + 0.4 * torch.rand(P, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g, ga = meta.gradient(theta, with_alpha=True)
    rg, rga = meta.reference_gradient(theta, with_alpha=True)
    assert ga.shape == (P,)
    assert torch.allclose(g, rg, rtol=1e-9, atol=1e-11)
    assert torch.allclose(ga, rga, rtol=1e-9, atol=1e-11) and float(rga.abs().max()) > 1e-4


def test_scalar_step_size_gradient():
    meta, theta = build("vpg-maml", 2)
    g, ga = meta.gradient(theta, with_alpha=True)
    rg, rga = meta.reference_gradient(theta, with_alpha=True)
    assert ga.dim() == 0 and torch.allclose(ga, rga, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("first_order", [False, True])
def test_sgmrl_explicit_gradient_equals_autograd(steps, first_order):
    """SG-MRL (formulation II, pathwise Jacobian): the backward recursion w ← J_tᵀ w + J̃·s_t equals
    autograd of the unrolled formulation-II objective (and its first-order version likewise)."""
    meta, theta = build("sgmrl", steps, alpha=0.05)  # sums over time: a smaller step keeps θ' moderate
    meta.sgmrl_credit = torch.tensor([1.5, -0.7, 2.2], dtype=torch.float64)
    meta.first_order = first_order
    for obj in meta.inner + [meta.outer]:
        obj.data.reduction = "trajectories"
    explicit, ref = meta.gradient(theta), meta.reference_gradient(theta)
    assert torch.allclose(explicit, ref, rtol=1e-9, atol=1e-11)
    without = MetaObjective(meta.spec, meta.inner, meta.outer, meta.alpha, first_order=first_order)
    assert float((explicit - without.gradient(theta)).abs().max()) > 1e-3


def test_sgmrl_paper_literal_differs_and_has_no_autograd_form():
    meta, theta = build("sgmrl", 1)
    meta.sgmrl_credit = torch.ones(T, dtype=torch.float64)
    pathwise = meta.gradient(theta)
    meta.jacobian = "paper_literal"
    assert float((meta.gradient(theta) - pathwise).abs().max()) > 1e-4
    with pytest.raises(ValueError, match="paper-literal"):
        meta.reference_gradient(theta)


def test_adapted_parameters_are_reused_and_recomputed_when_they_must_be():
    """The adaptation the sampler computed is what the meta-gradient uses at that θ (no inner
    gradient is recomputed, and the result is bit-identical to a fresh computation); another θ,
    another α or other inner surrogates recompute it."""
    meta, theta = build("lvc-vpg", 2)
    fresh = meta.gradient(theta)
    calls = []

    class Counting(Lvc):
        def grad(self, params, backend="auto"):
            calls.append(1)
            return super().grad(params, backend)

    counted = [Counting(meta.spec, o.data) for o in meta.inner]
    a = meta.adaptation(theta)  # as the sampler computes it while collecting
    again = MetaObjective(meta.spec, counted, meta.outer, meta.alpha,
                          adapted=Adaptation(theta.clone(), meta.alpha, a.thetas, a.grads))
    assert torch.equal(again.gradient(theta), fresh) and calls == []  # the given adaptation, reused
    assert again.fisher_operator(theta) is not None and again.trpo_loss(theta) and calls == []
    other = theta + 0.01
    again.gradient(other)
    assert len(calls) == 2 and torch.equal(again.gradient(other), meta.gradient(other)) and len(calls) == 2
    again.alpha = 0.25
    again.gradient(other)
    assert len(calls) == 4
    again.inner = [Counting(meta.spec, o.data) for o in meta.inner]
    again.gradient(other)
    assert len(calls) == 6


@pytest.mark.parametrize("inner", [ScoreFunction, Lvc, Dice])
@pytest.mark.parametrize("steps", [1, 2])
def test_trpo_fisher_through_the_adaptation_equals_the_kl_hessian(inner, steps):
    """MetaObjective.fisher_operator (the fused C++ operator for one score-function step, the
    kernel matvec otherwise) equals the Hessian of θ ↦ mean_i KL(π_θ'_i(θ0) ‖ π_θ'_i(θ)) at θ0 by
    double backward through the unrolled inner steps (exact there: the KL's gradient vanishes)."""
    meta, theta = build("vpg-maml", steps)
    meta.inner = [inner(meta.spec, o.data) for o in meta.inner]
    post = meta.outer.data
    spec = meta.spec
    adapted = meta.adapt(theta)[-1]
    post.old_mean = R.policy_mean(spec, adapted, post.flat(post.obs)).reshape(post.act.shape).detach()
    post.old_log_std = spec.unflatten(adapted)["log_std"].detach()

    def kl_through_adaptation(th):
        th = th.expand(meta.num_tasks, -1)
        for o in meta.inner:
            (g,) = torch.autograd.grad(o.value(th).sum(), th, create_graph=True)
            th = th + meta.alpha * g
        return R.gaussian_kl(spec, th, post.flat(post.obs), post.flat(post.old_mean), post.old_log_std,
                             post.mean_weights).mean()

    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    leaf = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(kl_through_adaptation(leaf), leaf, create_graph=True)
    (expected,) = torch.autograd.grad(g @ v, leaf)
    op = meta.fisher_operator(theta)
    assert isinstance(op, metarl_fast.kernels.MamlTrpoFvpOperator) == (steps == 1 and inner is not Dice)
    assert torch.allclose(op(v), expected, rtol=1e-8, atol=1e-12) and float(expected.abs().max()) > 1e-4
    meta.backend = "torch"  # the reference everywhere: the kernel matvec on the torch twins
    assert torch.allclose(meta.fisher_operator(theta)(v), expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_pre_update_kl_needs_only_the_first_k_minus_1_inner_steps(steps):
    """ProMP's pre-update KL reads θ^0 … θ^{K−1}: computed without the last inner step it is the same
    number as from the full adaptation, and equals the KLs computed by hand."""
    meta, theta = build("promp", steps, kl=True)
    fresh = meta.pre_update_kl(theta)  # no adaptation cached yet: the prefix path
    assert meta.adapted is None
    full = meta.adapt(theta)
    assert meta.pre_update_kl(theta) == fresh  # the cached full adaptation, bit for bit
    by_hand = torch.stack([mean_kl(meta.spec, full[k], o.data, "auto").mean() for k, o in enumerate(meta.inner)])
    assert fresh == float(by_hand.mean()) and fresh > 0

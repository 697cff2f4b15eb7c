"""The kernels under autograd and torch.compile: the compiled path's derivatives (registered custom
ops built from the kernels) pass gradcheck/gradgradcheck in float64 and equal the torch
reference's autograd; a hand-written MAML step through score_vjp has the exact meta-gradient; an
input whose derivative no compiled kernel provides is refused (cpp) or taken by the reference
(auto), and a derivative taken once more than provided raises — never a silently detached result;
a compiled function calling many kernels traces with fullgraph=True and returns the eager numbers."""
import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import metarl_fast
from metarl_fast import kernels as K
from metarl_fast import reference as R
from metarl_fast.reference.policy import NoDerivativeError

from conftest import make_inputs

D = torch.float64


def _inputs(per_task=True, seed=0):
    return make_inputs(3, 7, 4, 2, (5, 4), "tanh", per_task, dtype=D, seed=seed)


def _grad(x):
    return x.clone().requires_grad_(True)


@pytest.mark.parametrize("per_task", [True, False])
def test_log_prob_is_twice_differentiable_through_kernels(per_task):
    spec, x = _inputs(per_task)
    params, act = _grad(x["params"]), _grad(x["act"])

    def f(p, a):
        return K.log_prob(spec, p, x["obs"], a, backend="cpp")

    assert gradcheck(f, (params, act)) and gradgradcheck(lambda p: f(p, x["act"]), (params,))
    w = torch.randn(x["obs"].shape[:2], dtype=D, generator=torch.Generator().manual_seed(1))
    g_ours = torch.autograd.grad((f(params, act) * w).sum(), (params, act))
    g_ref = torch.autograd.grad((R.log_prob(spec, params, x["obs"], act) * w).sum(), (params, act))
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    # second order in params (the actions fixed): through score_vjp's derivative, the naive HVP kernel
    (g_ours,) = torch.autograd.grad((f(params, x["act"]) * w).sum(), params, create_graph=True)
    (g_ref,) = torch.autograd.grad((R.log_prob(spec, params, x["obs"], x["act"]) * w).sum(), params,
                                   create_graph=True)
    h_ours = torch.autograd.grad((g_ours ** 2).sum(), params)[0]
    h_ref = torch.autograd.grad((g_ref ** 2).sum(), params)[0]
    assert torch.allclose(h_ours, h_ref, rtol=1e-9, atol=1e-11)
    # with the actions requiring grad too, a second derivative would need d(score)/d(act): refused
    (g,) = torch.autograd.grad((f(params, act) * w).sum(), params, create_graph=True)
    with pytest.raises(NoDerivativeError, match="score_vjp: no derivative with respect to act"):
        torch.autograd.grad(g.sum(), params)


@pytest.mark.parametrize("per_task", [True, False])
def test_first_derivatives_of_the_derivative_kernels(per_task):
    spec, x = _inputs(per_task, seed=2)
    obs, act = x["obs"], x["act"]
    assert gradcheck(lambda p, w: K.score_vjp(spec, p, obs, act, w, backend="cpp"),
                     (_grad(x["params"]), _grad(x["weights"])))
    assert gradcheck(lambda p, v: K.score_jvp(spec, p, obs, act, v, backend="cpp"),
                     (_grad(x["params"]), _grad(x["v"])))
    for curvature in ("naive", "lvc"):
        assert gradcheck(lambda v: K.surrogate_hvp(spec, x["params"], obs, act, x["weights"], v, curvature,
                                                   backend="cpp"), (_grad(x["v"]),))
    assert gradcheck(lambda p: K.gaussian_kl(spec, p, obs, x["old_mean"], x["old_log_std"], backend="cpp"),
                     (_grad(x["params"]),))
    w = torch.rand(obs.shape[:2], dtype=D) / obs.shape[1]
    assert gradcheck(lambda p: K.gaussian_kl(spec, p, obs, x["old_mean"], x["old_log_std"], w, backend="cpp"),
                     (_grad(x["params"]),))
    assert gradcheck(lambda v: K.kl_fvp(spec, x["params"], obs, v, 0.3, w, backend="cpp"), (_grad(x["v"]),))
    assert gradcheck(lambda p: K.policy_mean(spec, p, obs, backend="cpp"), (_grad(x["params"]),))


def test_a_hand_written_maml_step_has_the_exact_meta_gradient():
    """θ' = θ + α·score_vjp(θ); J(θ') = Σ w log π_θ'. The meta-gradient through the compiled
    score_vjp equals autograd through the reference (a first-order one is far off)."""
    spec, x = make_inputs(4, 50, 6, 3, (16, 16), "tanh", False, dtype=D, seed=4)
    post_w = torch.randn(4, 50, dtype=D, generator=torch.Generator().manual_seed(5))
    alpha = 0.5

    def meta_objective(score_vjp, log_prob, theta):
        adapted = theta + alpha * score_vjp(spec, theta, x["obs"], x["act"], x["weights"])
        return (log_prob(spec, adapted, x["obs"], x["act"]) * post_w).sum()

    theta = _grad(x["params"])
    (ours,) = torch.autograd.grad(meta_objective(lambda *a: K.score_vjp(*a, backend="cpp"),
                                                 lambda *a: K.log_prob(*a, backend="cpp"), theta), theta)
    (ref,) = torch.autograd.grad(meta_objective(R.score_vjp, R.log_prob, theta), theta)
    (auto,) = torch.autograd.grad(meta_objective(K.score_vjp, K.log_prob, theta), theta)
    first_order = torch.autograd.grad(meta_objective(lambda *a: K.score_vjp(*a).detach(), K.log_prob, theta), theta)[0]
    assert torch.allclose(ours, ref, rtol=1e-10, atol=1e-10) and torch.allclose(auto, ref, rtol=1e-10, atol=1e-10)
    assert float((first_order - ref).norm()) > 1e-2 * float(ref.norm())


def test_derivatives_taken_once_more_than_provided_raise():
    spec, x = _inputs(seed=6)
    theta = _grad(x["params"])
    g = K.score_vjp(spec, theta, x["obs"], x["act"], x["weights"], backend="cpp")
    (d,) = torch.autograd.grad(g.sum(), theta, create_graph=True)  # the naive HVP kernel
    with pytest.raises(RuntimeError):
        torch.autograd.grad(d.sum(), theta)
    mean = K.policy_mean(spec, theta, x["obs"], backend="cpp")
    (d,) = torch.autograd.grad(mean.sum(), theta, create_graph=True)
    with pytest.raises(RuntimeError, match="not differentiable again"):
        torch.autograd.grad(d.sum(), theta)
    kl = K.gaussian_kl(spec, theta, x["obs"], x["old_mean"], x["old_log_std"], backend="cpp")
    (d,) = torch.autograd.grad(kl.sum(), theta, create_graph=True)
    with pytest.raises(NoDerivativeError, match="kl_grad"):
        torch.autograd.grad(d.sum(), theta)


def test_inputs_without_a_compiled_derivative_are_refused_or_taken_by_the_reference():
    spec, x = _inputs(seed=7)
    obs, theta, w = _grad(x["obs"]), _grad(x["params"]), _grad(x["weights"])
    cases = [
        (lambda b: K.score_vjp(spec, x["params"], obs, x["act"], x["weights"], backend=b), "obs"),
        (lambda b: K.surrogate_hvp(spec, theta, x["obs"], x["act"], x["weights"], x["v"], "naive", backend=b),
         "params"),
        (lambda b: K.surrogate_hvp(spec, x["params"], x["obs"], x["act"], w, x["v"], "naive", backend=b), "weights"),
        (lambda b: K.kl_grad(spec, theta, x["obs"], x["old_mean"], x["old_log_std"], backend=b), "params"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=f"backend='cpp' has no derivative with respect to {name}"):
            call("cpp")
        out = call("auto")  # the reference, differentiable
        assert out.requires_grad and out.grad_fn is not None
    # the reference refuses what it cannot differentiate either (a stop-gradient inside)
    with pytest.raises(NoDerivativeError, match="LVC curvature"):
        K.surrogate_hvp(spec, theta, x["obs"], x["act"], x["weights"], x["v"], "lvc")
    with pytest.raises(NoDerivativeError, match="kl_fvp"):
        K.kl_fvp(spec, theta, x["obs"], x["v"])
    # estimators, advantages and operators have no compiled derivatives: auto takes the reference
    T, B, H = 3, 2, 5
    traj = torch.randn(T, B, H, 4, dtype=D)
    acts = torch.randn(T, B, H, 2, dtype=D)
    adv = _grad(torch.randn(T, B, H, dtype=D))
    old = torch.randn(T, B, H, dtype=D)
    g = K.lr_grad(spec, x["params"], traj, acts, old, adv)
    (d,) = torch.autograd.grad(g.sum(), adv)
    assert torch.isfinite(d).all() and float(d.abs().max()) > 0
    with pytest.raises(ValueError, match="backend='cpp' has no derivative with respect to advantages"):
        K.lr_grad(spec, x["params"], traj, acts, old, adv, backend="cpp")
    rewards = _grad(torch.randn(T, B, H, dtype=D))
    mask = torch.ones(T, B, H, dtype=D)
    assert K.gae(rewards, rewards.detach(), mask, 0.9, 0.95).requires_grad
    assert gradcheck(lambda r: K.normalize_per_task(K.discounted_returns(r, mask, 0.9), mask), (rewards,))
    with pytest.raises(ValueError, match="the baseline is a constant of the sampled data"):
        K.linear_feature_baseline(traj, rewards, mask)
    with pytest.raises(ValueError, match="no derivative with respect to rewards"):
        K.discounted_returns(rewards, mask, 0.9, backend="cpp")
    with pytest.raises(NoDerivativeError, match="dice_grad"):
        K.dice_grad(spec, theta, traj, acts, rewards.detach(), mask, 0.9)
    op = K.KlFvpOperator(spec, x["params"], x["obs"], damping=0.1)
    assert op(_grad(x["v"])).requires_grad
    with pytest.raises(ValueError, match="emaml_credit: the credit is a constant"):
        K.emaml_credit(rewards, mask)


def test_a_compiled_function_calling_many_kernels_traces_whole():
    spec, x = make_inputs(2, 9, 4, 2, (8,), "tanh", True, dtype=torch.float32, seed=8)
    T, B, H = 2, 3, 3
    rewards = torch.randn(T, B, H)
    mask = torch.ones(T, B, H)
    traj_obs = x["obs"].reshape(T, B, H, 4)
    traj_act = x["act"].reshape(T, B, H, 2)

    def pipeline(params, obs, act, weights, v, old_mean, old_log_std):
        lp = K.log_prob(spec, params, obs, act)
        g = K.score_vjp(spec, params, obs, act, weights * lp.exp())
        h = K.surrogate_hvp(spec, params, obs, act, weights, g, "lvc")
        f = K.kl_fvp(spec, params, obs, h, 0.1)
        kl = K.gaussian_kl(spec, params, obs, old_mean, old_log_std)
        mean = K.policy_mean(spec, params, obs)
        returns = K.discounted_returns(rewards, mask, 0.99)
        values = K.linear_feature_baseline(traj_obs, returns, mask)
        adv = K.normalize_per_task(K.gae(rewards, values, mask, 0.99, 0.95), mask)
        lr = K.lr_grad(spec, params, traj_obs, traj_act, lp.reshape(T, B, H), adv, mask=mask)
        dice = K.dice_hvp(spec, params, traj_obs, traj_act, rewards, mask, v, 0.99)
        return f, kl, mean, lr, dice, K.score_jvp(spec, params, obs, act, v)

    args = (x["params"], x["obs"], x["act"], x["weights"], x["v"], x["old_mean"], x["old_log_std"])
    eager = pipeline(*args)
    torch._dynamo.reset()
    compiled = torch.compile(pipeline, fullgraph=True, backend="eager")(*args)
    for a, b in zip(eager, compiled):
        assert torch.equal(a, b)

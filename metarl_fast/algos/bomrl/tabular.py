"""BO-MRL (bilevel meta-RL with universal policy adaptation), tabular: the three lower levels
Alg^(1..3), their hypergradients (Proposition 1: Eqs. 25 and 33, and the general implicit form),
meta-training, and the quantities of the paper's theory check (§3–4, Theorem 3, App. N; docs/bomrl.md).

Policies are tabular softmax: π_φ(a|s) = softmax(φ[s, :]), φ [S, A]. Q and A are of the meta-policy
π_φ, exact by dynamic programming (metarl_fast.tabular) unless given (e.g. Monte-Carlo estimates).
The distances, first argument the meta-policy:
    D1: KL(π_φ ‖ π)        D2: KL(π ‖ π_φ)        D3: ‖θ − φ‖²  (θ the adapted logits)
"""
from __future__ import annotations

import torch

from ... import tabular as tb
from ...tabular import TabularMDP

DISTANCES = (1, 2, 3)


def alg2(pi_phi: torch.Tensor, Q: torch.Tensor, lam: float) -> torch.Tensor:
    """Alg^(2) (KL(π ‖ π_φ)): π'(a|s) ∝ π_φ(a|s) exp(Q(s,a)/λ) → [S, A] (closed form)."""
    return torch.softmax(torch.log(pi_phi) + Q / lam, dim=-1)


def alg1(pi_phi: torch.Tensor, A: torch.Tensor, lam: float, iterations: int = 64) -> torch.Tensor:
    """Alg^(1) (KL(π_φ ‖ π)): π'(a|s) = λ π_φ(a|s) / (μ(s) − A(s,a)), μ(s) the root in
    (max_a A, max_a A + λ] of Σ_a λ π_φ(a|s)/(μ − A(s,a)) = 1, by bisection per state (64 halvings of
    an interval of length λ reach double precision)."""
    top = A.max(-1).values
    lo, hi = top.clone(), top + lam
    for _ in range(iterations):
        mid = (lo + hi) / 2
        f = (lam * pi_phi / (mid.unsqueeze(-1) - A)).sum(-1) - 1
        lo = torch.where(f > 0, mid, lo)
        hi = torch.where(f > 0, hi, mid)
    mu = hi
    pi = lam * pi_phi / (mu.unsqueeze(-1) - A)
    return pi / pi.sum(-1, keepdim=True)  # the bisection leaves a relative error ~1e-16


def alg3_objective(theta: torch.Tensor, phi: torch.Tensor, Q: torch.Tensor, nu: torch.Tensor,
                   lam: float) -> torch.Tensor:
    """E_{s~ν}[Σ_a softmax(θ)(a|s) Q(s,a)] − λ‖θ − φ‖² (the D3 lower level)."""
    return (nu.unsqueeze(-1) * torch.softmax(theta, -1) * Q).sum() - lam * ((theta - phi) ** 2).sum()


def alg3(phi: torch.Tensor, Q: torch.Tensor, nu: torch.Tensor, lam: float, iterations: int = 200) -> torch.Tensor:
    """Alg^(3): the adapted logits θ' = argmax alg3_objective, by L-BFGS from φ → [S, A]."""
    theta = phi.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=iterations, tolerance_grad=1e-13, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")
    Qd, nud = Q.detach(), nu.detach()

    def closure():
        opt.zero_grad()
        loss = -alg3_objective(theta, phi.detach(), Qd, nud, lam)
        loss.backward()
        return loss

    opt.step(closure)
    return theta.detach()


def adapt(mdp: TabularMDP, phi: torch.Tensor, distance: int, lam: float, Q: torch.Tensor | None = None) -> torch.Tensor:
    """One-time adaptation Alg^(distance)(π_φ) on task `mdp` → the adapted policy [S, A]."""
    pi_phi = tb.softmax_policy(phi)
    ev = tb.evaluate(mdp, pi_phi)
    Q = ev.Q if Q is None else Q
    if distance == 1:
        return alg1(pi_phi, Q - (pi_phi * Q).sum(-1, keepdim=True), lam)
    if distance == 2:
        return alg2(pi_phi, Q, lam)
    return tb.softmax_policy(alg3(phi, Q, ev.nu, lam))


def hypergradient(mdp: TabularMDP, phi: torch.Tensor, distance: int, lam: float, with_dq: bool = True) -> torch.Tensor:
    """∇_φ J_τ(Alg^(distance)(π_φ)) → [S, A], exact (DP values), Proposition 1:
    D1: Eq. 25, D2: Eq. 33, D3: the implicit-function form −(∇²_θθ L)^{-1} ∇²_θφ L.
    with_dq=False drops the dependence of the lower level's data (Q^{π_φ}, ν^{π_φ}) on φ (App. C's
    ∇_φ Q term; the practical algorithm drops it)."""
    pi_phi = tb.softmax_policy(phi)
    ev = tb.evaluate(mdp, pi_phi)
    gamma = mdp.gamma
    if distance == 3:
        return _hypergradient_d3(mdp, phi, lam, with_dq)
    pi_new = adapt(mdp, phi, distance, lam, ev.Q)
    ev_new = tb.evaluate(mdp, pi_new)
    dQ = tb.grad_q_wrt_logits(mdp, pi_phi, ev) if with_dq else torch.zeros(mdp.P.shape[:2] * 2, dtype=phi.dtype)
    w = ev_new.nu.unsqueeze(-1) * pi_new  # E_{s~ν', a~π'}
    onehot = torch.eye(phi.numel(), dtype=phi.dtype).reshape(*phi.shape, *phi.shape)
    if distance == 2:
        inner = dQ / lam + onehot                                   # (1/λ)∇Q(s,a) + 1(s,a)
        coeff = ev_new.A
    else:
        ratio = pi_new ** 2 / pi_phi
        c = (ev_new.A * ratio).sum(-1, keepdim=True) / ratio.sum(-1, keepdim=True)
        state_pi = torch.einsum("st,tb->stb", torch.eye(phi.shape[0], dtype=phi.dtype), pi_phi)  # π_φ(·|s) at s
        inner = (pi_new / (lam * pi_phi)).unsqueeze(-1).unsqueeze(-1) * dQ + onehot - state_pi.unsqueeze(1)
        coeff = ev_new.A - c
    return torch.einsum("sa,saxy->xy", w * coeff, inner) / (1 - gamma)


def _hypergradient_d3(mdp: TabularMDP, phi: torch.Tensor, lam: float, with_dq: bool) -> torch.Tensor:
    S, A = phi.shape
    ev = tb.evaluate(mdp, tb.softmax_policy(phi))
    theta = alg3(phi, ev.Q, ev.nu, lam)

    def lower(th_flat, phi_flat):
        ph = phi_flat.reshape(S, A)
        if with_dq:
            e = tb.evaluate(mdp, tb.softmax_policy(ph))
            Q, nu = e.Q, e.nu
        else:
            Q, nu = ev.Q.detach(), ev.nu.detach()
        return alg3_objective(th_flat.reshape(S, A), ph, Q, nu, lam)

    th, ph = theta.reshape(-1), phi.detach().reshape(-1)
    grad_theta = torch.func.grad(lower, argnums=0)
    H_tt = torch.func.jacrev(grad_theta, argnums=0)(th, ph)
    H_tp = torch.func.jacrev(grad_theta, argnums=1)(th, ph)
    dtheta_dphi = -torch.linalg.solve(H_tt, H_tp)  # [SA, SA]
    dJ_dtheta = torch.func.grad(lambda t: tb.evaluate(mdp, tb.softmax_policy(t.reshape(S, A))).J)(th)
    return (dtheta_dphi.T @ dJ_dtheta).reshape(S, A)


def meta_objective(tasks: list[TabularMDP], phi: torch.Tensor, distance: int, lam: float) -> float:
    """mean_τ J_τ(Alg^(distance)(π_φ))."""
    return float(torch.stack([tb.evaluate(m, adapt(m, phi, distance, lam)).J for m in tasks]).mean())


def meta_train(tasks: list[TabularMDP], distance: int, lam: float, iterations: int = 200, step: float = 1.0,
               phi0: torch.Tensor | None = None, with_dq: bool = True) -> tuple[torch.Tensor, list[float]]:
    """Gradient ascent on mean_τ J_τ(Alg(π_φ)) with the exact hypergradients → (φ, objective history)."""
    S, A = tasks[0].num_states, tasks[0].num_actions
    phi = torch.zeros(S, A, dtype=tb.DT) if phi0 is None else phi0.clone()
    history = []
    for _ in range(iterations):
        g = torch.stack([hypergradient(m, phi, distance, lam, with_dq) for m in tasks]).mean(0)
        phi = phi + step * g
        history.append(meta_objective(tasks, phi, distance, lam))
    return phi, history


def policy_distance_sq(mdp: TabularMDP, phi: torch.Tensor, target: torch.Tensor, distance: int) -> torch.Tensor:
    """D²_{τ,i}(π_φ, π_target) = E_{s~ν^{π_φ}}[d²_i] (target: logits for i = 3, else a policy)."""
    pi_phi = tb.softmax_policy(phi)
    nu = tb.evaluate(mdp, pi_phi).nu
    if distance == 3:
        return ((phi - target) ** 2).sum()
    if distance == 1:  # KL(π_φ ‖ π*)
        d = (pi_phi * (torch.log(pi_phi) - torch.log(target))).sum(-1)
    else:              # KL(π* ‖ π_φ)
        d = (target * (torch.log(target.clamp_min(1e-300)) - torch.log(pi_phi))).sum(-1)
    return (nu * d).sum()


def task_variance(tasks: list[TabularMDP], targets: list[torch.Tensor], distance: int,
                  iterations: int = 300) -> tuple[float, torch.Tensor]:
    """Var_i = min_φ mean_τ D²_{τ,i}(π_φ, π*_τ) by L-BFGS → (Var_i, the centre φ')."""
    S, A = tasks[0].num_states, tasks[0].num_actions
    phi = torch.zeros(S, A, dtype=tb.DT, requires_grad=True)
    opt = torch.optim.LBFGS([phi], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        v = torch.stack([policy_distance_sq(m, phi, t, distance) for m, t in zip(tasks, targets)]).mean()
        v.backward()
        return v

    opt.step(closure)
    with torch.no_grad():
        value = torch.stack([policy_distance_sq(m, phi, t, distance) for m, t in zip(tasks, targets)]).mean()
    return float(value), phi.detach()


def theory_check(tasks: list[TabularMDP], distance: int, lam: float, iterations: int = 150, step: float = 1.0,
                 comparator_logit: float = 8.0) -> dict:
    """The paper's Frozen-Lake check (App. N.3; docs/bomrl.md): meta-train φ, then compare the task-expected
    optimality gap of one-time Alg^(i) with the no-adaptation gap and the Theorem-3 bound
    (2γA'_max/((1−γ)²ε) + λ/(1−γ))·Var_i, A'_max and ε taken at the centre φ' (App. N.3).

    The comparator π*_τ is the value-iteration optimum; for D1 (KL(π_φ ‖ π*), infinite for a
    deterministic π*) the optimal action's softmax with logit margin `comparator_logit`."""
    gamma = tasks[0].gamma
    optima = [tb.optimal(m)[1] for m in tasks]
    if distance == 1:
        optima = [tb.softmax_policy(comparator_logit * p) for p in optima]
    j_star = torch.stack([tb.evaluate(m, p).J for m, p in zip(tasks, optima)])
    phi, history = meta_train(tasks, distance, lam, iterations, step)
    j_none = torch.stack([tb.evaluate(m, tb.softmax_policy(phi)).J for m in tasks])
    j_alg = torch.stack([tb.evaluate(m, adapt(m, phi, distance, lam)).J for m in tasks])
    targets = optima if distance != 3 else [comparator_logit * p for p in optima]
    var, centre = task_variance(tasks, targets, distance)
    evs = [tb.evaluate(m, tb.softmax_policy(centre)) for m in tasks]
    eps = min(float(e.nu[~m.terminal].min()) for e, m in zip(evs, tasks))
    a_max = max(float(e.A.abs().max()) for e in evs)
    coeff = (4 if distance == 3 else 2) * gamma * a_max / ((1 - gamma) ** 2 * eps)
    return {"gap_alg": float((j_star - j_alg).mean()), "gap_none": float((j_star - j_none).mean()),
            "bound": (coeff + lam / (1 - gamma)) * var, "var": var, "eps": eps, "a_max": a_max,
            "history": history, "phi": phi}


def adaptation_curve(tasks: list[TabularMDP], phi: torch.Tensor, distance: int, lam: float,
                     steps: int = 4) -> list[float]:
    """mean_τ J_τ after 0..steps repeated one-time adaptations (the paper's left panels)."""
    out = []
    for k in range(steps + 1):
        vals = []
        for m in tasks:
            pi = tb.softmax_policy(phi)
            for _ in range(k):
                pi = _adapt_policy(m, pi, distance, lam)
            vals.append(float(tb.evaluate(m, pi).J))
        out.append(sum(vals) / len(vals))
    return out


def _adapt_policy(mdp: TabularMDP, pi: torch.Tensor, distance: int, lam: float) -> torch.Tensor:
    logits = torch.log(pi.clamp_min(1e-300))
    return adapt(mdp, logits, distance, lam)


def frozen_lake_report(out_dir: str, iterations: int = 60, distances=(1, 2, 3), size: int = 4, seed: int = 0) -> dict:
    """The paper's Frozen-Lake figures (Fig. 1/3/4): for each task variance (hole probability 0.3 /
    0.1) and distance, meta-train, then the optimality gaps (no adaptation, one-time Alg, the bound)
    and the return after 0..4 repeated one-time adaptations. Writes frozen_lake.png and
    frozen_lake.json to out_dir; returns the numbers."""
    import json
    import os

    lams = {0.3: {1: 0.5, 2: 0.5, 3: 0.04}, 0.1: {1: 0.25, 2: 0.25, 3: 0.02}}  # the λ per distance and hole probability (docs/bomrl.md)
    results = {}
    for p in (0.3, 0.1):
        tasks = tb.frozen_lake_tasks(20, size=size, hole_prob=p, seed=seed)
        for d in distances:
            r = theory_check(tasks, d, lams[p][d], iterations)
            r["curve"] = adaptation_curve(tasks, r.pop("phi"), d, lams[p][d])
            r["lambda"] = lams[p][d]
            results[f"p={p} Alg({d})"] = r
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "frozen_lake.json"), "w") as f:
        json.dump(results, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for row, p in enumerate((0.3, 0.1)):
        ax_curve, ax_gap = axes[row]
        labels, none, alg, bound = [], [], [], []
        for d in distances:
            r = results[f"p={p} Alg({d})"]
            ax_curve.plot(range(len(r["curve"])), r["curve"], marker="o", label=f"Alg({d}), λ={r['lambda']}")
            labels.append(f"({d})")
            none.append(r["gap_none"])
            alg.append(r["gap_alg"])
            bound.append(r["bound"])
        ax_curve.set_title(f"hole probability {p}: mean return after k one-time adaptations")
        ax_curve.set_xlabel("adaptation steps")
        ax_curve.set_ylabel("mean J over the 20 tasks")
        ax_curve.legend()
        x = range(len(labels))
        ax_gap.bar([i - 0.2 for i in x], none, width=0.4, label="no adaptation")
        ax_gap.bar([i + 0.2 for i in x], alg, width=0.4, label="one-time Alg")
        ax_gap.scatter(list(x), bound, color="k", marker="_", s=400, label="bound", zorder=3)
        ax_gap.set_yscale("log")
        ax_gap.set_xticks(list(x), labels)
        ax_gap.set_title(f"hole probability {p}: task-expected optimality gap")
        ax_gap.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "frozen_lake.png"), dpi=110)
    plt.close(fig)
    return results

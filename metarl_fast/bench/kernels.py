"""The `kernels` suite, at the ProMP scale: T=40 tasks × N=2000 samples (B=20 trajectories of
H=100 steps), obs_dim 20, act_dim 6 (HalfCheetah), (64, 64) tanh, float32.

Part 1, policy kernels: compiled against (a) the eager torch reference as existing libraries
compute it (autograd from scratch on every call) and (b) torch.func with vmap over tasks; achieved
GFLOP/s is printed next to a torch.mm of the same FLOPs (the practical ceiling).
Part 2, estimators and solvers: dice_hvp, the J^LR HVP, GAE + linear-baseline fit, and
10-iteration conjugate-gradient solves on kl_fvp (40 systems) and on TRPO-MAML's composite
operator (I + αH) F (I + αH) (one shared system), each against the eager torch reference.
"""
from __future__ import annotations


import torch
from torch.func import grad, jvp, vmap

from .. import kernels, reference
from ..runtime import get_num_threads, set_num_threads
from ..policies import PolicySpec, gaussian_log_prob, mlp_mean
from .harness import Row, machine_info, suite_parser, print_table, rows_from_samples, time_interleaved, write_json


def layer_macs(spec: PolicySpec) -> tuple[int, int]:
    """(Σ_l in·out over all layers, the same over layers after the first) per sample."""
    sizes = spec.layer_sizes
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return sum(macs), sum(macs[1:])


def kernel_flops(op: str, spec: PolicySpec, T: int, N: int) -> float:
    """Dense FLOPs (2 × multiply-adds) of the fused algorithm per call; elementwise work not counted."""
    all_l, deep = layer_macs(spec)
    fwd = all_l
    per_sample = {
        "log_prob": fwd,
        "score_vjp": fwd + all_l + deep,                          # + weight grads + backprop
        "surrogate_hvp": fwd + (all_l + deep) + 3 * deep + (all_l + deep),  # + tangent + 2-stream backprop + grads
        "kl_fvp": fwd + (all_l + deep) + deep + all_l,            # + tangent + backprop + grads
    }[op]
    return 2.0 * per_sample * T * N


def torch_func_impls(spec: PolicySpec, params, obs, act, w, v):
    """torch.func versions with vmap over tasks (per-task functions of one parameter row)."""

    def logp_task(theta, o, a):
        log_std = spec.unflatten(theta)["log_std"]
        return gaussian_log_prob(mlp_mean(spec, theta, o), log_std, a)

    def surrogate_task(theta, o, a, wt):
        lp = logp_task(theta, o, a)
        return (wt * torch.exp(lp - lp.detach())).sum()

    def kl_task(theta, o, old_mean, old_log_std):
        mean = mlp_mean(spec, theta, o)
        log_std = spec.unflatten(theta)["log_std"]
        kl = log_std - old_log_std + (torch.exp(2 * old_log_std) + (old_mean - mean) ** 2) / (2 * torch.exp(2 * log_std)) - 0.5
        return kl.sum(-1).mean()

    def hvp_task(theta, o, a, wt, vt):
        return jvp(lambda th: grad(surrogate_task)(th, o, a, wt), (theta,), (vt,))[1]

    def fvp_task(theta, o, vt):
        old_mean = mlp_mean(spec, theta, o).detach()
        old_log_std = spec.unflatten(theta)["log_std"].detach()
        return jvp(lambda th: grad(kl_task)(th, o, old_mean, old_log_std), (theta,), (vt,))[1]

    return {
        "log_prob": lambda: vmap(logp_task)(params, obs, act),
        "score_vjp": lambda: vmap(grad(lambda th, o, a, wt: (logp_task(th, o, a) * wt).sum()))(params, obs, act, w),
        "surrogate_hvp": lambda: vmap(hvp_task)(params, obs, act, w, v),
        "kl_fvp": lambda: vmap(fvp_task)(params, obs, v),
    }


def run(argv: list[str] | None = None) -> list[Row]:
    p = suite_parser("kernels", __doc__, "fewer repetitions (a smoke run)",
                     threads_help="threads for both the C++ pool and torch")
    p.add_argument("--tasks", type=int, default=40)
    p.add_argument("--trajectories", type=int, default=20, help="trajectories per task (B)")
    p.add_argument("--horizon", type=int, default=100, help="steps per trajectory (H); samples per task = B·H")
    p.add_argument("--part", choices=["all", "policy", "estimators"], default="all")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds per implementation")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = p.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)

    prev_threads = (get_num_threads(), torch.get_num_threads())
    set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    try:
        return _run(args, repeats)
    finally:
        set_num_threads(prev_threads[0])
        torch.set_num_threads(prev_threads[1])


def _run(args, repeats: int) -> list[Row]:
    rows: list[Row] = []
    if args.part in ("all", "policy"):
        rows += _run_policy(args, repeats)
    if args.part in ("all", "estimators"):
        rows += _run_estimators(args, repeats)
    if args.json:
        write_json(args.json, "kernels", rows)
        print(f"wrote {args.json}")
    return rows


def _run_policy(args, repeats: int) -> list[Row]:
    dtype = getattr(torch, args.dtype)
    spec = PolicySpec(20, 6, (64, 64), "tanh")
    T, N, P = args.tasks, args.trajectories * args.horizon, spec.num_params
    g = torch.Generator().manual_seed(0)
    base = spec.init_params(generator=g, dtype=dtype)
    params = (base + 0.01 * torch.randn(T, P, generator=g, dtype=dtype)).contiguous()
    obs = torch.randn(T, N, spec.obs_dim, generator=g, dtype=dtype)
    act = torch.randn(T, N, spec.act_dim, generator=g, dtype=dtype)
    w = torch.randn(T, N, generator=g, dtype=dtype)
    v = torch.randn(T, P, generator=g, dtype=dtype)
    sizes = dict(T=T, N=N, obs_dim=spec.obs_dim, act_dim=spec.act_dim, hidden=list(spec.hidden),
                 activation=spec.activation, dtype=args.dtype, P=P)
    func = torch_func_impls(spec, params, obs, act, w, v)
    items = {
        "log_prob": (lambda: kernels.log_prob(spec, params, obs, act, backend="cpp"),
                     lambda: reference.log_prob(spec, params, obs, act)),
        "score_vjp": (lambda: kernels.score_vjp(spec, params, obs, act, w, backend="cpp"),
                      lambda: reference.score_vjp(spec, params, obs, act, w)),
        "surrogate_hvp": (lambda: kernels.surrogate_hvp(spec, params, obs, act, w, v, "lvc", backend="cpp"),
                          lambda: reference.surrogate_hvp(spec, params, obs, act, w, v, "lvc")),
        "kl_fvp": (lambda: kernels.kl_fvp(spec, params, obs, v, backend="cpp"),
                   lambda: reference.kl_fvp(spec, params, obs, v)),
    }
    rows: list[Row] = []
    notes = []
    for name, (cpp_fn, eager_fn) in items.items():
        flops = kernel_flops(name, spec, T, N)
        # A square torch.mm with the same FLOPs (compute-bound: the practical ceiling).
        k = max(1, round((flops / 2.0) ** (1.0 / 3.0)))
        a_mm = torch.randn(k, k, dtype=dtype, generator=g)
        b_mm = torch.randn(k, k, dtype=dtype, generator=g)
        impls = {"cpp": cpp_fn, "torch eager": eager_fn, "torch.func vmap": func[name],
                 "torch.mm same FLOPs": lambda: torch.mm(a_mm, b_mm)}
        samples = time_interleaved(impls, repeats)
        item_rows = rows_from_samples(name, samples, "torch eager", sizes, args.threads, flops)
        mm_row = item_rows[-1]
        mm_row.ratio, mm_row.baseline = None, None
        cpp_row = item_rows[0]
        notes.append(f"  {name}: cpp reaches {100 * cpp_row.gflops / mm_row.gflops:.0f}% of the torch.mm rate "
                     f"({mm_row.gflops:.0f} GFLOP/s for a [{k}x{k}]@[{k}x{k}] torch.mm)")
        rows += item_rows
    info = machine_info()
    title = (f"kernels: T={T} N={N} obs={spec.obs_dim} act={spec.act_dim} hidden={spec.hidden} {spec.activation} "
             f"{args.dtype}; {args.threads} threads; {info['cpu']} ({info['isa']}); {repeats} rounds, medians; "
             f"speedup = torch eager / implementation")
    print_table(rows, title, notes)
    return rows


def _run_estimators(args, repeats: int) -> list[Row]:
    dtype = getattr(torch, args.dtype)
    spec = PolicySpec(20, 6, (64, 64), "tanh")
    T, B, H, P = args.tasks, args.trajectories, args.horizon, spec.num_params
    g = torch.Generator().manual_seed(1)
    theta = spec.init_params(generator=g, dtype=dtype)
    params = (theta + 0.01 * torch.randn(T, P, generator=g, dtype=dtype)).contiguous()
    lengths = torch.randint(H // 2, H + 1, (T, B), generator=g)
    mask = (torch.arange(H) < lengths.unsqueeze(-1)).to(dtype)
    obs = torch.randn(T, B, H, spec.obs_dim, generator=g, dtype=dtype) * mask.unsqueeze(-1)
    act = torch.randn(T, B, H, spec.act_dim, generator=g, dtype=dtype) * mask.unsqueeze(-1)
    rew = torch.randn(T, B, H, generator=g, dtype=dtype) * mask
    v = torch.randn(T, P, generator=g, dtype=dtype)
    obs_s, act_s, mask_s = obs.reshape(T, B * H, -1), act.reshape(T, B * H, -1), mask.reshape(T, B * H)
    old_lp = (kernels.log_prob(spec, params, obs_s, act_s) + 0.05 * torch.randn(T, B * H, generator=g, dtype=dtype))
    adv = (torch.randn(T, B * H, generator=g, dtype=dtype) * mask_s / (B * H)).contiguous()
    post_obs = torch.randn(T, B * H, spec.obs_dim, generator=g, dtype=dtype)
    b_meta = torch.randn(P, generator=g, dtype=dtype)
    alpha, gamma = 0.1, 0.99

    def advantages_cpp():
        ret = kernels.discounted_returns(rew, mask, gamma, backend="cpp")
        values = kernels.linear_feature_baseline(obs, ret, mask, backend="cpp")
        return kernels.normalize_per_task(kernels.gae(rew, values, mask, gamma, 1.0, backend="cpp"), mask,
                                          backend="cpp")

    def advantages_torch():
        ret = reference.discounted_returns(rew, mask, gamma)
        values = reference.linear_feature_baseline(obs, ret, mask)
        return reference.normalize_per_task(reference.gae(rew, values, mask, gamma, 1.0), mask)

    fvp_op = kernels.KlFvpOperator(spec, params, post_obs, backend="cpp")
    maml_op = kernels.MamlTrpoFvpOperator(spec, theta, obs_s, act_s, adv, alpha, params, post_obs, "naive",
                                          backend="cpp")

    def maml_matvec_torch(x):
        u = x + alpha * reference.surrogate_hvp(spec, theta, obs_s, act_s, adv, x, "naive")
        f = reference.kl_fvp(spec, params, post_obs, u)
        return (f + alpha * reference.surrogate_hvp(spec, theta, obs_s, act_s, adv, f, "naive")).mean(0)

    items = {
        "dice_hvp": (lambda: kernels.dice_hvp(spec, params, obs, act, rew, mask, v, gamma, backend="cpp"),
                     lambda: reference.dice_hvp(spec, params, obs, act, rew, mask, v, gamma)),
        "lr_hvp (J^LR)": (lambda: kernels.lr_hvp(spec, params, obs_s, act_s, old_lp, adv, v, mask=mask_s,
                                                 backend="cpp"),
                          lambda: reference.lr_hvp(spec, params, obs_s, act_s, old_lp, adv, v, mask_s)),
        "gae+baseline fit": (advantages_cpp, advantages_torch),
        # residual_tol 0: both run all 10 iterations
        "cg10 kl_fvp": (lambda: kernels.conjugate_gradient(fvp_op, v, 10, 0.0, backend="cpp"),
                        lambda: reference.conjugate_gradient(lambda x: reference.kl_fvp(spec, params, post_obs, x),
                                                             v, 10, 0.0)),
        "cg10 trpo-maml": (lambda: kernels.conjugate_gradient(maml_op, b_meta, 10, 0.0, backend="cpp"),
                           lambda: reference.conjugate_gradient(maml_matvec_torch, b_meta, 10, 0.0)),
    }
    sizes = dict(T=T, B=B, H=H, obs_dim=spec.obs_dim, act_dim=spec.act_dim, hidden=list(spec.hidden),
                 activation=spec.activation, dtype=args.dtype, P=P)
    rows: list[Row] = []
    for name, (cpp_fn, eager_fn) in items.items():
        reps = max(3, repeats // 3) if name.startswith("cg10") else repeats
        samples = time_interleaved({"cpp": cpp_fn, "torch eager": eager_fn}, reps, warmup=1)
        rows += rows_from_samples(name, samples, "torch eager", sizes, args.threads)
    info = machine_info()
    title = (f"estimators and solvers: T={T} B={B} H={H} obs={spec.obs_dim} act={spec.act_dim} hidden={spec.hidden} "
             f"{spec.activation} {args.dtype}; {args.threads} threads; {info['cpu']} ({info['isa']}); medians; "
             f"speedup = torch eager / implementation")
    print_table(rows, title)
    return rows

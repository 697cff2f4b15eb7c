"""The `kernels` suite, at the ProMP scale: T=40 tasks × N=2000 samples (B=20 trajectories of
H=100 steps), obs_dim 20, act_dim 6 (HalfCheetah), (64, 64) tanh, float32.

Part 1, policy kernels: compiled against (a) the eager torch reference as existing libraries
compute it (autograd from scratch on every call) and (b) torch.func with vmap over tasks; achieved
GFLOP/s is printed next to a torch.mm of the same FLOPs (the practical ceiling).
Part 2, estimators and solvers: dice_hvp, the J^LR HVP, GAE + linear-baseline fit, and
10-iteration conjugate-gradient solves on kl_fvp (40 systems) and on TRPO-MAML's composite
operator (I + αH) F (I + αH) (one shared system), each against the eager torch reference.

--device cuda runs everything on the GPU: the CUDA kernels against the torch reference on the same
GPU (eager autograd and torch.func), each call timed to its completion (synchronised), with a
torch.mm of the same FLOPs and a device-to-device copy of the bytes the kernel reads, to place it
against the card's FLOP rate and memory bandwidth. The 100× scale is --horizon 10000 (N = 200,000).
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


def _device(args) -> tuple[torch.device, str]:
    """(where the tensors live, the compiled backend that runs there: 'cpp' or 'cuda')."""
    return (torch.device("cuda"), "cuda") if args.device == "cuda" else (torch.device("cpu"), "cpp")


def _synchronised(impls: dict, device: str) -> dict:
    """On the GPU every call is timed to its completion (the kernels launch asynchronously)."""
    if device != "cuda":
        return impls

    def wrap(fn):
        def call():
            out = fn()
            torch.cuda.synchronize()
            return out
        return call

    return {k: wrap(fn) for k, fn in impls.items()}


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
    p.add_argument("--no-func", action="store_true",
                   help="leave out the torch.func rows (their memory at the 100x scale)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: the CUDA kernels against torch on the GPU (needs a GPU and a CUDA build)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not (torch.cuda.is_available() and kernels.cuda.device_count() > 0):
        p.error("--device cuda needs a CUDA GPU visible to torch and metarl_fast built with CUDA")
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
    dev, compiled = _device(args)
    base = spec.init_params(seed=g, dtype=dtype)
    params = (base + 0.01 * torch.randn(T, P, generator=g, dtype=dtype)).contiguous().to(dev)
    obs = torch.randn(T, N, spec.obs_dim, generator=g, dtype=dtype).to(dev)
    act = torch.randn(T, N, spec.act_dim, generator=g, dtype=dtype).to(dev)
    w = torch.randn(T, N, generator=g, dtype=dtype).to(dev)
    v = torch.randn(T, P, generator=g, dtype=dtype).to(dev)
    sizes = dict(T=T, N=N, obs_dim=spec.obs_dim, act_dim=spec.act_dim, hidden=list(spec.hidden),
                 activation=spec.activation, dtype=args.dtype, P=P, device=args.device)
    func = torch_func_impls(spec, params, obs, act, w, v)
    items = {
        "log_prob": (lambda: kernels.log_prob(spec, params, obs, act, backend=compiled),
                     lambda: reference.log_prob(spec, params, obs, act), (params, obs, act)),
        "score_vjp": (lambda: kernels.score_vjp(spec, params, obs, act, w, backend=compiled),
                      lambda: reference.score_vjp(spec, params, obs, act, w), (params, obs, act, w)),
        "surrogate_hvp": (lambda: kernels.surrogate_hvp(spec, params, obs, act, w, v, "lvc", backend=compiled),
                          lambda: reference.surrogate_hvp(spec, params, obs, act, w, v, "lvc"),
                          (params, obs, act, w, v)),
        "kl_fvp": (lambda: kernels.kl_fvp(spec, params, obs, v, backend=compiled),
                   lambda: reference.kl_fvp(spec, params, obs, v), (params, obs, v)),
    }
    rows: list[Row] = []
    notes = []
    for name, (compiled_fn, eager_fn, inputs) in items.items():
        flops = kernel_flops(name, spec, T, N)
        # A square torch.mm with the same FLOPs (compute-bound: the practical ceiling).
        k = max(1, round((flops / 2.0) ** (1.0 / 3.0)))
        a_mm = torch.randn(k, k, dtype=dtype, generator=g).to(dev)
        b_mm = torch.randn(k, k, dtype=dtype, generator=g).to(dev)
        impls = {compiled: compiled_fn, "torch eager": eager_fn, "torch.func vmap": func[name],
                 "torch.mm same FLOPs": lambda: torch.mm(a_mm, b_mm)}
        if args.no_func:
            del impls["torch.func vmap"]
        read_bytes = sum(x.numel() * x.element_size() for x in inputs)
        if args.device == "cuda":
            src = torch.empty(read_bytes, dtype=torch.uint8, device=dev)
            dst = torch.empty_like(src)
            impls["d2d copy same bytes"] = lambda: dst.copy_(src)
        samples = time_interleaved(_synchronised(impls, args.device), repeats)
        item_rows = rows_from_samples(name, samples, "torch eager", sizes, args.threads, flops)
        by_impl = {r.implementation: r for r in item_rows}
        mm_row, own = by_impl["torch.mm same FLOPs"], by_impl[compiled]
        for extra in item_rows[item_rows.index(mm_row):]:
            extra.ratio, extra.baseline = None, None
        if args.device == "cuda":
            by_impl["d2d copy same bytes"].gflops = None  # a copy: its rate is in the note, in GB/s
        note = (f"  {name}: {compiled} reaches {100 * own.gflops / mm_row.gflops:.0f}% of the torch.mm rate "
                f"({mm_row.gflops:.0f} GFLOP/s for a [{k}x{k}]@[{k}x{k}] torch.mm)")
        if args.device == "cuda":
            copy_s = by_impl["d2d copy same bytes"].median_s
            note += (f"; reads its {read_bytes / 1e6:.1f} MB at {read_bytes / own.median_s / 1e9:.1f} GB/s, "
                     f"{100 * copy_s / own.median_s:.0f}% of a device copy's rate")
        notes.append(note)
        rows += item_rows
    info = machine_info()
    where = (f"{torch.cuda.get_device_name(dev)}" if args.device == "cuda" else
             f"{args.threads} threads; {info['cpu']} ({info['isa']})")
    title = (f"kernels: T={T} N={N} obs={spec.obs_dim} act={spec.act_dim} hidden={spec.hidden} {spec.activation} "
             f"{args.dtype}; {where}; {repeats} rounds, medians; speedup = torch eager / implementation")
    print_table(rows, title, notes)
    return rows


def _run_estimators(args, repeats: int) -> list[Row]:
    dtype = getattr(torch, args.dtype)
    spec = PolicySpec(20, 6, (64, 64), "tanh")
    T, B, H, P = args.tasks, args.trajectories, args.horizon, spec.num_params
    g = torch.Generator().manual_seed(1)
    dev, compiled = _device(args)
    theta = spec.init_params(seed=g, dtype=dtype)
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
    theta, params, mask, obs, act, rew, v, old_lp, adv, post_obs, b_meta = (
        x.to(dev) for x in (theta, params, mask, obs, act, rew, v, old_lp, adv, post_obs, b_meta))
    obs_s, act_s, mask_s = obs.reshape(T, B * H, -1), act.reshape(T, B * H, -1), mask.reshape(T, B * H)

    def advantages_compiled():
        ret = kernels.discounted_returns(rew, mask, gamma, backend=compiled)
        values = kernels.linear_feature_baseline(obs, ret, mask, backend=compiled)
        return kernels.normalize_per_task(kernels.gae(rew, values, mask, gamma, 1.0, backend=compiled), mask,
                                          backend=compiled)

    def advantages_torch():
        ret = reference.discounted_returns(rew, mask, gamma)
        values = reference.linear_feature_baseline(obs, ret, mask)
        return reference.normalize_per_task(reference.gae(rew, values, mask, gamma, 1.0), mask)

    fvp_op = kernels.KlFvpOperator(spec, params, post_obs, backend=compiled)
    maml_op = kernels.MamlTrpoFvpOperator(spec, theta, obs_s, act_s, adv, alpha, params, post_obs, "naive",
                                          backend=compiled)

    def maml_matvec_torch(x):
        u = x + alpha * reference.surrogate_hvp(spec, theta, obs_s, act_s, adv, x, "naive")
        f = reference.kl_fvp(spec, params, post_obs, u)
        return (f + alpha * reference.surrogate_hvp(spec, theta, obs_s, act_s, adv, f, "naive")).mean(0)

    items = {
        "dice_hvp": (lambda: kernels.dice_hvp(spec, params, obs, act, rew, mask, v, gamma, backend=compiled),
                     lambda: reference.dice_hvp(spec, params, obs, act, rew, mask, v, gamma)),
        "lr_hvp (J^LR)": (lambda: kernels.lr_hvp(spec, params, obs_s, act_s, old_lp, adv, v, mask=mask_s,
                                                 backend=compiled),
                          lambda: reference.lr_hvp(spec, params, obs_s, act_s, old_lp, adv, v, mask_s)),
        "gae+baseline fit": (advantages_compiled, advantages_torch),
        # residual_tol 0: both run all 10 iterations
        "cg10 kl_fvp": (lambda: kernels.conjugate_gradient(fvp_op, v, 10, 0.0, backend=compiled),
                        lambda: reference.conjugate_gradient(lambda x: reference.kl_fvp(spec, params, post_obs, x),
                                                             v, 10, 0.0)),
        "cg10 trpo-maml": (lambda: kernels.conjugate_gradient(maml_op, b_meta, 10, 0.0, backend=compiled),
                           lambda: reference.conjugate_gradient(maml_matvec_torch, b_meta, 10, 0.0)),
    }
    sizes = dict(T=T, B=B, H=H, obs_dim=spec.obs_dim, act_dim=spec.act_dim, hidden=list(spec.hidden),
                 activation=spec.activation, dtype=args.dtype, P=P, device=args.device)
    rows: list[Row] = []
    for name, (compiled_fn, eager_fn) in items.items():
        reps = max(3, repeats // 3) if name.startswith("cg10") else repeats
        samples = time_interleaved(_synchronised({compiled: compiled_fn, "torch eager": eager_fn}, args.device), reps,
                                   warmup=1)
        rows += rows_from_samples(name, samples, "torch eager", sizes, args.threads)
    info = machine_info()
    where = (f"{torch.cuda.get_device_name(dev)}" if args.device == "cuda" else
             f"{args.threads} threads; {info['cpu']} ({info['isa']})")
    title = (f"estimators and solvers: T={T} B={B} H={H} obs={spec.obs_dim} act={spec.act_dim} hidden={spec.hidden} "
             f"{spec.activation} {args.dtype}; {where}; medians; speedup = torch eager / implementation")
    print_table(rows, title)
    return rows

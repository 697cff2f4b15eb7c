"""The `operators` suite: what the compiled kernels save by reusing what does not depend on the
vector, at the sizes of 2D navigation (obs 2, act 2, 20 tasks) and HalfCheetah (obs 17, act 6,
40 tasks): N = 2000 samples per task, (64, 64) tanh, float32.

  recompute         every product or kernel call runs its forward pass
  cached            fused operators keep their products' activations (bit-identical results),
                    and kernels inside kernels.shared_forward() share the pair's forward pass
  regrouped         cached, and the operators' products are regrouped around terms computed once:
                    the Hessian's input-layer contraction (obs_dim + 1 ≤ 8) and the Fisher's output
                    Jacobian (A ≤ 2 at these widths) (cache=True, the default; the same products up
                    to rounding: docs/kernels.md)

Rows: one Hessian-vector product (naive curvature) and one Fisher-vector product by an operator
applied before; TRPO-MAML's step solve on a fresh MamlTrpoFvpOperator (10 CG iterations, as the TRPO
meta-step runs them, which takes dᵀFd from CG's residual; the cached operators fill their stores
during the first iteration); the kernels of one ProMP meta-gradient (the J^LR gradient, J^LR HVP and
KL gradient at θ on the pre-update data, the J^CLIP gradient at θ' on the post-update data: 7
passes over 2 (params, obs) pairs) without and inside a fresh shared_forward block.

Speedup = recompute time / this time.
"""
from __future__ import annotations


import torch

from .. import kernels as K
from ..policies import PolicySpec
from ..runtime import get_num_threads, set_num_threads
from .harness import Row, machine_info, suite_parser, print_table, rows_from_samples, time_interleaved, write_json

SHAPES = {"2dnav": (2, 2, 20), "cheetah": (17, 6, 40)}  # 2D navigation and HalfCheetah


def _inputs(obs_dim: int, act_dim: int, T: int, N: int):
    spec = PolicySpec(obs_dim, act_dim, (64, 64))
    g = torch.Generator().manual_seed(0)
    theta = spec.init_params(seed=g)
    post = (theta + 0.01 * torch.randn(T, spec.num_params, generator=g)).contiguous()
    x = dict(obs=torch.randn(T, N, obs_dim, generator=g), act=torch.randn(T, N, act_dim, generator=g),
             w=torch.randn(T, N, generator=g) / N, post_obs=torch.randn(T, N, obs_dim, generator=g),
             v=torch.randn(T, spec.num_params, generator=g), b=torch.randn(spec.num_params, generator=g))
    return spec, theta, post, x


def run(argv: list[str] | None = None) -> list[Row]:
    p = suite_parser("operators", __doc__, "N = 500 samples per task, 3 rounds")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    N, repeats = (500, 3) if args.quick else (2000, args.repeats)
    prev = (get_num_threads(), torch.get_num_threads())
    set_num_threads(args.threads)
    torch.set_num_threads(1)  # torch only glues here; its OpenMP workers would take the kernels' cores
    rows: list[Row] = []
    try:
        for name, (od, ad, T) in SHAPES.items():
            spec, theta, post, x = _inputs(od, ad, T, N)
            rows_t = theta.expand(T, -1).contiguous()
            modes = ("recompute", "cached", "regrouped")

            def options(mode):
                return dict(cache=mode != "recompute", regroup=mode == "regrouped")

            hvps = {m: K.SurrogateHvpOperator(spec, rows_t, x["obs"], x["act"], x["w"], "naive", **options(m))
                    for m in modes}
            fvps = {m: K.KlFvpOperator(spec, post, x["post_obs"], 0.0, **options(m)) for m in modes}
            for op in (*hvps.values(), *fvps.values()):
                op(x["v"])  # the cached ones fill their stores

            def solve(mode):
                op = K.MamlTrpoFvpOperator(spec, theta, x["obs"], x["act"], x["w"], 0.1, post, x["post_obs"], "naive",
                                           **options(mode))
                return K.conjugate_gradient(op, x["b"], 10, 1e-10, return_info=True)

            old_lp = K.log_prob(spec, rows_t, x["obs"], x["act"]) - 0.01
            old_mean = K.policy_mean(spec, rows_t, x["obs"])
            log_std = spec.unflatten(theta)["log_std"]

            def promp_kernels():
                g = K.lr_grad(spec, rows_t, x["obs"], x["act"], old_lp, x["w"])
                post_g = K.ppo_clip_grad(spec, post, x["post_obs"], x["act"], old_lp, x["w"], 0.3)
                h = K.lr_hvp(spec, rows_t, x["obs"], x["act"], old_lp, x["w"], post_g)
                return g, h, K.kl_grad(spec, rows_t, x["obs"], old_mean, log_std)

            def promp_kernels_shared():
                with K.shared_forward():
                    return promp_kernels()

            sizes = dict(shape=name, T=T, N=N, obs_dim=od, act_dim=ad, hidden=[64, 64])
            for item, impls in (
                    ("hvp (naive)", {m: (lambda m=m: hvps[m](x["v"])) for m in modes}),
                    ("kl_fvp", {m: (lambda m=m: fvps[m](x["v"])) for m in fvps}),
                    ("cg10", {m: (lambda m=m: solve(m)) for m in modes}),
                    ("promp meta-grad", {"recompute": promp_kernels, "cached": promp_kernels_shared})):
                samples = time_interleaved(impls, repeats)
                rows += rows_from_samples(f"{item}, {name}", samples, "recompute", sizes, args.threads)
    finally:
        set_num_threads(prev[0])
        torch.set_num_threads(prev[1])
    info = machine_info()
    print_table(rows, f"operators: cached activations, N = {N} per task, {args.threads} threads; {info['cpu']}; "
                      f"speedup = recompute / this")
    if args.json:
        write_json(args.json, "operators", rows)
        print(f"wrote {args.json}")
    return rows

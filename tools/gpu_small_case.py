"""Every CUDA kernel once on small inputs, for compute-sanitizer (memcheck, racecheck) in
tools/gpu_check.sh: policy ops (float32 and float64, shared and per-task parameters), the
advantage and estimator-weight ops, and a device conjugate-gradient solve. Exits 0 after a
synchronisation that surfaces any asynchronous error."""
import sys

import torch

from metarl_fast import kernels
from metarl_fast.policies import PolicySpec


def main(argv: list[str]) -> int:
    # --cpu: the same calls on the CPU kernels (the dry run of gpu_check.sh checks this script itself)
    dev, be = (torch.device("cpu"), "cpp") if "--cpu" in argv else (torch.device("cuda"), "cuda")
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        spec = PolicySpec(5, 2, (8, 7), "tanh")
        T, N, P = 2, 37, spec.num_params
        r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype).to(dev)
        for params in (r(P) * 0.3, r(T, P) * 0.3):
            obs, act, w, v = r(T, N, 5), r(T, N, 2), r(T, N), r(T, P)
            kw = dict(backend=be)
            kernels.policy_mean(spec, params, obs, **kw)
            kernels.log_prob(spec, params, obs, act, **kw)
            kernels.score_vjp(spec, params, obs, act, w, **kw)
            kernels.score_jvp(spec, params, obs, act, v, **kw)
            kernels.surrogate_hvp(spec, params, obs, act, w, v, "lvc", **kw)
            kernels.surrogate_hvp(spec, params, obs, act, w, v, "naive", **kw)
            kernels.gaussian_kl(spec, params, obs, act, r(2) * 0.1, **kw)
            kernels.kl_grad(spec, params, obs, act, r(2) * 0.1, w.abs(), **kw)
            kernels.kl_fvp(spec, params, obs, v, 0.1, w.abs(), **kw)
        B, H = 3, 11
        mask = (torch.arange(H)[None, None] < torch.tensor([[11, 4, 1], [7, 11, 2]])[..., None]).to(dtype).to(dev)
        rew, obs3, act3 = r(T, B, H) * mask, r(T, B, H, 5), r(T, B, H, 2)
        params = r(P) * 0.3
        ret = kernels.discounted_returns(rew, mask, 0.99, backend=be)
        values = kernels.linear_feature_baseline(obs3, ret, mask, backend=be)
        kernels.linear_time_baseline(rew, mask, backend=be)
        adv = kernels.normalize_per_task(kernels.gae(rew, values, mask, 0.99, 0.95, backend=be), mask,
                                         backend=be)
        old_lp = kernels.log_prob(spec, params, obs3.reshape(T, -1, 5), act3.reshape(T, -1, 2), backend=be)
        kernels.ppo_clip_grad(spec, params, obs3, act3, old_lp.reshape(T, B, H), adv, 0.2, mask=mask, backend=be)
        kernels.lr_grad(spec, params, obs3, act3, old_lp.reshape(T, B, H), adv, mask=mask, backend=be)
        kernels.dice_hvp(spec, params, obs3, act3, rew, mask, r(P), 0.99, baseline=r(T, H), backend=be)
        kernels.emaml_credit(rew, mask, backend=be)
        op = kernels.KlFvpOperator(spec, r(T, P) * 0.3, r(T, N, 5), 0.01, backend=be)
        kernels.conjugate_gradient(op, r(T, P), 5, 1e-10, backend=be)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    print(f"gpu_small_case: every kernel ran ({be})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

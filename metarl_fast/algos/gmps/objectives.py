"""GMPS's two objectives and its bias-transformation parametrisation (Mendonca et al. 2019, §4–5 and
App. A; the public code's choices where the paper is silent, docs/gmps.md), behind the surrogate
protocol of algos/objectives.py so that MetaObjective assembles GMPS's meta-gradient exactly as it
does MAML's (one HVP per task):

    φ_i(θ) = θ + α ⊙ ∇J_in,i(θ)              the importance-weighted policy-gradient step on the
                                              pre-update batch D_i^tr from π_θinit (Eq. 3)
    J(θ)   = mean_i J_bc,i(φ_i(θ))            J_bc = −L_BC on the expert data D_i^*

Inner surrogates (``ratio``):
    "step"        Σ_n w_n ⊥ρ_n log π_θ(a_n|s_n) A_n, ρ_n = π_θ(a_n|s_n)/π_θinit(a_n|s_n) — the public
                  code's per-step ratio with stop-gradient: gradient Σ w ρ A ∇log π (the IS policy
                  gradient), Hessian Σ w ρ A ∇²log π.
    "trajectory"  the same with Eq. 3's trajectory ratio ρ(τ) = Π_t ρ_t (stop-gradient).
    "full"        Σ_n w_n ρ_n A_n with the ratio differentiated (J^LR): the same gradient, and the
                  exact Hessian of the IS objective (score outer products included).
At θ = θinit every ratio is 1 and the inner step is the plain policy gradient.

Outer (behaviour cloning, maximised): "nll" mean log π_φ(a*|s) (the paper's L_BC), or "mse"
−mean_{n,j} (μ_φ(s_n)_j − a*_nj)² (the public code's loss: mean over samples and action dims).

Shapes: params [T, P]; the inner data is a StepData ([T, B, H, ...]); the expert data an
ExpertData ([T, N, ...] flat samples with per-sample weights).
"""
from __future__ import annotations

import math

import torch

from ... import kernels, reference
from ...experts import ExpertData
from ...policies import PolicySpec
from ..maml.surrogates import LikelihoodRatio
from ..objectives import InnerSurrogate, Surrogate
from ..processing import StepData

RATIOS = ("step", "trajectory", "full")
BC_LOSSES = ("nll", "mse")


class _LastResult:
    """The last result computed from one parameter tensor, reused while that same tensor comes back
    unmodified with the same extra key: MetaObjective asks for the inner gradient and then the HVP
    at the same θ, and both need the ratios (and, through a BiasTransform, the standard gradient)."""

    def __init__(self) -> None:
        self.params, self.version, self.key, self.value = None, -1, None, None

    def get(self, params: torch.Tensor, key, compute):
        if not (self.params is params and self.version == params._version and self.key == key):
            self.value = compute()
            self.params, self.version, self.key = params, params._version, key
        return self.value


class ImportanceWeightedPG(InnerSurrogate):
    """GMPS's inner surrogate on a batch from π_θinit (whose log-probs are ``data.log_prob``)."""

    def __init__(self, spec: PolicySpec, data: StepData, ratio: str = "step", clip: float = 0.0) -> None:
        if ratio not in RATIOS:
            raise ValueError(f"ratio must be one of {RATIOS}, got {ratio!r}")
        if clip and (ratio == "full" or not clip > 1):
            raise ValueError(f"clip must be > 1 (ρ clipped to [1/clip, clip]) and needs a stop-gradient ratio, "
                             f"got clip={clip!r} with ratio={ratio!r}")
        super().__init__(spec, data)
        self.ratio, self.clip = ratio, clip
        self._lr = LikelihoodRatio(spec, data) if ratio == "full" else None
        self._weights = _LastResult()

    def _ratios(self, log_prob: torch.Tensor) -> torch.Tensor:
        """ρ per sample [T, B·H] from log π_θ [T, B·H] (detached); clipped to [1/clip, clip] when
        clip > 0 (the public code's ratio modifiers, e.g. clip0.5_2.0 = clip 2)."""
        d = self.data
        diff = (log_prob.detach() - d.flat(d.log_prob)) * d.flat(d.mask)
        if self.ratio == "trajectory":
            T, B, H = d.mask.shape
            diff = diff.reshape(T, B, H).sum(-1, keepdim=True).expand(T, B, H).reshape(T, B * H)
        if self.clip:
            bound = float(torch.log(torch.tensor(self.clip, dtype=torch.float64)))
            diff = diff.clamp(-bound, bound)
        return torch.exp(diff)

    def weights(self, params: torch.Tensor) -> torch.Tensor:
        """[T, B·H] ⊥ρ · A · mask · scale: the per-sample weights of the stop-gradient surrogate."""
        return self._weights.get(params, None, lambda: self._compute_weights(params))

    def _compute_weights(self, params: torch.Tensor) -> torch.Tensor:
        d = self.data
        lp = kernels.log_prob(self.spec, params, d.flat(d.obs), d.flat(d.act))
        w = d.adv_weights * self._ratios(lp)
        if not bool(torch.isfinite(w).all()):
            raise FloatingPointError("GMPS: the importance ratios π_θ/π_θinit overflowed (θ moved far from the "
                                     "sampling policy during the BC steps); clip them (gmps.ratio_clip=2, the "
                                     "public code's clip0.5_2.0) or take fewer BC steps per batch")
        return w

    def grad(self, params: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇J_in(θ) → [T, P]: the importance-sampled policy gradient (the same for every ratio kind
        but the trajectory one)."""
        if self._lr is not None:
            return self._lr.grad(params, backend)
        d = self.data
        return kernels.score_vjp(self.spec, params, d.flat(d.obs), d.flat(d.act), self.weights(params),
                                 backend=backend)

    def hvp(self, params: torch.Tensor, v: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇²J_in(θ) v → [T, P] (compiled)."""
        if self._lr is not None:
            return self._lr.hvp(params, v, backend)
        d = self.data
        return kernels.surrogate_hvp(self.spec, params, d.flat(d.obs), d.flat(d.act), self.weights(params), v,
                                     "naive", backend=backend)

    def value(self, params: torch.Tensor) -> torch.Tensor:
        """J_in(θ) → [T], differentiable (torch; the stop-gradient ratios are constants)."""
        if self._lr is not None:
            return self._lr.value(params)
        d = self.data
        lp = reference.log_prob(self.spec, params, d.flat(d.obs), d.flat(d.act))
        return (d.adv_weights * self._ratios(lp) * lp).sum(-1)


class BehaviourCloning(Surrogate):
    """J_bc(φ) = −L_BC(φ, D*) per task (maximised as every outer objective is)."""

    def __init__(self, spec: PolicySpec, data: ExpertData, loss: str = "nll") -> None:
        if loss not in BC_LOSSES:
            raise ValueError(f"loss must be one of {BC_LOSSES}, got {loss!r}")
        super().__init__(spec, data)
        self.loss = loss

    def grad(self, params: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        """∇J_bc(φ) → [T, P] (compiled). For "mse" the score kernel is evaluated at the pseudo-action
        μ + σ²(a* − μ), whose score's mean part is J_μᵀ(a* − μ); the log_std part is dropped (the
        MSE does not depend on σ)."""
        d, s = self.data, self.spec
        if self.loss == "nll":
            g = kernels.score_vjp(s, params, d.obs, d.act, d.weights, backend=backend)
            if not bool(torch.isfinite(g).all()):
                raise FloatingPointError("GMPS: the NLL behaviour-cloning gradient is not finite (the policy's "
                                         "standard deviation collapsed onto near-deterministic expert actions); "
                                         "clip the importance ratios (gmps.ratio_clip=2), or use gmps.bc_loss=mse, "
                                         "a smaller outer_lr or fewer bc_steps")
            return g
        mean = kernels.policy_mean(s, params, d.obs, backend=backend)
        var = torch.exp(2 * s.unflatten(params)["log_std"]).unsqueeze(-2)  # [T, 1, act_dim]
        pseudo = mean + var * (d.act - mean)
        g = kernels.score_vjp(s, params, d.obs, pseudo, d.weights * (2.0 / s.act_dim),
                              backend=backend)
        g[..., s.layout[-1].offset:] = 0.0
        return g

    def value(self, params: torch.Tensor) -> torch.Tensor:
        """J_bc(φ) → [T], differentiable (torch)."""
        d, s = self.data, self.spec
        if self.loss == "nll":
            return (d.weights * reference.log_prob(s, params, d.obs, d.act)).sum(-1)
        mean = reference.policy_mean(s, params, d.obs)
        return -(d.weights * ((mean - d.act) ** 2).mean(-1)).sum(-1)


class BiasTransform:
    """Finn et al.'s bias transformation: a learned vector z [k] concatenated to the observation.
    The first layer then computes W0 s + W_z z + b0, i.e. the standard policy with the first bias
    b0 + W_z z. GMPS's parameter vector is [θ_std (spec.layout), W_z (h1 × k, row-major), z (k)], and
    ψ(θ) = θ_std with b0 ← b0 + W_z z maps it to the standard policy every kernel evaluates.

    ψ is bilinear in (W_z, z), so for f = L ∘ ψ:
        ∇f = Jψᵀ ∇L,   ∇²f v = Jψᵀ ∇²L (Jψ v) + C(∇L, v),
        C(g, v): W_z-part g_b0 v_zᵀ, z-part W_vᵀ g_b0 (v's W_z-part W_v),
    which is how ReparamObjective runs the compiled kernels through it. z starts at ones (the code).
    """

    def __init__(self, spec: PolicySpec, dim: int) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"bias-transformation dim must be a positive int, got {dim!r}")
        self.spec, self.dim = spec, dim
        self.width = spec.layer_sizes[1]  # rows of the first layer
        self.p_std = spec.num_params
        self.num_params = self.p_std + self.width * dim + dim
        b0 = next(b for b in spec.layout if b.name == "b0")
        self._b0 = slice(b0.offset, b0.offset + b0.size)

    def block_slices(self) -> dict[str, slice]:
        out = {b.name: slice(b.offset, b.offset + b.size) for b in self.spec.layout}
        out["W_bt"] = slice(self.p_std, self.p_std + self.width * self.dim)
        out["bt"] = slice(self.p_std + self.width * self.dim, self.num_params)
        return out

    def _split(self, theta: torch.Tensor):
        lead = theta.shape[:-1]
        w = theta[..., self.p_std:self.p_std + self.width * self.dim].reshape(*lead, self.width, self.dim)
        z = theta[..., self.p_std + self.width * self.dim:]
        return theta[..., :self.p_std], w, z

    def init_params(self, init_std: float, generator: torch.Generator | None, dtype: torch.dtype) -> torch.Tensor:
        """[num_params]: the standard Glorot init, W_z Glorot over fan_in = obs_dim + k, z = 1."""
        theta = torch.zeros(self.num_params, dtype=dtype)
        theta[:self.p_std] = self.spec.init_params(init_std, generator, dtype)
        limit = math.sqrt(6.0 / (self.spec.obs_dim + self.dim + self.width))
        w = (torch.rand(self.width * self.dim, generator=generator, dtype=torch.float64) * 2 - 1) * limit
        theta[self.p_std:self.p_std + w.numel()] = w.to(dtype)
        theta[self.p_std + w.numel():] = 1.0
        return theta

    def to_std(self, theta: torch.Tensor) -> torch.Tensor:
        """ψ(θ): [..., num_params] → [..., P_std] (differentiable)."""
        std, w, z = self._split(theta)
        shift = (w @ z.unsqueeze(-1)).squeeze(-1)
        pad = torch.zeros_like(std)
        pad[..., self._b0] = shift
        return std + pad

    def jvp(self, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Jψ v → [..., P_std]."""
        _, w, z = self._split(theta)
        v_std, v_w, v_z = self._split(v)
        out = v_std.clone()
        out[..., self._b0] += (v_w @ z.unsqueeze(-1)).squeeze(-1) + (w @ v_z.unsqueeze(-1)).squeeze(-1)
        return out

    def vjp(self, theta: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Jψᵀ g: [..., P_std] → [..., num_params]."""
        _, w, z = self._split(theta)
        g_b0 = g[..., self._b0]
        g_w = g_b0.unsqueeze(-1) * z.unsqueeze(-2)
        g_z = (w.transpose(-1, -2) @ g_b0.unsqueeze(-1)).squeeze(-1)
        return torch.cat([g, g_w.flatten(-2), g_z], -1)

    def curvature(self, g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """C(g, v) = Σ_j g_j ∇²ψ_j v → [..., num_params] (g: the standard gradient [..., P_std])."""
        _, v_w, v_z = self._split(v)
        g_b0 = g[..., self._b0]
        out = torch.zeros_like(v)
        out[..., self.p_std:self.p_std + self.width * self.dim] = (g_b0.unsqueeze(-1) * v_z.unsqueeze(-2)).flatten(-2)
        out[..., self.p_std + self.width * self.dim:] = (v_w.transpose(-1, -2) @ g_b0.unsqueeze(-1)).squeeze(-1)
        return out


class ReparamObjective(InnerSurrogate):
    """A surrogate of the standard policy seen through a BiasTransform: the same interface (grad,
    hvp, value, data), in GMPS's parameters [T, num_params] (hvp needs an inner surrogate)."""

    def __init__(self, objective: Surrogate, reparam: BiasTransform) -> None:
        super().__init__(objective.spec, objective.data)
        self.objective, self.reparam = objective, reparam
        self._std, self._std_grad = _LastResult(), _LastResult()

    def _std_params(self, params: torch.Tensor) -> torch.Tensor:
        return self._std.get(params, None, lambda: self.reparam.to_std(params))

    def _grad_std(self, params: torch.Tensor, backend: str) -> torch.Tensor:
        """The standard objective's gradient at ψ(θ) (used by grad and by hvp's curvature term)."""
        std = self._std_params(params)
        return self._std_grad.get(std, backend, lambda: self.objective.grad(std, backend))

    def grad(self, params: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        return self.reparam.vjp(params, self._grad_std(params, backend))

    def hvp(self, params: torch.Tensor, v: torch.Tensor, backend: str = "auto") -> torch.Tensor:
        std = self._std_params(params)
        h = self.objective.hvp(std, self.reparam.jvp(params, v), backend)
        return self.reparam.vjp(params, h) + self.reparam.curvature(self._grad_std(params, backend), v)

    def value(self, params: torch.Tensor) -> torch.Tensor:
        return self.objective.value(self.reparam.to_std(params))

"""The diagonal-Gaussian MLP policy over one flat parameter vector.

Flat layout of θ ∈ R^P (``PolicySpec.layout``): for each layer in order, W (out × in, row-major)
then b (out); then log_std (act_dim). Hidden layers use ``activation`` (tanh or relu); the output
layer (the action mean μ_θ(s)) is linear; the standard deviation σ = exp(log_std) does not depend
on the state. log π(a|s) = −½ Σ_j z_j² − Σ_j log σ_j − (d/2) log 2π with z = (a − μ_θ(s)) / σ.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Optional, Union

import torch

from ._deprecation import renamed_kwargs

if TYPE_CHECKING:
    from ._C import MlpSpec

ACTIVATIONS = ("tanh", "relu")
# A source of randomness: an int seed (a fresh torch.Generator seeded with it), a torch.Generator
# (used, and advanced, as it is) or None (torch's global generator).
Seed = Union[int, torch.Generator, None]
_NATIVE_SPECS: dict[PolicySpec, MlpSpec] = {}  # PolicySpec → _C.MlpSpec


class ParamBlock(NamedTuple):
    """One named block of the flat parameter vector: ``theta[offset:offset+size].view(shape)``."""

    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


MAX_LAYER_SIZE = 1 << 20  # units per layer (the C++ kernels hold sizes as 32-bit ints)
MAX_PARAMS = (1 << 31) - 1  # parameters of one policy (16 GiB in float64: beyond what a run can hold)


@dataclass(frozen=True)
class PolicySpec:
    """Architecture of a Gaussian MLP policy.

    Args:
        obs_dim: observation size (> 0).
        act_dim: action size (> 0).
        hidden: hidden-layer widths, e.g. (64, 64); () gives a linear policy.
        activation: "tanh" (default, as the papers' code) or "relu".
    """

    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        for name in ("obs_dim", "act_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"PolicySpec.{name} must be a positive int, got {value!r}")
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise TypeError(f"PolicySpec.hidden must be a sequence of positive ints (e.g. (64, 64); () for a linear "
                            f"policy), got {self.hidden!r}") from None
        if any(isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in hidden):
            raise ValueError(f"PolicySpec.hidden must be positive ints, got {self.hidden!r}")
        for name, value in (("obs_dim", self.obs_dim), ("act_dim", self.act_dim), *(("hidden", h) for h in hidden)):
            if value > MAX_LAYER_SIZE:
                raise ValueError(f"PolicySpec.{name}: a layer of {value} units is more than {MAX_LAYER_SIZE}")
        object.__setattr__(self, "hidden", hidden)
        sizes = (self.obs_dim, *hidden, self.act_dim)
        params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + self.act_dim
        if params > MAX_PARAMS:
            raise ValueError(f"PolicySpec: layers {sizes} have {params:,} parameters, more than {MAX_PARAMS:,}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"PolicySpec.activation must be one of {ACTIVATIONS}, got {self.activation!r}")

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """(obs_dim, *hidden, act_dim)."""
        return (self.obs_dim, *self.hidden, self.act_dim)

    @property
    def num_layers(self) -> int:
        return len(self.hidden) + 1

    @functools.cached_property
    def layout(self) -> tuple[ParamBlock, ...]:
        """The blocks of the flat vector in order: W0, b0, W1, b1, ..., log_std."""
        blocks, offset = [], 0
        sizes = self.layer_sizes
        for layer in range(self.num_layers):
            fan_in, fan_out = sizes[layer], sizes[layer + 1]
            blocks.append(ParamBlock(f"W{layer}", offset, (fan_out, fan_in)))
            offset += fan_out * fan_in
            blocks.append(ParamBlock(f"b{layer}", offset, (fan_out,)))
            offset += fan_out
        blocks.append(ParamBlock("log_std", offset, (self.act_dim,)))
        return tuple(blocks)

    @functools.cached_property
    def num_params(self) -> int:
        """P, the length of the flat parameter vector."""
        last = self.layout[-1]
        return last.offset + last.size

    @property
    def native(self) -> MlpSpec:
        """This architecture as the compiled core's spec object (metarl_fast._C.MlpSpec), made once
        per distinct PolicySpec and passed to every compiled kernel and sampler."""
        native = _NATIVE_SPECS.get(self)
        if native is None:
            from . import _C

            native = _NATIVE_SPECS[self] = _C.MlpSpec(self.obs_dim, self.act_dim, list(self.hidden), self.activation)
        return native

    def unflatten(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``params`` [..., P] per block, each [..., *block.shape]."""
        if params.shape[-1] != self.num_params:
            raise ValueError(f"params must have last dimension P={self.num_params}, got {tuple(params.shape)}")
        lead = params.shape[:-1]
        return {b.name: params[..., b.offset : b.offset + b.size].reshape(*lead, *b.shape) for b in self.layout}

    @renamed_kwargs(generator="seed")
    def init_params(self, init_std: float = 1.0, seed: Seed = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A fresh θ [P]: Glorot-uniform weights (the papers' TF code), zero biases, log_std = log(init_std).

        seed: an int, a torch.Generator (drawn from, so it advances) or None (torch's global
        generator); ``generator=`` is its deprecated name."""
        generator = as_generator("PolicySpec.init_params", seed)
        if not (init_std > 0 and math.isfinite(init_std)):
            raise ValueError(f"init_std must be positive and finite, got {init_std!r}")
        theta = torch.zeros(self.num_params, dtype=dtype)
        for block in self.layout:
            view = theta[block.offset : block.offset + block.size]
            if block.name.startswith("W"):
                fan_out, fan_in = block.shape
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                view.copy_((torch.rand(block.size, generator=generator, dtype=torch.float64) * 2 - 1) * limit)
            elif block.name == "log_std":
                view.fill_(math.log(init_std))
        return theta


def as_generator(fn: str, seed: Seed) -> Optional[torch.Generator]:
    """The torch.Generator of a `seed` argument: a fresh one seeded with an int, a Generator as it
    is, None for None (torch's global generator)."""
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise TypeError(f"{fn}: seed must be an int, a torch.Generator or None, got {type(seed).__name__}")
    return torch.Generator().manual_seed(seed.__index__())


def mlp_mean(spec: PolicySpec, params: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    """μ_θ(s): params [P] or [T, P], obs [T, N, obs_dim] (or [N, obs_dim] with params [P]) → [..., N, act_dim].

    Differentiable pure-torch math; the reference every compiled kernel is tested against.
    """
    blocks = spec.unflatten(params)
    h = obs
    for layer in range(spec.num_layers):
        weight, bias = blocks[f"W{layer}"], blocks[f"b{layer}"]
        if params.dim() == 1:
            h = torch.nn.functional.linear(h, weight, bias)
        else:  # per-task parameters: [T, out, in] against [T, N, in]
            h = torch.baddbmm(bias.unsqueeze(-2), h, weight.transpose(-1, -2))
        if layer < spec.num_layers - 1:
            h = torch.tanh(h) if spec.activation == "tanh" else torch.relu(h)
    return h


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """log N(act; mean, exp(log_std)²) summed over the last dim. log_std broadcasts against mean."""
    z = (act - mean) * torch.exp(-log_std)
    d = mean.shape[-1]
    return -0.5 * (z * z).sum(-1) - log_std.sum(-1) - 0.5 * d * math.log(2.0 * math.pi)


class GaussianMLPPolicy(torch.nn.Module):
    """A Gaussian MLP policy whose parameters are one flat vector ``self.params`` [P].

    Args:
        spec: the architecture (see PolicySpec).
        init_std: initial standard deviation of every action dimension (log_std = log(init_std)).
        seed: of the Glorot-uniform weight initialisation: an int, a torch.Generator or None (torch's
            global generator).
    """

    def __init__(self, spec: PolicySpec, init_std: float = 1.0, seed: Seed = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if not isinstance(spec, PolicySpec):
            raise TypeError(f"spec must be a PolicySpec, got {type(spec).__name__}")
        self.spec = spec
        self.init_std = float(init_std)
        self.params = torch.nn.Parameter(spec.init_params(init_std, seed, dtype))

    @property
    def log_std(self) -> torch.Tensor:
        """[act_dim] view of the log standard deviation."""
        return self.spec.unflatten(self.params)["log_std"]

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs [..., obs_dim] → (mean [..., act_dim], log_std [act_dim])."""
        return mlp_mean(self.spec, self.params, obs), self.log_std

    def log_prob(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """log π(act|obs): obs [..., obs_dim], act [..., act_dim] → [...]."""
        mean, log_std = self(obs)
        return gaussian_log_prob(mean, log_std, act)

    @renamed_kwargs(generator="seed")
    def sample(self, obs: torch.Tensor, seed: Seed = None, deterministic: bool = False) -> torch.Tensor:
        """An action per observation (the mean when deterministic): obs [..., obs_dim] → [..., act_dim].

        seed: of the noise, as in PolicySpec.init_params (``generator=`` is its deprecated name)."""
        generator = as_generator("GaussianMLPPolicy.sample", seed)
        with torch.no_grad():
            mean, log_std = self(obs)
            if deterministic:
                return mean
            noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
            return mean + noise * torch.exp(log_std)


@dataclass(frozen=True)
class TabularSoftmaxPolicy:
    """A tabular softmax policy π(a|s) = softmax(θ[s, :])(a) over a flat θ [S·A] (row-major [S, A]).

    States and actions are one-hot vectors: obs [..., num_states], act [..., num_actions]. The pure-
    torch estimators (metarl_fast.reference) accept it wherever they accept a PolicySpec, which is
    how they are tested against exact enumeration on small MDPs (and what BO-MRL's tabular
    experiments use).
    """

    num_states: int
    num_actions: int

    def __post_init__(self) -> None:
        for name in ("num_states", "num_actions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"TabularSoftmaxPolicy.{name} must be a positive int, got {value!r}")

    @functools.cached_property
    def num_params(self) -> int:
        return self.num_states * self.num_actions

    def log_prob(self, params: torch.Tensor, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """log π(a|s): params [P] or [T, P], obs [T, N, S] one-hot, act [T, N, A] one-hot → [T, N]."""
        table = params.reshape(*params.shape[:-1], self.num_states, self.num_actions)
        if params.dim() == 1:
            logits = obs @ table  # [T, N, A]
        else:
            logits = torch.bmm(obs, table)
        return (act * torch.log_softmax(logits, dim=-1)).sum(-1)

"""GMPS's parameter vector over a standard PolicySpec: the spec's blocks, plus the bias
transformation's W_bt and bt when it is on (objectives.BiasTransform), and the mask of the blocks
the inner step adapts."""
from __future__ import annotations

import torch

from .objectives import BiasTransform, ReparamObjective

ADAPT_KEYWORDS = ("all", "bias_transform")


class GmpsPolicy:
    """GMPS's parameter vector over a standard PolicySpec: the spec's blocks, plus W_bt and bt when
    the bias transformation is on (dim > 0). ``to_std`` gives what the kernels and samplers evaluate;
    ``adapt_mask(names)`` is 1 on the adapted blocks."""

    def __init__(self, spec, bias_dim: int) -> None:
        self.spec = spec
        self.reparam = BiasTransform(spec, bias_dim) if bias_dim else None

    @property
    def num_params(self) -> int:
        return self.reparam.num_params if self.reparam else self.spec.num_params

    def block_slices(self) -> dict[str, slice]:
        if self.reparam:
            return self.reparam.block_slices()
        return {b.name: slice(b.offset, b.offset + b.size) for b in self.spec.layout}

    def init_params(self, init_std, generator, dtype) -> torch.Tensor:
        if self.reparam:
            return self.reparam.init_params(init_std, generator, dtype)
        return self.spec.init_params(init_std, generator, dtype)

    def to_std(self, params: torch.Tensor) -> torch.Tensor:
        return self.reparam.to_std(params) if self.reparam else params

    def wrap(self, objective):
        return ReparamObjective(objective, self.reparam) if self.reparam else objective

    def adapt_mask(self, adapt: str, dtype: torch.dtype) -> torch.Tensor:
        """[num_params] 0/1: "all", "bias_transform" (bt only, the paper's option), or block names
        separated by commas (e.g. "W2,b2,log_std")."""
        slices = self.block_slices()
        if adapt == "all":
            names = list(slices)
        elif adapt == "bias_transform":
            if not self.reparam:
                raise ValueError("gmps.adapt='bias_transform' needs gmps.bias_dim > 0")
            names = ["bt"]
        else:
            names = [n.strip() for n in adapt.split(",") if n.strip()]
            unknown = [n for n in names if n not in slices]
            if unknown or not names:
                raise ValueError(f"gmps.adapt: unknown blocks {unknown or adapt!r}; valid: {ADAPT_KEYWORDS} or "
                                 f"comma-separated names of {list(slices)}")
        mask = torch.zeros(self.num_params, dtype=dtype)
        for n in names:
            mask[slices[n]] = 1.0
        return mask

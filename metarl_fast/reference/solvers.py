"""Pure-torch reference of the solvers: batched conjugate gradient with a Python matvec, and the
TRPO backtracking line search. See metarl_fast.kernels.solvers for the argument documentation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Optional, Union, overload

import torch

Matvec = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CgInfo:
    """Per-system statistics of a conjugate-gradient solve (one entry per row of b).

    iterations: [rows] int32, iterations each system ran before it stopped.
    residual:   [rows] float64, final squared residual norm r·r (the quantity compared with residual_tol).
    status:     [rows] int32, 0 = converged or ran all iterations, 1 = stopped on non-positive curvature
                (pᵀAp ≤ 0: the operator is not positive definite along p).
    curvature:  [rows] float64, xᵀ(A + damping·I)x at the returned x, as x·(b − r) with CG's own
                residual r (equal up to rounding, and no further product): what TRPO's step length
                needs for x = H⁻¹g.
    """

    iterations: torch.Tensor
    residual: torch.Tensor
    status: torch.Tensor
    curvature: torch.Tensor


@overload
def conjugate_gradient(matvec: Matvec, b: torch.Tensor, iters: int = 10, residual_tol: float = 1e-10,
                       damping: float = 0.0, return_info: Literal[False] = False) -> torch.Tensor: ...


@overload
def conjugate_gradient(matvec: Matvec, b: torch.Tensor, iters: int = 10, residual_tol: float = 1e-10,
                       damping: float = 0.0, *, return_info: Literal[True]) -> tuple[torch.Tensor, CgInfo]: ...


@overload
def conjugate_gradient(matvec: Matvec, b: torch.Tensor, iters: int, residual_tol: float, damping: float,
                       return_info: Literal[True]) -> tuple[torch.Tensor, CgInfo]: ...


@overload
def conjugate_gradient(matvec: Matvec, b: torch.Tensor, iters: int = 10, residual_tol: float = 1e-10,
                       damping: float = 0.0, return_info: bool = False
                       ) -> Union[torch.Tensor, tuple[torch.Tensor, CgInfo]]: ...


@torch.no_grad()
def conjugate_gradient(matvec: Matvec, b: torch.Tensor, iters: int = 10, residual_tol: float = 1e-10,
                       damping: float = 0.0, return_info: bool = False
                       ) -> Union[torch.Tensor, tuple[torch.Tensor, CgInfo]]:
    """Solves (A + damping·I) x = b for every row of b [T, P] (or b [P]) at once → x like b.

    The iteration of the TRPO / ProMP code, per row; a row stops once its r·r < residual_tol (or on
    non-positive curvature) and is frozen while the others continue.
    """
    single = b.dim() == 1
    B = b.unsqueeze(0) if single else b
    rows = B.shape[0]
    x = torch.zeros_like(B)
    r = B.clone()
    p = B.clone()
    rdotr = (r.double() ** 2).sum(-1)
    active = rdotr >= residual_tol
    iterations = torch.zeros(rows, dtype=torch.int32, device=B.device)
    status = torch.zeros(rows, dtype=torch.int32, device=B.device)
    for k in range(iters):
        if not bool(active.any()):
            break
        z = matvec(p.squeeze(0) if single else p).reshape(B.shape)
        if damping:
            z = z + damping * p
        pz = (p.double() * z.double()).sum(-1)
        bad = active & ~(pz > 0)
        status[bad] = 1
        active = active & ~bad
        alpha = torch.where(active, rdotr / torch.where(active, pz, torch.ones_like(pz)), torch.zeros_like(pz))
        a = alpha.to(B.dtype).unsqueeze(-1)
        x = x + a * p
        r = r - a * z
        new_rdotr = torch.where(active, (r.double() ** 2).sum(-1), rdotr)
        mu = torch.where(active, new_rdotr / rdotr, torch.zeros_like(rdotr)).to(B.dtype).unsqueeze(-1)
        p = torch.where(active.unsqueeze(-1), r + mu * p, torch.zeros_like(p))
        iterations[active] = k + 1
        rdotr = new_rdotr
        active = active & (rdotr >= residual_tol)
    curvature = (x.double() * (B.double() - r.double())).sum(-1)
    x = x.squeeze(0) if single else x
    if return_info:
        return x, CgInfo(iterations, rdotr, status, curvature)
    return x


@dataclass(frozen=True)
class TrpoStepResult:
    """Outcome of trpo_step.

    params: the accepted parameters, or the input parameters (a clone) when the step was rejected.
    accepted: whether a candidate satisfied loss < loss_before and KL ≤ max_kl.
    step_size: the step length taken along −direction (0 when rejected).
    initial_step_size: √(2 max_kl / (dᵀHd + 1e-8)).
    backtracks: number of candidates tried before the accepted one (max_backtracks when rejected).
    loss_before, loss, kl: the loss at the input parameters, and the loss and KL at the returned ones.
    """

    params: torch.Tensor
    accepted: bool
    step_size: float
    initial_step_size: float
    backtracks: int
    loss_before: float
    loss: float
    kl: float


@torch.no_grad()
def trpo_step(params: torch.Tensor, direction: torch.Tensor, loss_fn: Callable[[torch.Tensor], float],
              kl_fn: Callable[[torch.Tensor], float], max_kl: float, *, dHd: Optional[float] = None,
              matvec: Optional[Matvec] = None, loss_before: Optional[float] = None, backtrack_ratio: float = 0.8,
              max_backtracks: int = 15) -> TrpoStepResult:
    """TRPO's line search: θ_k = θ − ratio^k · √(2δ / (dᵀHd + 1e-8)) · d for k = 0, 1, ...; accept the
    first θ_k with a finite loss below loss_before and KL ≤ δ, otherwise keep θ and report it."""
    if dHd is None:
        if matvec is None:
            raise ValueError("trpo_step: give dHd or matvec (to compute dᵀHd)")
        dHd = float((direction.double() * matvec(direction).double()).sum())
    if loss_before is None:
        loss_before = float(loss_fn(params))
    initial = math.sqrt(2.0 * max_kl / (max(float(dHd), 0.0) + 1e-8))
    for k in range(max_backtracks):
        step = initial * backtrack_ratio**k
        candidate = params - step * direction
        loss = float(loss_fn(candidate))
        kl = float(kl_fn(candidate))
        if math.isfinite(loss) and math.isfinite(kl) and loss < loss_before and kl <= max_kl:
            return TrpoStepResult(candidate, True, step, initial, k, loss_before, loss, kl)
    return TrpoStepResult(params.clone(), False, 0.0, initial, max_backtracks, loss_before, loss_before,
                          float(kl_fn(params)))

"""A small exact toolkit for tabular MDPs (float64 torch, differentiable): FrozenLake task
distributions, policy evaluation by linear solves (V, Q, A, the discounted visitation ν, J),
optimal policies by value iteration, Monte-Carlo Q estimates, and the gradient of Q with respect to
softmax logits (BO-MRL App. C). Used by BO-MRL's tabular experiments and theory checks.

Shapes: S states, A actions; P [S, A, S], R [S, A] expected reward, rho [S], policies [S, A].
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

DT = torch.float64
# gym FrozenLake's action order
LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
_MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}


@dataclass
class TabularMDP:
    """P [S, A, S] transition probabilities, R [S, A] expected rewards, rho [S] start distribution,
    gamma; terminal [S] marks absorbing states (all actions stay, reward 0)."""

    P: torch.Tensor
    R: torch.Tensor
    rho: torch.Tensor
    gamma: float
    terminal: torch.Tensor
    grid: np.ndarray | None = None  # FrozenLake map (b"S", b"F", b"H", b"G") when built from one

    @property
    def num_states(self) -> int:
        return self.P.shape[0]

    @property
    def num_actions(self) -> int:
        return self.P.shape[1]


def _solvable(grid: np.ndarray) -> bool:
    n = grid.shape[0]
    seen, queue = {(0, 0)}, deque([(0, 0)])
    while queue:
        r, c = queue.popleft()
        if grid[r, c] == "G":
            return True
        for dr, dc in _MOVES.values():
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and (rr, cc) not in seen and grid[rr, cc] != "H":
                seen.add((rr, cc))
                queue.append((rr, cc))
    return False


def frozen_lake(grid: np.ndarray, gamma: float = 0.8, slippery: bool = False) -> TabularMDP:
    """The MDP of a FrozenLake map ('S', 'F', 'H', 'G'): +1 on entering the goal, −1 on entering a
    hole; the goal and holes are absorbing with no further reward (the convention of docs/bomrl.md). rho is
    uniform over the non-terminal cells (full support, so that Assumption 2 holds). slippery: gym's
    dynamics (the intended move or either perpendicular one, 1/3 each)."""
    n = grid.shape[0]
    S, A = n * n, 4
    P = torch.zeros(S, A, S, dtype=DT)
    R = torch.zeros(S, A, dtype=DT)
    terminal = torch.tensor([grid[s // n, s % n] in ("H", "G") for s in range(S)])
    for s in range(S):
        r, c = divmod(s, n)
        for a in range(A):
            if terminal[s]:
                P[s, a, s] = 1.0
                continue
            outcomes = [((a - 1) % 4, 1 / 3), (a, 1 / 3), ((a + 1) % 4, 1 / 3)] if slippery else [(a, 1.0)]
            for move, prob in outcomes:
                dr, dc = _MOVES[move]
                rr, cc = min(max(r + dr, 0), n - 1), min(max(c + dc, 0), n - 1)
                s2 = rr * n + cc
                P[s, a, s2] += prob
                R[s, a] += prob * (1.0 if grid[rr, cc] == "G" else -1.0 if grid[rr, cc] == "H" else 0.0)
    rho = (~terminal).to(DT)
    return TabularMDP(P, R, rho / rho.sum(), gamma, terminal, grid)


def frozen_lake_tasks(num_tasks: int, size: int = 4, hole_prob: float = 0.3, gamma: float = 0.8, seed: int = 0,
                      slippery: bool = False) -> list[TabularMDP]:
    """num_tasks random hole maps (BO-MRL: hole probability 0.3 high / 0.1 low task variance): every
    cell but the start (top left) and the goal (bottom right) is a hole with probability hole_prob;
    maps without a path from start to goal are redrawn."""
    rng = np.random.default_rng(seed)
    tasks = []
    while len(tasks) < num_tasks:
        grid = np.where(rng.random((size, size)) < hole_prob, "H", "F").astype(object)
        grid[0, 0], grid[-1, -1] = "S", "G"
        if _solvable(grid):
            tasks.append(frozen_lake(grid, gamma, slippery))
    return tasks


def softmax_policy(logits: torch.Tensor) -> torch.Tensor:
    """π(a|s) = softmax(logits[s, :]) → [S, A]."""
    return torch.softmax(logits, dim=-1)


@dataclass
class Evaluation:
    V: torch.Tensor    # [S]
    Q: torch.Tensor    # [S, A]
    A: torch.Tensor    # [S, A]
    nu: torch.Tensor   # [S] normalised discounted visitation from rho
    J: torch.Tensor    # scalar, rho · V (unnormalised)
    resolvent: torch.Tensor  # (I − γ P^π)^{-1} [S, S]


def evaluate(mdp: TabularMDP, pi: torch.Tensor) -> Evaluation:
    """Exact policy evaluation (differentiable in pi)."""
    S = mdp.num_states
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    r_pi = (pi * mdp.R).sum(-1)
    resolvent = torch.linalg.inv(torch.eye(S, dtype=DT) - mdp.gamma * P_pi)
    V = resolvent @ r_pi
    Q = mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V)
    nu = (1 - mdp.gamma) * (mdp.rho @ resolvent)
    return Evaluation(V, Q, Q - V.unsqueeze(-1), nu, mdp.rho @ V, resolvent)


def optimal(mdp: TabularMDP, iterations: int = 2000) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q* [S, A], a deterministic optimal policy [S, A]) by value iteration."""
    V = torch.zeros(mdp.num_states, dtype=DT)
    for _ in range(iterations):
        Q = mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V)
        V_new = Q.max(-1).values
        if float((V_new - V).abs().max()) < 1e-14:
            V = V_new
            break
        V = V_new
    Q = mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V)
    pi = torch.nn.functional.one_hot(Q.argmax(-1), mdp.num_actions).to(DT)
    return Q, pi


def grad_q_wrt_logits(mdp: TabularMDP, pi: torch.Tensor, ev: Evaluation | None = None) -> torch.Tensor:
    """∂Q^{π_φ}(s, a)/∂φ(s', a') for a tabular softmax π_φ → [S, A, S, A] (BO-MRL App. C, Eq. 5 in
    matrix form): γ [P(·|s,a)ᵀ (I − γ P^π)^{-1}](s') π(a'|s') A^π(s', a')."""
    ev = ev or evaluate(mdp, pi)
    occupancy = mdp.gamma * torch.einsum("sat,tu->sau", mdp.P, ev.resolvent)  # [S, A, S']
    return occupancy.unsqueeze(-1) * (pi * ev.A).unsqueeze(0).unsqueeze(0)


def monte_carlo_q(mdp: TabularMDP, pi: torch.Tensor, rollouts: int, horizon: int, seed: int = 0) -> torch.Tensor:
    """Monte-Carlo estimate of Q^π(s, a) [S, A]: `rollouts` truncated discounted returns per (s, a)."""
    rng = np.random.default_rng(seed)
    P, R, pi_np = mdp.P.numpy(), mdp.R.numpy(), pi.detach().numpy()
    S, A = mdp.num_states, mdp.num_actions
    Q = np.zeros((S, A))
    cum_P = P.cumsum(-1)
    cum_pi = pi_np.cumsum(-1)
    for s in range(S):
        for a in range(A):
            state = np.full(rollouts, s)
            action = np.full(rollouts, a)
            total = np.zeros(rollouts)
            disc = 1.0
            for _ in range(horizon):
                total += disc * R[state, action]
                u = rng.random(rollouts)
                state = (u[:, None] > cum_P[state, action]).sum(-1).clip(max=S - 1)
                u = rng.random(rollouts)
                action = (u[:, None] > cum_pi[state]).sum(-1).clip(max=A - 1)
                disc *= mdp.gamma
            Q[s, a] = total.mean()
    return torch.tensor(Q, dtype=DT)

"""Task distributions of the families, as the papers' code draws them (docs/envs.md): each is a
function (numpy Generator, n) → task parameters [n, task_dim] float64."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def directions_1d(rng: np.random.Generator, n: int) -> np.ndarray:
    """±1 with equal probability (forward/backward)."""
    return rng.choice(np.array([-1.0, 1.0]), size=(n, 1))


def velocities(rng: np.random.Generator, n: int) -> np.ndarray:
    """A target velocity U(0, 3)."""
    return rng.uniform(0.0, 3.0, size=(n, 1))


def directions_2d(rng: np.random.Generator, n: int) -> np.ndarray:
    """A unit direction, uniform on the circle."""
    d = rng.normal(size=(n, 2))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def goals_disk3(rng: np.random.Generator, n: int) -> np.ndarray:
    """A goal uniform on the disk of radius 3 (ProMP's AntRandGoal)."""
    angle = rng.uniform(0.0, 2 * math.pi, size=n)
    radius = 3.0 * np.sqrt(rng.uniform(0.0, 1.0, size=n))
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)


def goals_square(rng: np.random.Generator, n: int) -> np.ndarray:
    """A goal uniform on [−0.5, 0.5]² (SG-MRL's 2D navigation)."""
    return rng.uniform(-0.5, 0.5, size=(n, 2))


CORNERS = np.array([[-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0], [2.0, 2.0]])


def corners(rng: np.random.Generator, n: int) -> np.ndarray:
    """One of the four corners (±2, ±2) (ProMP's point tasks)."""
    return CORNERS[rng.integers(0, 4, size=n)]


def arc_goals(rng: np.random.Generator, n: int) -> np.ndarray:
    """A goal uniform on the radius-2 arc from 0 to 90 degrees (GMPS's ant)."""
    angle = rng.uniform(0.0, math.pi / 2, size=n)
    return 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def gmps_arc_goals(num: int = 40) -> np.ndarray:
    """The fixed training goals of GMPS's public code: num goals at angles linspace(0, π/2, num)
    on the radius-2 arc ([num, 2]); use as ``family.tasks(gmps_arc_goals())``."""
    theta = np.linspace(0.0, math.pi / 2, num)
    return 2.0 * np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def rand_params_fields(sizes: dict) -> tuple[str, ...]:
    """Names of the RandParams multipliers: body_mass (nbody), body_inertia (3·nbody), dof_damping
    (nv), geom_friction (3·ngeom), in the order of the C++ layout."""
    nb, nv, ng = sizes["nbody"], sizes["nv"], sizes["ngeom"]
    return (tuple(f"body_mass[{i}]" for i in range(nb)) + tuple(f"body_inertia[{i},{k}]" for i in range(nb)
            for k in range(3)) + tuple(f"dof_damping[{i}]" for i in range(nv))
            + tuple(f"geom_friction[{i},{k}]" for i in range(ng) for k in range(3)))


def rand_params_sampler(sizes: dict, log_scale_limit: float = 3.0) -> Callable[[np.random.Generator, int], np.ndarray]:
    """rand_param_envs' RandomEnv: every element independently, 1.5^U(−3, 3) for masses, inertias
    and frictions, 1.3^U(−3, 3) for damping."""
    nb, nv, ng = sizes["nbody"], sizes["nv"], sizes["ngeom"]
    base = np.concatenate([np.full(4 * nb, 1.5), np.full(nv, 1.3), np.full(3 * ng, 1.5)])

    def sample(rng: np.random.Generator, n: int) -> np.ndarray:
        return base ** rng.uniform(-log_scale_limit, log_scale_limit, size=(n, base.size))

    return sample

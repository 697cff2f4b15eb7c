"""Analytic experts for the point task families (GMPS's scripted-expert option).

Every expert has ``act(obs [..., obs_dim], task [..., task_dim]) → actions [..., act_dim]`` in the
policy scale, ``env_steps`` (what it cost to obtain: 0 here) and ``source``.
"""
from __future__ import annotations

import torch


class PointGoalExpert:
    """Point2DNav and MetaPointEnvCorner: the largest allowed step straight to the goal,
    a = clip(g − p, ±bound) (bound 0.1, or 0.2 for the corner task). MetaPointEnvMomentum: a
    proportional-derivative controller on the acceleration, a = clip(kp (g − p) − kd v, ±0.1)
    (kp = 0.05, kd = 0.5: critically damped for unit mass and unit time step)."""

    source = "scripted"
    env_steps = 0
    FAMILIES = ("Point2DNav", "MetaPointEnvCorner", "MetaPointEnvMomentum")

    def __init__(self, family, kp: float = 0.05, kd: float = 0.5) -> None:
        if family.name not in self.FAMILIES:
            raise ValueError(f"PointGoalExpert supports {self.FAMILIES}, not {family.name}")
        self.family, self.kp, self.kd = family, kp, kd
        self.lo = torch.as_tensor(family.ctrl_range[:, 0])
        self.hi = torch.as_tensor(family.ctrl_range[:, 1])

    def act(self, obs: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        pos = obs[..., :2].to(torch.float64)
        goal = task[..., :2].to(torch.float64)
        if self.family.name == "MetaPointEnvMomentum":
            native = self.kp * (goal - pos) - self.kd * obs[..., 2:4].to(torch.float64)
        else:
            native = goal - pos
        native = torch.maximum(torch.minimum(native, self.hi), self.lo)
        return self.family.policy_actions(native).to(obs.dtype)


def scripted_expert(family):
    """The analytic expert of `family`, or a ValueError naming the families that have one."""
    if family.name in PointGoalExpert.FAMILIES:
        return PointGoalExpert(family)
    if family.name.startswith("MetaWorld"):
        from ..envs.metaworld_family import MetaWorldExpert

        return MetaWorldExpert(family)
    raise ValueError(f"no scripted expert for {family.name}; scripted experts exist for "
                     f"{', '.join(PointGoalExpert.FAMILIES)} and Meta-World (train SAC experts or load demonstrations instead)")

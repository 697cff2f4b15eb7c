"""Sampler backends behind one interface (base.Sampler): ``sample(params, tasks, rollouts_per_task,
horizon, seed) -> Batch``. Modules: base, cpp (the C++ pool), gymnasium (a Python loop), processes
(either on local worker processes), ray (either on Ray actors, one machine or a cluster), pieces
(what the last two share), registry."""
from .base import Sampler
from .cpp import CppSampler
from .gymnasium import GymnasiumSampler
from .processes import ProcessSampler
from .ray import RaySampler
from .registry import make_sampler, register_sampler, sampler_names

__all__ = ["CppSampler", "GymnasiumSampler", "ProcessSampler", "RaySampler", "Sampler", "make_sampler",
           "register_sampler", "sampler_names"]

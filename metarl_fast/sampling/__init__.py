"""Sampler backends behind one interface (base.Sampler): ``sample(params, tasks, trajs_per_task,
horizon, seed) -> Batch``. Modules: base, cpp (the C++ pool), gymnasium (a Python loop), ray (either
on Ray actors, one machine or a cluster), registry."""
from .base import Sampler
from .cpp import CppSampler
from .gymnasium import GymnasiumSampler
from .ray import RaySampler
from .registry import make_sampler, register_sampler, sampler_names

__all__ = ["CppSampler", "GymnasiumSampler", "RaySampler", "Sampler", "make_sampler", "register_sampler", "sampler_names"]

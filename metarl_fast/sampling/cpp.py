"""The C++ sampler: whole trajectories inside the package's thread pool, the policy evaluated in the
worker threads (no Python per step), for the families simulated in C++."""
from __future__ import annotations

from .._deprecation import renamed_kwargs
from .base import Sampler


class CppSampler(Sampler):
    """``family.rollout`` of a C++ family: bit-identical whatever the thread count; the batch carries
    the policy means the sampler acted with."""

    def __init__(self, family, spec) -> None:
        super().__init__(family, spec)
        if family.native_sampler != "cpp":
            raise ValueError(f"sampler='cpp' runs the C++ task families; {family.name} is stepped from Python "
                             f"(use sampler='auto' or sampler='gymnasium')")

    @renamed_kwargs(trajs_per_task="rollouts_per_task")
    def sample(self, params, tasks, rollouts_per_task, horizon, seed, streams=None):
        return self.family.rollout(self.spec, params, tasks, rollouts_per_task, horizon, seed, streams=streams)

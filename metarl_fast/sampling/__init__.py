"""Samplers: the C++ task families' own rollout (policy inside the C++ threads; `family.rollout`)
and the reference sampler that steps their gymnasium vector envs from Python with a torch policy."""
from .gymnasium_sampler import rollout_actor, rollout_gymnasium, sync_vector_env

__all__ = ["rollout_actor", "rollout_gymnasium", "sync_vector_env"]

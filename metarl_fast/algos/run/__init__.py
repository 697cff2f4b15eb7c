"""Running an algorithm: the RunContext an algorithm sees (context), the config (config) and its
presets, the algorithm registry (registry), the training loop with logging and checkpoints
(runner), trained meta-policies (meta_policy), meta-test (evaluation) and learning curves (curves)."""
from .config import TrainConfig, list_keys
from .context import RunContext, derived_seed
from .presets import PRESETS, preset
from .registry import algorithm, algorithm_names, register_algorithm
from .runner import Runner

__all__ = ["PRESETS", "RunContext", "Runner", "TrainConfig", "algorithm", "algorithm_names", "derived_seed",
           "list_keys", "preset", "register_algorithm"]

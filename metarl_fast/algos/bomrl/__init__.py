"""BO-MRL: the tabular lower levels and hypergradients (tabular), the lower level with function
approximation (lower_level), the settings section and the algorithm (the practical App. D one)."""
from .algorithm import BoMrl

__all__ = ["BoMrl"]

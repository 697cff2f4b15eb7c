"""GMPS: its objectives and bias transformation (objectives), the parameter layout (policy), phase 1
(experts and demonstrations), the settings section and the algorithm (phase 2, DAgger)."""
from .algorithm import Gmps

__all__ = ["Gmps"]

"""GMPS's phase 1: experts and their demonstrations.

- demos.py: the DemoSet on-disk format and ``collect_demos`` (any expert, any family).
- scripted.py: analytic experts for the point families.
- sac.py: Soft Actor-Critic, per-task or contextual (the task parameters visible to the expert
  only), whose sample counts GMPS adds to its own.
"""
from .demos import DemoSet, ExpertData, collect_demos
from .scripted import PointGoalExpert, scripted_expert

__all__ = ["DemoSet", "ExpertData", "PointGoalExpert", "collect_demos", "scripted_expert"]

"""The MAML family (MAML-VPG/TRPO, E-MAML, LVC, DiCE, ProMP, SG-MRL): surrogates, the outer
optimisers, the variants table, the settings section and the algorithm."""
from .algorithm import MamlAlgorithm
from .surrogates import INNER_SURROGATES, OUTER_SURROGATES, Dice, LikelihoodRatio, Lvc, PpoClip, ScoreFunction
from .variants import VARIANTS, Variant

__all__ = ["Dice", "INNER_SURROGATES", "LikelihoodRatio", "Lvc", "MamlAlgorithm", "OUTER_SURROGATES", "PpoClip",
           "ScoreFunction", "VARIANTS", "Variant"]

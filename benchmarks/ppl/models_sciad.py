"""The benchmark models for sciad.probabilistic, NumPyro's modelling API.

The model source is `models_ppl.py`, shared word for word with NumPyro: only
the two modules change.
"""

from models_ppl import make_models

import sciad.probabilistic as spp
from sciad.probabilistic import distributions as dist

MODELS = make_models(spp, dist)

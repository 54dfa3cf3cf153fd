"""The benchmark models for NumPyro (source shared with sciad: `models_ppl.py`)."""

import numpyro
import numpyro.distributions as dist
from models_ppl import make_models

MODELS = make_models(numpyro, dist)

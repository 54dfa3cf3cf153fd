"""Reparametrisation strategies at NumPyro's import path (``numpyro.infer.reparam``).

The strategies live in :mod:`sciad.probabilistic.reparam`; ``NeuTraReparam``,
which needs a fitted autoguide, lives here.
"""

from ..reparam import (
    CircularReparam as CircularReparam,
    ExplicitReparam as ExplicitReparam,
    LocScaleReparam as LocScaleReparam,
    Reparam as Reparam,
    TransformReparam as TransformReparam,
)
from ._neutra import NeuTraReparam as NeuTraReparam

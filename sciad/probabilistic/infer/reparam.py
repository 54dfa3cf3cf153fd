"""Alias of :mod:`sciad.probabilistic.reparam` at NumPyro's import path."""

from ..reparam import (
    CircularReparam as CircularReparam,
    ExplicitReparam as ExplicitReparam,
    LocScaleReparam as LocScaleReparam,
    Reparam as Reparam,
    TransformReparam as TransformReparam,
)

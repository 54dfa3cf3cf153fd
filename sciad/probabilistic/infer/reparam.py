"""Alias of :mod:`sciad.probabilistic.reparam` at NumPyro's import path."""

from ..reparam import LocScaleReparam as LocScaleReparam, Reparam as Reparam

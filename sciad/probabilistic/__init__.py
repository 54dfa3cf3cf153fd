"""Probabilistic programming on JAX, NumPyro-compatible.

A model is a Python function calling the primitives below; effect handlers
(:mod:`sciad.probabilistic.handlers`) seed, condition, trace and rescale it;
:mod:`sciad.probabilistic.infer` turns it into a log-density for samplers. Port a
NumPyro model by replacing ``numpyro`` with ``sciad.probabilistic`` in the imports::

    import sciad.probabilistic as numpyro
    import sciad.probabilistic.distributions as dist
"""

from . import distributions as distributions, handlers as handlers
from ._config import (
    enable_x64 as enable_x64,
    set_host_device_count as set_host_device_count,
    set_platform as set_platform,
)
from ._enum import markov as markov
from ._primitives import (
    CondIndepStackFrame as CondIndepStackFrame,
    Messenger as Messenger,
    apply_stack as apply_stack,
    deterministic as deterministic,
    factor as factor,
    param as param,
    plate as plate,
    prng_key as prng_key,
    sample as sample,
    subsample as subsample,
)
from ._scan import scan as scan
from .distributions import enable_validation as enable_validation

dist = distributions

from . import (  # noqa: E402
    contrib as contrib,
    infer as infer,
    optim as optim,
    reparam as reparam,
)

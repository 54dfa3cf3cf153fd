"""Differentiable physics: a ray tracer and stochastic differential equations.

Both halves are re-exported here, so `sciad.physics.render` and
`sciad.physics.simulate` are the public names.
"""

from .raytrace import *  # noqa: F403
from .raytrace import __all__ as _raytrace_all
from .sde import *  # noqa: F403
from .sde import __all__ as _sde_all

__all__ = [*_raytrace_all, *_sde_all]

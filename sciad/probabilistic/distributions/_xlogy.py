"""`xlogy` and `xlog1py` that take integer counts.

JAX's versions carry JVP rules that multiply the tangent of ``x`` by a log;
for an integer ``x`` (observed counts) that tangent is a ``float0`` and the
rule raises, so `jax.grad` of a Poisson or Binomial likelihood in its rate
failed whenever the counts were integers, as data usually are. Counts are
cast to the floating dtype of ``y`` first (exact below 2**24 in float32).
"""

import jax.numpy as jnp
from jax.scipy import special


def _float(x, y):
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return x.astype(jnp.result_type(y, float))


def xlogy(x, y):
    """$x \\log y$, 0 where $x = 0$."""
    return special.xlogy(_float(x, y), y)


def xlog1py(x, y):
    """$x \\log(1 + y)$, 0 where $x = 0$."""
    return special.xlog1py(_float(x, y), y)

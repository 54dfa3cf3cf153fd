r"""The standard gamma quantile (rate 1), with its implicit derivatives.

$x(q, \alpha)$ solves $P(\alpha, x) = q$ ($P$ the regularised lower incomplete
gamma) by bisection in $\log x$; above the median it solves $Q(\alpha, x) =
1 - q$ instead, whose values near 0 keep their digits where $P$'s near 1 do
not. Derivatives by the implicit function theorem: $\partial x/\partial q =
1/p(x)$ and $\partial x/\partial\alpha = -(\partial P/\partial\alpha)/p(x)$,
with JAX's derivative of `gammainc` in its shape.
"""

import functools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jax.scipy.special import gammainc, gammaincc, gammaln

from ._bisection import bisect_log

__all__ = ["gamma_icdf"]


def _log_pdf(x, a):
    return (a - 1) * jnp.log(x) - x - gammaln(a)


@jax.custom_jvp
def gamma_icdf(q, a):
    """`x` with `gammainc(a, x) = q`: the Gamma(a, rate 1) quantile."""
    dtype = jnp.result_type(q, a, float)
    q, a = jnp.broadcast_arrays(jnp.asarray(q, dtype), jnp.asarray(a, dtype))
    log_hi = math.log(jnp.finfo(dtype).max) / 2
    lower = bisect_log(lambda x: gammainc(a, x), q, dtype, log_hi)
    upper = bisect_log(lambda x: -gammaincc(a, x), -(1 - q), dtype, log_hi)
    x = jnp.where(q <= 0.5, lower, upper)
    return jnp.where(q <= 0, 0.0, jnp.where(q >= 1, jnp.inf, x))


@functools.partial(gamma_icdf.defjvp, symbolic_zeros=True)
def _gamma_icdf_jvp(primals, tangents):
    q, a = primals
    q_dot, a_dot = tangents
    x = gamma_icdf(q, a)
    inv_pdf = jnp.exp(-_log_pdf(x, a))
    tangent = jnp.zeros_like(x)
    if not isinstance(q_dot, SymbolicZero):
        tangent = tangent + q_dot * inv_pdf
    if not isinstance(a_dot, SymbolicZero):
        a_b = jnp.broadcast_to(a, jnp.shape(x))
        _, dp_da = jax.jvp(lambda a: gammainc(a, x), (a_b,), (jnp.ones_like(a_b),))
        tangent = tangent - a_dot * dp_da * inv_pdf
    return x, tangent

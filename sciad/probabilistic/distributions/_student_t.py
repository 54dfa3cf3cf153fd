r"""The standard Student t cdf and quantile, with hand-written derivatives.

With $x = \nu / (\nu + t^2)$, $P(|T| > t) = I_x(\nu/2, 1/2)$ and, for the
complement, $P(|T| \le t) = I_{1-x}(1/2, \nu/2)$ (regularised incomplete beta).
The derivative in $t$ is the density, given directly: through `betainc` it
would be $\infty \cdot 0$ = NaN at $t = 0$ (the incomplete beta's slope is
infinite where $x = 1$), the centre of every half-t. JAX's `betainc` has no
derivative in its shape parameters, so neither function has one in $\nu$.
"""

import functools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jax.scipy.special import betainc, gammaln

from ._bisection import bisect_log

__all__ = ["student_t_cdf", "student_t_icdf"]


def _log_pdf(t, df):
    half = 0.5 * (df + 1)
    return (
        gammaln(half)
        - gammaln(0.5 * df)
        - 0.5 * jnp.log(df * math.pi)
        - half * jnp.log1p(t**2 / df)
    )


def _no_df_derivative(df_dot, what):
    if not isinstance(df_dot, SymbolicZero):
        raise ValueError(
            f"StudentT.{what} has no derivative with respect to `df` (JAX's "
            "betainc has none in its shape parameters); make `df` a constant."
        )


@jax.custom_jvp
def student_t_cdf(t, df):
    """P(T <= t) for the standard t with `df` degrees of freedom."""
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + t**2))
    return jnp.where(t > 0, 1 - tail, tail)


@jax.custom_jvp
def student_t_icdf(q, df):
    """The standard t quantile: `student_t_cdf(student_t_icdf(q, df), df) = q`.

    Inverts the incomplete beta by bisection in log space: on $x$ in the tails
    ($I_x(\\nu/2, 1/2) = 2p$, $p = \\min(q, 1-q)$) and on $y = 1 - x$ near the
    centre ($I_y(1/2, \\nu/2) = 1 - 2p$), so $t$ keeps full relative precision
    both far out ($x$ tiny) and near 0 ($y$ tiny).
    """
    dtype = jnp.result_type(q, df, float)
    q, df = jnp.broadcast_arrays(jnp.asarray(q, dtype), jnp.asarray(df, dtype))
    p = jnp.minimum(q, 1 - q)
    half_df = 0.5 * df
    x = bisect_log(lambda u: betainc(half_df, 0.5, u), 2 * p, q.dtype)
    y = bisect_log(lambda u: betainc(0.5, half_df, u), 1 - 2 * p, q.dtype)
    tail = jnp.sqrt(df * (1 - x) / x)
    centre = jnp.sqrt(df * y / (1 - y))
    t = jnp.where(2 * p < 0.5, tail, jnp.where(p < 0.5, centre, 0.0))
    return jnp.where(q < 0.5, -t, t)


def _jvp_in_first_argument(fn, what, log_slope):
    """Give `fn(x, df)` the derivative `exp(log_slope(x, fn(x, df), df))` in `x`
    and none in `df`."""

    @functools.partial(fn.defjvp, symbolic_zeros=True)
    def jvp(primals, tangents):
        x, df = primals
        x_dot, df_dot = tangents
        _no_df_derivative(df_dot, what)
        out = fn(x, df)
        if isinstance(x_dot, SymbolicZero):
            return out, jnp.zeros_like(out)
        slope = jnp.exp(log_slope(x, out, df))
        return out, jnp.broadcast_to(slope * x_dot, jnp.shape(out))


# the cdf's slope is the density; the quantile's, its reciprocal at the quantile
_jvp_in_first_argument(student_t_cdf, "cdf", lambda t, _, df: _log_pdf(t, df))
_jvp_in_first_argument(student_t_icdf, "icdf", lambda _, t, df: -_log_pdf(t, df))

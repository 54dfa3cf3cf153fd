"""Dupire local volatility from an implied-volatility surface, by AD."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._validation import Checks, as_float

Scalarish = float | Float[ArrayLike, "..."]


def dupire_local_vol(
    implied_vol: Callable[[Array, Array], Array],
    times: Float[ArrayLike, " nt"],
    strikes: Float[ArrayLike, " ns"],
    *,
    spot: Scalarish,
    rate: Scalarish,
    dividend: Scalarish = 0.0,
) -> Float[Array, "nt ns"]:
    r"""Local volatility $\sigma_{\rm loc}(T, K)$ of a smooth implied-vol surface.

    Gatheral's form of Dupire's equation in total implied variance
    $w(y, T) = T\,\sigma_{\rm imp}(T, K)^2$ at log-moneyness
    $y = \ln(K/F_T)$, $F_T = Se^{(r-q)T}$:
    $$\sigma_{\rm loc}^2 = \frac{\partial_T w}{1 - \frac{y}{w}\partial_y w
      + \frac14\left(-\frac14 - \frac1w + \frac{y^2}{w^2}\right)(\partial_y w)^2
      + \frac12\partial_y^2 w}.$$
    The three derivatives of $w$ come from AD of ``implied_vol`` (no finite
    differences), so the surface must be smooth (twice differentiable in
    strike, once in time) — e.g. an SVI/SSVI parameterisation or a spline.
    A grid of market vols should be fitted by such a surface first: AD of a
    piecewise-linear interpolant gives zero curvature and jumps.

    NaN where the surface has calendar or butterfly arbitrage: the numerator
    or denominator is then $\le 0$ and no local vol exists.

    Args:
        implied_vol: ``implied_vol(T, K) -> sigma`` for scalar ``T``, ``K``
            (JAX-traceable; differentiable in both).
        times: maturities $T > 0$ of the output grid.
        strikes: strikes $K > 0$ of the output grid.
        spot, rate, dividend: market data defining the forward.

    Returns:
        Local vols of shape ``(len(times), len(strikes))``, ready for
        ``LocalVol(spot, rate, dividend, times, strikes, vols)``. Differentiable
        in ``spot``, ``rate``, ``dividend`` and any parameters closed over by
        ``implied_vol``.

    References:
        Dupire, B. (1994), "Pricing with a smile", Risk 7(1).
        Gatheral, J. (2006), "The Volatility Surface", Wiley, eq. (1.10).
    """
    checks = Checks()
    checks.positive(times, "times")
    checks.positive(strikes, "strikes")
    checks.positive(spot, "spot")
    times, strikes, s, r, q = as_float(
        times, strikes, spot, rate, dividend, broadcast=False
    )
    if times.ndim != 1 or strikes.ndim != 1:
        raise ValueError(
            "`times` and `strikes` must be 1-D; got shapes "
            f"{times.shape} and {strikes.shape}."
        )

    def total_variance(y, t):
        strike = s * jnp.exp((r - q) * t + y)
        return t * implied_vol(t, strike) ** 2

    dw_dy = jax.grad(total_variance, 0)
    dw_dt = jax.grad(total_variance, 1)
    d2w_dy2 = jax.grad(dw_dy, 0)

    def local_var(t, strike):
        y = jnp.log(strike / s) - (r - q) * t
        w, wy, wyy, wt = (f(y, t) for f in (total_variance, dw_dy, d2w_dy2, dw_dt))
        denom = (
            1.0
            - y / w * wy
            + 0.25 * (-0.25 - 1.0 / w + y * y / (w * w)) * wy * wy
            + 0.5 * wyy
        )
        ok = (wt > 0) & (denom > 0)
        return jnp.where(ok, wt / jnp.where(ok, denom, 1.0), jnp.nan)

    grid = jax.vmap(jax.vmap(local_var, (None, 0)), (0, None))(times, strikes)
    return checks.guard(jnp.sqrt(grid))

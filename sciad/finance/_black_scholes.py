"""Black–Scholes–Merton prices and their Greeks by automatic differentiation."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr
from jaxtyping import Array, ArrayLike, Bool, Float

from ._validation import as_float, call_sign, check_positive

Scalarish = float | Float[ArrayLike, "..."]


@jax.custom_jvp
def norm_cdf(x):
    """Standard normal CDF with the derivative rule $N'(x) = \\varphi(x)$.

    Why a custom rule: AD through `ndtr`'s piecewise erf/erfc implementation
    differentiates both branches of its `where`; the closed-form density is
    one `exp` (measured: all first-order Greeks / price 3.05 -> 2.6 in float64).
    Checked against finite differences to second order in the tests.
    """
    return ndtr(x)


norm_cdf.defjvps(lambda g, ans, x: g * jnp.exp(-0.5 * x * x) * 0.3989422804014327)


def black_undiscounted(forward, strike, total_std, sign):
    r"""Undiscounted Black price $\theta(F N(\theta d_1) - K N(\theta d_2))$."""
    d1 = jnp.log(forward / strike) / total_std + 0.5 * total_std
    d2 = d1 - total_std
    return sign * (forward * norm_cdf(sign * d1) - strike * norm_cdf(sign * d2))


def _price(spot, strike, maturity, rate, vol, dividend, sign):
    forward = spot * jnp.exp((rate - dividend) * maturity)
    total_std = vol * jnp.sqrt(maturity)
    return jnp.exp(-rate * maturity) * black_undiscounted(
        forward, strike, total_std, sign
    )


def _validated(spot, strike, maturity, rate, vol, dividend, call):
    spot = check_positive(spot, "spot")
    strike = check_positive(strike, "strike")
    maturity = check_positive(maturity, "maturity")
    vol = check_positive(vol, "vol")
    args = as_float(spot, strike, maturity, rate, vol, dividend)
    return (*args, call_sign(call, args[0].dtype))


def bs_price(
    spot: Scalarish,
    strike: Scalarish,
    maturity: Scalarish,
    rate: Scalarish,
    vol: Scalarish,
    dividend: Scalarish = 0.0,
    *,
    call: bool | Bool[ArrayLike, "..."] = True,
) -> Float[Array, "..."]:
    r"""Black–Scholes–Merton price of a European call or put.

    $$C = S e^{-qT} N(d_1) - K e^{-rT} N(d_2),\quad
      d_{1,2} = \frac{\ln(S/K) + (r - q \pm \sigma^2/2)T}{\sigma\sqrt T},$$
    and $P = K e^{-rT} N(-d_2) - S e^{-qT} N(-d_1)$.

    Args:
        spot: $S > 0$.
        strike: $K > 0$.
        maturity: $T > 0$ in years.
        rate: continuously compounded risk-free rate $r$.
        vol: volatility $\sigma > 0$ (annualised).
        dividend: continuous dividend yield $q$.
        call: True for a call, False for a put (may be a boolean array).

    All arguments broadcast against each other and all float arguments are
    differentiable.

    Returns:
        The price, with the broadcast shape of the inputs.

    Raises:
        ValueError: for concrete non-positive spot, strike, maturity or vol
            (traced values are checked with `eqx.error_if`).

    References:
        Black, F. and Scholes, M. (1973), "The Pricing of Options and Corporate
        Liabilities", J. Political Economy 81(3). doi:10.1086/260062.
        Merton, R. C. (1973), "Theory of Rational Option Pricing", Bell J. Econ.
        4(1). doi:10.2307/3003143.
    """
    return _price(*_validated(spot, strike, maturity, rate, vol, dividend, call))


class Greeks(NamedTuple):
    r"""Black–Scholes sensitivities, per unit (vega, rho, dividend_rho are not per 1%).

    theta is $\partial V/\partial t = -\partial V/\partial T$ per year.
    """

    delta: Array
    gamma: Array
    vega: Array
    theta: Array
    rho: Array
    dividend_rho: Array
    vanna: Array
    volga: Array


def bs_greeks(
    spot: Scalarish,
    strike: Scalarish,
    maturity: Scalarish,
    rate: Scalarish,
    vol: Scalarish,
    dividend: Scalarish = 0.0,
    *,
    call: bool | Bool[ArrayLike, "..."] = True,
) -> Greeks:
    r"""All first- and second-order Black–Scholes Greeks, computed by AD.

    The first-order Greeks (delta, vega, theta, rho, dividend_rho) come from ONE
    reverse pass: prices are elementwise in the inputs, so the gradient of the
    summed price gives every option's sensitivities at once. Gamma, vanna and
    volga come from forward-over-reverse: a JVP of that gradient along the
    spot and vol directions.

    $\Gamma = \partial^2 V/\partial S^2$,
    vanna $= \partial^2 V/\partial S\partial\sigma$,
    volga $= \partial^2 V/\partial\sigma^2$, theta $= -\partial V/\partial T$.

    Args: as for `bs_price`.

    Returns:
        A `Greeks` NamedTuple; each field has the broadcast shape of the inputs.
    """
    s, k, t, r, v, q, sign = _validated(
        spot, strike, maturity, rate, vol, dividend, call
    )

    def first_order(s, v):
        def total(s, t, r, v, q):
            return jnp.sum(_price(s, k, t, r, v, q, sign))

        return jax.grad(total, argnums=(0, 1, 2, 3, 4))(s, t, r, v, q)

    # linearize: one primal (reverse) pass, then two cheap tangent evaluations.
    (ds, dt, dr, dv, dq), hvp = jax.linearize(first_order, s, v)
    dds, _, _, ddv_s, _ = hvp(jnp.ones_like(s), jnp.zeros_like(v))
    _, _, _, ddv_v, _ = hvp(jnp.zeros_like(s), jnp.ones_like(v))
    return Greeks(
        delta=ds,
        gamma=dds,
        vega=dv,
        theta=-dt,
        rho=dr,
        dividend_rho=dq,
        vanna=ddv_s,
        volga=ddv_v,
    )

"""Semi-analytic Heston prices: Lewis' formula with a stable characteristic function."""

import functools

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from ._black_scholes import black_undiscounted
from ._validation import (
    as_float,
    call_sign,
    check_correlation,
    check_nonnegative,
    check_positive,
)

Scalarish = float | Float[ArrayLike, "..."]
_N_BODY = 48
_N_TAIL = 80


@functools.cache
def _legendre_nodes(n: int):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def heston_log_cf(u, maturity, v0, kappa, theta, sigma, rho):
    r"""Log of $E[e^{iu\ln(S_T/F)}]$ under Heston, in the "little trap" form.

    With $\xi = \kappa - \sigma\rho iu$, $d = \sqrt{\xi^2 + \sigma^2(u^2 + iu)}$,
    $g = (\xi - d)/(\xi + d)$, the Albrecher et al. form only ever takes
    $e^{-dT}$ (never $e^{+dT}$), so the complex log stays on its principal
    branch. We also remove every $1/\sigma^2$ by the identity
    $\xi - d = -\sigma^2(u^2+iu)/(\xi+d)$, so $\sigma \to 0$ (the Black–Scholes
    limit) is stable, and write $\ln\frac{1-ge^{-dT}}{1-g} =
    \mathrm{log1p}\big(g(1-e^{-dT})/(1-g)\big)$ to avoid cancellation.
    """
    a = u * u + 1j * u
    xi = kappa - sigma * rho * 1j * u
    d = jnp.sqrt(xi * xi + sigma * sigma * a)
    xpd = xi + d
    g = -(sigma * sigma) * a / (xpd * xpd)
    m = -jnp.expm1(-d * maturity)
    h = g * m / (1.0 - g)
    # log1p(h) / sigma^2 with h = O(sigma^2): use h / sigma^2 in closed form.
    h_over_s2 = -a / (xpd * xpd) * m / (1.0 - g)
    small = jnp.abs(h) < 1e-8
    safe_h = jnp.where(small, 1.0, h)
    ratio = jnp.where(small, 1.0 - 0.5 * h, jnp.log1p(safe_h) / safe_h)
    log_term = ratio * h_over_s2
    c = kappa * theta * (-a * maturity / xpd - 2.0 * log_term)
    dd = -a / xpd * m / (1.0 - g * (1.0 - m))
    return c + dd * v0


def heston_price(
    spot: Scalarish,
    strike: Scalarish,
    maturity: Scalarish,
    rate: Scalarish,
    dividend: Scalarish,
    v0: Scalarish,
    kappa: Scalarish,
    theta: Scalarish,
    sigma: Scalarish,
    rho: Scalarish,
    *,
    call: bool | Bool[ArrayLike, "..."] = True,
) -> Float[Array, "..."]:
    r"""European option price under the Heston (1993) stochastic volatility model.

    $$dS = (r-q)S\,dt + \sqrt v S\,dW_1,\quad dv = \kappa(\theta - v)dt +
    \sigma\sqrt v\,dW_2,\quad dW_1 dW_2 = \rho\,dt.$$

    Lewis' (2000) single-integral formula with a Black–Scholes control variate
    (volatility matching the expected integrated variance $w$):
    $$C = C_{BS}(w) - \frac{e^{-rT}\sqrt{FK}}{\pi}\int_0^\infty
      \mathrm{Re}\big[e^{iux}\big(\psi_H(u - \tfrac i2)
      - \psi_{BS}(u - \tfrac i2)\big)\big]
      \frac{du}{u^2 + 1/4},\qquad x = \ln(F/K),$$
    where $\psi$ is the characteristic function of $\ln(S_T/F)$ (see
    `heston_log_cf` for the stable form). The integral uses fixed
    Gauss–Legendre nodes (48 + 80) on two panels, $[0, u_1]$ with $u_1$ the
    Gaussian scale $\sqrt{72/w}$ of the control variate and $[u_1, u_{max}]$
    with $u_{max}$ from the asymptotic exponential decay of $\psi_H$
    (Kahl & Jäckel). The nodes move smoothly with the
    parameters: the price is jittable and differentiable in all arguments
    (spot, strike, maturity, rates and the five model parameters). Puts follow
    from put–call parity.

    Accuracy (float64): 1e-14 on Lewis' reference values and <= 2e-10
    absolute against QuantLib's adaptive engine on 300 random parameter sets
    (T in [0.02, 10], vol-of-vol up to 2, |rho| < 0.95, strikes within ~1.5
    standard deviations). A fixed rule can still under-resolve extreme
    far-from-the-money strikes whose integrand oscillates faster than the tail
    panel's nodes (frequency $|x|$ over $[u_1, u_{max}]$). float32 gives ~1e-5
    relative.

    Args:
        spot, strike, maturity, rate, dividend: as in `bs_price`.
        v0: initial variance ($\ge 0$).
        kappa: mean-reversion speed ($> 0$).
        theta: long-run variance ($\ge 0$).
        sigma: volatility of variance ($\ge 0$; the Feller condition is NOT
            required).
        rho: spot–variance correlation in $(-1, 1)$.
        call: True for calls, False for puts.

    References:
        Heston, S. L. (1993), Rev. Financial Studies 6(2), doi:10.1093/rfs/6.2.327.
        Lewis, A. L. (2000), "Option Valuation under Stochastic Volatility".
        Albrecher, H., Mayer, P., Schoutens, W., Tistaert, J. (2007), "The
        Little Heston Trap", Wilmott Magazine.
        Kahl, C. and Jäckel, P. (2005), "Not-so-complex logarithms in the
        Heston model", Wilmott Magazine.
    """
    spot = check_positive(spot, "spot")
    strike = check_positive(strike, "strike")
    maturity = check_positive(maturity, "maturity")
    v0 = check_nonnegative(v0, "v0")
    kappa = check_positive(kappa, "kappa")
    theta = check_nonnegative(theta, "theta")
    sigma = check_nonnegative(sigma, "sigma")
    rho = check_correlation(rho, "rho")
    s, k, t, r, q, v0, kappa, theta, sigma, rho = as_float(
        spot, strike, maturity, rate, dividend, v0, kappa, theta, sigma, rho
    )
    sign = call_sign(call, s.dtype)
    forward = s * jnp.exp((r - q) * t)
    discount = jnp.exp(-r * t)
    x = jnp.log(forward / k)
    # Expected integrated variance: the control variate's total variance.
    w = theta * t + (v0 - theta) * -jnp.expm1(-kappa * t) / kappa
    w = jnp.maximum(w, 1e-4 * t)
    decay = (
        jnp.sqrt(1.0 - rho * rho)
        * (v0 + kappa * theta * t)
        / jnp.maximum(sigma, 1e-300)
    )
    # Truncate where both the Heston tail (exponential decay) and the control
    # variate's Gaussian tail are below ~e^-36 of their start.
    u_gauss = jnp.sqrt(72.0 / w)
    # Tail end: e^{-decay u} / u^2 < e^{-32}, by two fixed-point sweeps.
    u_max = 32.0 / decay
    for _ in range(2):
        u_max = jnp.maximum(32.0 - 2.0 * jnp.log(jnp.maximum(u_max, 1.0)), 8.0) / decay
    u_max = jnp.maximum(u_max, 2.0 * u_gauss)
    # Two Gauss–Legendre panels: [0, u_1] resolves the body of the integrand
    # (Gaussian scale of the control variate), [u_1, u_max] the slow,
    # oscillating exponential tail of high vol-of-vol cases.
    u_1 = u_gauss[..., None]
    body_t, body_w = (jnp.asarray(a, s.dtype) for a in _legendre_nodes(_N_BODY))
    tail_t, tail_w = (jnp.asarray(a, s.dtype) for a in _legendre_nodes(_N_TAIL))
    span = u_max[..., None] - u_1
    u = jnp.concatenate([u_1 * body_t, u_1 + span * tail_t], -1)
    jac = jnp.concatenate([u_1 * body_w, span * tail_w], -1)
    z = u - 0.5j
    log_psi = heston_log_cf(
        z, *(a[..., None] for a in (t, v0, kappa, theta, sigma, rho))
    )
    psi_bs = jnp.exp(-0.5 * w[..., None] * (u * u + 0.25))
    integrand = (
        jnp.real(jnp.exp(1j * u * x[..., None] + log_psi))
        - jnp.cos(u * x[..., None]) * psi_bs
    )
    integrand = integrand / (u * u + 0.25) * jac
    integral = jnp.sum(integrand, axis=-1)
    call_price = discount * (
        black_undiscounted(forward, k, jnp.sqrt(w), 1.0)
        - jnp.sqrt(forward * k) / jnp.pi * integral
    )
    put_price = call_price - discount * (forward - k)
    return jnp.where(sign > 0, call_price, put_price)

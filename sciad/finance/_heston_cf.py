"""The Heston characteristic function and the Lewis quadrature's nodes.

Shared by the price (`_heston`) and its hand-written derivative rule
(`_heston_partials`).
"""

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._blocking import fused_sums
from ._fastmath import atan2, sincos

_N_BODY = 48  # Gauss–Legendre nodes on [0, u_1]
_N_TAIL = 80  # ... and on [u_1, u_max]


@functools.cache
def _legendre_nodes(n: int):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1.0), 0.5 * weights


def _sincos_once(x):
    """`sincos` whose values XLA computes once, not in every fusion using them.

    XLA:CPU treats sin/cos as cheap and recomputes them in each loop fusion
    that consumes them (the gradient's float64 program evaluated each sincos
    up to 4 times: library calls, not vectorised). A divide is "expensive"
    and never duplicated: dividing by a non-constant one (exact) makes XLA
    materialise the values once.
    """
    sin, cos = sincos(x)
    one = 1.0 + 0.0 * x
    return sin / one, cos / one


def _mul(a, b):
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def _div(a, b):
    den = b[0] * b[0] + b[1] * b[1]
    return (a[0] * b[0] + a[1] * b[1]) / den, (a[1] * b[0] - a[0] * b[1]) / den


def _sqrt(a):
    """Principal square root, cancellation-free for either sign of Re."""
    t = jnp.sqrt(0.5 * (jnp.abs(a[0]) + jnp.sqrt(a[0] * a[0] + a[1] * a[1])))
    t_safe = jnp.where(t > 0, t, 1.0)
    other = 0.5 * a[1] / t_safe
    return (
        jnp.where(a[0] >= 0, t, jnp.abs(other)),
        jnp.where(a[0] >= 0, other, jnp.where(a[1] < 0, -t, t)),
    )


class CFParts(NamedTuple):
    """Intermediates of the characteristic function (real pairs), see `cf_parts`."""

    a: Array
    xi: tuple
    d: tuple
    xpd: tuple
    inv: tuple
    inv2: tuple
    g: tuple
    e_dt: tuple
    m: tuple
    one_minus_g: tuple
    m_over: tuple
    h: tuple
    h_over_s2: tuple
    small: Array
    hs: tuple
    ratio: tuple
    c_hat: tuple
    one_minus_ge: tuple
    dd: tuple
    log_psi: tuple


def cf_parts(u, maturity, v0, kappa, theta, sigma, rho) -> CFParts:
    r"""$\ln\psi_H(u - i/2) = \kappa\theta\hat C + v_0 D$ and its intermediates.

    See `heston_cf_terms` for the formula; the hand-written derivatives in
    `_heston_partials` reuse these intermediates.
    """
    a = u * u + 0.25
    xi = (kappa - 0.5 * sigma * rho) + 0 * u, -sigma * rho * u
    d = _sqrt((xi[0] * xi[0] - xi[1] * xi[1] + sigma * sigma * a, 2 * xi[0] * xi[1]))
    xpd = (xi[0] + d[0], xi[1] + d[1])
    # -a / xpd and -a / xpd^2 (a real).
    inv = _div((-a, 0 * a), xpd)
    inv2 = _div(inv, xpd)
    g = (sigma * sigma * inv2[0], sigma * sigma * inv2[1])
    sin_dt, cos_dt = _sincos_once(-d[1] * maturity)
    decay = jnp.exp(-d[0] * maturity)
    e_dt = (decay * cos_dt, decay * sin_dt)  # e^{-dT}
    m = (1.0 - e_dt[0], -e_dt[1])
    one_minus_g = (1.0 - g[0], -g[1])
    m_over = _div(m, one_minus_g)
    h = _mul(g, m_over)
    h_over_s2 = _mul(inv2, m_over)
    # log1p(h) / h, with its series where h is tiny (sigma -> 0).
    small = h[0] * h[0] + h[1] * h[1] < 1e-16
    hs = (jnp.where(small, 1.0, h[0]), jnp.where(small, 0.0, h[1]))
    log1p_h = (
        0.5 * jnp.log1p(2.0 * hs[0] + hs[0] * hs[0] + hs[1] * hs[1]),
        atan2(hs[1], 1.0 + hs[0]),
    )
    ratio = _div(log1p_h, hs)
    ratio = (
        jnp.where(small, 1.0 - 0.5 * h[0], ratio[0]),
        jnp.where(small, -0.5 * h[1], ratio[1]),
    )
    log_term = _mul(ratio, h_over_s2)
    c_hat = (
        inv[0] * maturity - 2.0 * log_term[0],
        inv[1] * maturity - 2.0 * log_term[1],
    )
    kt = kappa * theta
    g_e = _mul(g, e_dt)
    one_minus_ge = (1.0 - g_e[0], -g_e[1])
    dd = _div(_mul(inv, m), one_minus_ge)
    log_psi = (kt * c_hat[0] + v0 * dd[0], kt * c_hat[1] + v0 * dd[1])
    return CFParts(
        a,
        xi,
        d,
        xpd,
        inv,
        inv2,
        g,
        e_dt,
        m,
        one_minus_g,
        m_over,
        h,
        h_over_s2,
        small,
        hs,
        ratio,
        c_hat,
        one_minus_ge,
        dd,
        log_psi,
    )


def heston_cf_terms(u, maturity, v0, kappa, theta, sigma, rho, w):
    r"""$\psi_H(u - i/2) - \psi_{BS}(u - i/2)$ as (real, imaginary) parts.

    $\psi$ is the characteristic function of $\ln(S_T/F)$. At $z = u - i/2$,
    $a = z^2 + iz = u^2 + 1/4$ is real, $\xi = \kappa - \sigma\rho iz$,
    $d = \sqrt{\xi^2 + \sigma^2 a}$, $g = (\xi - d)/(\xi + d)$. The
    Albrecher et al. "little trap" form only ever takes $e^{-dT}$, so the log
    stays on its principal branch (no jumps at long maturities). Every
    $1/\sigma^2$ is removed with $\xi - d = -\sigma^2 a/(\xi + d)$, so
    $\sigma \to 0$ (the Black–Scholes limit) is stable, and
    $\ln\frac{1-ge^{-dT}}{1-g} = \mathrm{log1p}\big(g(1-e^{-dT})/(1-g)\big)$
    avoids cancellation. Complex arithmetic is written out on real pairs:
    this keeps float32 work in float32 and lets XLA fuse the whole integrand
    (see `_fastmath` for the trigonometric functions).
    """
    p = cf_parts(u, maturity, v0, kappa, theta, sigma, rho)
    sin_p, cos_p = _sincos_once(p.log_psi[1])
    amp = jnp.exp(p.log_psi[0])
    return amp * cos_p - jnp.exp(-0.5 * w * p.a), amp * sin_p


def node_scalars(t, v0, kappa, theta, sigma, rho):
    """Per option: control-variate variance ``w``, panel split ``u_1``, ``u_max``."""
    # Expected integrated variance: the control variate's total variance.
    w = theta * t + (v0 - theta) * -jnp.expm1(-kappa * t) / kappa
    w = jnp.maximum(w, 1e-4 * t)
    # 1 / the asymptotic exponential decay rate of psi_H (0 when sigma = 0:
    # no division by sigma, so the derivatives stay finite there).
    scale = sigma / (jnp.sqrt(1.0 - rho * rho) * (v0 + kappa * theta * t))
    # Truncate where both the Heston tail (exponential decay) and the control
    # variate's Gaussian tail are below ~e^-36 of their start.
    u_gauss = jnp.sqrt(72.0 / w)
    # Tail end: e^{-u / scale} / u^2 < e^{-32}, by two fixed-point sweeps.
    u_max = 32.0 * scale
    for _ in range(2):
        u_max = jnp.maximum(32.0 - 2.0 * jnp.log(jnp.maximum(u_max, 1.0)), 8.0) * scale
    u_max = jnp.maximum(u_max, 2.0 * u_gauss)
    return w, u_gauss, u_max


def node_grid(u_1, u_max):
    """Nodes ``u`` and weights (before the ``1/(u^2 + 1/4)`` factor), trailing axis.

    Two Gauss–Legendre panels: [0, u_1] resolves the body of the integrand
    (Gaussian scale of the control variate), [u_1, u_max] the slow,
    oscillating exponential tail of high vol-of-vol cases.
    """
    dtype = u_1.dtype
    u_1 = u_1[..., None]
    body_t, body_w = (jnp.asarray(a, dtype) for a in _legendre_nodes(_N_BODY))
    tail_t, tail_w = (jnp.asarray(a, dtype) for a in _legendre_nodes(_N_TAIL))
    span = u_max[..., None] - u_1
    u = jnp.concatenate([u_1 * body_t, u_1 + span * tail_t], -1)
    weight = jnp.concatenate([u_1 * body_w, span * tail_w], -1)
    return u, weight


def _lewis_integral(x, t, v0, kappa, theta, sigma, rho):
    """Control-variate variance ``w`` and the Lewis integral (see `heston_price`)."""
    t, v0, kappa, theta, sigma, rho = jnp.broadcast_arrays(
        t, v0, kappa, theta, sigma, rho
    )
    w, u_1, u_max = node_scalars(t, v0, kappa, theta, sigma, rho)
    u, weight = node_grid(u_1, u_max)
    jac = weight / (u * u + 0.25)
    re, im = heston_cf_terms(
        u, *(a[..., None] for a in (t, v0, kappa, theta, sigma, rho, w))
    )
    re, im = re * jac, im * jac
    # Per strike: Re[e^{iux}(psi_H - psi_BS)] = cos(ux) re - sin(ux) im.
    if jnp.broadcast_shapes(x.shape, t.shape) != t.shape:
        # Strikes share the nodes: one sum with everything fused into it
        # (no full-size strikes x nodes intermediates).
        sin_ux, cos_ux = sincos(u * x[..., None])
        return w, jnp.sum(cos_ux * re - sin_ux * im, axis=-1)
    # Blocks of options: a vectorised loop fusion, then the sum (`fused_sums`),
    # not one reduce fusion: one core, 20k options, f32 77 -> 55 ms, f64 519 -> 308 ms.
    sin_ux, cos_ux = _sincos_once(u * x[..., None])
    return w, fused_sums([cos_ux * re - sin_ux * im])[0]

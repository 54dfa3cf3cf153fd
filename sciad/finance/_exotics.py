"""Closed-form exotic options: Reiner–Rubinstein barriers and geometric Asians."""

import jax.numpy as jnp
from jax.scipy.special import ndtr
from jaxtyping import Array, ArrayLike, Bool, Float

from ._black_scholes import _price
from ._validation import Checks, as_float, call_sign, check_choice

Scalarish = float | Float[ArrayLike, "..."]
BARRIER_KINDS = ("down-and-out", "down-and-in", "up-and-out", "up-and-in")


def barrier_price(
    spot: Scalarish,
    strike: Scalarish,
    barrier: Scalarish,
    maturity: Scalarish,
    rate: Scalarish,
    vol: Scalarish,
    dividend: Scalarish = 0.0,
    *,
    call: bool | Bool[ArrayLike, "..."] = True,
    kind: str = "down-and-out",
    rebate: Scalarish = 0.0,
    validate: bool = True,
) -> Float[Array, "..."]:
    r"""Continuously monitored single-barrier option (Reiner–Rubinstein, 1991).

    The price is a combination of the six terms $A,\dots,F$ of Haug (2007,
    §4.17.1), with $\mu = (b - \sigma^2/2)/\sigma^2$, $b = r - q$,
    $\lambda = \sqrt{\mu^2 + 2r/\sigma^2}$; e.g. a down-and-out call with
    $K > H$ is $A - C + F$. The rebate of an "out" option is paid when the
    barrier is hit; that of an "in" option at expiry if it never was.

    Args:
        spot, strike, maturity, rate, vol, dividend: as in `bs_price`.
        barrier: barrier level $H > 0$; must be below spot for "down" and above
            spot for "up" kinds (spot == barrier means the barrier is hit).
        call: True for calls, False for puts.
        kind: "down-and-out", "down-and-in", "up-and-out" or "up-and-in".
        rebate: cash rebate ($\ge 0$).
        validate: check traced inputs with `eqx.error_if` (default True; see
            `bs_price`).

    Differentiable in every float argument (Greeks by AD; delta jumps at the
    barrier, as it should).

    Raises:
        ValueError: unknown ``kind``, non-positive inputs, or a barrier on the
            wrong side of spot (traced values: `eqx.error_if`).

    References:
        Reiner, E. and Rubinstein, M. (1991), "Breaking down the barriers",
        Risk 4(8). Haug, E. G. (2007), "The Complete Guide to Option Pricing
        Formulas", 2nd ed., McGraw-Hill, §4.17.1.
    """
    check_choice(kind, "kind", BARRIER_KINDS)
    checks = Checks(validate)
    checks.positive(spot, "spot")
    checks.positive(strike, "strike")
    checks.positive(barrier, "barrier")
    checks.positive(maturity, "maturity")
    checks.positive(vol, "vol")
    down = kind.startswith("down")
    s, x, h, t, r, v, q, k = as_float(
        spot, strike, barrier, maturity, rate, vol, dividend, rebate
    )
    side = "<= spot for a down barrier" if down else ">= spot for an up barrier"
    checks.check(
        h, (lambda a, s=s: a > s) if down else (lambda a, s=s: a < s), "barrier", side
    )
    phi = call_sign(call, s.dtype)
    eta = 1.0 if down else -1.0
    b = r - q
    sd = v * jnp.sqrt(t)
    mu = (b - 0.5 * v * v) / (v * v)
    lam = jnp.sqrt(mu * mu + 2.0 * r / (v * v))
    hs = h / s
    x1 = jnp.log(s / x) / sd + (1 + mu) * sd
    x2 = jnp.log(s / h) / sd + (1 + mu) * sd
    y1 = jnp.log(h * h / (s * x)) / sd + (1 + mu) * sd
    y2 = jnp.log(h / s) / sd + (1 + mu) * sd
    z = jnp.log(h / s) / sd + lam * sd
    fwd = s * jnp.exp((b - r) * t)
    disc = jnp.exp(-r * t)

    def vanilla_like(d, mult_s, mult_x, e):
        return e * fwd * mult_s * ndtr(e * d) - e * x * disc * mult_x * ndtr(
            e * (d - sd)
        )

    a_ = vanilla_like(x1, 1.0, 1.0, phi)
    b_ = vanilla_like(x2, 1.0, 1.0, phi)
    refl_s, refl_x = hs ** (2 * (mu + 1)), hs ** (2 * mu)
    c_ = phi * (
        fwd * refl_s * ndtr(eta * y1) - x * disc * refl_x * ndtr(eta * (y1 - sd))
    )
    d_ = phi * (
        fwd * refl_s * ndtr(eta * y2) - x * disc * refl_x * ndtr(eta * (y2 - sd))
    )
    e_ = k * disc * (ndtr(eta * (x2 - sd)) - refl_x * ndtr(eta * (y2 - sd)))
    f_ = k * (
        hs ** (mu + lam) * ndtr(eta * z)
        + hs ** (mu - lam) * ndtr(eta * (z - 2 * lam * sd))
    )
    above = x > h  # strike above the barrier
    is_call = phi > 0
    # Haug's table of combinations, indexed by (kind, call/put, strike vs barrier).
    table = {
        "down-and-in": ((c_ + e_, a_ - b_ + d_ + e_), (b_ - c_ + d_ + e_, a_ + e_)),
        "up-and-in": ((a_ + e_, b_ - c_ + d_ + e_), (a_ - b_ + d_ + e_, c_ + e_)),
        "down-and-out": ((a_ - c_ + f_, b_ - d_ + f_), (a_ - b_ + c_ - d_ + f_, f_)),
        "up-and-out": ((f_, a_ - b_ + c_ - d_ + f_), (b_ - d_ + f_, a_ - c_ + f_)),
    }
    (call_hi, call_lo), (put_hi, put_lo) = table[kind]
    return checks.guard(
        jnp.where(
            is_call,
            jnp.where(above, call_hi, call_lo),
            jnp.where(above, put_hi, put_lo),
        )
    )


def asian_geometric_price(
    spot: Scalarish,
    strike: Scalarish,
    fixing_times: Float[ArrayLike, "*#batch n"],
    rate: Scalarish,
    vol: Scalarish,
    dividend: Scalarish = 0.0,
    *,
    call: bool | Bool[ArrayLike, "..."] = True,
    validate: bool = True,
) -> Float[Array, "..."]:
    r"""Discretely monitored geometric-average Asian option under Black–Scholes.

    With fixings $0 \le t_1 \le \dots \le t_n = T$, $\ln G = \frac1n\sum\ln S_{t_i}$
    is Gaussian with mean $\ln S + (r - q - \sigma^2/2)\bar t$ and variance
    $\sigma^2 n^{-2}\sum_{i,j}\min(t_i, t_j)$, so the price is a Black formula
    on the forward $E[G]$, discounted from $T$.

    Args:
        spot, strike, rate, vol, dividend: as in `bs_price` (broadcast over the
            leading "batch" axes).
        fixing_times: fixing times in years, last axis = fixings (the last one
            is the expiry); the leading axes broadcast with the other inputs.
        call: True for calls, False for puts.
        validate: check traced inputs with `eqx.error_if` (default True; see
            `bs_price`).

    References:
        Kemna, A. G. Z. and Vorst, A. C. F. (1990), "A pricing method for
        options based on average asset values", J. Banking & Finance 14(1).
        doi:10.1016/0378-4266(90)90039-5.
    """
    checks = Checks(validate)
    checks.positive(spot, "spot")
    checks.positive(strike, "strike")
    checks.positive(vol, "vol")
    checks.check(
        fixing_times,
        lambda a: (
            (a < 0)
            | (jnp.diff(a, axis=-1) < 0).any(axis=-1, keepdims=True)
            | (a[..., -1:] <= 0)
        ),
        "fixing_times",
        "non-negative, non-decreasing, with a positive last time",
    )
    s, k, r, v, q = as_float(spot, strike, rate, vol, dividend)
    times = jnp.asarray(fixing_times, s.dtype)
    n = times.shape[-1]
    expiry = times[..., -1]
    mean_t = jnp.mean(times, axis=-1)
    # sum_{i,j} min(t_i, t_j) for sorted times: t_i is the min of 2(n-i)-1 pairs.
    counts = 2.0 * (n - jnp.arange(n, dtype=s.dtype)) - 1.0
    cov = jnp.sum(times * counts, axis=-1)
    var = v * v * cov / (n * n)
    log_mean = jnp.log(s) + (r - q - 0.5 * v * v) * mean_t + 0.5 * var
    # E[G] = exp(log_mean): price as a Black–Scholes option with an effective
    # yield and vol chosen so that the forward and total variance match.
    eff_vol = jnp.sqrt(var / expiry)
    eff_div = r - (log_mean - jnp.log(s)) / expiry
    return checks.guard(
        _price(s, k, expiry, r, eff_vol, eff_div, call_sign(call, s.dtype))
    )

"""Exact transition log-densities of OU, GBM and CIR (for likelihood-based fits).

Each `*_transition_log_prob(model, y_prev, y_next, dt)` is elementwise
(broadcasting), differentiable in the model parameters and the states, and
`transition_log_likelihood(model, ts, ys)` sums them along an observed path.
"""

import jax.numpy as jnp
from jax.scipy.stats import norm
from jaxtyping import Array, ArrayLike, Float

from ._bessel import ncx2_log_prob
from ._models import CIR, GeometricBrownianMotion, OrnsteinUhlenbeck

_X = float | Float[ArrayLike, "..."]


def ou_transition_log_prob(
    model: OrnsteinUhlenbeck, y_prev: _X, y_next: _X, dt: _X
) -> Float[Array, "..."]:
    r"""$\log p(y_\text{next} \mid y_\text{prev})$ of an OU process after time `dt`.

    Gaussian with mean $\mu + (y_\text{prev}-\mu)e^{-\theta\,dt}$ and variance
    $\sigma^2(1-e^{-2\theta\,dt})/(2\theta)$ (`expm1` keeps small `dt` exact).
    """
    decay = jnp.exp(-model.theta * dt)
    mean = model.mu + (y_prev - model.mu) * decay
    var = -(model.sigma**2) * jnp.expm1(-2 * model.theta * dt) / (2 * model.theta)
    return norm.logpdf(y_next, mean, jnp.sqrt(var))


def gbm_transition_log_prob(
    model: GeometricBrownianMotion, y_prev: _X, y_next: _X, dt: _X
) -> Float[Array, "..."]:
    r"""$\log p(y_\text{next} \mid y_\text{prev})$ of GBM after time `dt` (log-normal).

    $\log y_\text{next} \sim \mathcal N(\log y_\text{prev} + (\mu-\sigma^2/2)dt,\
    \sigma^2 dt)$; the density of $y$ carries the Jacobian $-\log y_\text{next}$.
    """
    log_next = jnp.log(y_next)
    mean = jnp.log(y_prev) + (model.mu - model.sigma**2 / 2) * dt
    return norm.logpdf(log_next, mean, model.sigma * jnp.sqrt(dt)) - log_next


def cir_transition_log_prob(
    model: CIR, y_prev: _X, y_next: _X, dt: _X
) -> Float[Array, "..."]:
    r"""$\log p(y_\text{next} \mid y_\text{prev})$ of the CIR process after time `dt`.

    With $c = 2\kappa / (\sigma^2(1-e^{-\kappa\,dt}))$,
    $2c\,Y_{t+dt} \mid Y_t$ is noncentral chi-square with $4\kappa\theta/\sigma^2$
    degrees of freedom and noncentrality $2c\,Y_t e^{-\kappa\,dt}$, so
    $\log p = \log 2c + \log f_{\chi'^2}(2c\,y_\text{next})$. Requires
    $y_\text{prev}, y_\text{next} > 0$.

    References:
        Cox, Ingersoll, Ross, "A Theory of the Term Structure of Interest
        Rates", Econometrica 53(2), 1985, doi:10.2307/1911242.
    """
    c = -2 * model.kappa / (model.sigma**2 * jnp.expm1(-model.kappa * dt))
    df = 4 * model.kappa * model.theta / model.sigma**2
    nc = 2 * c * y_prev * jnp.exp(-model.kappa * dt)
    return jnp.log(2 * c) + ncx2_log_prob(2 * c * y_next, df, nc)


_TRANSITIONS = {
    OrnsteinUhlenbeck: ou_transition_log_prob,
    GeometricBrownianMotion: gbm_transition_log_prob,
    CIR: cir_transition_log_prob,
}


def transition_log_likelihood(
    model: OrnsteinUhlenbeck | GeometricBrownianMotion | CIR,
    ts: Float[ArrayLike, " n"],
    ys: Float[ArrayLike, " n"] | Float[ArrayLike, "n d"],
) -> Float[Array, ""]:
    r"""Exact log-likelihood of a discretely observed path, conditional on `ys[0]`.

    $$\ell = \sum_{i=1}^{n-1} \log p(y_i \mid y_{i-1};\ t_i - t_{i-1}),$$
    summed over state components when `ys` has shape `(n, d)`. `ts` may be
    irregular. Differentiable in the model parameters (the NUTS potential).
    """
    fn = _TRANSITIONS.get(type(model))
    if fn is None:
        raise TypeError(
            "`model` must be OrnsteinUhlenbeck, GeometricBrownianMotion or CIR; "
            f"got {type(model).__name__}."
        )
    ts, ys = jnp.asarray(ts), jnp.asarray(ys)
    if ts.ndim != 1 or ys.shape[0] != ts.shape[0] or ys.ndim > 2:
        raise ValueError(
            f"`ts` must be (n,) and `ys` (n,) or (n, d); got {ts.shape}, {ys.shape}."
        )
    dt = jnp.diff(ts)
    if ys.ndim == 2:
        dt = dt[:, None]
    return jnp.sum(fn(model, ys[:-1], ys[1:], dt))

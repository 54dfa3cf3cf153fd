"""Least-squares calibration of any differentiable pricer to option quotes."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
import optimistix as optx
from jaxtyping import Array, ArrayLike, Bool, Float, PyTree

from ._implied_vol import implied_vol
from ._validation import check_choice


class Quotes(NamedTuple):
    """Market quotes: arrays broadcasting to one shape (e.g. strikes x maturities)."""

    spot: Float[ArrayLike, "..."]
    strike: Float[ArrayLike, "..."]
    maturity: Float[ArrayLike, "..."]
    rate: Float[ArrayLike, "..."]
    dividend: Float[ArrayLike, "..."]
    price: Float[ArrayLike, "..."]
    call: bool | Bool[ArrayLike, "..."] = True


class LeastSquaresFit(NamedTuple):
    """Result of `calibrate_least_squares`.

    ``residuals`` are in the loss's units (vol or price); ``rmse`` is their root
    mean square; ``converged`` is False if the solver hit ``max_steps``.
    """

    params: PyTree
    residuals: Array
    rmse: Array
    num_steps: Array
    converged: Array


def calibrate_least_squares(
    price_fn: Callable[[PyTree, Quotes], Array],
    quotes: Quotes,
    init: PyTree,
    *,
    loss: str = "implied_vol",
    optimizer: Any = None,
    max_steps: int = 200,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> LeastSquaresFit:
    r"""Fit model parameters to quotes by nonlinear least squares.

    Minimises $\frac12\sum_i r_i(\theta)^2$ with
    $r_i = \sigma_{\rm imp}(P_i(\theta)) - \sigma_{\rm imp}(P_i^{\rm mkt})$ for
    ``loss="implied_vol"`` (the market convention: errors comparable across
    strikes and maturities; gradients flow through `implied_vol`'s implicit
    rule) or $r_i = P_i(\theta) - P_i^{\rm mkt}$ for ``loss="price"``.

    ``price_fn(params, quotes)`` must return model prices with the quotes'
    shape. Constraints are the caller's: map unconstrained parameters inside
    ``price_fn`` (e.g. ``softplus`` for variances, ``tanh`` for correlations),
    so the optimiser never leaves the model's domain.

    Args:
        price_fn: differentiable pricer ``(params, quotes) -> prices``.
        quotes: `Quotes`.
        init: initial parameter pytree.
        loss: "implied_vol" or "price".
        optimizer: an ``optimistix`` least-squares solver (default
            ``optx.LevenbergMarquardt(rtol, atol)``) or an
            ``optax.GradientTransformation`` (then ``max_steps`` plain steps).
        max_steps: iteration cap.
        rtol, atol: tolerances of the default Levenberg–Marquardt solver.

    Returns:
        `LeastSquaresFit`.

    References:
        Moré, J. J. (1978), "The Levenberg–Marquardt algorithm: implementation
        and theory", Lecture Notes in Mathematics 630. doi:10.1007/BFb0067700.
    """
    check_choice(loss, "loss", ("implied_vol", "price"))
    q = quotes

    def to_target(prices):
        if loss == "price":
            return prices
        return implied_vol(
            prices, q.spot, q.strike, q.maturity, q.rate, q.dividend, call=q.call
        )

    target = to_target(jnp.asarray(q.price))

    def residuals(params, args):
        return to_target(price_fn(params, q)) - target

    if optimizer is None:
        optimizer = optx.LevenbergMarquardt(rtol=rtol, atol=atol)
    if isinstance(optimizer, optax.GradientTransformation):
        params, steps, converged = _optax_fit(residuals, optimizer, init, max_steps)
    else:
        sol = optx.least_squares(
            residuals, optimizer, init, max_steps=max_steps, throw=False
        )
        params = sol.value
        steps = sol.stats["num_steps"]
        converged = sol.result == optx.RESULTS.successful
    res = residuals(params, None)
    return LeastSquaresFit(params, res, jnp.sqrt(jnp.mean(res**2)), steps, converged)


def _optax_fit(residuals, optimizer, init, max_steps):
    def objective(p):
        return 0.5 * jnp.sum(residuals(p, None) ** 2)

    def body(carry, _):
        params, state = carry
        grads = jax.grad(objective)(params)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(body, (init, optimizer.init(init)), length=max_steps)
    return params, jnp.asarray(max_steps), jnp.asarray(True)

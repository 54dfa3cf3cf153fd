"""The Monte Carlo pricing driver: chunked, checkpointed, optionally sharded."""

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._checkpoint import checkpointed_scan
from ._black_scholes import bs_price
from ._exotics import asian_geometric_price
from ._heston import heston_price
from ._models import GBM, AbstractModel, Heston
from ._payoffs import AbstractPayoff, AsianGeometric, European

_MAX_CHUNK = 16384


class MCResult(NamedTuple):
    """Monte Carlo estimate and its standard error (same units as the price)."""

    price: Array
    stderr: Array


def analytic_price(model: AbstractModel, payoff: AbstractPayoff, n_steps: int):
    """Closed-form price of ``payoff`` under ``model`` (for control variates)."""
    if isinstance(payoff, European) and isinstance(model, GBM):
        return bs_price(
            model.spot,
            payoff.strike,
            payoff.maturity,
            model.rate,
            model.vol,
            model.dividend,
            call=payoff.call,
        )
    if isinstance(payoff, European) and isinstance(model, Heston):
        return heston_price(
            model.spot,
            payoff.strike,
            payoff.maturity,
            model.rate,
            model.dividend,
            model.v0,
            model.kappa,
            model.theta,
            model.sigma,
            model.rho,
            call=payoff.call,
        )
    if isinstance(payoff, AsianGeometric) and isinstance(model, GBM):
        times = jnp.arange(1, n_steps + 1) * (payoff.maturity / n_steps)
        return asian_geometric_price(
            model.spot,
            payoff.strike,
            times,
            model.rate,
            model.vol,
            model.dividend,
            call=payoff.call,
        )
    raise ValueError(
        f"no closed form for control variate {type(payoff).__name__} under "
        f"{type(model).__name__}; pass `control_variate=(payoff, price)` instead."
    )


def _default_chunk(n_paths: int, antithetic: bool) -> int:
    for c in range(min(n_paths, _MAX_CHUNK), 0, -1):
        if n_paths % c == 0 and (c % 2 == 0 or not antithetic):
            return c
    raise ValueError(f"`n_paths` must be even with antithetic=True; got {n_paths}.")


def _chunk_stats(key, model, payoffs, n_steps, chunk, antithetic, checkpoints):
    """Per-chunk sums [Y, Y^2, X, X^2, XY] of (pair-averaged) discounted payoffs."""
    maturity = payoffs[0].maturity
    dt = jnp.asarray(maturity, dtype=jnp.result_type(maturity, 0.0)) / n_steps
    state = jax.vmap(lambda _: model.init())(jnp.arange(chunk))
    x_start = jax.vmap(model.log_spot)(state)
    accs = tuple(jax.vmap(p.init)(x_start) for p in payoffs)
    n_draw = chunk // 2 if antithetic else chunk

    def body(carry, i):
        state, accs = carry
        z = jr.normal(jr.fold_in(key, i), (n_draw, model.n_factors), x_start.dtype)
        if antithetic:
            z = jnp.concatenate([z, -z])
        t = i * dt
        state, step = jax.vmap(model.step, in_axes=(None, None, 0, 0))(t, dt, state, z)
        x_next = jax.vmap(model.log_spot)(state)
        accs = tuple(
            jax.vmap(p.update)(a, step, x_next)
            for p, a in zip(payoffs, accs, strict=True)
        )
        return (state, accs), None

    (state, accs), _ = checkpointed_scan(
        body, (state, accs), jnp.arange(n_steps), checkpoints=checkpoints
    )
    x_T = jax.vmap(model.log_spot)(state)
    disc = model.discount(maturity)
    values = [
        disc * jax.vmap(p.value)(a, x_T) for p, a in zip(payoffs, accs, strict=True)
    ]
    if antithetic:
        values = [0.5 * (v[: chunk // 2] + v[chunk // 2 :]) for v in values]
    y = values[0]
    x = values[1] if len(values) > 1 else jnp.zeros_like(y)
    return jnp.stack([y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum()])


def mc_price(
    model: AbstractModel,
    payoff: AbstractPayoff,
    *,
    n_paths: int,
    n_steps: int,
    key: PRNGKeyArray,
    antithetic: bool = True,
    control_variate: AbstractPayoff
    | tuple[AbstractPayoff, float | Float[ArrayLike, ""]]
    | None = None,
    checkpoints: str | int = "sqrt",
    chunk_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> MCResult:
    r"""Monte Carlo price $e^{-rT}E[\text{payoff}]$ with its standard error.

    Paths are simulated in chunks of ``chunk_size``; chunk $c$ draws its
    normals from ``fold_in(fold_in(key, c), step)``, so results depend only on
    ``key``, ``n_paths``, ``chunk_size`` and ``n_steps`` — not on how chunks
    are laid out over devices. Each chunk's time loop is a
    `sciad.checkpointed_scan` (``checkpoints="sqrt"`` stores ~$\sqrt{n}$
    carries) and the chunk itself is rematerialised under `jax.checkpoint`,
    so reverse-mode memory is O(chunk x sqrt(n_steps)) however many paths
    there are. ``checkpoints="all"`` stores everything (no recomputation).
    For a handful of Greeks, forward mode (`jax.jacfwd`) is usually cheaper
    than reverse mode: tangents ride along the paths without recomputing the
    random numbers.

    Greeks: differentiate the returned ``price`` with `jax.grad` w.r.t. any
    model or payoff field (pathwise / infinitesimal-perturbation AD). Digital
    and barrier payoffs are smoothed (see `Digital`, `Barrier`) so their
    pathwise Greeks are correct rather than zero.

    Control variate: a payoff $X$ with known price $\mu_X$ — either a payoff
    with a closed form under the model (`European` under `GBM`/`Heston`,
    `AsianGeometric` under `GBM`), or an explicit ``(payoff, price)`` pair.
    The estimator is $\bar Y - \beta(\bar X - \mu_X)$ with the sample-optimal
    $\beta = \widehat{\mathrm{Cov}}(X, Y)/\widehat{\mathrm{Var}}(X)$ (held
    constant under AD). With antithetic sampling, pairs are averaged before
    the variance is estimated, so ``stderr`` is honest.

    Args:
        model: a `GBM`, `Heston` or `LocalVol` (or any `AbstractModel`).
        payoff: `European`, `Digital`, `AsianArithmetic`, `AsianGeometric`,
            `Barrier` (or any `AbstractPayoff`).
        n_paths: total number of paths (static).
        n_steps: time steps to maturity (static).
        key: PRNG key.
        antithetic: use antithetic pairs $(z, -z)$.
        control_variate: see above.
        checkpoints: policy for the time loop (see `sciad.checkpointed_scan`).
        chunk_size: paths per chunk; must divide ``n_paths`` (and be even with
            antithetic). Default: the largest such divisor <= 16384.
        devices: spread chunks over these devices (a 1-D
            `jax.sharding.Mesh` and `jax.shard_map`); the number of chunks must
            be divisible by ``len(devices)``. Results equal the single-device
            ones for the same key.

    Returns:
        `MCResult` ``(price, stderr)``.

    Raises:
        ValueError: bad static sizes, chunk not dividing ``n_paths``, or a
            control variate without a closed form.
    """
    for name, val in (("n_paths", n_paths), ("n_steps", n_steps)):
        if not isinstance(val, int) or val < 1:
            raise ValueError(f"`{name}` must be a positive int; got {val!r}.")
    chunk = _default_chunk(n_paths, antithetic) if chunk_size is None else chunk_size
    if chunk < 1 or n_paths % chunk:
        raise ValueError(
            f"`chunk_size` must divide `n_paths`; got chunk_size={chunk}, "
            f"n_paths={n_paths}."
        )
    if antithetic and chunk % 2:
        raise ValueError(
            f"antithetic sampling needs an even `chunk_size`; got {chunk}."
        )
    payoffs = (payoff,)
    cv_mean = None
    if control_variate is not None:
        if isinstance(control_variate, tuple):
            cv_payoff, cv_mean = control_variate
        else:
            cv_payoff = control_variate
            cv_mean = analytic_price(model, cv_payoff, n_steps)
        payoffs = (payoff, cv_payoff)
    n_chunks = n_paths // chunk

    def one_chunk(c):
        return _chunk_stats(
            jr.fold_in(key, c), model, payoffs, n_steps, chunk, antithetic, checkpoints
        )

    if checkpoints != "all":  # "all" trades memory for no recomputation at all
        one_chunk = jax.checkpoint(one_chunk)

    def run(chunk_ids):
        return jax.lax.map(one_chunk, chunk_ids)

    chunk_ids = jnp.arange(n_chunks)
    if devices is not None and len(devices) > 1:
        if n_chunks % len(devices):
            raise ValueError(
                f"the number of chunks ({n_chunks}) must be divisible by the "
                f"number of devices ({len(devices)}); adjust `chunk_size`."
            )
        mesh = Mesh(np.asarray(devices), ("paths",))
        stats = jax.shard_map(
            run, mesh=mesh, in_specs=P("paths"), out_specs=P("paths"), check_vma=False
        )(chunk_ids)
        # Gather before reducing so the summation order matches one device.
        stats = jax.lax.with_sharding_constraint(stats, NamedSharding(mesh, P()))
    else:
        stats = run(chunk_ids)
    return _combine(stats, n_paths // 2 if antithetic else n_paths, cv_mean)


def _combine(stats, n, cv_mean):
    sy, syy, sx, sxx, sxy = (jnp.sum(stats[:, i]) for i in range(5))
    mean_y, mean_x = sy / n, sx / n
    var_y = (syy - n * mean_y**2) / (n - 1)
    if cv_mean is None:
        return MCResult(mean_y, jnp.sqrt(jnp.maximum(var_y, 0.0) / n))
    var_x = (sxx - n * mean_x**2) / (n - 1)
    cov = (sxy - n * mean_x * mean_y) / (n - 1)
    beta = jax.lax.stop_gradient(cov / jnp.where(var_x > 0, var_x, 1.0))
    price = mean_y - beta * (mean_x - cv_mean)
    var = var_y - 2 * beta * cov + beta**2 * var_x
    return MCResult(price, jnp.sqrt(jnp.maximum(var, 0.0) / n))

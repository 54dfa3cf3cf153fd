r"""Building blocks of Stan's warmup, each an `(init, update, final)` triple.

* `dual_averaging`: Nesterov dual averaging of $\log\epsilon$ towards a target
  mean acceptance probability (Hoffman & Gelman 2014, section 3.2).
* `welford_covariance`: streaming mean and (co)variance of the positions, with
  Stan's shrinkage towards $10^{-3} I$ when the window is short.
* `adaptation_schedule`: Stan's windows: a fast initial buffer (step size only),
  slow windows doubling in length (mass matrix), a fast terminal buffer.
* `find_reasonable_step_size`: double or halve $\epsilon$ until the one-step
  acceptance crosses 0.8 (Hoffman & Gelman 2014, algorithm 4).

References:
    Hoffman & Gelman, "The No-U-Turn Sampler", JMLR 15 (2014), arXiv:1111.4246.
    Stan Reference Manual, "HMC algorithm parameters: automatic parameter
    tuning" (https://mc-stan.org/docs/reference-manual/).
    Welford, "Note on a method for calculating corrected sums of squares and
    products", Technometrics 4 (1962).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._integrators import IntegratorState, euclidean_metric, velocity_verlet


class Triple(NamedTuple):
    init: Callable
    update: Callable
    final: Callable


class DualAveragingState(NamedTuple):
    log_step: jax.Array
    log_step_avg: jax.Array
    grad_avg: jax.Array
    count: jax.Array
    prox_center: jax.Array


def dual_averaging(
    t0: float = 10.0, kappa: float = 0.75, gamma: float = 0.05
) -> Triple:
    r"""Dual averaging of $x = \log\epsilon$ given the error $g_t = \delta - a_t$.

    $\bar g_t = (1 - \frac{1}{t + t_0})\bar g_{t-1} + \frac{g_t}{t + t_0}$,
    $x_t = \mu - \frac{\sqrt t}{\gamma}\bar g_t$,
    $\bar x_t = t^{-\kappa} x_t + (1 - t^{-\kappa})\bar x_{t-1}$;
    `final` returns $\exp \bar x_t$.
    """

    def init(prox_center):
        z = jnp.zeros_like(prox_center)
        return DualAveragingState(z, z, z, jnp.zeros((), jnp.int32), prox_center)

    def update(state: DualAveragingState, g):
        t = state.count + 1
        tf = t.astype(state.grad_avg.dtype)
        grad_avg = (1 - 1 / (tf + t0)) * state.grad_avg + g / (tf + t0)
        log_step = state.prox_center - jnp.sqrt(tf) / gamma * grad_avg
        weight = tf ** (-kappa)
        log_step_avg = (1 - weight) * state.log_step_avg + weight * log_step
        return DualAveragingState(
            log_step, log_step_avg, grad_avg, t, state.prox_center
        )

    def final(state: DualAveragingState):
        return jnp.exp(state.log_step_avg)

    return Triple(init, update, final)


class WelfordState(NamedTuple):
    mean: jax.Array
    m2: jax.Array
    count: jax.Array


def welford_covariance(dense: bool, regularize: bool = True) -> Triple:
    r"""Streaming (co)variance; `final` returns Stan's regularised estimate.

    $\hat\Sigma = \frac{n}{n + 5}\, S + 10^{-3}\,\frac{5}{n + 5}\, I$ with $S$
    the unbiased sample (co)variance over the window; with `regularize=False`
    (NumPyro's `regularize_mass_matrix=False`), $S$ itself.
    """

    def init(x):
        shape = (x.shape[0],) * (2 if dense else 1)
        return WelfordState(jnp.zeros_like(x), jnp.zeros(shape, x.dtype), jnp.int32(0))

    def update(state: WelfordState, x):
        n = state.count + 1
        delta = x - state.mean
        mean = state.mean + delta / n.astype(x.dtype)
        incr = jnp.outer(x - mean, delta) if dense else (x - mean) * delta
        return WelfordState(mean, state.m2 + incr, n)

    def final(state: WelfordState):
        n = state.count.astype(state.mean.dtype)
        cov = state.m2 / jnp.maximum(n - 1, 1)
        if not regularize:
            return cov
        shrunk = (n / (n + 5)) * cov
        jitter = 1e-3 * (5 / (n + 5))
        return shrunk + jitter * (
            jnp.eye(cov.shape[0], dtype=cov.dtype) if dense else 1
        )

    return Triple(init, update, final)


def adaptation_schedule(num_warmup: int) -> np.ndarray:
    """Stan's warmup windows as rows `(start, end)` (inclusive), like NumPyro's.

    The first row is the initial fast buffer, the last the terminal buffer, the
    rows between are the slow mass-matrix windows (25, 50, 100, ... draws, the
    last one stretched to meet the terminal buffer).
    """
    if num_warmup < 20:
        return np.array([[0, max(num_warmup - 1, 0)]], dtype=np.int32)
    init_buffer, term_buffer, base_window = 75, 50, 25
    if num_warmup < 150:
        init_buffer = int(0.15 * num_warmup)
        term_buffer = int(0.1 * num_warmup)
        base_window = num_warmup - init_buffer - term_buffer
    windows = [(0, init_buffer - 1)]
    end_start = num_warmup - term_buffer
    size, start = base_window, init_buffer
    while start < end_start:
        cur_start, cur_size = start, size
        if 3 * cur_size <= end_start - cur_start:
            size = 2 * cur_size
        else:
            cur_size = end_start - cur_start
        start = cur_start + cur_size
        windows.append((cur_start, start - 1))
    windows.append((end_start, num_warmup - 1))
    return np.array(windows, dtype=np.int32)


def search_continues(eps, last, direction):
    """Whether the step-size search goes on after a trial at ``eps``.

    ``direction`` is the trial's verdict (+1: acceptance above 0.8, double;
    -1: halve), ``last`` the previous trial's (0 before the first). The search
    stops when the verdict flips or ``eps`` would leave the finite range.
    """
    finfo = jnp.finfo(eps.dtype)
    small_ok = (eps > finfo.tiny) | (direction >= 0)
    large_ok = (eps < finfo.max) | (direction <= 0)
    return small_ok & large_ok & ((last == 0) | (direction == last))


def find_reasonable_step_size(
    value_and_grad: Callable,
    start: IntegratorState,
    step_size,
    inverse_mass_matrix,
    noise,
):
    """Double/halve `step_size` until one leapfrog step's acceptance crosses 0.8.

    `start` holds the position, potential and gradient (its momentum is ignored);
    `noise` is a standard-normal vector shaped like the position, reused for
    every trial so the search needs no random-number generation in its loop.
    """
    metric = euclidean_metric(inverse_mass_matrix)
    dtype = start.position.dtype
    momentum = metric.momentum_from_noise(noise)
    start = start._replace(momentum=momentum)
    energy0 = start.potential_energy + metric.kinetic_energy(momentum)
    log_target = jnp.log(jnp.asarray(0.8, dtype))

    def body(carry):
        eps, _, direction = carry
        eps = eps * (2.0 ** direction.astype(dtype))
        end = velocity_verlet(start, eps, value_and_grad, metric)
        delta = end.potential_energy + metric.kinetic_energy(end.momentum) - energy0
        new_direction = jnp.where(log_target < -delta, 1, -1).astype(jnp.int32)
        return eps, direction, new_direction

    def cond(carry):
        return search_continues(*carry)  # (eps, last, direction)

    zero = jnp.int32(0)
    eps, _, _ = jax.lax.while_loop(
        cond, body, (jnp.asarray(step_size, dtype), zero, zero)
    )
    return eps

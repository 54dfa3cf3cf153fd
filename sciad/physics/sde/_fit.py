"""`fit`: optax training loop for SDE models."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray, PyTree


def fit(
    model: PyTree,
    data: PyTree,
    loss: Callable,
    optimizer: optax.GradientTransformation,
    steps: int,
    *,
    key: PRNGKeyArray,
    progress: bool = False,
) -> tuple[PyTree, Float[Array, " steps"]]:
    """Minimise `loss(model, data, key)` over the model's array leaves with optax.

    One jitted step (loss, gradient, optax update) is compiled once and called
    `steps` times with a fresh key each time (`jr.fold_in(key, step)`), so the
    Monte Carlo noise of a simulated loss is resampled every step.

    Args:
        model: pytree (usually an SDE `eqx.Module`); its inexact arrays train.
        data: passed unchanged to `loss`.
        loss: `loss(model, data, key) -> scalar`.
        optimizer: an optax `GradientTransformation`.
        steps: number of optimisation steps, >= 1.
        key: PRNG key.
        progress: show a tqdm progress bar (needs tqdm).

    Returns:
        `(trained_model, loss_history)` with `loss_history[i]` the loss before
        update `i`.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` must be a positive int; got {steps!r}.")
    params, static = eqx.partition(model, eqx.is_inexact_array)

    @eqx.filter_jit
    def step(params, opt_state, key):
        def objective(p):
            return loss(eqx.combine(p, static), data, key)

        value, grads = eqx.filter_value_and_grad(objective)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, value

    opt_state = optimizer.init(params)
    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="fit")
    history = []
    for i in iterator:
        params, opt_state, value = step(params, opt_state, jr.fold_in(key, i))
        history.append(value)
    return eqx.combine(params, static), jnp.stack(history)

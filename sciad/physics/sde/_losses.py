"""Losses comparing simulated and observed path sets of shape `(n, T, d)`."""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def _check_paths(name: str, x) -> Array:
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"`{name}` must have shape (n_paths, T, d); got {x.shape}.")
    return x


def marginal_moment_loss(
    simulated: Float[ArrayLike, "n T d"],
    observed: Float[ArrayLike, "m T d"],
    *,
    n_moments: int = 2,
    normalise: bool = True,
) -> Float[Array, ""]:
    r"""Squared mismatch of the per-time marginal moments of two path sets.

    $$L = \frac{1}{Td}\sum_{t,j}\sum_{k=1}^{K}
    \Big(\frac{\hat m_k^\text{sim}(t,j) - \hat m_k^\text{obs}(t,j)}
    {s_j^k}\Big)^2,$$
    with $\hat m_1$ the mean and $\hat m_k$ ($k\ge2$) the central moments.
    With `normalise=True`, $s_j$ is the observed standard deviation of
    component $j$ averaged over time (so every moment is compared in units of
    the data's spread and the variance term is not drowned by the mean term);
    otherwise $s_j = 1$.
    Differentiable in `simulated`. Cheap, but blind to the time correlation of
    the paths: pair it with an MMD loss to fit dynamics, not just marginals.

    Args:
        simulated: paths `(n, T, d)`.
        observed: paths `(m, T, d)` on the same time grid.
        n_moments: number of moments `K` (1 = means only).
        normalise: scale moment `k` by `s_j^k` (see above).
    """
    simulated = _check_paths("simulated", simulated)
    observed = _check_paths("observed", observed)
    if simulated.shape[1:] != observed.shape[1:]:
        raise ValueError(
            "`simulated` and `observed` must share (T, d); got "
            f"{simulated.shape[1:]} and {observed.shape[1:]}."
        )
    if not isinstance(n_moments, int) or n_moments < 1:
        raise ValueError(f"`n_moments` must be an int >= 1; got {n_moments!r}.")

    def moments(x):
        mean = x.mean(0)
        centred = x - mean
        return [mean] + [(centred**k).mean(0) for k in range(2, n_moments + 1)]

    scale = jnp.ones(observed.shape[-1], observed.dtype)
    if normalise:
        spread = jnp.mean(jnp.std(observed, axis=0), axis=0)
        scale = jnp.where(spread > 0, spread, 1.0)
    return sum(
        jnp.mean(((a - b) / scale**k) ** 2)
        for k, (a, b) in enumerate(
            zip(moments(simulated), moments(observed), strict=True), start=1
        )
    )


def _mean_pairwise_distance(x, y):
    d2 = jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    # sqrt has an infinite derivative at 0 (x_i - x_i): mask it out.
    positive = d2 > 0
    return jnp.mean(jnp.where(positive, jnp.sqrt(jnp.where(positive, d2, 1.0)), 0.0))


def energy_distance(
    simulated: Float[ArrayLike, "n T d"], observed: Float[ArrayLike, "m T d"]
) -> Float[Array, ""]:
    r"""Energy distance (an MMD with the distance kernel) between two path sets.

    Each path is flattened to a vector in $\mathbb R^{Td}$ and
    $$D^2 = 2\,\mathbb E\|X - Y\| - \mathbb E\|X - X'\| - \mathbb E\|Y - Y'\|,$$
    estimated with V-statistics. $D^2 \ge 0$, with equality iff the path laws
    agree on the grid, so unlike `marginal_moment_loss` it sees the time
    correlations. Cost $O((n+m)^2 Td)$. Differentiable in `simulated`.

    References:
        Székely, Rizzo, "Energy statistics: A class of statistics based on
        distances", J. Stat. Plan. Inference 143(8), 2013,
        doi:10.1016/j.jspi.2013.03.018.
    """
    x = _check_paths("simulated", simulated)
    y = _check_paths("observed", observed)
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(
            "`simulated` and `observed` must share (T, d); got "
            f"{x.shape[1:]} and {y.shape[1:]}."
        )
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    return (
        2 * _mean_pairwise_distance(x, y)
        - _mean_pairwise_distance(x, x)
        - _mean_pairwise_distance(y, y)
    )

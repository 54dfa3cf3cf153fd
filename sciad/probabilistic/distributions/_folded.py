r"""The folded distribution of $|X|$ for a univariate $X$ on the real line."""

from collections.abc import Sequence

import jax.numpy as jnp

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution

__all__ = ["FoldedDistribution"]


class FoldedDistribution(Distribution):
    r"""$Y = |X|$ for $X \sim$ ``base_dist`` (NumPyro's ``FoldedDistribution``):
    $\log p_Y(y) = \operatorname{logaddexp}(\log p_X(y), \log p_X(-y))$ for
    $y \ge 0$ and $-\infty$ below. ``FoldedDistribution(Normal(0, s))`` is
    ``HalfNormal(s)``; with a nonzero ``loc`` it is scipy's ``foldnorm``.

    ``base_dist`` must be univariate and continuous with support on the whole real
    line (NumPyro only requires univariate). Draws are ``abs`` of base draws, so
    they are reparametrised whenever the base's are.
    """

    base_dist: Distribution
    support = constraints.positive

    def __init__(self, base_dist: Distribution, *, validate_args: bool | None = None):
        if (
            not isinstance(base_dist, Distribution)
            or base_dist.event_shape != ()
            or base_dist.is_discrete
            or not isinstance(base_dist.support, constraints._Real)
        ):
            described = (
                f"{type(base_dist).__name__} with event shape "
                f"{base_dist.event_shape} and support {base_dist.support!r}"
                if isinstance(base_dist, Distribution)
                else repr(base_dist)
            )
            raise ValueError(
                "FoldedDistribution: `base_dist` must be a univariate continuous "
                f"distribution on the real line; got {described}."
            )
        self.base_dist = base_dist
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(self.base_dist.batch_shape)

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return jnp.abs(self.base_dist.sample(key, sample_shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        value = jnp.asarray(value)
        lp = jnp.logaddexp(
            self.base_dist.log_prob(value), self.base_dist.log_prob(-value)
        )
        return jnp.where(value >= 0, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        y = jnp.maximum(jnp.asarray(value), 0.0)
        return self.base_dist.cdf(y) - self.base_dist.cdf(-y)

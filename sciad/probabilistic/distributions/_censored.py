r"""Censored observations: only a bound on the value is known.

For survival and detection-limit data, an observation flagged ``censored``
contributes $\log S(x) = \log(1 - F(x))$ (right-censored: the event happens
after $x$) or $\log F(x)$ (left-censored: before $x$) instead of the density
$\log p(x)$. The survival models have exact log survival functions
(Exponential, Weibull, LogNormal, Gamma: closed forms, ``log_ndtr``,
``gammaincc``); a base with its own ``log_cdf`` (Normal: ``log_ndtr``) uses it
in both tails; the other
symmetric location families compute $S$ as $F(2\mu - x)$, which keeps its
digits far in the upper tail where $1 - F$ keeps none. For the rest it is
``log1p(-F)``, floored one ulp below 1 as in NumPyro (an observation censored
far in the upper tail scores about ``log(eps)`` instead of its true value).
"""

from collections.abc import Sequence

import jax.numpy as jnp
from jax.scipy.special import gammaincc, log_ndtr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution
from ._continuous_real import Normal
from ._positive import Exponential, Gamma, LogNormal, Weibull
from ._truncated import _SYMMETRIC

__all__ = ["LeftCensoredDistribution", "RightCensoredDistribution"]


class _Censored(Distribution):
    base_dist: Distribution
    censored: jnp.ndarray
    arg_constraints = {"censored": constraints.boolean}

    def __init__(
        self,
        base_dist: Distribution,
        censored: ArrayLike = False,
        *,
        validate_args: bool | None = None,
    ):
        name = type(self).__name__
        if base_dist.event_shape != () or base_dist.is_discrete:
            raise ValueError(
                f"{name}: `base_dist` must be a univariate continuous distribution; "
                f"got {type(base_dist).__name__} with event shape "
                f"{base_dist.event_shape}."
            )
        self.base_dist = base_dist
        self.censored = jnp.asarray(censored, bool)
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(self.base_dist.batch_shape, self.censored.shape)
        )

    @property
    def support(self):
        return self.base_dist.support

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        """Draws of the uncensored quantity (censoring is how it is observed)."""
        return self.base_dist.expand(self.batch_shape).sample(key, sample_shape)

    def _log_bound(self, value):
        raise NotImplementedError

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.where(
            self.censored, self._log_bound(value), self.base_dist.log_prob(value)
        )

    def _log_cdf(self, x):
        base = self.base_dist
        if type(base).log_cdf is not Distribution.log_cdf:  # a tail-stable form
            return base.log_cdf(x)
        tiny = jnp.finfo(jnp.result_type(x, float)).tiny
        return jnp.log(jnp.maximum(base.cdf(x), 100 * tiny))

    def _log_survival(self, x):
        base = self.base_dist
        # closed forms of the survival models, exact in the upper tail
        if isinstance(base, Exponential):
            return -base.rate * jnp.maximum(x, 0.0)
        if isinstance(base, Weibull):
            return -((jnp.maximum(x, 0.0) / base.scale) ** base.concentration)
        if isinstance(base, LogNormal):
            safe = jnp.where(x > 0, x, 1.0)
            z = (base.loc - jnp.log(safe)) / base.scale
            return jnp.where(x > 0, log_ndtr(z), 0.0)
        if isinstance(base, Gamma):
            return jnp.log(gammaincc(base.concentration, base.rate * jnp.maximum(x, 0)))
        if isinstance(base, (Normal, *_SYMMETRIC)):
            return self._log_cdf(2 * base.loc - x)
        eps = jnp.finfo(jnp.result_type(x, float)).eps
        return jnp.log1p(-jnp.minimum(base.cdf(x), 1 - eps))


class RightCensoredDistribution(_Censored):
    """`base_dist` with right-censored observations: where ``censored`` is true
    the value is a lower bound (survival data: the event came later), scored by
    the log survival function (NumPyro's ``RightCensoredDistribution``)."""

    def _log_bound(self, value):
        return self._log_survival(value)


class LeftCensoredDistribution(_Censored):
    """`base_dist` with left-censored observations: where ``censored`` is true
    the value is an upper bound (e.g. below a detection limit), scored by the
    log cdf (NumPyro's ``LeftCensoredDistribution``)."""

    def _log_bound(self, value):
        return self._log_cdf(value)

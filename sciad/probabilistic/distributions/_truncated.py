r"""Any univariate distribution with a cdf, restricted to ``[low, high]``.

$p(x) = p_\text{base}(x) / Z$ on the interval, $Z = F(\text{high}) -
F(\text{low})$. For the symmetric location families the interval is reflected
about ``loc`` when it lies in the upper tail, so $Z$ is a difference of small
cdf values rather than of two values near 1 (where float32 keeps no digits).
`Normal` goes to `TruncatedNormal`, which works in log space and so keeps its
precision arbitrarily far into a tail.
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._bounded import TruncatedNormal, truncated_support
from ._continuous_real import Cauchy, Laplace, Logistic, Normal, StudentT

__all__ = [
    "LeftTruncatedDistribution",
    "RightTruncatedDistribution",
    "TruncatedCauchy",
    "TruncatedDistribution",
    "TwoSidedTruncatedDistribution",
]

# densities symmetric about `loc`: F(loc + t) = 1 - F(loc - t)
_SYMMETRIC = (Cauchy, Laplace, Logistic, StudentT)


class _Truncated(Distribution):
    """`base_dist` restricted to `[low, high]`; see `TruncatedDistribution`."""

    base_dist: Distribution
    low: jnp.ndarray
    high: jnp.ndarray
    _bounds: tuple = eqx.field(static=True)
    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}

    def __init__(
        self,
        base_dist: Distribution,
        low: ArrayLike | None = None,
        high: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        if base_dist.event_shape != () or base_dist.is_discrete:
            raise ValueError(
                "TruncatedDistribution: `base_dist` must be a univariate continuous "
                f"distribution; got {type(base_dist).__name__} with event shape "
                f"{base_dist.event_shape}."
            )
        self._bounds = (low is not None, high is not None)
        low = -jnp.inf if low is None else low
        high = jnp.inf if high is None else high
        self.base_dist = base_dist
        self.low, self.high = promote_dtype(low, high)
        self._finish_init(validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(
                self.base_dist.batch_shape, jnp.shape(self.low), jnp.shape(self.high)
            )
        )

    @property
    def support(self):
        return truncated_support(
            self._bounds, self.low, self.high, self.base_dist.support
        )

    def _frame(self):
        """`(flip, a, b, centre)`: the interval, reflected about `loc` if flipped.

        Reflection maps x to 2 loc - x; it is used when the interval's lower end
        lies above `loc`, so both cdf values stay below 1/2.
        """
        if isinstance(self.base_dist, _SYMMETRIC):
            centre = self.base_dist.loc
            flip = self.low > centre
        else:
            centre, flip = jnp.zeros(()), jnp.zeros((), bool)
        a = jnp.where(flip, 2 * centre - self.high, self.low)
        b = jnp.where(flip, 2 * centre - self.low, self.high)
        return flip, a, b, centre

    def _cdf_ends(self):
        flip, a, b, centre = self._frame()
        # an open end has cdf 0 or 1 exactly; evaluated at +-inf the cdf's
        # parameter gradient would be inf * 0 = NaN (hence the double where).
        # The placeholder is the other, finite end: a regular point of the
        # base's cdf (0 need not be: Weibull's slope in its shape is NaN there)
        finite = jnp.where(jnp.isinf(a), jnp.where(jnp.isinf(b), 0.0, b), a)
        f_a = self.base_dist.cdf(jnp.where(jnp.isinf(a), finite, a))
        f_b = self.base_dist.cdf(jnp.where(jnp.isinf(b), finite, b))
        return (
            flip,
            centre,
            jnp.where(jnp.isinf(a), 0.0, f_a),
            jnp.where(jnp.isinf(b), 1.0, f_b),
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        _, _, f_a, f_b = self._cdf_ends()
        inside = (value >= self.low) & (value <= self.high)
        lp = self.base_dist.log_prob(value) - jnp.log(f_b - f_a)
        return jnp.where(inside, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        flip, centre, f_a, f_b = self._cdf_ends()
        x = jnp.clip(value, self.low, self.high)
        f_x = self.base_dist.cdf(jnp.where(flip, 2 * centre - x, x))
        return jnp.where(flip, f_b - f_x, f_x - f_a) / (f_b - f_a)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        flip, centre, f_a, f_b = self._cdf_ends()
        # in the reflected frame the quantile q is 1 - q
        p = jnp.where(flip, f_b - q * (f_b - f_a), f_a + q * (f_b - f_a))
        x = self.base_dist.icdf(p)
        return jnp.clip(jnp.where(flip, 2 * centre - x, x), self.low, self.high)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        dtype = jnp.result_type(self.low, float)
        u = jr.uniform(key, self.shape(sample_shape), dtype)
        try:
            return self.icdf(u)
        except NotImplementedError:
            raise NotImplementedError(
                f"TruncatedDistribution samples by inversion, and "
                f"{type(self.base_dist).__name__} has no icdf (its log_prob and "
                "cdf work, so inference with it does)."
            ) from None

    @property
    def mean(self) -> Array:
        raise NotImplementedError(
            "TruncatedDistribution has no closed-form mean (TruncatedNormal has)."
        )

    @property
    def variance(self) -> Array:
        raise NotImplementedError(
            "TruncatedDistribution has no closed-form variance (TruncatedNormal has)."
        )


def TruncatedDistribution(
    base_dist: Distribution,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    *,
    validate_args: bool | None = None,
) -> Distribution:
    r"""`base_dist` restricted to `[low, high]` (either bound may be None).

    As NumPyro's: the density is renormalised by $Z = F(\text{high}) -
    F(\text{low})$, so the base needs a `cdf` (and an `icdf` to sample: a
    truncated `Beta` scores and runs in NUTS but cannot be drawn from). A
    `Normal` base returns `TruncatedNormal`, which is accurate arbitrarily far
    into a tail; for the others, an interval whose
    probability underflows the dtype (float32: below ~1e-38) gives an
    infinite log-density. E.g. a half-Student-t prior:
    `TruncatedDistribution(StudentT(3.0, 0.0, 2.5), low=0.0)` (its `df` must
    then be a constant: JAX's `betainc`, behind the Student t cdf and
    quantile, has no derivative in its shape parameters).
    """
    if isinstance(base_dist, Normal):
        return TruncatedNormal(
            base_dist.loc,
            base_dist.scale,
            low=low,
            high=high,
            validate_args=validate_args,
        )
    return _Truncated(base_dist, low, high, validate_args=validate_args)


def LeftTruncatedDistribution(base_dist, low=0.0, *, validate_args=None):
    """NumPyro's name for `TruncatedDistribution(base_dist, low=low)`."""
    return TruncatedDistribution(base_dist, low=low, validate_args=validate_args)


def RightTruncatedDistribution(base_dist, high=0.0, *, validate_args=None):
    """NumPyro's name for `TruncatedDistribution(base_dist, high=high)`."""
    return TruncatedDistribution(base_dist, high=high, validate_args=validate_args)


def TwoSidedTruncatedDistribution(base_dist, low=0.0, high=1.0, *, validate_args=None):
    """NumPyro's name for `TruncatedDistribution(base_dist, low, high)`."""
    return TruncatedDistribution(base_dist, low, high, validate_args=validate_args)


def TruncatedCauchy(loc=0.0, scale=1.0, *, low=None, high=None, validate_args=None):
    """A Cauchy restricted to `[low, high]` (NumPyro's `TruncatedCauchy`)."""
    return TruncatedDistribution(
        Cauchy(loc, scale), low, high, validate_args=validate_args
    )

"""Distributions on bounded intervals: Uniform, LogUniform, Beta, Kumaraswamy,
TruncatedNormal."""

import math
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import betainc, digamma, log_ndtr, ndtr, ndtri

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._betaln import betaln

__all__ = [
    "Beta",
    "BetaProportion",
    "Kumaraswamy",
    "LogUniform",
    "TruncatedNormal",
    "Uniform",
]


class Uniform(Distribution):
    """Uniform on ``[low, high]``; ``log_prob`` is ``-inf`` outside."""

    low: jnp.ndarray
    high: jnp.ndarray
    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    reparametrized_params = ["low", "high"]

    def __init__(
        self,
        low: ArrayLike = 0.0,
        high: ArrayLike = 1.0,
        *,
        validate_args: bool | None = None,
    ):
        self.low, self.high = promote_dtype(low, high)
        self._finish_init(validate_args)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        u = jr.uniform(key, self.shape(sample_shape), self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        inside = (value >= self.low) & (value <= self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low), -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.clip((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return self.low + q * (self.high - self.low)

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(jnp.log(self.high - self.low))

    @property
    def mean(self) -> Array:
        return self._batch((self.low + self.high) / 2)

    @property
    def variance(self) -> Array:
        return self._batch((self.high - self.low) ** 2 / 12)


class LogUniform(Distribution):
    r"""$\log X$ uniform on $[\log \text{low}, \log \text{high}]$: density
    $1 / (x \log(\text{high}/\text{low}))$ on $[\text{low}, \text{high}]$
    (NumPyro's ``LogUniform``, scipy's ``loguniform``). A scale-free prior for a
    positive quantity known to within orders of magnitude.
    """

    low: jnp.ndarray
    high: jnp.ndarray
    arg_constraints = {"low": constraints.positive, "high": constraints.dependent}
    reparametrized_params = ["low", "high"]

    def __init__(
        self, low: ArrayLike, high: ArrayLike, *, validate_args: bool | None = None
    ):
        self.low, self.high = promote_dtype(low, high)
        self._finish_init(validate_args)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def _log_range(self):
        return jnp.log(self.high) - jnp.log(self.low)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        u = jr.uniform(key, self.shape(sample_shape), self.low.dtype)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        inside = (value >= self.low) & (value <= self.high)
        safe = jnp.where(inside, value, 1.0)
        return jnp.where(inside, -jnp.log(safe) - jnp.log(self._log_range()), -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        safe = jnp.clip(value, self.low, self.high)
        return (jnp.log(safe) - jnp.log(self.low)) / self._log_range()

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        return jnp.exp(jnp.log(self.low) + q * self._log_range())

    def entropy(self) -> Float[Array, "..."]:
        log_range = self._log_range()
        return self._batch(
            jnp.log(log_range) + (jnp.log(self.low) + jnp.log(self.high)) / 2
        )

    @property
    def mean(self) -> Array:
        return self._batch((self.high - self.low) / self._log_range())

    @property
    def variance(self) -> Array:
        second = (self.high**2 - self.low**2) / (2 * self._log_range())
        return self._batch(second - self.mean**2)


class AbstractUnitConcentrations(Distribution):
    """Shared fields and constructor of the ``(concentration1, concentration0)``
    families on ``[0, 1]``."""

    concentration1: jnp.ndarray
    concentration0: jnp.ndarray
    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    reparametrized_params = ["concentration1", "concentration0"]

    def __init__(
        self,
        concentration1: ArrayLike,
        concentration0: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.concentration1, self.concentration0 = promote_dtype(
            concentration1, concentration0
        )
        self._finish_init(validate_args)


class Beta(AbstractUnitConcentrations):
    r"""Beta with density $\propto x^{c_1-1}(1-x)^{c_0-1}$ (``concentration1``,
    ``concentration0``).
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        return jr.beta(
            key,
            self.concentration1,
            self.concentration0,
            shape,
            self.concentration1.dtype,
        )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a, b = self.concentration1, self.concentration0
        lp = (a - 1) * jnp.log(value) + (b - 1) * jnp.log1p(-value) - betaln(a, b)
        return jnp.where((value >= 0) & (value <= 1), lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        x = jnp.clip(value, 0.0, 1.0)
        return betainc(self.concentration1, self.concentration0, x)

    def entropy(self) -> Float[Array, "..."]:
        a, b = self.concentration1, self.concentration0
        return self._batch(
            betaln(a, b)
            - (a - 1) * digamma(a)
            - (b - 1) * digamma(b)
            + (a + b - 2) * digamma(a + b)
        )

    @property
    def mean(self) -> Array:
        return self._batch(
            self.concentration1 / (self.concentration1 + self.concentration0)
        )

    @property
    def variance(self) -> Array:
        a, b = self.concentration1, self.concentration0
        return self._batch(a * b / ((a + b) ** 2 * (a + b + 1)))


class BetaProportion(Distribution):
    r"""Beta by its mean $\mu$ and precision $\phi$ (``concentration``):
    ``Beta(mean * concentration, (1 - mean) * concentration)``, variance
    $\mu(1-\mu)/(1+\phi)$ (NumPyro's ``BetaProportion``).

    ``mean`` must lie in the open interval $(0, 1)$. As in ``NegativeBinomial2``
    the parameter is stored as ``mean_`` (``mean`` is the distribution's mean
    property), so ``arg_constraints`` names it ``mean_``.

    References:
        Ferrari, S. and Cribari-Neto, F. "Beta regression for modelling rates and
        proportions", Journal of Applied Statistics 31(7), 799-815 (2004).
        https://doi.org/10.1080/0266476042000214501
    """

    mean_: jnp.ndarray
    concentration: jnp.ndarray
    arg_constraints = {
        "mean_": constraints.open_interval(0.0, 1.0),
        "concentration": constraints.positive,
    }
    support = constraints.unit_interval
    reparametrized_params = ["mean_", "concentration"]

    def __init__(
        self,
        mean: ArrayLike,
        concentration: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.mean_, self.concentration = promote_dtype(mean, concentration)
        self._finish_init(validate_args)

    @property
    def concentration1(self) -> Array:
        return self.mean_ * self.concentration

    @property
    def concentration0(self) -> Array:
        return (1 - self.mean_) * self.concentration

    def _beta(self) -> Beta:
        return Beta(self.concentration1, self.concentration0, validate_args=False)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return self._beta().sample(key, sample_shape)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        return self._beta().log_prob(value)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return self._beta().cdf(value)

    def entropy(self) -> Float[Array, "..."]:
        return self._beta().entropy()

    @property
    def mean(self) -> Array:
        return self._batch(self.mean_)

    @property
    def variance(self) -> Array:
        m = self.mean_
        return self._batch(m * (1 - m) / (1 + self.concentration))


def _log_diff_ndtr(alpha, beta):
    """log(Phi(beta) - Phi(alpha)) for alpha < beta, stable in both tails."""
    # In the upper tail use the mirror image Phi(-alpha) - Phi(-beta) to avoid 1 - 1.
    flip = alpha > 0
    lo = jnp.where(flip, -beta, alpha)
    hi = jnp.where(flip, -alpha, beta)
    log_hi = log_ndtr(hi)
    return log_hi + jnp.log1p(-jnp.exp(log_ndtr(lo) - log_hi))


def _norm_pdf(z):
    return jnp.where(jnp.isinf(z), 0.0, jnp.exp(-0.5 * z**2) / math.sqrt(2 * math.pi))


def truncated_support(bounds: tuple, low, high, untruncated):
    """The support of a truncation: `bounds` says which of low, high are given."""
    has_low, has_high = bounds
    if has_low and has_high:
        return constraints.interval(low, high)
    if has_low:
        return constraints.greater_than(low)
    if has_high:
        return constraints.less_than(high)
    return untruncated


class TruncatedNormal(Distribution):
    r"""Normal(loc, scale) restricted to ``[low, high]`` (either bound may be ``None``).

    Moments use $\alpha=(a-\mu)/\sigma$, $\beta=(b-\mu)/\sigma$,
    $Z=\Phi(\beta)-\Phi(\alpha)$:
    mean $\mu+\sigma(\phi(\alpha)-\phi(\beta))/Z$.
    """

    loc: jnp.ndarray
    scale: jnp.ndarray
    low: jnp.ndarray
    high: jnp.ndarray
    _bounds: tuple = eqx.field(static=True)
    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "low": constraints.dependent,
        "high": constraints.dependent,
    }
    reparametrized_params = ["loc", "scale", "low", "high"]

    def __init__(
        self,
        loc: ArrayLike = 0.0,
        scale: ArrayLike = 1.0,
        *,
        low: ArrayLike | None = None,
        high: ArrayLike | None = None,
        validate_args: bool | None = None,
    ):
        self._bounds = (low is not None, high is not None)
        low = -jnp.inf if low is None else low
        high = jnp.inf if high is None else high
        self.loc, self.scale, self.low, self.high = promote_dtype(loc, scale, low, high)
        self._finish_init(validate_args)

    @property
    def support(self):
        return truncated_support(self._bounds, self.low, self.high, constraints.real)

    def _standardised(self):
        return (self.low - self.loc) / self.scale, (self.high - self.loc) / self.scale

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        alpha, beta = self._standardised()
        # Sample in whichever tail keeps the CDF values away from 1 (mirror if alpha >
        # 0).
        flip = alpha > 0
        lo = jnp.where(flip, -beta, alpha)
        hi = jnp.where(flip, -alpha, beta)
        u = jr.uniform(key, self.shape(sample_shape), self.loc.dtype)
        p_lo, p_hi = ndtr(lo), ndtr(hi)
        z = ndtri(p_lo + u * (p_hi - p_lo))
        z = jnp.clip(jnp.where(flip, -z, z), alpha, beta)
        return self.loc + self.scale * z

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        alpha, beta = self._standardised()
        z = (value - self.loc) / self.scale
        lp = -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - jnp.log(self.scale)
        lp = lp - _log_diff_ndtr(alpha, beta)
        return jnp.where((value >= self.low) & (value <= self.high), lp, -jnp.inf)

    def _moment_terms(self):
        alpha, beta = self._standardised()
        log_z = _log_diff_ndtr(alpha, beta)
        pa, pb = _norm_pdf(alpha), _norm_pdf(beta)
        a_pa = jnp.where(jnp.isinf(alpha), 0.0, alpha * pa)
        b_pb = jnp.where(jnp.isinf(beta), 0.0, beta * pb)
        inv_z = jnp.exp(-log_z)
        return (pa - pb) * inv_z, (a_pa - b_pb) * inv_z

    def _tails(self):
        # Work in the tail where the CDF values are small (mirror if alpha > 0), so
        # differences of CDFs do not cancel: returns (flip, Phi(lo), Phi(hi)).
        alpha, beta = self._standardised()
        flip = alpha > 0
        lo = jnp.where(flip, -beta, alpha)
        hi = jnp.where(flip, -alpha, beta)
        return flip, ndtr(lo), ndtr(hi)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        flip, p_lo, p_hi = self._tails()
        z = (value - self.loc) / self.scale
        c = jnp.where(flip, p_hi - ndtr(-z), ndtr(z) - p_lo) / (p_hi - p_lo)
        return jnp.clip(c, 0.0, 1.0)

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        flip, p_lo, p_hi = self._tails()
        mass = p_hi - p_lo
        z = jnp.where(flip, -ndtri(p_hi - q * mass), ndtri(p_lo + q * mass))
        return self.loc + self.scale * z

    def entropy(self) -> Float[Array, "..."]:
        alpha, beta = self._standardised()
        _, d2 = self._moment_terms()
        return self._batch(
            0.5 * math.log(2 * math.pi * math.e)
            + jnp.log(self.scale)
            + _log_diff_ndtr(alpha, beta)
            + 0.5 * d2
        )

    @property
    def mean(self) -> Array:
        d1, _ = self._moment_terms()
        return self._batch(self.loc + self.scale * d1)

    @property
    def variance(self) -> Array:
        d1, d2 = self._moment_terms()
        return self._batch(self.scale**2 * (1 + d2 - d1**2))


class Kumaraswamy(AbstractUnitConcentrations):
    r"""Beta-like law on $[0, 1]$ with a closed-form cdf: for $a$ =
    ``concentration1``, $b$ = ``concentration0``,
    $p(x) = ab\,x^{a-1}(1 - x^a)^{b-1}$, $F(x) = 1 - (1 - x^a)^b$;
    reparametrised (through its inverse cdf).
    """

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        u = jr.uniform(key, self.shape(sample_shape), self.concentration1.dtype)
        return self.icdf(u)

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        a, b = self.concentration1, self.concentration0
        inside = (value > 0) & (value < 1)
        x = jnp.where(inside, value, 0.5)
        lp = jnp.log(a * b) + (a - 1) * jnp.log(x) + (b - 1) * jnp.log1p(-(x**a))
        return jnp.where(inside, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        x = jnp.clip(value, 0.0, 1.0)
        return -jnp.expm1(self.concentration0 * jnp.log1p(-(x**self.concentration1)))

    def icdf(self, q: ArrayLike) -> Float[Array, "..."]:
        a, b = self.concentration1, self.concentration0
        return (-jnp.expm1(jnp.log1p(-q) / b)) ** (1 / a)

    def entropy(self) -> Float[Array, "..."]:
        a, b = self.concentration1, self.concentration0
        harmonic_b = digamma(b + 1) + np.euler_gamma
        return self._batch((1 - 1 / b) + (1 - 1 / a) * harmonic_b - jnp.log(a * b))

    def _moment(self, n):
        a, b = self.concentration1, self.concentration0
        return b * jnp.exp(betaln(1 + n / a, b))

    @property
    def mean(self) -> Array:
        return self._batch(self._moment(1))

    @property
    def variance(self) -> Array:
        return self._batch(self._moment(2) - self._moment(1) ** 2)

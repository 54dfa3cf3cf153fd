"""Discrete distributions: Bernoulli, Binomial, Geometric, Poisson, Categorical,
Multinomial and more.

Parameters are given as ``probs`` or ``logits`` (exactly one), as in NumPyro; both
attributes are available afterwards, and ``log_prob`` uses the form that was given
(so ``probs=0`` or ``1`` stays exact). Samples are integer arrays.
"""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.scipy.special import (
    betainc,
    expit,
    gammaincc,
    gammaln,
    logit,
)

from ..._custom_types import Array, ArrayLike, Float, Int, PRNGKeyArray
from ..._softplus import softplus
from . import constraints
from ._base import Distribution, promote_dtype
from ._xlogy import xlog1py, xlogy

__all__ = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "DiscreteUniform",
    "Geometric",
    "Multinomial",
    "OrderedLogistic",
    "Poisson",
]


def concrete_range(low, high) -> tuple[int, int] | None:
    """`(low, high)` as ints, kept at construction for `enumerate_support`.

    None when a bound is traced or differs across the batch. Kept as static
    data, it lets a distribution built from constants inside a traced model
    (`jit`, `vmap`, NUTS) enumerate its support: the constants are tracers by
    the time `enumerate_support` runs.
    """
    if isinstance(low, jax.core.Tracer) or isinstance(high, jax.core.Tracer):
        return None
    low, high = np.asarray(low), np.asarray(high)
    if any(b.size and not np.all(b == b.flat[0]) for b in (low, high)):
        return None
    lo = int(low.flat[0]) if low.size else 0
    return lo, int(high.flat[0]) if high.size else lo


def count_support(d, low, high, expand):
    """`enumerate_support` of `{low, ..., high}`, one range for the whole batch."""
    name = type(d).__name__
    if isinstance(low, jax.core.Tracer) or isinstance(high, jax.core.Tracer):
        raise ValueError(f"{name}.enumerate_support needs concrete parameters")
    low, high = np.asarray(low), np.asarray(high)
    for bound in (low, high):
        if bound.size and not np.all(bound == bound.flat[0]):
            raise ValueError(
                f"{name}.enumerate_support needs one support for the whole "
                f"batch; got bounds {low} and {high}"
            )
    lo = int(low.flat[0]) if low.size else 0
    k = (int(high.flat[0]) if high.size else lo) - lo + 1
    values = _int(lo + jnp.arange(k)).reshape((k,) + (1,) * len(d.batch_shape))
    return jnp.broadcast_to(values, (k,) + d.batch_shape) if expand else values


def _one_of(cls_name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{cls_name}: give exactly one of `probs` or `logits`.")
    return logits is not None


def _int(x):
    return jnp.asarray(x).astype(jnp.result_type(int))


class AbstractSuccessProbability(Distribution):
    """Shared fields and constructor of the one-parameter families of trials
    (Bernoulli, Geometric): ``probs`` or ``logits``, exactly one."""

    probs: jnp.ndarray
    logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)

    def __init__(
        self,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        self._from_logits = _one_of(type(self).__name__, probs, logits)
        if self._from_logits:
            (self.logits,) = promote_dtype(logits)
            self.probs = expit(self.logits)
        else:
            (self.probs,) = promote_dtype(probs)
            self.logits = logit(self.probs)
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        if self._from_logits:
            return {"logits": constraints.real}
        return {"probs": constraints.unit_interval}


class Bernoulli(AbstractSuccessProbability):
    """Bernoulli with success probability ``probs`` or log-odds ``logits``."""

    support = constraints.boolean
    has_enumerate_support = True

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return _int(jr.bernoulli(key, self.probs, self.shape(sample_shape)))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        if self._from_logits:
            return value * self.logits - softplus(self.logits)
        return xlogy(value, self.probs) + xlog1py(1 - value, -self.probs)

    def enumerate_support(self, expand: bool = True) -> Int[Array, "..."]:
        values = _int(jnp.arange(2)).reshape((2,) + (1,) * len(self.batch_shape))
        return jnp.broadcast_to(values, (2,) + self.batch_shape) if expand else values

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        return jnp.where(value < 0, 0.0, jnp.where(value < 1, 1 - self.probs, 1.0))

    def entropy(self) -> Float[Array, "..."]:
        p = self.probs
        return -(xlogy(p, p) + xlog1py(1 - p, -p))

    @property
    def mean(self) -> Array:
        return self.probs

    @property
    def variance(self) -> Array:
        return self.probs * (1 - self.probs)


class Binomial(Distribution):
    """Number of successes in ``total_count`` Bernoulli(probs) trials."""

    total_count: jnp.ndarray
    probs: jnp.ndarray
    logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)
    _bounds: tuple[int, int] | None = eqx.field(static=True)
    has_enumerate_support = True

    def __init__(
        self,
        total_count: ArrayLike = 1,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        self._bounds = concrete_range(0, total_count)
        self._from_logits = _one_of("Binomial", probs, logits)
        param = logits if self._from_logits else probs
        total_count, param = promote_dtype(total_count, param)
        self.total_count = total_count
        if self._from_logits:
            self.logits, self.probs = param, expit(param)
        else:
            self.probs, self.logits = param, logit(param)
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        c = {"total_count": constraints.nonnegative_integer}
        if self._from_logits:
            return c | {"logits": constraints.real}
        return c | {"probs": constraints.unit_interval}

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        return _int(jr.binomial(key, self.total_count, self.probs, shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        n = self.total_count
        log_comb = gammaln(n + 1) - gammaln(value + 1) - gammaln(n - value + 1)
        if self._from_logits:
            lp = value * self.logits - n * softplus(self.logits)
        else:
            lp = xlogy(value, self.probs) + xlog1py(n - value, -self.probs)
        inside = (value >= 0) & (value <= n)
        return jnp.where(inside, log_comb + lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        # P(X <= k) = I_{1-p}(n - k, k + 1) for 0 <= k < n.
        n, k = self.total_count, jnp.floor(value)
        inside = (k >= 0) & (k < n)
        safe_k = jnp.where(inside, k, 0.0)
        c = betainc(jnp.where(inside, n - safe_k, 1.0), safe_k + 1, 1 - self.probs)
        return jnp.where(k < 0, 0.0, jnp.where(k >= n, 1.0, c))

    def enumerate_support(self, expand: bool = True) -> Int[Array, "..."]:
        return count_support(self, *(self._bounds or (0, self.total_count)), expand)

    @property
    def mean(self) -> Array:
        return self._batch(self.total_count * self.probs)

    @property
    def variance(self) -> Array:
        return self._batch(self.total_count * self.probs * (1 - self.probs))


class Poisson(Distribution):
    """Poisson counts with mean ``rate``."""

    rate: jnp.ndarray
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative_integer

    def __init__(self, rate: ArrayLike, *, validate_args: bool | None = None):
        (self.rate,) = promote_dtype(rate)
        self._finish_init(validate_args)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        return _int(jr.poisson(key, self.rate, self.shape(sample_shape)))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        lp = xlogy(value, self.rate) - self.rate - gammaln(value + 1)
        return jnp.where(value >= 0, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        k = jnp.floor(value)
        return jnp.where(k < 0, 0.0, gammaincc(jnp.maximum(k, 0.0) + 1, self.rate))

    @property
    def mean(self) -> Array:
        return self.rate

    @property
    def variance(self) -> Array:
        return self.rate


class Geometric(AbstractSuccessProbability):
    r"""Failures before the first success of Bernoulli(``probs``) trials.

    $P(k) = (1 - p)^k p$ on $k = 0, 1, \dots$ (NumPyro's and scipy's
    ``geom(p, loc=-1)``); ``probs`` or ``logits``, exactly one.
    """

    support = constraints.nonnegative_integer

    def _log_p_log_q(self):
        """log p and log(1 - p), from whichever form was given."""
        if self._from_logits:
            return -softplus(-self.logits), -softplus(self.logits)
        return jnp.log(self.probs), jnp.log1p(-self.probs)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        # inversion: k = floor(log U / log(1 - p)); p = 1 gives log(1 - p) =
        # -inf and k = 0
        u = jr.uniform(key, self.shape(sample_shape), self.probs.dtype)
        _, log_q = self._log_p_log_q()
        return _int(jnp.floor(jnp.log1p(-u) / log_q))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        log_p, log_q = self._log_p_log_q()
        # k * log(1 - p) with 0 * -inf = 0 at k = 0, p = 1
        lp = jnp.where(value == 0, 0.0, value * log_q) + log_p
        return jnp.where(value >= 0, lp, -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        k = jnp.floor(value)
        _, log_q = self._log_p_log_q()
        return jnp.where(k < 0, 0.0, -jnp.expm1((jnp.maximum(k, 0.0) + 1) * log_q))

    def entropy(self) -> Float[Array, "..."]:
        p = self.probs
        log_p, log_q = self._log_p_log_q()
        return -(jnp.where(p < 1, (1 - p) * log_q, 0.0) + p * log_p) / p

    @property
    def mean(self) -> Array:
        return (1 - self.probs) / self.probs

    @property
    def variance(self) -> Array:
        return (1 - self.probs) / self.probs**2


def _simplex_params(cls_name, probs, logits):
    from_logits = _one_of(cls_name, probs, logits)
    if from_logits:
        (logits,) = promote_dtype(logits)
        logits = logits - jax.scipy.special.logsumexp(logits, axis=-1, keepdims=True)
        return from_logits, jnp.exp(logits), logits
    (probs,) = promote_dtype(probs)
    return from_logits, probs, jnp.log(probs)


class Categorical(Distribution):
    """One draw from ``{0, ..., K-1}`` with probabilities ``probs[..., k]``."""

    probs: jnp.ndarray
    logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)
    has_enumerate_support = True

    def __init__(
        self,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        self._from_logits, self.probs, self.logits = _simplex_params(
            "Categorical", probs, logits
        )
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        if self._from_logits:
            return {"logits": constraints.real_vector}
        return {"probs": constraints.simplex}

    @property
    def support(self):
        return constraints.integer_interval(0, self.probs.shape[-1] - 1)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        shape = self.shape(sample_shape)
        return _int(jr.categorical(key, self.logits, shape=shape))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        value = jnp.asarray(value)
        shape = jnp.broadcast_shapes(value.shape, self.batch_shape)
        logits = jnp.broadcast_to(self.logits, shape + self.logits.shape[-1:])
        idx = jnp.broadcast_to(value, shape).astype(jnp.result_type(int))
        k = self.logits.shape[-1]
        lp = jnp.take_along_axis(logits, jnp.clip(idx, 0, k - 1)[..., None], axis=-1)[
            ..., 0
        ]
        return jnp.where((idx >= 0) & (idx < k), lp, -jnp.inf)

    def enumerate_support(self, expand: bool = True) -> Int[Array, "..."]:
        k = self.probs.shape[-1]
        values = _int(jnp.arange(k)).reshape((k,) + (1,) * len(self.batch_shape))
        return jnp.broadcast_to(values, (k,) + self.batch_shape) if expand else values

    def entropy(self) -> Float[Array, "..."]:
        p = self.probs
        return -jnp.sum(jnp.where(p > 0, p * self.logits, 0.0), axis=-1)

    @property
    def mean(self) -> Array:
        return jnp.full(self.batch_shape, jnp.nan, self.probs.dtype)

    @property
    def variance(self) -> Array:
        return jnp.full(self.batch_shape, jnp.nan, self.probs.dtype)


class Multinomial(Distribution):
    """Counts of ``total_count`` Categorical(probs) draws; event shape ``(K,)``.

    Sampling under ``jit`` with a traced ``total_count`` needs the static upper bound
    ``total_count_max``.
    """

    total_count: jnp.ndarray
    probs: jnp.ndarray
    logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)
    total_count_max: int | None = eqx.field(static=True)

    def __init__(
        self,
        total_count: ArrayLike = 1,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        *,
        total_count_max: int | None = None,
        validate_args: bool | None = None,
    ):
        self._from_logits, probs, logits = _simplex_params("Multinomial", probs, logits)
        batch = jnp.broadcast_shapes(jnp.shape(total_count), probs.shape[:-1])
        self.total_count = jnp.broadcast_to(
            jnp.asarray(total_count, probs.dtype), batch
        )
        self.probs = jnp.broadcast_to(probs, batch + probs.shape[-1:])
        self.logits = jnp.broadcast_to(logits, batch + probs.shape[-1:])
        self.total_count_max = total_count_max
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        c = {"total_count": constraints.nonnegative_integer}
        if self._from_logits:
            return c | {"logits": constraints.real_vector}
        return c | {"probs": constraints.simplex}

    @property
    def event_shape(self):
        return self.probs.shape[-1:]

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        n_max = self.total_count_max
        if n_max is None:
            if isinstance(self.total_count, jax.core.Tracer):
                raise ValueError(
                    "Multinomial: sampling under jit needs `total_count_max` "
                    "(a static upper bound on total_count)."
                )
            n_max = int(np.max(np.asarray(self.total_count)))
        shape = tuple(sample_shape) + self.batch_shape
        k = self.probs.shape[-1]
        draws = jr.categorical(key, self.logits, shape=(n_max,) + shape)
        keep = (
            jnp.arange(n_max).reshape((n_max,) + (1,) * len(shape)) < self.total_count
        )
        one_hot = jax.nn.one_hot(draws, k, dtype=self.probs.dtype) * keep[..., None]
        return _int(jnp.sum(one_hot, axis=0))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        log_norm = gammaln(self.total_count + 1) - jnp.sum(gammaln(value + 1), axis=-1)
        if self._from_logits:
            return log_norm + jnp.sum(value * self.logits, axis=-1)
        return log_norm + jnp.sum(xlogy(value, self.probs), axis=-1)

    @property
    def mean(self) -> Array:
        return self.total_count[..., None] * self.probs

    @property
    def variance(self) -> Array:
        return self.total_count[..., None] * self.probs * (1 - self.probs)


class DiscreteUniform(Distribution):
    """Uniform on the integers ``{low, ..., high}`` (both included)."""

    low: jnp.ndarray
    high: jnp.ndarray
    _bounds: tuple[int, int] | None = eqx.field(static=True)
    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_enumerate_support = True

    def __init__(
        self,
        low: ArrayLike = 0,
        high: ArrayLike = 1,
        *,
        validate_args: bool | None = None,
    ):
        self._bounds = concrete_range(low, high)
        self.low, self.high = promote_dtype(low, high)
        self._finish_init(validate_args)

    @property
    def support(self):
        return constraints.integer_interval(self.low, self.high)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        u = jr.uniform(key, self.shape(sample_shape), self.low.dtype)
        n = self.high - self.low + 1
        return _int(self.low + jnp.minimum(jnp.floor(u * n), n - 1))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        inside = (value >= self.low) & (value <= self.high)
        return jnp.where(inside, -jnp.log(self.high - self.low + 1), -jnp.inf)

    def cdf(self, value: ArrayLike) -> Float[Array, "..."]:
        n = self.high - self.low + 1
        return jnp.clip((jnp.floor(value) - self.low + 1) / n, 0.0, 1.0)

    def enumerate_support(self, expand: bool = True) -> Int[Array, "..."]:
        return count_support(self, *(self._bounds or (self.low, self.high)), expand)

    def entropy(self) -> Float[Array, "..."]:
        return self._batch(jnp.log(self.high - self.low + 1))

    @property
    def mean(self) -> Array:
        return self._batch((self.low + self.high) / 2)

    @property
    def variance(self) -> Array:
        return self._batch(((self.high - self.low + 1) ** 2 - 1) / 12)


class OrderedLogistic(Categorical):
    r"""Ordinal outcome $Y \in \{0, ..., K\}$ with
    $P(Y \le k) = \sigma(c_k - \eta)$ for a real ``predictor`` $\eta$ and
    increasing ``cutpoints`` $c_0 < ... < c_{K-1}$ (a Categorical over $K + 1$
    classes, as NumPyro's).
    """

    predictor: jnp.ndarray
    cutpoints: jnp.ndarray

    def __init__(
        self,
        predictor: ArrayLike,
        cutpoints: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        if jnp.ndim(cutpoints) < 1:
            raise ValueError(
                "OrderedLogistic: `cutpoints` must have a trailing dimension (one "
                "cut between each pair of adjacent classes)."
            )
        predictor, cutpoints = promote_dtype(predictor, cutpoints, broadcast=False)
        self.predictor, self.cutpoints = predictor, cutpoints
        # log P(Y = k) = log(sigma(c_k - eta) - sigma(c_{k-1} - eta)), written
        # with log-sigmoids so that far-tail classes keep their precision
        z = cutpoints - predictor[..., None]
        below = jnp.pad(-softplus(-z), [(0, 0)] * (z.ndim - 1) + [(0, 1)])
        above = jnp.pad(
            -softplus(-z), [(0, 0)] * (z.ndim - 1) + [(1, 0)], constant_values=-jnp.inf
        )
        # log(e^b - e^a) = b + log(1 - e^(a - b)), b > a
        logits = below + jnp.log(-jnp.expm1(above - below))
        self._from_logits, self.probs, self.logits = _simplex_params(
            "OrderedLogistic", None, logits
        )
        self._finish_init(validate_args)

    @property
    def arg_constraints(self):
        return {
            "predictor": constraints.real,
            "cutpoints": constraints.ordered_vector,
        }

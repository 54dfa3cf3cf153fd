r"""Zero-inflated and hurdle models: a gate $g$ (probability of a structural zero)
in front of a univariate base distribution $B$.

- zero-inflated (Lambert 1992): $P(0) = g + (1 - g)B(0)$ and
  $P(k) = (1 - g)B(k)$, $k \ne 0$: the base can produce zeros too;
- hurdle (Cragg 1971; Mullahy 1986): $P(0) = g$ and
  $P(k) = (1 - g)B(k) / (1 - B(0))$, $k > 0$: every zero is structural. On a
  continuous base on $(0, \infty)$ (`HurdleGamma`, `HurdleLogNormal`) the positive
  part is the base density itself, mixed with the point mass at zero.

The gate comes as ``gate`` or ``gate_logits`` (exactly one); logs of $g$ and
$1 - g$ are then taken as $-\mathrm{softplus}(\mp\ell)$, so a confident gate
keeps its digits. NumPyro's names: `ZeroInflatedDistribution`,
`ZeroInflatedProbs`/`ZeroInflatedLogits`, `ZeroInflatedNegativeBinomial2`,
`HurdleProbs`/`HurdleLogits`, `HurdlePoisson`, `HurdleNegativeBinomial2`,
`HurdleGamma`, `HurdleLogNormal` (the NumPyro classes of the two
parametrisations are one class here, `isinstance` checks use it).
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax import lax
from jax.scipy.special import expit, logit

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from ..._softplus import softplus
from . import constraints
from ._base import Distribution, promote_dtype
from ._discrete import Poisson
from ._negative_binomial import NegativeBinomial2
from ._positive import Gamma, LogNormal

__all__ = [
    "HurdleDistribution",
    "HurdleGamma",
    "HurdleLogNormal",
    "HurdleLogits",
    "HurdleNegativeBinomial2",
    "HurdlePoisson",
    "HurdleProbs",
    "ZeroInflatedDistribution",
    "ZeroInflatedLogits",
    "ZeroInflatedNegativeBinomial2",
    "ZeroInflatedProbs",
]


def _log1mexp(x):
    """$\\log(1 - e^x)$ for $x \\le 0$, accurate at both ends (Maechler 2012)."""
    return jnp.where(
        x > -0.6931471805599453, jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x))
    )


class _AbstractGated(Distribution):
    """A gate (``gate`` or ``gate_logits``) over a univariate ``base_dist``."""

    base_dist: Distribution
    gate: jnp.ndarray
    gate_logits: jnp.ndarray
    _from_logits: bool = eqx.field(static=True)

    def __init__(
        self,
        base_dist: Distribution,
        *,
        gate: ArrayLike | None = None,
        gate_logits: ArrayLike | None = None,
        validate_args: bool | None = None,
    ):
        name = type(self).__name__
        if (gate is None) == (gate_logits is None):
            raise ValueError(f"{name}: give exactly one of `gate` or `gate_logits`.")
        if not isinstance(base_dist, Distribution):
            raise TypeError(
                f"{name}: `base_dist` must be a Distribution; got {base_dist!r}"
            )
        if base_dist.event_shape:
            raise ValueError(
                f"{name}: `base_dist` must be univariate (empty event shape); got "
                f"event shape {base_dist.event_shape}"
            )
        self._check_base(base_dist)
        self._from_logits = gate_logits is not None
        (g,) = promote_dtype(gate_logits if self._from_logits else gate)
        batch = jnp.broadcast_shapes(g.shape, base_dist.batch_shape)
        g = jnp.broadcast_to(g, batch)
        if self._from_logits:
            self.gate_logits, self.gate = g, expit(g)
        else:
            self.gate, self.gate_logits = g, logit(g)
        if base_dist.batch_shape != batch:
            base_dist = base_dist.expand(batch)
        self.base_dist = base_dist
        self._finish_init(validate_args)

    def _check_base(self, base_dist):
        """Refuse a base the model does not fit (subclasses)."""

    @property
    def arg_constraints(self):
        if self._from_logits:
            return {"gate_logits": constraints.real}
        return {"gate": constraints.unit_interval}

    @property
    def support(self):
        return self.base_dist.support

    def _log_gates(self):
        """$(\\log g, \\log(1 - g))$."""
        if self._from_logits:
            return -softplus(-self.gate_logits), -softplus(self.gate_logits)
        return jnp.log(self.gate), jnp.log1p(-self.gate)

    def _base_draws(self, key, sample_shape):
        return self.base_dist.sample(key, sample_shape)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        key_gate, key_base = jr.split(key)
        shape = self.shape(sample_shape)
        zero = jr.uniform(key_gate, shape, self.gate.dtype) < self.gate
        draws = self._base_draws(key_base, sample_shape)
        return jnp.where(zero, jnp.zeros_like(draws), draws)


class ZeroInflatedDistribution(_AbstractGated):
    r"""Zero with probability $g$, else a draw of the discrete ``base_dist``:
    $P(0) = g + (1 - g)B(0)$, $P(k) = (1 - g)B(k)$ (NumPyro's).
    Mean $(1 - g)\mu_B$; variance $(1 - g)(\sigma_B^2 + \mu_B^2) - (1 - g)^2\mu_B^2$.
    """

    def _check_base(self, base_dist):
        if not base_dist.support.is_discrete:
            raise ValueError(
                "ZeroInflatedDistribution: `base_dist` must be discrete (a count "
                f"family); got {type(base_dist).__name__}. For a point mass at zero "
                "beside a positive density use HurdleGamma or HurdleLogNormal."
            )

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        log_g, log_1mg = self._log_gates()
        positive = log_1mg + self.base_dist.log_prob(value)
        return jnp.where(value == 0, jnp.logaddexp(log_g, positive), positive)

    @property
    def has_enumerate_support(self):
        return self.base_dist.has_enumerate_support

    def enumerate_support(self, expand: bool = True) -> Array:
        return self.base_dist.enumerate_support(expand)

    @property
    def mean(self) -> Array:
        return (1 - self.gate) * self.base_dist.mean

    @property
    def variance(self) -> Array:
        m, v = self.base_dist.mean, self.base_dist.variance
        return (1 - self.gate) * (v + m**2) - self.mean**2


class HurdleDistribution(_AbstractGated):
    r"""Zero with probability $g$, else a *positive* draw of ``base_dist``:
    $P(0) = g$, $P(k) = (1 - g)B(k)/(1 - B(0))$ for a discrete base (a
    zero-truncated base, sampled by redrawing zeros), $(1 - g)b(x)$ on $x > 0$
    for a continuous base on the positive reals (NumPyro's ``HurdleProbs``).
    """

    def _check_base(self, base_dist):
        if base_dist.support.is_discrete:
            return
        if bool(jnp.any(base_dist.support(jnp.asarray(-1.0)))):
            raise ValueError(
                "HurdleDistribution: a continuous `base_dist` must live on the "
                f"positive reals; got {type(base_dist).__name__} on "
                f"{base_dist.support!r}"
            )

    @property
    def _discrete(self) -> bool:
        return self.base_dist.support.is_discrete

    def _log_positive_mass(self):
        """$\\log(1 - B(0))$ (0 for a continuous base)."""
        if not self._discrete:
            return jnp.zeros_like(self.gate)
        return _log1mexp(self.base_dist.log_prob(jnp.zeros_like(self.gate)))

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        log_g, log_1mg = self._log_gates()
        positive = log_1mg + self.base_dist.log_prob(value) - self._log_positive_mass()
        return jnp.where(value == 0, log_g, jnp.where(value > 0, positive, -jnp.inf))

    def _base_draws(self, key, sample_shape):
        first = self.base_dist.sample(key, sample_shape)
        if not self._discrete:
            return first

        def redraw(state):
            key, draws = state
            key, sub = jr.split(key)
            again = self.base_dist.sample(sub, sample_shape)
            return key, jnp.where(draws == 0, again, draws)

        # expected rounds per element 1 / (1 - B(0))
        _, draws = lax.while_loop(
            lambda s: jnp.any(s[1] == 0), redraw, (jr.fold_in(key, 1), first)
        )
        return draws

    @property
    def mean(self) -> Array:
        scale = (1 - self.gate) * jnp.exp(-self._log_positive_mass())
        return scale * self.base_dist.mean

    @property
    def variance(self) -> Array:
        scale = (1 - self.gate) * jnp.exp(-self._log_positive_mass())
        m, v = self.base_dist.mean, self.base_dist.variance
        return scale * (v + m**2) - self.mean**2


def ZeroInflatedProbs(base_dist, gate, *, validate_args=None):
    """NumPyro's name: `ZeroInflatedDistribution` with ``gate``."""
    return ZeroInflatedDistribution(base_dist, gate=gate, validate_args=validate_args)


def ZeroInflatedLogits(base_dist, gate_logits, *, validate_args=None):
    """NumPyro's name: `ZeroInflatedDistribution` with ``gate_logits``."""
    return ZeroInflatedDistribution(
        base_dist, gate_logits=gate_logits, validate_args=validate_args
    )


def ZeroInflatedNegativeBinomial2(
    mean, concentration, *, gate=None, gate_logits=None, validate_args=None
):
    """A zero-inflated `NegativeBinomial2` (mean, concentration), NumPyro's."""
    base = NegativeBinomial2(mean, concentration, validate_args=validate_args)
    return ZeroInflatedDistribution(
        base, gate=gate, gate_logits=gate_logits, validate_args=validate_args
    )


def HurdleProbs(base_dist, gate, *, validate_args=None):
    """NumPyro's name: `HurdleDistribution` with ``gate``."""
    return HurdleDistribution(base_dist, gate=gate, validate_args=validate_args)


def HurdleLogits(base_dist, gate_logits, *, validate_args=None):
    """NumPyro's name: `HurdleDistribution` with ``gate_logits``."""
    return HurdleDistribution(
        base_dist, gate_logits=gate_logits, validate_args=validate_args
    )


def HurdlePoisson(gate, rate=1.0, *, validate_args=None):
    """A hurdle on a zero-truncated `Poisson` (rate), NumPyro's."""
    base = Poisson(rate, validate_args=validate_args)
    return HurdleDistribution(base, gate=gate, validate_args=validate_args)


def HurdleNegativeBinomial2(gate, mean, concentration, *, validate_args=None):
    """A hurdle on a zero-truncated `NegativeBinomial2`, NumPyro's."""
    base = NegativeBinomial2(mean, concentration, validate_args=validate_args)
    return HurdleDistribution(base, gate=gate, validate_args=validate_args)


def HurdleGamma(gate, concentration, rate=1.0, *, validate_args=None):
    """A point mass $g$ at zero beside $(1 - g)$ Gamma(concentration, rate)."""
    base = Gamma(concentration, rate, validate_args=validate_args)
    return HurdleDistribution(base, gate=gate, validate_args=validate_args)


def HurdleLogNormal(gate, loc=0.0, scale=1.0, *, validate_args=None):
    """A point mass $g$ at zero beside $(1 - g)$ LogNormal(loc, scale)."""
    base = LogNormal(loc, scale, validate_args=validate_args)
    return HurdleDistribution(base, gate=gate, validate_args=validate_args)

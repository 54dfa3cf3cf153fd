r"""Bijections with exact log-abs-det-Jacobians, and the ``biject_to`` registry.

A transform ``t`` maps ``x`` in ``t.domain`` to ``y = t(x)`` in ``t.codomain``;
``t.inv(y)`` maps back and ``t.log_abs_det_jacobian(x, y)`` returns
$\log|\det \partial y/\partial x|$ summed over the domain's event dimensions. For
maps between spaces of different dimension (simplex, Cholesky factors) the
Jacobian is taken with respect to the free coordinates of ``y`` (all but the last
simplex entry; the strictly-lower or lower triangle).

``biject_to(constraint)`` returns the transform from unconstrained real space
onto ``constraint``; HMC works in that unconstrained space. Names and conventions
follow ``numpyro.distributions.transforms``. Transforms are ``eqx.Module`` s so
they pass through ``jit``/``vmap``.
"""

import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import expit, logit

from ..._softplus import softplus
from . import constraints
from ._matrix_transforms import (
    CholeskyTransform as CholeskyTransform,
    CorrCholeskyTransform as CorrCholeskyTransform,
    CorrMatrixCholeskyTransform as CorrMatrixCholeskyTransform,
    LowerCholeskyTransform as LowerCholeskyTransform,
    matrix_to_tril_vec as matrix_to_tril_vec,
    vec_to_tril_matrix as vec_to_tril_matrix,
)
from ._transform_base import (
    Transform as Transform,
    _InverseTransform as _InverseTransform,
    _log_tanh_slope,
    _sum_rightmost as _sum_rightmost,
)
from ._vector_transforms import (
    L1BallTransform as L1BallTransform,
    PermuteTransform as PermuteTransform,
    ReshapeTransform as ReshapeTransform,
    SimplexToOrderedTransform as SimplexToOrderedTransform,
    ZeroSumTransform as ZeroSumTransform,
)

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "CholeskyTransform",
    "ComposeTransform",
    "CorrCholeskyTransform",
    "CorrMatrixCholeskyTransform",
    "ExpTransform",
    "IdentityTransform",
    "IndependentTransform",
    "L1BallTransform",
    "LowerCholeskyTransform",
    "OrderedTransform",
    "PermuteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SimplexToOrderedTransform",
    "SoftplusTransform",
    "StickBreakingTransform",
    "TanhTransform",
    "Transform",
    "ZeroSumTransform",
    "biject_to",
]


class IdentityTransform(Transform):
    @property
    def sign(self):
        return 1

    def __call__(self, x):
        return x

    def _inverse(self, y):
        return y

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return jnp.zeros_like(x)


class ExpTransform(Transform):
    codomain = constraints.positive

    @property
    def sign(self):
        return 1

    def __call__(self, x):
        return jnp.exp(x)

    def _inverse(self, y):
        return jnp.log(y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return x


class SoftplusTransform(Transform):
    codomain = constraints.softplus_positive

    @property
    def sign(self):
        return 1

    def __call__(self, x):
        return softplus(x)

    def _inverse(self, y):
        return y + jnp.log(-jnp.expm1(-y))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return -softplus(-x)


class SigmoidTransform(Transform):
    codomain = constraints.unit_interval

    @property
    def sign(self):
        return 1

    def __call__(self, x):
        # Keep y strictly inside (0, 1) so log-densities at the boundary stay finite.
        eps = jnp.finfo(jnp.result_type(x, float)).eps
        return jnp.clip(expit(x), eps, 1 - eps)

    def _inverse(self, y):
        return logit(y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return -softplus(x) - softplus(-x)


class AbsTransform(Transform):
    """``y = |x|``. Not a bijection (NumPyro's semantics): ``inv`` returns ``y``
    itself with a warning, and there is no log-det; score ``|X|`` with
    :class:`~sciad.probabilistic.distributions.FoldedDistribution`.
    """

    codomain = constraints.positive

    def __call__(self, x):
        return jnp.abs(x)

    def _inverse(self, y):
        warnings.warn(
            "AbsTransform is not a bijective transform; the inverse of `y` is `y`.",
            stacklevel=2,
        )
        return y

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        raise NotImplementedError(
            "AbsTransform is not bijective (x and -x share y), so it has no "
            "log-det-Jacobian; use FoldedDistribution to score |X|."
        )


class PowerTransform(Transform):
    r"""``y = x ** exponent`` on the positive reals; $\log|dy/dx| =
    \log|p| + (p - 1)\log x$ for ``exponent`` $p \ne 0$."""

    exponent: Any
    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent):
        if not isinstance(exponent, jax.core.Tracer) and np.any(
            np.asarray(exponent) == 0
        ):
            raise ValueError(
                f"PowerTransform: `exponent` must be nonzero; got {exponent!r}."
            )
        self.exponent = exponent

    @property
    def sign(self):
        return jnp.sign(self.exponent)

    def __call__(self, x):
        return jnp.power(x, self.exponent)

    def _inverse(self, y):
        return jnp.power(y, 1 / self.exponent)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        p = self.exponent
        return jnp.log(jnp.abs(p)) + (p - 1) * jnp.log(x)

    def forward_shape(self, shape):
        return tuple(jnp.broadcast_shapes(tuple(shape), jnp.shape(self.exponent)))

    def inverse_shape(self, shape):
        return self.forward_shape(shape)


class TanhTransform(Transform):
    codomain = constraints.interval(-1.0, 1.0)

    @property
    def sign(self):
        return 1

    def __call__(self, x):
        return jnp.tanh(x)

    def _inverse(self, y):
        eps = jnp.finfo(jnp.result_type(y, float)).eps
        return jnp.arctanh(jnp.clip(y, -1 + eps, 1 - eps))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return _log_tanh_slope(x)


class AffineTransform(Transform):
    """``y = loc + scale * x``; ``domain`` sets how many dims are one event."""

    loc: Any
    scale: Any
    _domain: Any = eqx.field(static=True)

    def __init__(self, loc, scale, domain=constraints.real):
        self.loc = loc
        self.scale = scale
        self._domain = domain

    @property
    def domain(self):
        return self._domain

    @property
    def codomain(self):
        d = self._domain
        positive_scale = not isinstance(self.scale, int | float) or self.scale > 0
        if d is constraints.real or isinstance(d, constraints._Independent):
            return d
        if isinstance(d, constraints._Interval):
            lo, hi = self(d.lower_bound), self(d.upper_bound)
            return constraints.interval(*((lo, hi) if positive_scale else (hi, lo)))
        if isinstance(d, constraints._GreaterThan):
            y0 = self(d.lower_bound)
            return (
                constraints.greater_than(y0)
                if positive_scale
                else constraints.less_than(y0)
            )
        raise NotImplementedError(f"AffineTransform has no codomain for domain {d!r}")

    @property
    def sign(self):
        return jnp.sign(self.scale)

    def __call__(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        shape = jnp.broadcast_shapes(jnp.shape(x), jnp.shape(self.scale))
        ladj = jnp.broadcast_to(jnp.log(jnp.abs(self.scale)), shape)
        return _sum_rightmost(ladj, self._domain.event_dim)


class ComposeTransform(Transform):
    """``parts[-1](...parts[1](parts[0](x)))``."""

    parts: tuple

    def __init__(self, parts):
        self.parts = tuple(parts)

    def _event_dims(self):
        in_dim = self.parts[-1].domain.event_dim
        for p in reversed(self.parts):
            in_dim = p.domain.event_dim + max(in_dim - p.codomain.event_dim, 0)
        out_dim = in_dim
        for p in self.parts:
            out_dim = p.codomain.event_dim + out_dim - p.domain.event_dim
        return in_dim, out_dim

    @property
    def domain(self):
        base = self.parts[0].domain
        extra = self._event_dims()[0] - base.event_dim
        return constraints.independent(base, extra) if extra else base

    @property
    def codomain(self):
        base = self.parts[-1].codomain
        extra = self._event_dims()[1] - base.event_dim
        return constraints.independent(base, extra) if extra else base

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    def __call__(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p._inverse(y)
        return y

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        batch_rank = jnp.ndim(x) - self._event_dims()[0]
        total = 0.0
        for p in self.parts:
            y_p = p(x)
            ladj = p.log_abs_det_jacobian(x, y_p)
            total = total + _sum_rightmost(ladj, jnp.ndim(ladj) - batch_rank)
            x = y_p
        return total

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return shape


class IndependentTransform(Transform):
    """Treat the rightmost ``reinterpreted_batch_ndims`` dims of ``base_transform`` as
    event.
    """

    base_transform: Transform
    reinterpreted_batch_ndims: int = eqx.field(static=True)

    @property
    def sign(self):
        return self.base_transform.sign

    @property
    def domain(self):
        n = self.reinterpreted_batch_ndims
        return constraints.independent(self.base_transform.domain, n)

    @property
    def codomain(self):
        n = self.reinterpreted_batch_ndims
        return constraints.independent(self.base_transform.codomain, n)

    def __call__(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform._inverse(y)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        ladj = self.base_transform.log_abs_det_jacobian(x, y)
        return _sum_rightmost(ladj, self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class StickBreakingTransform(Transform):
    r"""$\mathbb{R}^{K-1}\to$ simplex in $\mathbb{R}^K$; zero maps to the uniform
    vector.
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    @staticmethod
    def _shift(x):
        # Offset so that x = 0 gives the balanced point (1/K, ..., 1/K).
        k = x.shape[-1]
        return x - jnp.log(k - jnp.arange(k, dtype=jnp.result_type(x)))

    def __call__(self, x):
        z = expit(self._shift(x))
        remaining = jnp.cumprod(1 - z, axis=-1)
        ones = jnp.ones(x.shape[:-1] + (1,), z.dtype)
        return jnp.concatenate([z, ones], -1) * jnp.concatenate([ones, remaining], -1)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        tiny = jnp.finfo(jnp.result_type(y, float)).tiny
        remaining = jnp.clip(1 - jnp.cumsum(y_crop, axis=-1), tiny)
        x = jnp.log(y_crop) - jnp.log(remaining)
        k = x.shape[-1]
        return x + jnp.log(k - jnp.arange(k, dtype=x.dtype))

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # dy_i/dx_i = y_i (1 - z_i) = y_i z_i exp(-x_i); the Jacobian is triangular.
        xs = self._shift(x)
        log_z = -softplus(-xs)
        return jnp.sum(jnp.log(y[..., :-1]) + log_z - xs, axis=-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class OrderedTransform(Transform):
    r"""$y_0 = x_0,\ y_i = y_{i-1} + e^{x_i}$: real vectors to increasing vectors."""

    domain = constraints.real_vector
    codomain = constraints.ordered_vector

    def __call__(self, x):
        z = jnp.concatenate([x[..., :1], jnp.exp(x[..., 1:])], axis=-1)
        return jnp.cumsum(z, axis=-1)

    def _inverse(self, y):
        return jnp.concatenate([y[..., :1], jnp.log(jnp.diff(y, axis=-1))], axis=-1)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        return jnp.sum(x[..., 1:], axis=-1)


class _BijectRegistry:
    """Maps a constraint (by type) to a factory of the bijection from real space onto
    it.
    """

    def __init__(self):
        self._factories = {}

    _DECORATOR = object()

    def register(self, constraint, factory=_DECORATOR):
        """Register ``factory(constraint) -> Transform`` (``None``: no bijection)."""
        if factory is self._DECORATOR:
            return lambda f: self.register(constraint, f)
        key = constraint if isinstance(constraint, type) else type(constraint)
        self._factories[key] = factory
        return factory

    def __call__(self, constraint) -> Transform:
        for cls in type(constraint).__mro__:
            if cls in self._factories:
                factory = self._factories[cls]
                if factory is not None:
                    return factory(constraint)
                break
        raise NotImplementedError(
            f"biject_to: no bijection onto constraint {constraint!r} is registered "
            "(discrete and `dependent` supports have none)."
        )


biject_to = _BijectRegistry()
biject_to.register(constraints._Real, lambda c: IdentityTransform())
biject_to.register(constraints._Positive, lambda c: ExpTransform())
# as NumPyro: the nonnegative reals are reached through their interior
biject_to.register(constraints._Nonnegative, lambda c: ExpTransform())
biject_to.register(constraints._SoftplusPositive, lambda c: SoftplusTransform())
biject_to.register(constraints._UnitInterval, lambda c: SigmoidTransform())
biject_to.register(constraints._Simplex, lambda c: StickBreakingTransform())
biject_to.register(constraints._OrderedVector, lambda c: OrderedTransform())
biject_to.register(
    constraints._PositiveOrderedVector,
    lambda c: ComposeTransform([OrderedTransform(), ExpTransform()]),
)
biject_to.register(constraints._ZeroSum, lambda c: ZeroSumTransform(c.event_dim))
biject_to.register(constraints._LowerCholesky, lambda c: LowerCholeskyTransform())
biject_to.register(constraints._CorrCholesky, lambda c: CorrCholeskyTransform())
for _psd in (constraints._PositiveDefinite, constraints._PositiveSemidefinite):
    # as NumPyro: positive semidefinite is reached through its interior
    biject_to.register(
        _psd,
        lambda c: ComposeTransform([LowerCholeskyTransform(), CholeskyTransform().inv]),
    )
del _psd
biject_to.register(constraints._L1Ball, lambda c: L1BallTransform())
biject_to.register(
    constraints._CorrMatrix,
    lambda c: ComposeTransform(
        [CorrCholeskyTransform(), CorrMatrixCholeskyTransform().inv]
    ),
)
biject_to.register(
    constraints._GreaterThan,
    lambda c: ComposeTransform(
        [
            ExpTransform(),
            AffineTransform(c.lower_bound, 1.0, domain=constraints.positive),
        ]
    ),
)
# greater_than_eq, less_than_eq and open_interval subclass greater_than, less_than
# and interval, so the registry's MRO lookup gives them the same bijections.
biject_to.register(
    constraints._LessThan,
    lambda c: ComposeTransform(
        [
            ExpTransform(),
            AffineTransform(c.upper_bound, -1.0, domain=constraints.positive),
        ]
    ),
)
biject_to.register(
    constraints._Interval,
    lambda c: ComposeTransform(
        [
            SigmoidTransform(),
            AffineTransform(
                c.lower_bound,
                c.upper_bound - c.lower_bound,
                domain=constraints.unit_interval,
            ),
        ]
    ),
)
biject_to.register(
    constraints._Independent,
    lambda c: IndependentTransform(
        biject_to(c.base_constraint), c.reinterpreted_batch_ndims
    ),
)
for _discrete in (
    constraints._Boolean,
    constraints._IntegerInterval,
    constraints._IntegerGreaterThan,
    constraints._Multinomial,
    constraints._Dependent,
):
    biject_to.register(_discrete, None)
del _discrete

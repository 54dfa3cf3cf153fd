"""Constraints: the support of a distribution or the domain of a transform.

A constraint is a small object that, called on a value, returns a boolean array
saying where the value satisfies it (``constraints.positive(x)``). ``event_dim``
is the number of rightmost dimensions checked jointly; the result has those
dimensions reduced. Names and semantics follow NumPyro's
``numpyro.distributions.constraints``.
"""

import math

import jax.numpy as jnp

__all__ = [
    "Constraint",
    "boolean",
    "circular",
    "corr_cholesky",
    "corr_matrix",
    "dependent",
    "greater_than",
    "greater_than_eq",
    "independent",
    "integer_greater_than",
    "integer_interval",
    "interval",
    "is_dependent",
    "l1_ball",
    "less_than",
    "less_than_eq",
    "lower_cholesky",
    "multinomial",
    "nonnegative",
    "nonnegative_integer",
    "open_interval",
    "ordered_vector",
    "positive",
    "positive_definite",
    "positive_integer",
    "positive_ordered_vector",
    "positive_semidefinite",
    "real",
    "real_matrix",
    "real_vector",
    "simplex",
    "softplus_positive",
    "sphere",
    "unit_interval",
    "zero_sum",
]


class Constraint:
    """Base class: a region of space, checked by calling the object on a value."""

    is_discrete = False
    event_dim = 0

    def __call__(self, x):
        raise NotImplementedError

    def feasible_like(self, prototype):
        """A value of ``prototype``'s shape that satisfies the constraint."""
        return jnp.zeros_like(prototype)

    def __repr__(self):
        return type(self).__name__.lstrip("_").lower()


class _Real(Constraint):
    def __call__(self, x):
        return (x == x) & (x != float("inf")) & (x != float("-inf"))


class _Boolean(Constraint):
    is_discrete = True

    def __call__(self, x):
        return (x == 0) | (x == 1)


class _Dependent(Constraint):
    """Support that depends on other variables; cannot be checked or bijected."""

    def __call__(self, x):
        raise ValueError("Cannot check a `dependent` constraint.")


def is_dependent(constraint) -> bool:
    """Whether ``constraint`` is ``dependent`` (NumPyro's ``is_dependent``)."""
    return isinstance(constraint, _Dependent)


def _eps_tol(x, reltol=10.0):
    # NumPyro's tolerance for the norm-type constraints: a few ulps of x's dtype
    return reltol * jnp.finfo(jnp.result_type(x, float)).eps


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def __call__(self, x):
        return x > self.lower_bound

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.lower_bound + 1, jnp.shape(prototype))

    def __repr__(self):
        return f"greater_than(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    """``x >= lower_bound``; ``biject_to`` maps it as ``greater_than``."""

    def __call__(self, x):
        return x >= self.lower_bound

    def __repr__(self):
        return f"greater_than_eq(lower_bound={self.lower_bound})"


class _Positive(_GreaterThan):
    def __init__(self):
        super().__init__(0.0)

    def __repr__(self):
        return "positive"


class _SoftplusPositive(_Positive):
    def __repr__(self):
        return "softplus_positive"


class _Nonnegative(Constraint):
    def __call__(self, x):
        return x >= 0

    def __repr__(self):
        return "nonnegative"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def __call__(self, x):
        return x < self.upper_bound

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.upper_bound - 1, jnp.shape(prototype))

    def __repr__(self):
        return f"less_than(upper_bound={self.upper_bound})"


class _LessThanEq(_LessThan):
    """``x <= upper_bound``; ``biject_to`` maps it as ``less_than``."""

    def __call__(self, x):
        return x <= self.upper_bound

    def __repr__(self):
        return f"less_than_eq(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def __call__(self, x):
        return (x >= self.lower_bound) & (x <= self.upper_bound)

    def feasible_like(self, prototype):
        mid = (self.lower_bound + self.upper_bound) / 2
        return jnp.broadcast_to(mid, jnp.shape(prototype))

    def __repr__(self):
        return (
            f"interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"
        )


class _OpenInterval(_Interval):
    """``lower_bound < x < upper_bound``; ``biject_to`` maps it as ``interval``."""

    def __call__(self, x):
        return (x > self.lower_bound) & (x < self.upper_bound)

    def __repr__(self):
        return (
            f"open_interval(lower_bound={self.lower_bound}, "
            f"upper_bound={self.upper_bound})"
        )


class _UnitInterval(_Interval):
    def __init__(self):
        super().__init__(0.0, 1.0)

    def __repr__(self):
        return "unit_interval"


class _Circular(_Interval):
    """Angles in $[-\\pi, \\pi]$ (NumPyro's ``circular``)."""

    def __init__(self):
        super().__init__(-math.pi, math.pi)

    def __repr__(self):
        return "circular"


class _IntegerInterval(_Interval):
    is_discrete = True

    def __call__(self, x):
        return super().__call__(x) & (x == jnp.floor(x))

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.lower_bound, jnp.shape(prototype))

    def __repr__(self):
        return (
            f"integer_interval(lower_bound={self.lower_bound}, "
            f"upper_bound={self.upper_bound})"
        )


class _IntegerGreaterThan(_GreaterThan):
    is_discrete = True

    def __call__(self, x):
        return (x >= self.lower_bound) & (x == jnp.floor(x))

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.lower_bound, jnp.shape(prototype))

    def __repr__(self):
        return f"integer_greater_than(lower_bound={self.lower_bound})"


class _Independent(Constraint):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` dims as event dims."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        if not (
            isinstance(reinterpreted_batch_ndims, int)
            and reinterpreted_batch_ndims >= 0
        ):
            raise ValueError(
                "`reinterpreted_batch_ndims` must be a non-negative int; "
                f"got {reinterpreted_batch_ndims!r}"
            )
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def __call__(self, x):
        ok = self.base_constraint(x)
        n = self.reinterpreted_batch_ndims
        return jnp.all(ok, axis=tuple(range(-n, 0))) if n else ok

    def feasible_like(self, prototype):
        return self.base_constraint.feasible_like(prototype)

    def __repr__(self):
        return (
            f"independent({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"
        )


class _Simplex(Constraint):
    event_dim = 1

    def __call__(self, x):
        tol = 1e-6 if jnp.result_type(x) == jnp.float64 else 1e-4
        return jnp.all(x >= 0, axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) < tol)

    def feasible_like(self, prototype):
        return jnp.full_like(prototype, 1 / jnp.shape(prototype)[-1])


class _L1Ball(Constraint):
    r"""Vectors with $\sum_i |x_i| < 1$, up to ten ulps of ``x``'s dtype (NumPyro's
    tolerance)."""

    event_dim = 1

    def __call__(self, x):
        return jnp.sum(jnp.abs(x), axis=-1) < 1 + _eps_tol(x)

    def __repr__(self):
        return "l1_ball"


class _Sphere(Constraint):
    r"""Unit vectors: $|\|x\|_2 - 1| < 10\,\epsilon\sqrt{n}$ on the last axis
    (NumPyro's tolerance, $\epsilon$ the machine epsilon of ``x``'s dtype)."""

    event_dim = 1

    def __call__(self, x):
        n = jnp.shape(x)[-1]
        return jnp.abs(jnp.linalg.norm(x, axis=-1) - 1) < _eps_tol(x) * math.sqrt(n)

    def feasible_like(self, prototype):
        n = jnp.shape(prototype)[-1]
        return jnp.full(
            jnp.shape(prototype), n**-0.5, jnp.result_type(prototype, float)
        )


class _Multinomial(Constraint):
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def __call__(self, x):
        return jnp.all(x >= 0, axis=-1) & (jnp.sum(x, -1) == self.upper_bound)


class _OrderedVector(Constraint):
    event_dim = 1

    def __call__(self, x):
        return jnp.all(x[..., 1:] > x[..., :-1], axis=-1)

    def feasible_like(self, prototype):
        n = jnp.shape(prototype)[-1]
        return jnp.broadcast_to(
            jnp.arange(n, dtype=jnp.result_type(prototype)), jnp.shape(prototype)
        )


class _PositiveOrderedVector(_OrderedVector):
    def __call__(self, x):
        return super().__call__(x) & (x[..., 0] > 0)

    def feasible_like(self, prototype):
        return super().feasible_like(prototype) + 1


class _ZeroSum(Constraint):
    """Arrays whose sum along each of the rightmost ``event_dim`` axes is zero."""

    def __init__(self, event_dim=1):
        if not (isinstance(event_dim, int) and event_dim >= 1):
            raise ValueError(
                f"zero_sum: `event_dim` must be an int >= 1; got {event_dim!r}"
            )
        self.event_dim = event_dim

    def __call__(self, x):
        tol = 1e-6 if jnp.result_type(x) == jnp.float64 else 1e-4
        axes = tuple(range(-self.event_dim, 0))
        # the sum of large entries carries their rounding error
        scale = jnp.maximum(1.0, jnp.max(jnp.abs(x), axis=axes, keepdims=True))
        ok = True
        for axis in axes:
            ok = ok & (jnp.abs(jnp.sum(x, axis=axis, keepdims=True)) < tol * scale)
        return jnp.all(ok, axis=axes)

    def __repr__(self):
        return f"zero_sum(event_dim={self.event_dim})"


def _eye_like(prototype):
    n = jnp.shape(prototype)[-1]
    return jnp.broadcast_to(
        jnp.eye(n, dtype=jnp.result_type(prototype)), jnp.shape(prototype)
    )


class _LowerCholesky(Constraint):
    event_dim = 2

    def __call__(self, x):
        lower = jnp.all(jnp.tril(x) == x, axis=(-2, -1))
        return lower & jnp.all(jnp.diagonal(x, axis1=-2, axis2=-1) > 0, axis=-1)

    def feasible_like(self, prototype):
        return _eye_like(prototype)


class _CorrCholesky(_LowerCholesky):
    def __call__(self, x):
        tol = 1e-6 if jnp.result_type(x) == jnp.float64 else 1e-4
        unit_rows = jnp.all(jnp.abs(jnp.linalg.norm(x, axis=-1) - 1) < tol, axis=-1)
        return super().__call__(x) & unit_rows


class _PositiveDefinite(Constraint):
    event_dim = 2

    def __call__(self, x):
        symmetric = jnp.all(jnp.abs(x - jnp.swapaxes(x, -2, -1)) < 1e-6, axis=(-2, -1))
        return symmetric & jnp.all(jnp.linalg.eigvalsh(x) > 0, axis=-1)

    def feasible_like(self, prototype):
        return _eye_like(prototype)


class _PositiveSemidefinite(Constraint):
    """Symmetric matrices whose smallest eigenvalue is ``>= 0``; ``biject_to`` maps
    onto the positive-definite interior, as NumPyro does."""

    event_dim = 2

    def __call__(self, x):
        # symmetry as NumPyro: np.isclose's default rtol=1e-5, atol=1e-8
        xt = jnp.swapaxes(x, -2, -1)
        symmetric = jnp.all(jnp.isclose(x, xt), axis=(-2, -1))
        return symmetric & (jnp.linalg.eigvalsh(x)[..., 0] >= 0)

    def feasible_like(self, prototype):
        return _eye_like(prototype)

    def __repr__(self):
        return "positive_semidefinite"


class _CorrMatrix(_PositiveDefinite):
    def __call__(self, x):
        unit_diag = jnp.all(
            jnp.abs(jnp.diagonal(x, axis1=-2, axis2=-1) - 1) < 1e-6, axis=-1
        )
        return super().__call__(x) & unit_diag


boolean = _Boolean()
circular = _Circular()
corr_cholesky = _CorrCholesky()
corr_matrix = _CorrMatrix()
dependent = _Dependent()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
independent = _Independent
integer_greater_than = _IntegerGreaterThan
integer_interval = _IntegerInterval
interval = _Interval
l1_ball = _L1Ball()
less_than = _LessThan
less_than_eq = _LessThanEq
lower_cholesky = _LowerCholesky()
multinomial = _Multinomial
nonnegative = _Nonnegative()
nonnegative_integer = _IntegerGreaterThan(0)
open_interval = _OpenInterval
ordered_vector = _OrderedVector()
positive = _Positive()
positive_definite = _PositiveDefinite()
positive_integer = _IntegerGreaterThan(1)
positive_ordered_vector = _PositiveOrderedVector()
positive_semidefinite = _PositiveSemidefinite()
real = _Real()
real_matrix = _Independent(real, 2)
real_vector = _Independent(real, 1)
simplex = _Simplex()
softplus_positive = _SoftplusPositive()
sphere = _Sphere()
unit_interval = _UnitInterval()
zero_sum = _ZeroSum

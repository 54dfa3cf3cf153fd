"""Bijections: round trips, codomains, exact log-det-Jacobians vs jacfwd."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic.distributions as dist
from sciad.probabilistic.distributions import constraints as C, transforms as T


def _tril(y):
    return T.matrix_to_tril_vec(y, 0)


def _strict(y):
    return T.matrix_to_tril_vec(y, -1)


def _all(y):
    return y


# name -> (transform, unconstrained event shape, free coordinates of y)
CASES = {
    "real": (dist.biject_to(C.real), (3,), _all),
    "real_vector": (dist.biject_to(C.real_vector), (3,), _all),
    "positive": (dist.biject_to(C.positive), (3,), _all),
    "softplus_positive": (dist.biject_to(C.softplus_positive), (3,), _all),
    "unit_interval": (dist.biject_to(C.unit_interval), (3,), _all),
    "interval": (dist.biject_to(C.interval(-1.0, 3.0)), (3,), _all),
    "greater_than": (dist.biject_to(C.greater_than(2.0)), (3,), _all),
    "less_than": (dist.biject_to(C.less_than(1.0)), (3,), _all),
    "simplex": (dist.biject_to(C.simplex), (3,), lambda y: y[..., :-1]),
    "ordered_vector": (dist.biject_to(C.ordered_vector), (4,), _all),
    "positive_ordered_vector": (dist.biject_to(C.positive_ordered_vector), (4,), _all),
    "lower_cholesky": (dist.biject_to(C.lower_cholesky), (6,), _tril),
    "corr_cholesky": (dist.biject_to(C.corr_cholesky), (6,), _strict),
    "positive_definite": (dist.biject_to(C.positive_definite), (6,), _tril),
    "corr_matrix": (dist.biject_to(C.corr_matrix), (3,), _strict),
    "tanh": (T.TanhTransform(), (3,), _all),
    "affine": (T.AffineTransform(1.0, jnp.array([2.0, -0.5, 3.0])), (3,), _all),
    "compose": (
        T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.SigmoidTransform()]),
        (3,),
        _all,
    ),
}

CONSTRAINT_OF = {
    "real": C.real,
    "real_vector": C.real_vector,
    "positive": C.positive,
    "softplus_positive": C.softplus_positive,
    "unit_interval": C.unit_interval,
    "interval": C.interval(-1.0, 3.0),
    "greater_than": C.greater_than(2.0),
    "less_than": C.less_than(1.0),
    "simplex": C.simplex,
    "ordered_vector": C.ordered_vector,
    "positive_ordered_vector": C.positive_ordered_vector,
    "lower_cholesky": C.lower_cholesky,
    "corr_cholesky": C.corr_cholesky,
    "positive_definite": C.positive_definite,
    "corr_matrix": C.corr_matrix,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_and_log_det(name):
    t, shape, free = CASES[name]
    x = 0.8 * jr.normal(jr.key(hash(name) % 1000), (2,) + shape)
    y = t(x)
    if name in CONSTRAINT_OF:
        assert bool(jnp.all(CONSTRAINT_OF[name](y))), name
        assert bool(jnp.all(t.codomain(y)))
    np.testing.assert_allclose(t.inv(y), x, rtol=1e-8, atol=1e-8)
    ladj = t.log_abs_det_jacobian(x, y)
    event_dim = t.domain.event_dim
    for i in range(2):
        jac = jax.jacfwd(lambda v: jnp.ravel(free(t(v))))(x[i])
        jac = jnp.reshape(jac, (jac.shape[0], -1))
        _, expected = jnp.linalg.slogdet(jac)
        got = ladj[i] if event_dim else jnp.sum(ladj[i])
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes(name):
    t, shape, _ = CASES[name]
    x = jnp.zeros((2,) + shape)
    y = t(x)
    assert t.forward_shape(x.shape) == y.shape
    assert t.inverse_shape(y.shape) == x.shape
    ladj = t.log_abs_det_jacobian(x, y)
    assert ladj.shape == x.shape[: x.ndim - t.domain.event_dim]


def test_inverse_transform():
    t = T.ExpTransform().inv
    y = jnp.array([0.5, 2.0])
    np.testing.assert_allclose(t(y), jnp.log(y))
    np.testing.assert_allclose(t.log_abs_det_jacobian(y, t(y)), -jnp.log(y))
    assert t.inv is not t and t.domain is C.positive and t.codomain is C.real


def test_transforms_jit_and_grad():
    t = dist.biject_to(C.corr_cholesky)
    f = jax.jit(lambda x: t.log_abs_det_jacobian(x, t(x)))
    x = jnp.array([0.1, -0.3, 0.2])
    np.testing.assert_allclose(f(x), t.log_abs_det_jacobian(x, t(x)))
    assert jnp.all(jnp.isfinite(jax.grad(f)(x)))


def test_nonnegative_maps_through_its_interior():
    y = dist.biject_to(C.nonnegative)(jnp.array([-30.0, 0.0, 2.0]))
    assert bool(jnp.all(C.nonnegative(y))) and bool(jnp.all(C.positive(y)))


def test_discrete_and_dependent_constraints_have_no_bijection():
    for c in (C.boolean, C.nonnegative_integer, C.integer_interval(0, 3), C.dependent):
        with pytest.raises(NotImplementedError, match="no bijection"):
            dist.biject_to(c)


def test_constraints_are_callable():
    np.testing.assert_array_equal(
        C.positive(jnp.array([-1.0, 0.0, 2.0])), [False, False, True]
    )
    np.testing.assert_array_equal(
        C.unit_interval(jnp.array([-0.1, 0.5, 1.0])), [False, True, True]
    )
    np.testing.assert_array_equal(
        C.interval(0, 2)(jnp.array([1.0, 3.0])), [True, False]
    )
    assert bool(C.simplex(jnp.array([0.2, 0.8]))) and not bool(
        C.simplex(jnp.array([0.2, 0.9]))
    )
    assert C.real_vector(jnp.array([[1.0, jnp.nan], [0.0, 1.0]])).tolist() == [
        False,
        True,
    ]
    assert bool(C.ordered_vector(jnp.array([0.0, 1.0, 3.0])))
    assert bool(C.lower_cholesky(jnp.eye(2))) and not bool(
        C.lower_cholesky(jnp.ones((2, 2)))
    )
    assert bool(C.positive_definite(jnp.eye(2))) and not bool(
        C.positive_definite(-jnp.eye(2))
    )
    assert bool(C.nonnegative_integer(3.0)) and not bool(C.nonnegative_integer(1.5))
    assert C.simplex.event_dim == 1 and C.positive_definite.event_dim == 2
    assert C.boolean.is_discrete and not C.real.is_discrete


@pytest.mark.parametrize("name", sorted(CONSTRAINT_OF))
def test_feasible_like_satisfies_constraint(name):
    c = CONSTRAINT_OF[name]
    proto = jnp.zeros((2, 3, 3)) if c.event_dim == 2 else jnp.zeros((2, 3))
    assert bool(jnp.all(c(c.feasible_like(proto))))

"""Constraints, transforms and distributions that close gaps with NumPyro's API.

Oracles: hand-picked boundary values, NumPyro's own constraints and transforms
(when installed), log|det| of the autodiff Jacobian over free coordinates, and
scipy's densities, cdfs and Kolmogorov-Smirnov tests of draws. float64 throughout.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st
from jax.test_util import check_grads

import sciad.probabilistic.distributions as dist
from sciad.probabilistic.distributions import constraints as C, transforms as T

# --- constraints -----------------------------------------------------------

# (constraint, value, expected)
BOUNDARY = [
    (C.greater_than_eq(2.0), 2.0, True),
    (C.greater_than(2.0), 2.0, False),
    (C.greater_than_eq(2.0), 1.999, False),
    (C.less_than_eq(1.0), 1.0, True),
    (C.less_than(1.0), 1.0, False),
    (C.less_than_eq(1.0), 1.001, False),
    (C.open_interval(0.0, 1.0), 0.0, False),
    (C.open_interval(0.0, 1.0), 1.0, False),
    (C.open_interval(0.0, 1.0), 0.5, True),
    (C.interval(0.0, 1.0), 0.0, True),
    (C.positive_semidefinite, [[0.0, 0.0], [0.0, 0.0]], True),
    (C.positive_definite, [[0.0, 0.0], [0.0, 0.0]], False),
    (C.positive_semidefinite, [[1.0, 1.0], [1.0, 1.0]], True),  # rank one
    (C.positive_semidefinite, [[1.0, 2.0], [2.0, 1.0]], False),  # eigenvalue -1
    (C.positive_semidefinite, [[1.0, 1.0], [0.0, 1.0]], False),  # not symmetric
    (C.sphere, [0.6, 0.8], True),
    (C.sphere, [0.6, 0.81], False),
    (C.sphere, [0.0, 0.0, 1.0], True),
    (C.l1_ball, [0.5, -0.4], True),
    (C.l1_ball, [0.5, -0.5000001], False),
    (C.l1_ball, [0.0, 0.0, -1.5], False),
]


@pytest.mark.parametrize("case", range(len(BOUNDARY)))
def test_constraint_boundary_values(case):
    c, value, expected = BOUNDARY[case]
    assert bool(c(jnp.asarray(value))) is expected, (c, value)


def test_constraint_metadata():
    assert C.is_dependent(C.dependent)
    assert not C.is_dependent(C.real) and not C.is_dependent(C.greater_than(0.0))
    assert isinstance(C.greater_than_eq(1.0), C.greater_than)
    assert isinstance(C.less_than_eq(1.0), C.less_than)
    assert isinstance(C.open_interval(0.0, 1.0), C.interval)
    assert (C.sphere.event_dim, C.l1_ball.event_dim) == (1, 1)
    assert C.positive_semidefinite.event_dim == 2
    assert repr(C.greater_than_eq(2.0)) == "greater_than_eq(lower_bound=2.0)"
    assert repr(C.l1_ball) == "l1_ball"
    for name in (
        "greater_than_eq",
        "less_than_eq",
        "open_interval",
        "positive_semidefinite",
        "sphere",
        "l1_ball",
        "is_dependent",
    ):
        assert name in C.__all__ and hasattr(C, name)


def _scalar_values(key):
    # random values plus the bounds themselves, where strict and weak differ
    x = jnp.round(jr.uniform(key, (40,), minval=-3.0, maxval=3.0), 1)
    return jnp.concatenate([x, jnp.array([-1.0, 0.0, 1.0, 2.0])])


def _vectors(key):
    v = jr.normal(key, (30, 3))
    unit = v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    l1 = v / jnp.sum(jnp.abs(v), axis=-1, keepdims=True)
    return jnp.concatenate([v, unit, 0.9 * l1, 1.1 * l1])


def _matrices(key):
    k1, k2 = jr.split(key)
    a = jr.normal(k1, (20, 3, 3))
    gram = a @ jnp.swapaxes(a, -1, -2)
    gram = (gram + jnp.swapaxes(gram, -1, -2)) / 2
    shifted = gram[:10] - 1.5 * jnp.eye(3)  # mostly indefinite
    return jnp.concatenate([gram[10:], shifted, jr.normal(k2, (5, 3, 3))])


# name -> (ours, NumPyro's name and arguments, values)
NEW_CONSTRAINTS = {
    "greater_than_eq": (C.greater_than_eq(1.0), ("greater_than_eq", 1.0), "scalar"),
    "less_than_eq": (C.less_than_eq(-1.0), ("less_than_eq", -1.0), "scalar"),
    "open_interval": (
        C.open_interval(-1.0, 2.0),
        ("open_interval", -1.0, 2.0),
        "scalar",
    ),
    "positive_semidefinite": (
        C.positive_semidefinite,
        ("positive_semidefinite",),
        "matrix",
    ),
    "sphere": (C.sphere, ("sphere",), "vector"),
    "l1_ball": (C.l1_ball, ("l1_ball",), "vector"),
}
_VALUES = {"scalar": _scalar_values, "vector": _vectors, "matrix": _matrices}


@pytest.mark.parametrize("name", sorted(NEW_CONSTRAINTS))
def test_constraints_agree_with_numpyro(name):
    numpyro_constraints = pytest.importorskip("numpyro.distributions.constraints")
    ours, (np_name, *args), kind = NEW_CONSTRAINTS[name]
    theirs = getattr(numpyro_constraints, np_name)
    theirs = theirs(*args) if args else theirs
    x = _VALUES[kind](jr.key(7))
    got, want = np.asarray(ours(x)), np.asarray(theirs(x))
    np.testing.assert_array_equal(got, want)
    assert got.any() and not got.all(), "values should straddle the boundary"


@pytest.mark.parametrize("name", sorted(NEW_CONSTRAINTS))
def test_feasible_like_satisfies_constraint(name):
    c = NEW_CONSTRAINTS[name][0]
    proto = {0: jnp.zeros((2, 3)), 1: jnp.zeros((2, 3)), 2: jnp.zeros((2, 3, 3))}
    value = c.feasible_like(proto[c.event_dim])
    assert value.shape == proto[c.event_dim].shape
    assert bool(jnp.all(c(value)))


@pytest.mark.parametrize("name", sorted(set(NEW_CONSTRAINTS) - {"sphere"}))
def test_biject_to_lands_in_constraint(name):
    c = NEW_CONSTRAINTS[name][0]
    t = dist.biject_to(c)
    shape = {0: (5,), 1: (5, 3), 2: (5, 6)}[c.event_dim]
    x = 2.0 * jr.normal(jr.key(3), shape)
    assert bool(jnp.all(c(t(x))))
    np.testing.assert_allclose(t.inv(t(x)), x, rtol=1e-8, atol=1e-8)


def test_sphere_has_no_bijection():
    with pytest.raises(NotImplementedError, match="no bijection"):
        dist.biject_to(C.sphere)


# --- transforms ------------------------------------------------------------


def _simplex_embed(u):
    return jnp.concatenate([u, 1 - jnp.sum(u, -1, keepdims=True)], -1)


def _batch(key, shape, kind):
    x = jr.normal(key, (2,) + shape)
    if kind == "positive":
        return jnp.exp(0.5 * x)
    if kind == "simplex":
        return jax.nn.softmax(x, axis=-1)
    if kind == "wide":  # 1 - |tanh x| down to ~1e-4 (further, y loses x's digits)
        return jnp.array([[-4.0, 1.0, -0.5, 3.0], [2.5, -3.5, 0.7, 2.0]])
    return x


# name -> (transform, event shape of x, kind of x, free coords of x, and back)
_ident = (lambda x: jnp.ravel(x), None)
TRANSFORMS = {
    "power": (T.PowerTransform(2.5), (3,), "positive", *_ident),
    "power_vector_exponent": (
        T.PowerTransform(jnp.array([0.5, -1.5, 3.0])),
        (3,),
        "positive",
        *_ident,
    ),
    "permute": (T.PermuteTransform([2, 0, 3, 1]), (4,), "real", *_ident),
    "reshape": (T.ReshapeTransform((2, 3), (6,)), (6,), "real", *_ident),
    "reshape_2d": (T.ReshapeTransform((3, 2), (2, 3)), (2, 3), "real", *_ident),
    "l1_ball": (T.L1BallTransform(), (4,), "real", *_ident),
    "l1_ball_wide": (T.L1BallTransform(), (4,), "wide", *_ident),
    "simplex_to_ordered": (
        T.SimplexToOrderedTransform(),
        (4,),
        "simplex",
        lambda x: x[:-1],
        _simplex_embed,
    ),
    "simplex_to_ordered_anchor": (
        T.SimplexToOrderedTransform(jnp.array([0.7, -0.3])),
        (4,),
        "simplex",
        lambda x: x[:-1],
        _simplex_embed,
    ),
}


@jax.jit
def _forward(t, x):
    y = t(x)
    return y, t.inv(y), t.log_abs_det_jacobian(x, y)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_round_trip_and_exact_log_det(name):
    t, shape, kind, to_free, from_free = TRANSFORMS[name]
    x = _batch(jr.key(len(name)), shape, kind)
    y, x_back, ladj = _forward(t, x)
    np.testing.assert_allclose(x_back, x, rtol=1e-9, atol=1e-9)
    assert bool(jnp.all(t.codomain(y)))
    assert y.shape == t.forward_shape(x.shape) and t.inverse_shape(y.shape) == x.shape
    event_dim = t.domain.event_dim
    assert ladj.shape == x.shape[: x.ndim - event_dim]
    for i in range(2):
        if from_free is None:

            def f(u, i=i):
                return jnp.ravel(t(jnp.reshape(u, x[i].shape)))

        else:

            def f(u, i=i):
                return jnp.ravel(
                    T.SimplexToOrderedTransform(t.anchor_point[i])(from_free(u))
                    if jnp.ndim(t.anchor_point)
                    else t(from_free(u))
                )

        _, expected = jnp.linalg.slogdet(jax.jacfwd(f)(to_free(x[i])))
        got = ladj[i] if event_dim else jnp.sum(ladj[i])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def _numpyro_twin(name, t):
    nt = pytest.importorskip("numpyro.distributions.transforms")
    return {
        "power": lambda: nt.PowerTransform(t.exponent),
        "power_vector_exponent": lambda: nt.PowerTransform(t.exponent),
        "permute": lambda: nt.PermuteTransform(jnp.array(t.permutation)),
        "reshape": lambda: nt.ReshapeTransform((2, 3), (6,)),
        "reshape_2d": lambda: nt.ReshapeTransform((3, 2), (2, 3)),
        "l1_ball": nt.L1BallTransform,
        "l1_ball_wide": nt.L1BallTransform,
        "simplex_to_ordered": lambda: nt.SimplexToOrderedTransform(t.anchor_point),
        "simplex_to_ordered_anchor": lambda: nt.SimplexToOrderedTransform(
            t.anchor_point
        ),
    }[name]()


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transforms_agree_with_numpyro(name):
    t, shape, kind, _, _ = TRANSFORMS[name]
    theirs = _numpyro_twin(name, t)
    x = _batch(jr.key(len(name) + 1), shape, kind)
    y, x_back, ladj = _forward(t, x)
    np.testing.assert_allclose(y, theirs(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x_back, theirs.inv(y), rtol=1e-7, atol=1e-9)
    if name != "simplex_to_ordered_anchor":
        # NumPyro 0.22 evaluates this log-det at y instead of y - anchor_point,
        # exact only for anchor 0 (ours is checked against jacfwd above).
        np.testing.assert_allclose(
            ladj, theirs.log_abs_det_jacobian(x, y), rtol=1e-8, atol=1e-10
        )


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_gradients_are_finite(name):
    t, shape, kind, _, _ = TRANSFORMS[name]
    x = _batch(jr.key(1), shape, kind)

    def loss(x):
        y, _, ladj = _forward(t, x)
        return jnp.sum(y**2) + jnp.sum(ladj)

    g = jax.jit(jax.grad(loss))(x)
    assert g.shape == x.shape and bool(jnp.all(jnp.isfinite(g)))


def test_power_and_permute_gradients_match_finite_differences():
    x = jnp.array([0.7, 1.3, 2.1])
    check_grads(
        lambda x, p: T.PowerTransform(p).log_abs_det_jacobian(x, x**p),
        (x, 1.7),
        order=1,
        modes=("rev",),
    )
    t = T.PermuteTransform(np.array([1, 2, 0]))
    check_grads(lambda x: t(x) * jnp.arange(3.0), (x,), order=1, modes=("rev",))


def test_abs_transform_follows_numpyro():
    t = T.AbsTransform()
    x = jnp.array([-1.5, 0.0, 2.0])
    np.testing.assert_array_equal(t(x), [1.5, 0.0, 2.0])
    assert t.domain is C.real and t.codomain is C.positive
    with pytest.warns(UserWarning, match="not a bijective"):
        np.testing.assert_array_equal(t.inv(t(x)), [1.5, 0.0, 2.0])
    with pytest.raises(NotImplementedError, match="FoldedDistribution"):
        t.log_abs_det_jacobian(x, t(x))
    np.testing.assert_array_equal(jax.jit(t)(x), t(x))


BAD_ARGUMENTS = [
    (lambda: T.PermuteTransform([0, 0, 1]), "`permutation`"),
    (lambda: T.PermuteTransform([1, 2, 3]), "`permutation`"),
    (lambda: T.PermuteTransform([0.0, 1.0]), "`permutation`"),
    (lambda: T.PermuteTransform([[0, 1]]), "`permutation`"),
    (lambda: T.PermuteTransform([1, 0])(jnp.zeros(3)), "`x`"),
    (lambda: T.ReshapeTransform((2, 3), (5,)), "`forward_shape`.*`inverse_shape`"),
    (lambda: T.ReshapeTransform(6, (6,)), "`forward_shape`"),
    (lambda: T.ReshapeTransform((6,), (2, -3)), "`inverse_shape`"),
    (lambda: T.ReshapeTransform((2, 3), (6,))(jnp.zeros(5)), "`x`"),
    (lambda: T.PowerTransform(0.0), "`exponent`"),
]


@pytest.mark.parametrize("case", range(len(BAD_ARGUMENTS)))
def test_bad_transform_arguments_raise(case):
    make, match = BAD_ARGUMENTS[case]
    with pytest.raises(ValueError, match=match):
        make()


def test_new_transforms_are_exported():
    for name in (
        "AbsTransform",
        "PowerTransform",
        "PermuteTransform",
        "ReshapeTransform",
        "L1BallTransform",
        "SimplexToOrderedTransform",
    ):
        assert name in T.__all__ and issubclass(getattr(T, name), T.Transform)


# --- distributions -------------------------------------------------------

LOCS = np.array([0.0, 0.7, -1.2])
SCALES = np.array([1.3, 0.5, 2.0])
VALUES = np.array([[0.0], [0.3], [1.1], [4.0]])  # against batch (3,)


def test_folded_normal_matches_scipy():
    d = dist.FoldedDistribution(dist.Normal(LOCS, SCALES))
    assert d.batch_shape == (3,) and d.event_shape == ()
    ref = st.foldnorm(np.abs(LOCS) / SCALES, scale=SCALES)
    np.testing.assert_allclose(d.log_prob(VALUES), ref.logpdf(VALUES), rtol=1e-12)
    np.testing.assert_allclose(d.cdf(VALUES), ref.cdf(VALUES), rtol=1e-12)
    assert bool(jnp.all(d.log_prob(-0.5) == -jnp.inf))
    half = dist.FoldedDistribution(dist.Normal(0.0, 1.3))
    np.testing.assert_allclose(
        half.log_prob(VALUES[:, 0]), st.halfnorm(scale=1.3).logpdf(VALUES[:, 0])
    )


def test_folded_matches_numpyro_for_a_heavy_tailed_base():
    numpyro_dist = pytest.importorskip("numpyro.distributions")
    x = jnp.array([0.1, 0.9, 3.0, 25.0])
    ours = dist.FoldedDistribution(dist.StudentT(3.0, 0.5, 2.0))
    theirs = numpyro_dist.FoldedDistribution(numpyro_dist.StudentT(3.0, 0.5, 2.0))
    np.testing.assert_allclose(ours.log_prob(x), theirs.log_prob(x), rtol=1e-12)


def test_folded_sampling():
    d = dist.FoldedDistribution(dist.Normal(LOCS, SCALES))
    assert d.sample(jr.key(0), (4, 2)).shape == (4, 2, 3)
    draws = np.asarray(d.sample(jr.key(1), (2000,)))
    assert (draws >= 0).all()
    for i in range(3):
        ref = st.foldnorm(abs(LOCS[i]) / SCALES[i], scale=SCALES[i])
        assert st.kstest(draws[:, i], ref.cdf).pvalue > 1e-3
    assert d.has_rsample


def test_folded_gradients():
    x = jnp.array([0.0, 0.4, 2.5])
    check_grads(
        lambda loc, scale: dist.FoldedDistribution(dist.Normal(loc, scale)).log_prob(x),
        (0.7, 1.3),
        order=1,
        modes=("rev",),
    )


@pytest.mark.parametrize(
    "base",
    [
        dist.Exponential(1.0),
        dist.Poisson(2.0),
        dist.MultivariateNormal(jnp.zeros(2), jnp.eye(2)),
    ],
    ids=["positive_support", "discrete", "multivariate"],
)
def test_folded_rejects_unfit_bases(base):
    with pytest.raises(ValueError, match="`base_dist`"):
        dist.FoldedDistribution(base)


def test_folded_base_validation_still_applies():
    with pytest.raises(ValueError, match="scale"):
        dist.FoldedDistribution(dist.Normal(0.0, -1.0, validate_args=True))


MEANS = np.array([0.2, 0.5, 0.9])
CONCS = np.array([2.0, 10.0, 3.0])  # Beta(2.7, 0.3) at most: few draws round to 1


def test_beta_proportion_matches_scipy():
    d = dist.BetaProportion(MEANS, CONCS)
    ref = st.beta(MEANS * CONCS, (1 - MEANS) * CONCS)
    x = np.array([[0.05], [0.3], [0.5], [0.97]])
    assert d.batch_shape == (3,) and d.support is C.unit_interval
    np.testing.assert_allclose(d.log_prob(x), ref.logpdf(x), rtol=1e-10)
    np.testing.assert_allclose(d.cdf(x), ref.cdf(x), rtol=1e-9)
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-12)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-12)
    np.testing.assert_allclose(d.entropy(), ref.entropy(), rtol=1e-10)
    assert bool(jnp.all(d.log_prob(1.5) == -jnp.inf))


def test_beta_proportion_matches_numpyro():
    numpyro_dist = pytest.importorskip("numpyro.distributions")
    x = jnp.array([[0.05], [0.3], [0.97]])
    theirs = numpyro_dist.BetaProportion(MEANS, CONCS)
    ours = dist.BetaProportion(MEANS, CONCS)
    np.testing.assert_allclose(ours.log_prob(x), theirs.log_prob(x), rtol=1e-10)


def test_beta_proportion_sampling():
    d = dist.BetaProportion(MEANS, CONCS)
    assert d.sample(jr.key(0), (4,)).shape == (4, 3)
    draws = np.asarray(d.sample(jr.key(2), (2000,)))
    for i in range(3):
        ref = st.beta(MEANS[i] * CONCS[i], (1 - MEANS[i]) * CONCS[i])
        assert st.kstest(draws[:, i], ref.cdf).pvalue > 1e-3


def test_beta_proportion_gradients():
    x = jnp.array([0.1, 0.45, 0.8])
    check_grads(
        lambda m, c: dist.BetaProportion(m, c).log_prob(x),
        (0.35, 4.0),
        order=1,
        modes=("rev",),
    )


@pytest.mark.parametrize(
    ("mean", "conc", "match"),
    [
        (0.0, 2.0, "`mean_`"),  # the open interval excludes its ends
        (1.0, 2.0, "`mean_`"),
        (1.2, 2.0, "`mean_`"),
        (0.5, -1.0, "`concentration`"),
    ],
)
def test_beta_proportion_invalid_arguments(mean, conc, match):
    with pytest.raises(ValueError, match=match):
        dist.BetaProportion(mean, conc, validate_args=True)


def test_beta_proportion_validation_under_jit():
    def f(m):
        return dist.BetaProportion(m, 2.0, validate_args=True).log_prob(0.3)

    f = jax.jit(f)
    assert bool(jnp.isfinite(f(0.4)))
    with pytest.raises(Exception, match="mean_"):
        jax.block_until_ready(f(1.0))


def test_power_and_reshape_inside_transformed_distribution():
    # X ~ Exponential(1) => X ** (1 / k) ~ Weibull(k)
    k = 1.7
    d = dist.TransformedDistribution(dist.Exponential(1.0), T.PowerTransform(1 / k))
    y = jnp.array([0.2, 1.0, 2.3])
    np.testing.assert_allclose(d.log_prob(y), st.weibull_min(k).logpdf(y), rtol=1e-12)
    # a reshaped standard normal keeps its density and gains a (2, 3) event
    base = dist.Normal(jnp.zeros(6), 1.0).to_event(1)
    r = dist.TransformedDistribution(base, T.ReshapeTransform((2, 3), (6,)))
    assert r.event_shape == (2, 3) and r.sample(jr.key(0), (4,)).shape == (4, 2, 3)
    z = jr.normal(jr.key(1), (4, 6))
    np.testing.assert_allclose(
        r.log_prob(z.reshape(4, 2, 3)), base.log_prob(z), rtol=1e-12
    )

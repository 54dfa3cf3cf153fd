"""Autoguides against closed-form posteriors, plus shapes, supports and errors.

Tolerances. A Gaussian guide on a Gaussian posterior has the exact posterior as
its ELBO optimum, so the fitted loc/scale differ from the closed form only by
optimiser noise: Adam with a step size decaying 0.05 -> 5e-4 over 1000 steps on
a 4-particle ELBO leaves errors of about 1% of the posterior sd (measured over
seeds: at most 1.5%); we allow 5% (about 3-4x margin). The full-covariance
guides learn 3 more numbers on a 2-d regression posterior; with 16 particles
and 1500 steps their mean and covariance errors were at most 2.5% (in sd
units); we allow 7.5% and 10%. Point-mass guides
(AutoDelta, AutoLaplaceApproximation) have deterministic ELBO gradients and
converge to solver precision, so they are checked to 1e-6.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from jax.scipy.stats import norm

import sciad.probabilistic.distributions as dist
from sciad.probabilistic import handlers, param, plate, sample
from sciad.probabilistic.infer import SVI, Trace_ELBO, _autoguide_base
from sciad.probabilistic.infer.autoguide import (
    AutoDelta,
    AutoDiagonalNormal,
    AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
)

ALL_GUIDES = [
    AutoNormal,
    AutoDelta,
    AutoDiagonalNormal,
    AutoMultivariateNormal,
    AutoLowRankMultivariateNormal,
    AutoLaplaceApproximation,
]
STEPS = 1000
TOL_SD = 0.05  # in posterior standard deviations; see the module docstring


def fit(model, guide, *args, steps=STEPS, lr=0.05, particles=4, key=0):
    optim = optax.adam(optax.exponential_decay(lr, steps, 0.01))
    svi = SVI(model, guide, optim, Trace_ELBO(num_particles=particles))
    return svi.run(jr.key(key), steps, *args, progress_bar=False).params


# --- conjugate normal-normal: mu ~ N(0, 2^2), y_i ~ N(mu, 1) ---------------------
Y = jnp.array([0.3, 1.2, 0.8, 1.9, 0.4, 1.1, 1.5, 0.7])
NN_PREC = 1 / 4 + Y.shape[0]
NN_MEAN, NN_SD = float(jnp.sum(Y) / NN_PREC), float(NN_PREC**-0.5)


def normal_model(y):
    mu = sample("mu", dist.Normal(0.0, 2.0))
    with plate("N", y.shape[0]):
        sample("y", dist.Normal(mu, 1.0), obs=y)


@pytest.mark.parametrize("guide_cls", [AutoNormal, AutoDiagonalNormal])
def test_normal_normal_posterior(guide_cls):
    params = fit(normal_model, guide_cls(normal_model), Y)
    suffix = "mu_auto_" if guide_cls is AutoNormal else "auto_"
    loc, scale = params[suffix + "loc"], params[suffix + "scale"]
    assert jnp.all(jnp.abs(loc - NN_MEAN) < TOL_SD * NN_SD)
    assert jnp.all(jnp.abs(scale / NN_SD - 1) < TOL_SD)


# --- Bayesian linear regression, known noise: correlated 2-d Gaussian posterior ---
X = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, -0.5], [1.0, 1.5]])
W_TRUE = jnp.array([0.5, -1.0])
Y_REG = X @ W_TRUE + jnp.array([0.1, -0.2, 0.05, 0.15, -0.1])
PRIOR_SD, NOISE_SD = 2.0, 0.5
REG_COV = jnp.linalg.inv(jnp.eye(2) / PRIOR_SD**2 + X.T @ X / NOISE_SD**2)
REG_MEAN = REG_COV @ X.T @ Y_REG / NOISE_SD**2


def regression_model(x, y):
    w = sample("w", dist.Normal(jnp.zeros(2), PRIOR_SD).to_event(1))
    with plate("N", x.shape[0]):
        sample("y", dist.Normal(x @ w, NOISE_SD), obs=y)


def test_regression_posterior_is_strongly_correlated():
    sd = jnp.sqrt(jnp.diag(REG_COV))
    assert REG_COV[0, 1] / (sd[0] * sd[1]) < -0.6  # a test of the correlation


@pytest.mark.parametrize(
    "guide", [AutoMultivariateNormal, AutoLowRankMultivariateNormal], ids=str
)
def test_regression_full_covariance(guide):
    g = guide(regression_model)
    params = fit(regression_model, g, X, Y_REG, steps=1500, particles=16)
    posterior = g.get_posterior(params)
    sd = jnp.sqrt(jnp.diag(REG_COV))
    assert jnp.all(jnp.abs(posterior.mean - REG_MEAN) < 1.5 * TOL_SD * sd)
    # covariance in units of sd_i sd_j: its diagonal and the correlation
    rel = posterior.covariance_matrix / jnp.outer(sd, sd)
    expected = REG_COV / jnp.outer(sd, sd)
    assert jnp.max(jnp.abs(rel - expected)) < 2 * TOL_SD
    draws = g.sample_posterior(jr.key(1), params, X, Y_REG, sample_shape=(4000,))
    assert draws["w"].shape == (4000, 2)
    # 4000 draws: the sample correlation has sd (1 - rho^2)/sqrt(n) < 0.01
    corr = jnp.corrcoef(draws["w"].T)[0, 1]
    assert jnp.abs(corr - expected[0, 1]) < 0.03


def test_laplace_is_exact_for_a_gaussian_model():
    g = AutoLaplaceApproximation(regression_model)
    params = fit(regression_model, g, X, Y_REG, steps=2000, lr=0.1, particles=1)
    posterior = g.get_posterior(params)
    assert isinstance(posterior, dist.MultivariateNormal)
    np.testing.assert_allclose(posterior.loc, REG_MEAN, atol=1e-6)
    # the potential is quadratic: its Hessian is the exact precision anywhere
    np.testing.assert_allclose(posterior.covariance_matrix, REG_COV, rtol=1e-10)
    np.testing.assert_allclose(g.median(params)["w"], REG_MEAN, atol=1e-6)


# --- Gamma-Poisson: rate ~ Gamma(a, b), y_i ~ Poisson(rate) -----------------------
A, B = 3.0, 2.0
COUNTS = jnp.array([2.0, 4.0, 3.0, 5.0, 1.0, 3.0])
A_N, B_N = A + float(jnp.sum(COUNTS)), B + COUNTS.shape[0]


def gamma_poisson(y):
    rate = sample("rate", dist.Gamma(A, B))
    with plate("N", y.shape[0]):
        sample("y", dist.Poisson(rate), obs=y)


def test_delta_finds_the_constrained_mode():
    # AutoDelta maximises p(x, rate) over rate > 0: the Gamma(a_n, b_n) mode
    params = fit(gamma_poisson, AutoDelta(gamma_poisson), COUNTS, lr=0.1, particles=1)
    np.testing.assert_allclose(params["rate_auto_loc"], (A_N - 1) / B_N, rtol=1e-6)


def test_laplace_in_log_space():
    # u = log(rate) has density proportional to exp(a_n u - b_n e^u): mode
    # log(a_n / b_n) and curvature b_n e^u = a_n there.
    g = AutoLaplaceApproximation(gamma_poisson)
    params = fit(gamma_poisson, g, COUNTS, lr=0.1, particles=1)
    posterior = g.get_posterior(params)
    np.testing.assert_allclose(posterior.loc, [np.log(A_N / B_N)], atol=1e-6)
    np.testing.assert_allclose(posterior.precision_matrix, [[A_N]], rtol=1e-5)
    np.testing.assert_allclose(g.median(params)["rate"], A_N / B_N, rtol=1e-6)
    q = g.quantiles(params, [0.1, 0.9])["rate"]
    expected = jnp.exp(np.log(A_N / B_N) + norm.ppf(jnp.array([0.1, 0.9])) / A_N**0.5)
    np.testing.assert_allclose(q, expected, rtol=1e-5)


def test_laplace_rejects_an_indefinite_hessian():
    def cauchy(y):
        sample("x", dist.Cauchy(0.0, 1.0))

    g = AutoLaplaceApproximation(cauchy)
    handlers.seed(g, rng_seed=0)(None)
    # U(x) = log(1 + x^2) has U'' < 0 for |x| > 1
    with pytest.raises(ValueError, match="not positive definite"):
        g.get_posterior({"auto_loc": jnp.array([3.0])})


# --- constrained sites, medians, quantiles and plates ------------------------------
def constrained_model():
    sample("sigma", dist.HalfNormal(1.0))
    sample("p", dist.Beta(2.0, 3.0))
    sample("w", dist.Dirichlet(jnp.ones(3)))
    with plate("K", 4):
        sample("z", dist.Gamma(2.0, 1.0))


@pytest.mark.parametrize("guide_cls", ALL_GUIDES[:-1], ids=lambda c: c.__name__)
def test_draws_stay_in_support(guide_cls):
    g = guide_cls(constrained_model)
    params = fit(constrained_model, g, steps=20, particles=1)
    draws = g.sample_posterior(jr.key(2), params, sample_shape=(100,))
    shapes = {"sigma": (), "p": (), "w": (3,), "z": (4,)}
    assert {k: v.shape[1:] for k, v in draws.items()} == shapes
    assert jnp.all(draws["sigma"] > 0) and jnp.all(draws["z"] > 0)
    assert jnp.all((draws["p"] > 0) & (draws["p"] < 1))
    assert jnp.all(draws["w"] > 0)
    np.testing.assert_allclose(draws["w"].sum(-1), 1.0, rtol=1e-12)
    quantiles = g.quantiles(params, [0.25, 0.5, 0.75])
    assert {k: v.shape for k, v in quantiles.items()} == {
        k: (3,) + s for k, s in shapes.items()
    }
    median = g.median(params)
    np.testing.assert_allclose(quantiles["z"][1], median["z"], rtol=1e-10)
    assert jnp.all(quantiles["sigma"][0] <= quantiles["sigma"][2])
    if guide_cls is AutoNormal:  # elementwise bijections: exact quantiles
        loc, scale = params["sigma_auto_loc"], params["sigma_auto_scale"]
        expected = jnp.exp(loc + scale * norm.ppf(jnp.array([0.25, 0.5, 0.75])))
        np.testing.assert_allclose(quantiles["sigma"], expected, rtol=1e-12)
        p_median = jax.nn.sigmoid(params["p_auto_loc"])
        np.testing.assert_allclose(median["p"], p_median, rtol=1e-12)


def local_model(y):
    mu = sample("mu", dist.Normal(0.0, 1.0))
    with plate("groups", 3, dim=-2):
        with plate("units", 5):
            theta = sample("theta", dist.Normal(mu, 1.0))
            sample("y", dist.Normal(theta, 0.5), obs=y)


def test_plate_shapes():
    y = jnp.zeros((3, 5))
    an, ad = AutoNormal(local_model), AutoDelta(local_model)
    for g in (an, ad):
        handlers.seed(g, rng_seed=0)(y)
    tr = handlers.trace(handlers.seed(an, 0)).get_trace(y)
    assert tr["theta_auto_loc"]["value"].shape == (3, 5)
    assert tr["theta_auto_scale"]["value"].shape == (3, 5)
    assert [f.name for f in tr["theta"]["cond_indep_stack"]] == ["groups", "units"]
    assert handlers.trace(handlers.seed(ad, 0)).get_trace(y)["mu"]["value"].shape == ()
    diag = AutoDiagonalNormal(local_model)
    tr = handlers.trace(handlers.seed(diag, 0)).get_trace(y)
    assert tr["auto_loc"]["value"].shape == (16,)
    assert diag.sample_posterior(
        jr.key(0),
        {"auto_loc": jnp.zeros(16), "auto_scale": jnp.ones(16)},
        y,
        sample_shape=(2,),
    )["theta"].shape == (2, 3, 5)


def subsampled_model(y):
    mu = sample("mu", dist.Normal(0.0, 1.0))
    with plate("N", 10, subsample_size=4) as idx:
        theta = sample("theta", dist.Normal(mu, 1.0))
        sample("y", dist.Normal(theta, 0.1), obs=y[idx])


def test_subsampling_autonormal_and_flat_guides():
    y = jnp.linspace(-1.0, 1.0, 10)
    g = AutoNormal(subsampled_model)
    params = fit(subsampled_model, g, y, steps=1500, lr=0.05, particles=1)
    assert params["theta_auto_loc"].shape == (10,)
    # every unit is visited: theta_i's posterior mean is near y_i (noise 0.1)
    np.testing.assert_allclose(params["theta_auto_loc"], y, atol=0.2)
    with pytest.raises(NotImplementedError, match="plate 'N'"):
        handlers.seed(AutoDiagonalNormal(subsampled_model), rng_seed=0)(y)


# --- errors ---------------------------------------------------------------------
def test_discrete_latent_is_named():
    def model():
        sample("k", dist.Bernoulli(0.3))
        sample("x", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="site 'k' is a discrete"):
        handlers.seed(AutoNormal(model), rng_seed=0)()


@pytest.mark.parametrize("guide_cls", [AutoNormal, AutoDiagonalNormal])
@pytest.mark.parametrize("family", [dist.Bernoulli, dist.Poisson])
def test_hidden_discrete_latent_under_a_stateful_seed(guide_cls, family):
    # The prototype gives the blocked site a fixed value when its family has an
    # enumerable support (Bernoulli); otherwise (Poisson) the site asks for a
    # key while the guide records its prototype inside a compiled call, and
    # must get one there, not from the `with seed` outside (which would then
    # hold a tracer and fail at the next site).
    def model():
        k = sample("k", family(0.3))
        sample("x", dist.Normal(k, 1.0))

    guide = guide_cls(handlers.block(model, hide=["k"]))
    with handlers.seed(rng_seed=0):
        tr = handlers.trace(guide).get_trace()
        later = sample("later", dist.Normal(0.0, 1.0))
    assert "k" not in tr and "x" in tr
    assert np.isfinite(later)


@pytest.mark.parametrize("guide_cls", ALL_GUIDES, ids=lambda c: c.__name__)
def test_methods_before_setup_raise(guide_cls):
    g = guide_cls(normal_model)
    with pytest.raises(RuntimeError, match="SVI.init"):
        g.median({})
    with pytest.raises(RuntimeError, match="SVI.init"):
        g.sample_posterior(jr.key(0), {})


# --- jit and the NumPyro oracle -------------------------------------------------------
@pytest.mark.parametrize("guide_cls", ALL_GUIDES, ids=lambda c: c.__name__)
def test_jit_update(guide_cls):
    svi = SVI(
        regression_model, guide_cls(regression_model), optax.adam(0.01), Trace_ELBO()
    )
    state = svi.init(jr.key(0), X, Y_REG)
    update = jax.jit(svi.update)
    state, loss0 = update(state, X, Y_REG)
    state, loss1 = update(state, X, Y_REG)
    assert jnp.isfinite(loss0) and jnp.isfinite(loss1)


def test_param_names_match_numpyro():
    numpyro = pytest.importorskip("numpyro")
    ndist = numpyro.distributions
    from numpyro.infer import SVI as NSVI, Trace_ELBO as NTrace_ELBO
    from numpyro.infer.autoguide import AutoNormal as NAutoNormal

    def ours(y):
        param("offset", 0.0)
        s = sample("s", dist.HalfNormal(1.0))
        with plate("N", 3):
            z = sample("z", dist.Normal(0.0, s))
            sample("y", dist.Normal(z, 1.0), obs=y)

    def theirs(y):
        numpyro.param("offset", 0.0)
        s = numpyro.sample("s", ndist.HalfNormal(1.0))
        with numpyro.plate("N", 3):
            z = numpyro.sample("z", ndist.Normal(0.0, s))
            numpyro.sample("y", ndist.Normal(z, 1.0), obs=y)

    y = jnp.ones(3)
    mine = SVI(ours, AutoNormal(ours), optax.adam(0.01), Trace_ELBO())
    ref = NSVI(theirs, NAutoNormal(theirs), numpyro.optim.Adam(0.01), NTrace_ELBO())
    p_mine = mine.get_params(mine.init(jr.key(0), y))
    p_ref = ref.get_params(ref.init(jr.key(0), y))
    assert {k: jnp.shape(v) for k, v in p_mine.items()} == {
        k: jnp.shape(v) for k, v in p_ref.items()
    }


def bounded_model(lo, hi):
    sample("theta", dist.Uniform(lo, hi))


@pytest.mark.parametrize("eager", [False, True], ids=["jit", "eager-fallback"])
def test_support_bounds_from_the_arguments(eager, monkeypatch):
    # The prototype is recorded under `jit`, where the interval's bounds are
    # tracers; their values come back from the compiled call. A support that
    # holds tracers elsewhere is recorded again eagerly (forced here by hiding
    # the arrays). Either way the draws respect these non-default bounds.
    if eager:
        monkeypatch.setattr(_autoguide_base, "_array_attrs", lambda c: {})
    lo, hi = jnp.array([2.0, -5.0]), jnp.array([3.0, -4.0])
    g = AutoNormal(bounded_model)
    params = fit(bounded_model, g, lo, hi, steps=20, particles=1)
    draws = g.sample_posterior(jr.key(1), params, lo, hi, sample_shape=(200,))
    assert jnp.all((draws["theta"] > lo) & (draws["theta"] < hi))
    assert (g.prototype_trace["theta"]["fn"] is None) != eager


def test_prototype_recorded_under_jit_keeps_no_tracers():
    g = AutoNormal(normal_model)
    fit(normal_model, g, Y, steps=5, particles=1)
    site = g.prototype_trace["mu"]
    assert site["fn"] is None
    assert site["value"].shape == () and not isinstance(site["value"], jax.Array)


def test_sample_posterior_without_the_observations():
    # Fitted with data, queried for predictions without: the observed site is
    # then unobserved and needs a key, which sample_posterior supplies.
    def model(n, y=None):
        mu = sample("mu", dist.Normal(0.0, 2.0))
        with plate("N", n):
            sample("y", dist.Normal(mu, 1.0), obs=y)

    g = AutoNormal(model)
    params = fit(model, g, Y.shape[0], Y, steps=20, particles=1)
    draws = g.sample_posterior(jr.key(0), params, Y.shape[0], sample_shape=(5,))
    assert draws["mu"].shape == (5,)

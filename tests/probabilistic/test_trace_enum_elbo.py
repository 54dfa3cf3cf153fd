"""TraceEnum_ELBO: the model's enumerated sites summed out, against closed forms.

Oracles: the mixture likelihood written out by hand (a `logsumexp` over the
components), the forward algorithm for an HMM, the MAP of the hand-marginalised
model by scipy, and `Trace_ELBO` where nothing is enumerated. A Delta guide
makes the ELBO exactly $\\log p(x, \\theta)$, so each comparison is to rounding.
"""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
import scipy.optimize
from jax.scipy.special import logsumexp

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import (
    SVI,
    Predictive,
    Trace_ELBO,
    TraceEnum_ELBO,
    config_enumerate,
    infer_discrete,
    init_to_value,
)
from sciad.probabilistic.infer.autoguide import AutoDelta

from .test_markov import LOCS, TRANS, Y, forward_backward

DATA = jnp.array([-0.3, 0.4, 0.9, 4.6, 5.2, 6.1, 5.5])
W = jnp.array([0.3, 0.7])


@config_enumerate
def mixture(data, data_scale=None):
    locs = spp.sample("locs", dist.Normal(0.0, 10.0).expand([2]).to_event(1))
    sigma = spp.sample("sigma", dist.HalfNormal(2.0))
    with handlers.scale(scale=1.0 if data_scale is None else data_scale):
        with spp.plate("data", data.shape[0]):
            z = spp.sample("z", dist.Categorical(W))
            spp.sample("obs", dist.Normal(locs[z], sigma), obs=data)


def point_guide(data, data_scale=None):
    locs = spp.param("locs_p", jnp.array([0.0, 1.0]))
    sigma = spp.param("sigma_p", 1.0)
    spp.sample("locs", dist.Delta(locs, event_dim=1))
    spp.sample("sigma", dist.Delta(sigma))


def neg_log_joint(locs, sigma, data, data_scale=1.0):
    """-log p(data, locs, sigma) with the assignments summed out by hand."""
    prior = dist.Normal(0.0, 10.0).log_prob(locs).sum()
    prior = prior + dist.HalfNormal(2.0).log_prob(sigma)
    comp = jnp.log(W) + dist.Normal(locs, sigma).log_prob(data[:, None])
    return -(prior + data_scale * logsumexp(comp, axis=-1).sum())


ENUM = TraceEnum_ELBO()


@functools.partial(jax.jit, static_argnames=("elbo", "data_scale"))
def enum_loss(params, elbo=ENUM, data_scale=None):
    return elbo.loss(jr.key(0), params, mixture, point_guide, DATA, data_scale)


PARAMS = {"locs_p": jnp.array([0.2, 5.1]), "sigma_p": jnp.array(0.8)}


@pytest.mark.parametrize("data_scale", [None, 3.0])
def test_delta_guide_loss_and_gradient_are_the_marginal(data_scale):
    # a site scale multiplies the contracted term (s log sum p), not each factor
    s = 1.0 if data_scale is None else data_scale

    def expected(p):
        return neg_log_joint(p["locs_p"], p["sigma_p"], DATA, s)

    np.testing.assert_allclose(
        enum_loss(PARAMS, data_scale=data_scale), expected(PARAMS), rtol=1e-13
    )
    got = jax.grad(enum_loss)(PARAMS, data_scale=data_scale)
    want = jax.grad(expected)(PARAMS)
    for k in PARAMS:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)


def test_explicit_plate_nesting_and_particles_give_the_same_loss():
    # a Delta guide makes every particle equal: the mean is the single estimate
    base = enum_loss(PARAMS)
    for elbo in (
        TraceEnum_ELBO(max_plate_nesting=1),
        TraceEnum_ELBO(max_plate_nesting=3),
        TraceEnum_ELBO(max_plate_nesting=float("inf"), num_particles=3),
        TraceEnum_ELBO(num_particles=2, vectorize_particles=False),
    ):
        np.testing.assert_allclose(enum_loss(PARAMS, elbo=elbo), base, rtol=1e-13)


def hmm_model(y):
    locs = spp.sample("locs", dist.Normal(0.0, 3.0).expand([3]).to_event(1))
    x = 0
    for t in spp.markov(range(len(y))):
        x = spp.sample(
            f"x_{t}",
            dist.Categorical(jnp.asarray(TRANS)[x]),
            infer={"enumerate": "parallel"},
        )
        spp.sample(f"y_{t}", dist.Normal(locs[x], 1.0), obs=y[t])


def hmm_guide(y):
    spp.sample("locs", dist.Delta(spp.param("l", jnp.zeros(3)), event_dim=1))


def test_hmm_loss_is_the_forward_algorithm():
    locs = jnp.asarray(LOCS) + jnp.array([0.1, -0.2, 0.3])
    loss = jax.jit(
        lambda p: TraceEnum_ELBO().loss(
            jr.key(1), p, hmm_model, hmm_guide, jnp.asarray(Y)
        )
    )
    log_z, _ = forward_backward(Y, np.asarray(locs))
    prior = dist.Normal(0.0, 3.0).log_prob(locs).sum()
    np.testing.assert_allclose(loss({"l": locs}), -(prior + log_z), rtol=1e-12)


def test_svi_map_matches_scipy_and_infer_discrete_assigns():
    # both optimisers start in the same basin (the components could swap)
    start = {"locs": jnp.array([0.0, 4.0]), "sigma": jnp.array(1.0)}
    guide = AutoDelta(
        handlers.block(mixture, hide=["z"]), init_loc_fn=init_to_value(values=start)
    )
    schedule = optax.exponential_decay(0.05, 3000, 0.02)
    svi = SVI(mixture, guide, optax.adam(schedule), TraceEnum_ELBO())
    result = svi.run(jr.key(0), 3000, DATA, progress_bar=False)
    got = guide.median(result.params)

    def objective(u):  # sigma on the log scale for the optimiser
        return float(neg_log_joint(jnp.asarray(u[:2]), jnp.exp(u[2]), DATA))

    opt = scipy.optimize.minimize(objective, np.array([0.0, 4.0, 0.0]), tol=1e-12)
    np.testing.assert_allclose(got["locs"], opt.x[:2], atol=2e-4)
    np.testing.assert_allclose(got["sigma"], np.exp(opt.x[2]), atol=2e-4)
    np.testing.assert_allclose(result.losses[-1], opt.fun, atol=1e-6)
    # the assignments given the fitted globals: the most probable joint one
    fitted = handlers.substitute(mixture, data=got)
    tr = handlers.trace(infer_discrete(fitted, temperature=0)).get_trace(DATA)
    np.testing.assert_array_equal(tr["z"]["value"], [0, 0, 0, 1, 1, 1, 1])
    # and per draw of the (point-mass) guide, as NumPyro's Predictive does
    predictive = Predictive(
        mixture, guide=guide, params=result.params, num_samples=3, infer_discrete=True
    )
    z = predictive(jr.key(2), DATA)["z"]
    assert z.shape == (3, 7)
    # posterior draws: the clusters are 4 sds apart, so every point stays put
    np.testing.assert_array_equal(z, np.tile([0, 0, 0, 1, 1, 1, 1], (3, 1)))


def test_without_enumeration_it_is_trace_elbo(getkey):
    def model(y):
        mu = spp.sample("mu", dist.Normal(0.0, 1.0))
        with spp.plate("n", y.shape[0]):
            spp.sample("y", dist.Normal(mu, 1.0), obs=y)

    def guide(y):
        loc = spp.param("loc", 0.3)
        spp.sample("mu", dist.Normal(loc, 0.5))

    key, params = getkey(), {"loc": jnp.array(0.3)}
    a = TraceEnum_ELBO(num_particles=4).loss(key, params, model, guide, DATA)
    b = Trace_ELBO(num_particles=4).loss(key, params, model, guide, DATA)
    np.testing.assert_allclose(a, b, rtol=1e-14)


def test_global_site_with_scaled_data_cannot_be_enumerated():
    @config_enumerate
    def model(data):
        c = spp.sample("c", dist.Bernoulli(0.4))
        with spp.plate("data", data.shape[0], subsample_size=3):
            spp.sample("obs", dist.Normal(4.0 * c, 1.0), obs=data[:3])

    def guide(data):
        pass

    with pytest.raises(ValueError, match="'c'.*different scales"):
        TraceEnum_ELBO().loss(jr.key(0), {}, model, guide, DATA)


def test_misuse_is_a_clear_error():
    def guide_enumerating(data, data_scale=None):
        point_guide(data)
        with spp.plate("data", data.shape[0]):
            spp.sample("z", dist.Categorical(W), infer={"enumerate": "parallel"})

    with pytest.raises(NotImplementedError, match="guide site 'z'.*model-side"):
        TraceEnum_ELBO().loss(jr.key(0), PARAMS, mixture, guide_enumerating, DATA)

    def guide_sampling_z(data, data_scale=None):
        point_guide(data)
        with spp.plate("data", data.shape[0]):
            spp.sample("z", dist.Categorical(W))

    with pytest.raises(ValueError, match="'z' is sampled by the guide and marked"):
        TraceEnum_ELBO().loss(jr.key(0), PARAMS, mixture, guide_sampling_z, DATA)
    with pytest.raises(ValueError, match="'z'.*use TraceEnum_ELBO"):
        Trace_ELBO().loss(jr.key(0), PARAMS, mixture, point_guide, DATA)
    with pytest.raises(ValueError, match="plate 'data'.*max_plate_nesting=0"):
        TraceEnum_ELBO(max_plate_nesting=0).loss(
            jr.key(0), PARAMS, mixture, point_guide, DATA
        )
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="max_plate_nesting"):
            TraceEnum_ELBO(max_plate_nesting=bad)


def test_equals_numpyros_trace_enum_elbo():
    # NumPyro's (funsor-based) TraceEnum_ELBO on the scaled mixture and the HMM,
    # with point-mass guides, so both libraries score the same values
    pytest.importorskip("funsor")
    numpyro = pytest.importorskip("numpyro")
    np_funsor = pytest.importorskip("numpyro.contrib.funsor")  # markov, enum
    import numpyro.distributions as nd
    from numpyro.infer import TraceEnum_ELBO as NumPyroTraceEnum

    def np_mixture(data, data_scale):
        locs = numpyro.sample("locs", nd.Normal(0.0, 10.0).expand([2]).to_event(1))
        sigma = numpyro.sample("sigma", nd.HalfNormal(2.0))
        with numpyro.handlers.scale(scale=data_scale):
            with numpyro.plate("data", data.shape[0]):
                z = numpyro.sample(
                    "z", nd.Categorical(W), infer={"enumerate": "parallel"}
                )
                numpyro.sample("obs", nd.Normal(locs[z], sigma), obs=data)

    def np_guide(data, data_scale):
        numpyro.sample("locs", nd.Delta(numpyro.param("locs_p", 0.0), event_dim=1))
        numpyro.sample("sigma", nd.Delta(numpyro.param("sigma_p", 1.0)))

    want = NumPyroTraceEnum(max_plate_nesting=1).loss(
        jr.key(0), PARAMS, np_mixture, np_guide, DATA, 2.5
    )
    np.testing.assert_allclose(enum_loss(PARAMS, data_scale=2.5), want, rtol=1e-13)

    def np_hmm(y):
        locs = numpyro.sample("locs", nd.Normal(0.0, 3.0).expand([3]).to_event(1))
        x = 0
        for t in np_funsor.markov(range(len(y))):
            x = numpyro.sample(
                f"x_{t}",
                nd.Categorical(jnp.asarray(TRANS)[x]),
                infer={"enumerate": "parallel"},
            )
            numpyro.sample(f"y_{t}", nd.Normal(locs[x], 1.0), obs=y[t])

    def np_hmm_guide(y):
        numpyro.sample("locs", nd.Delta(numpyro.param("l", 0.0), event_dim=1))

    y, locs = jnp.asarray(Y[:12]), {"l": jnp.array([-1.0, 0.1, 1.2])}
    want = NumPyroTraceEnum(max_plate_nesting=0).loss(
        jr.key(0), locs, np_hmm, np_hmm_guide, y
    )
    got = TraceEnum_ELBO().loss(jr.key(0), locs, hmm_model, hmm_guide, y)
    np.testing.assert_allclose(got, want, rtol=1e-12)

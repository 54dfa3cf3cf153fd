"""TransformReparam, ExplicitReparam, CircularReparam: densities and draws.

Oracles: the same model written with the auxiliary sites by hand (potential and
gradient to rounding), NumPyro's reparametrisers (same potential), and scipy's
von Mises for the posterior that NUTS samples through `CircularReparam`.
"""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.distributions import constraints, transforms as T
from sciad.probabilistic.infer import MCMC, NUTS, potential_energy
from sciad.probabilistic.infer.reparam import (
    CircularReparam,
    ExplicitReparam,
    TransformReparam,
)

Y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def schools(y):
    mu = spp.sample("mu", dist.Normal(0.0, 5.0))
    tau = spp.sample("tau", dist.HalfCauchy(5.0))
    with spp.plate("J", 8):
        theta = spp.sample(
            "theta",
            dist.TransformedDistribution(
                dist.Normal(0.0, 1.0), T.AffineTransform(mu, tau)
            ),
        )
        spp.sample("y", dist.Normal(theta, SIGMA), obs=y)


def schools_by_hand(y):
    mu = spp.sample("mu", dist.Normal(0.0, 5.0))
    tau = spp.sample("tau", dist.HalfCauchy(5.0))
    with spp.plate("J", 8):
        base = spp.sample("theta_base", dist.Normal(0.0, 1.0))
        theta = spp.deterministic("theta", mu + tau * base)
        spp.sample("y", dist.Normal(theta, SIGMA), obs=y)


NC = handlers.reparam(schools, config={"theta": TransformReparam()})
U = {"mu": 1.3, "tau": 0.4, "theta_base": jnp.linspace(-1.0, 1.0, 8)}


def test_transform_reparam_is_the_non_centred_model():
    tr = handlers.trace(handlers.seed(NC, 0)).get_trace(Y)
    assert tr["theta"]["type"] == "deterministic"
    assert tr["theta_base"]["fn"].batch_shape == (8,)
    np.testing.assert_allclose(
        tr["theta"]["value"],
        tr["mu"]["value"] + tr["tau"]["value"] * tr["theta_base"]["value"],
        rtol=1e-12,
    )

    def pe(model):
        return jax.value_and_grad(lambda u: potential_energy(model, (Y,), {}, u))(U)

    (got, got_grad), (want, want_grad) = pe(NC), pe(schools_by_hand)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    for k in U:
        np.testing.assert_allclose(got_grad[k], want_grad[k], rtol=1e-12)


def test_transform_reparam_keeps_expand_and_to_event():
    def model():
        d = dist.TransformedDistribution(dist.Normal(0.0, 1.0), T.ExpTransform())
        spp.sample("x", d.expand([2, 3]).to_event(1))
        sq = dist.TransformedDistribution(
            dist.Normal(jnp.zeros(2), 1.0).to_event(1),
            T.AffineTransform(0.0, 2.0, constraints.real_vector),
        )
        spp.sample("v", sq)

    rep = handlers.reparam(
        model, config={"x": TransformReparam(), "v": TransformReparam()}
    )
    tr = handlers.trace(handlers.seed(rep, 0)).get_trace()
    base = tr["x_base"]["fn"]
    assert (base.batch_shape, base.event_shape) == ((2,), (3,))
    np.testing.assert_allclose(tr["x"]["value"], jnp.exp(tr["x_base"]["value"]))
    assert tr["v_base"]["fn"].event_shape == (2,)
    np.testing.assert_allclose(tr["v"]["value"], 2.0 * tr["v_base"]["value"])


def test_explicit_reparam_samples_in_the_given_coordinates():
    # x ~ LogNormal(0.5, 0.8) sampled as log x: the base site is Normal(0.5, 0.8)
    def model():
        spp.sample("x", dist.LogNormal(0.5, 0.8))

    for transform in (T.ExpTransform().inv, [T.ExpTransform().inv]):
        rep = handlers.reparam(model, config={"x": ExplicitReparam(transform)})
        cond = handlers.substitute(rep, data={"x_base": 0.3})
        tr = handlers.trace(cond).get_trace()
        np.testing.assert_allclose(tr["x"]["value"], math.exp(0.3), rtol=1e-14)
        lp = tr["x_base"]["fn"].log_prob(0.3)
        np.testing.assert_allclose(lp, st.norm(0.5, 0.8).logpdf(0.3), rtol=1e-13)
    with pytest.raises(TypeError, match="must be a Transform"):
        ExplicitReparam("log")


def test_circular_reparam_density_and_wrapping():
    def model():
        spp.sample("phi", dist.VonMises(2.8, 3.0))

    rep = handlers.reparam(model, config={"phi": CircularReparam()})
    for unwrapped, wrapped in (
        (0.3, 0.3),
        (0.3 + 4 * math.pi, 0.3),
        (3.5, 3.5 - 2 * math.pi),
    ):
        cond = handlers.substitute(rep, data={"phi_unwrapped": unwrapped})
        tr = handlers.trace(cond).get_trace()
        np.testing.assert_allclose(tr["phi"]["value"], wrapped, atol=1e-12)
        np.testing.assert_allclose(
            tr["phi_factor"]["fn"].log_prob(tr["phi_factor"]["value"]),
            st.vonmises(3.0, loc=2.8).logpdf(wrapped),
            rtol=1e-12,
        )
    g = jax.grad(lambda u: -potential_energy(rep, (), {}, {"phi_unwrapped": u}))(3.5)
    # d/dx of kappa cos(x - mu): the wrap has slope 1
    np.testing.assert_allclose(g, -3.0 * math.sin(3.5 - 2.8), rtol=1e-12)


def test_nuts_through_circular_reparam_matches_von_mises():
    # mean near the wrap point: unreparametrised, HMC would hit the wall at pi
    def model():
        spp.sample("phi", dist.VonMises(3.0, 2.0))

    rep = handlers.reparam(model, config={"phi": CircularReparam()})
    mcmc = MCMC(NUTS(rep), num_warmup=500, num_samples=2000, progress_bar=False)
    # the unwrapped angle drifts across periods by design: it is marked
    # periodic, and the R-hat check skips it (warnings are errors here)
    mcmc.run(jr.key(0))
    unwrapped = mcmc.get_samples(group_by_chain=True)["phi_unwrapped"]
    assert spp.diagnostics.split_gelman_rubin(unwrapped) > 1.01
    phi = np.asarray(mcmc.get_samples()["phi"])
    assert np.all((phi >= -math.pi) & (phi < math.pi))
    # one-sample KS against the exact law (scipy's lives on [loc - pi, loc +
    # pi): 2000 autocorrelated draws, hence the loose level
    centred = 3.0 + np.remainder(phi - 3.0 + math.pi, 2 * math.pi) - math.pi
    assert st.kstest(centred, st.vonmises(2.0, loc=3.0).cdf).pvalue > 1e-3
    np.testing.assert_allclose(
        st.circmean(phi, high=math.pi, low=-math.pi), 3.0, atol=0.1
    )


def test_misuse_names_the_site():
    def model():
        spp.sample("x", dist.Normal(0.0, 1.0))

    for strategy, match in (
        (TransformReparam(), "site 'x'.*not a TransformedDistribution"),
        (CircularReparam(), "site 'x'.*not `circular`"),
    ):
        rep = handlers.reparam(model, config={"x": strategy})
        with pytest.raises(ValueError, match=match):
            handlers.seed(rep, 0)()

    def observed():
        spp.sample("x", dist.Normal(0.0, 1.0), obs=0.5)

    for strategy in (
        TransformReparam(),
        ExplicitReparam(T.ExpTransform()),
        CircularReparam(),
    ):
        rep = handlers.reparam(observed, config={"x": strategy})
        with pytest.raises(ValueError, match="observed site 'x'"):
            handlers.seed(rep, 0)()


def test_potentials_equal_numpyros():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as nd
    from numpyro.infer import reparam as nr
    from numpyro.infer.util import potential_energy as np_potential

    def np_schools(y):
        mu = numpyro.sample("mu", nd.Normal(0.0, 5.0))
        tau = numpyro.sample("tau", nd.HalfCauchy(5.0))
        with numpyro.plate("J", 8):
            theta = numpyro.sample(
                "theta",
                nd.TransformedDistribution(
                    nd.Normal(0.0, 1.0), nd.transforms.AffineTransform(mu, tau)
                ),
            )
            numpyro.sample("y", nd.Normal(theta, SIGMA), obs=y)

    def np_circ():
        numpyro.sample("phi", nd.VonMises(2.8, 3.0))

    nc = numpyro.handlers.reparam(np_schools, config={"theta": nr.TransformReparam()})
    u = {"mu": 1.3, "tau": jnp.log(0.4), "theta_base": U["theta_base"]}
    np.testing.assert_allclose(
        potential_energy(NC, (Y,), {}, u), np_potential(nc, (Y,), {}, u), rtol=1e-13
    )

    def circ():
        spp.sample("phi", dist.VonMises(2.8, 3.0))

    ours = handlers.reparam(circ, config={"phi": CircularReparam()})
    theirs = numpyro.handlers.reparam(np_circ, config={"phi": nr.CircularReparam()})
    for x in (0.3, 3.5, -7.0):
        np.testing.assert_allclose(
            potential_energy(ours, (), {}, {"phi_unwrapped": x}),
            np_potential(theirs, (), {}, {"phi_unwrapped": x}),
            rtol=1e-13,
        )

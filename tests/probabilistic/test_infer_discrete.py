"""infer_discrete: enumerated sites drawn from their exact conditional posterior."""

import itertools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import (
    Predictive,
    config_enumerate,
    infer_discrete,
    log_density,
)

PROBS = jnp.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
LOCS = jnp.array([-1.0, 0.5, 2.0])
Y2 = jnp.array([[0.1, 1.2], [-0.7, 2.2], [0.4, 0.0]])  # (J=3, I=2)
SIGMA = 0.8


def nested(y):
    """A global Bernoulli, a per-I Categorical depending on it, nested plates."""
    c = spp.sample("c", dist.Bernoulli(0.3))
    sigma = spp.sample("sigma", dist.HalfNormal(1.0))
    with spp.plate("I", 2, dim=-1):
        z = spp.sample("z", dist.Categorical(PROBS[c]))
        with spp.plate("J", 3, dim=-2):
            spp.sample("y", dist.Normal(LOCS[z] + c, sigma), obs=y)


ASSIGNMENTS = np.array(list(itertools.product(range(2), range(3), range(3))))


def exact_posterior():
    """p(c, z1, z2 | y, sigma) over the 18 assignments, by brute force."""

    def joint(a):
        data = {"c": a[0], "z": a[1:], "sigma": SIGMA}
        return log_density(handlers.condition(nested, data=data), (Y2,), {}, {})[0]

    logp = jax.jit(jax.vmap(joint))(jnp.asarray(ASSIGNMENTS))
    return np.asarray(jax.nn.softmax(logp))


CONDITIONED = config_enumerate(handlers.condition(nested, data={"sigma": SIGMA}))


@jax.jit
def _draws(keys):
    def one(key):
        model = infer_discrete(CONDITIONED, rng_key=key)
        tr = handlers.trace(model).get_trace(Y2)
        return tr["c"]["value"], tr["z"]["value"]

    return jax.vmap(one)(keys)


def test_samples_follow_the_exact_joint_posterior():
    n = 4000
    c, z = _draws(jr.split(jr.key(0), n))
    assert c.shape == (n,) and z.shape == (n, 2)  # the sites' own shapes
    index = {tuple(a): i for i, a in enumerate(ASSIGNMENTS)}
    pairs = zip(c.tolist(), z.tolist(), strict=True)
    drawn = np.array([index[(ci, *zi)] for ci, zi in pairs])
    counts = np.bincount(drawn, minlength=len(ASSIGNMENTS))
    expected = n * exact_posterior()
    keep = expected > 5  # chi-square needs expected counts above ~5
    rest = counts[~keep].sum(), expected[~keep].sum()
    observed = np.append(counts[keep], rest[0])
    expected = np.append(expected[keep], rest[1])
    assert st.chisquare(observed, expected).pvalue > 1e-3


def test_temperature_zero_is_the_most_probable_assignment():
    tr = handlers.trace(infer_discrete(CONDITIONED, temperature=0)).get_trace(Y2)
    best = ASSIGNMENTS[np.argmax(exact_posterior())]
    assert int(tr["c"]["value"]) == best[0]
    np.testing.assert_array_equal(tr["z"]["value"], best[1:])

    # jitted, and as a decorator with an explicit first_available_dim (the
    # model has two plates, so -3)
    # a key (for the model's own unconditioned sites) adds no noise: with it,
    # a draw would miss the mode about half the time (its probability is 0.51)
    def keyed(key):
        model = infer_discrete(CONDITIONED, temperature=0, rng_key=key)
        return handlers.trace(model).get_trace(Y2)["z"]["value"]

    z = jax.jit(jax.vmap(keyed))(jr.split(jr.key(7), 8))
    np.testing.assert_array_equal(z, np.broadcast_to(best[1:], (8, 2)))
    decorated = infer_discrete(first_available_dim=-3, temperature=0)(CONDITIONED)
    z = jax.jit(lambda y: handlers.trace(decorated).get_trace(y)["z"]["value"])(Y2)
    np.testing.assert_array_equal(z, best[1:])


def gmm(y):
    w = spp.sample("w", dist.Dirichlet(jnp.ones(2)))
    mu = spp.sample("mu", dist.Normal(jnp.array([-2.0, 2.0]), 1.0).to_event(1))
    with spp.plate("N", y.shape[0]):
        z = spp.sample("z", dist.Categorical(w), infer={"enumerate": "parallel"})
        spp.sample("y", dist.Normal(mu[z], 0.5), obs=y)


Y = jnp.array([-1.9, -2.3, -1.6, 0.1, 2.2, 1.8, 2.4, -2.0])


def test_predictive_infer_discrete_per_posterior_draw():
    """Each draw's assignments follow p(z_i | w, mu, y_i), computed by hand."""
    key_w, key_mu = jr.split(jr.key(1))
    n = 400
    samples = {
        "w": dist.Dirichlet(jnp.array([20.0, 20.0])).sample(key_w, (n,)),
        "mu": jnp.array([-2.0, 2.1]) + 0.2 * jr.normal(key_mu, (n, 2)),
    }
    out = Predictive(gmm, samples, infer_discrete=True)(jr.key(2), Y)
    assert out["z"].shape == (n, len(Y))
    # the exact per-point posterior, averaged over the draws
    lp = jnp.log(samples["w"])[:, None, :] + dist.Normal(
        samples["mu"][:, None, :], 0.5
    ).log_prob(Y[None, :, None])
    p1 = np.asarray(jax.nn.softmax(lp, -1)[..., 1])
    freq = np.asarray(out["z"]).mean(0)
    # binomial standard error of a frequency over n draws is <= 0.5/sqrt(n)
    np.testing.assert_allclose(freq, p1.mean(0), atol=5 * 0.5 / np.sqrt(n))
    # clear points are assigned to their cluster; 0.1 sits between the two
    assert np.all(freq[[0, 1, 2, 7]] < 0.05) and np.all(freq[[4, 5, 6]] > 0.95)
    assert 0.2 < freq[3] < 0.8
    # without the flag the assignments come from the prior (Categorical(w))
    prior = Predictive(gmm, samples)(jr.key(2), Y)
    assert abs(np.asarray(prior["z"])[:, 0].mean() - 0.5) < 0.1


def shifted(y):
    k = spp.sample("k", dist.DiscreteUniform(-1, 2), infer={"enumerate": "parallel"})
    spp.sample("y", dist.Normal(k, 1.0), obs=y)


def test_enumerates_the_support_values_not_their_indices():
    support = np.arange(-1, 3)
    y = 1.4
    expected = np.log(np.mean(st.norm(support, 1.0).pdf(y)))
    np.testing.assert_allclose(log_density(shifted, (y,), {}, {})[0], expected)
    posterior = st.norm(support, 1.0).pdf(y)
    posterior /= posterior.sum()

    @jax.jit
    def draw(keys):
        return jax.vmap(
            lambda key: handlers.trace(infer_discrete(shifted, rng_key=key)).get_trace(
                y
            )["k"]["value"]
        )(keys)

    k = np.asarray(draw(jr.split(jr.key(3), 4000)))
    counts = np.array([(k == v).sum() for v in support])
    assert counts.sum() == 4000  # every draw is a support value
    assert st.chisquare(counts, 4000 * posterior).pvalue > 1e-3


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="temperature"):
        infer_discrete(gmm, temperature=2, rng_key=jr.key(0))
    with pytest.raises(ValueError, match="needs an `rng_key`"):
        infer_discrete(gmm)
    with pytest.raises(ValueError, match="first_available_dim"):
        infer_discrete(gmm, first_available_dim=1, rng_key=jr.key(0))

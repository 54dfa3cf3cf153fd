"""Predictive (prior / posterior) and log_likelihood, with NumPyro as the oracle."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import dist
from sciad.probabilistic.infer import Predictive, log_likelihood


def make_model(p, d):
    def model(x, y=None):
        a = p.sample("a", d.Normal(0.0, 1.0))
        b = p.sample("b", d.Normal(0.0, 1.0))
        sigma = p.sample("sigma", d.Exponential(1.0))
        mean = p.deterministic("mean", a + b * x)
        with p.plate("N", x.shape[0]):
            p.sample("y", d.Normal(mean, sigma), obs=y)

    return model


model = make_model(spp, dist)
X = jnp.linspace(-1.0, 1.0, 4)
Y = jnp.array([0.1, 0.5, 0.8, 1.6])
POST = {
    "a": jnp.array([0.1, 0.2, 0.3]),
    "b": jnp.array([1.0, 0.9, 1.1]),
    "sigma": jnp.array([0.5, 0.4, 0.6]),
}


@pytest.mark.parametrize("parallel", [True, False])
def test_prior_predictive(parallel):
    out = Predictive(model, num_samples=2000, parallel=parallel)(jr.PRNGKey(0), X)
    assert set(out) == {"a", "b", "sigma", "mean", "y"}
    assert out["y"].shape == (2000, 4) and out["mean"].shape == (2000, 4)
    # Var(y_i) = 1 + x_i^2 + E[sigma^2] = 1 + x_i^2 + 2; 5% tolerance at 2000 draws.
    np.testing.assert_allclose(jnp.var(out["y"], 0), 3.0 + X**2, rtol=0.15)
    np.testing.assert_allclose(
        out["mean"], out["a"][:, None] + out["b"][:, None] * X, rtol=1e-12
    )


def test_posterior_predictive_uses_samples():
    out = Predictive(model, POST)(jr.PRNGKey(1), X)
    assert set(out) == {"mean", "y"} and out["y"].shape == (3, 4)
    np.testing.assert_allclose(out["mean"], POST["a"][:, None] + POST["b"][:, None] * X)
    sites = Predictive(model, POST, return_sites=["y", "a"])(jr.PRNGKey(1), X)
    np.testing.assert_allclose(sites["a"], POST["a"])
    everything = Predictive(model, POST, return_sites="")(jr.PRNGKey(1), X)
    assert set(everything) == {"a", "b", "sigma", "mean", "y"}


def test_posterior_predictive_batch_ndims_and_jit():
    post2 = jax.tree.map(lambda v: jnp.stack([v, v + 0.1]), POST)
    f = jax.jit(lambda k: Predictive(model, post2, batch_ndims=2)(k, X))
    out = f(jr.PRNGKey(2))
    assert out["y"].shape == (2, 3, 4)
    same = f(jr.PRNGKey(2))
    np.testing.assert_array_equal(out["y"], same["y"])


def test_predictive_argument_errors():
    with pytest.raises(ValueError, match="posterior_samples` or `num_samples"):
        Predictive(model)
    with pytest.raises(
        ValueError, match="site 'b' has \\(2,\\) but site 'a' has \\(3,\\)"
    ):
        Predictive(model, {"a": jnp.zeros(3), "b": jnp.zeros(2)})
    with pytest.raises(ValueError, match="unknown site.*'y_obs'.*'sigma'"):
        Predictive(model, POST, return_sites=["y_obs"])(jr.PRNGKey(0), X)
    # a misspelt posterior site would silently give prior draws for that site
    typo = dict(POST)
    typo["sgima"] = typo.pop("sigma")
    with pytest.warns(UserWarning, match="'sgima' that the model does not have") as w:
        Predictive(model, typo)(jr.PRNGKey(0), X)
    assert w[0].filename == __file__  # points at the user's line, not into sciad
    with pytest.warns(UserWarning, match="log_likelihood.*'sgima'") as w:
        log_likelihood(model, {**POST, "sgima": POST["sigma"]}, X, Y)
    assert w[0].filename == __file__
    with pytest.raises(ValueError, match="no value for latent site 'sigma'"):
        log_likelihood(model, typo, X, Y)


def test_log_likelihood_matches_numpyro():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as ndist
    from numpyro.infer import Predictive as NPredictive, log_likelihood as nll

    ours = log_likelihood(model, POST, X, Y)
    ref = nll(make_model(numpyro, ndist), POST, X, Y)
    assert set(ours) == set(ref) == {"y"}
    np.testing.assert_allclose(ours["y"], ref["y"], rtol=1e-12)
    par = log_likelihood(model, POST, X, Y, parallel=True)
    np.testing.assert_allclose(par["y"], ref["y"], rtol=1e-12)
    # Deterministic parts of the posterior predictive agree exactly with NumPyro.
    ref_pred = NPredictive(make_model(numpyro, ndist), POST)(jr.PRNGKey(0), X)
    np.testing.assert_allclose(
        Predictive(model, POST)(jr.PRNGKey(0), X)["mean"], ref_pred["mean"]
    )


def test_log_likelihood_masked_sites():
    def masked(y):
        m = spp.sample("m", dist.Normal())
        with (
            spp.plate("N", 4),
            spp.handlers.mask(mask=jnp.array([True, True, False, True])),
        ):
            spp.sample("y", dist.Normal(m, 1.0), obs=y)

    ll = log_likelihood(masked, {"m": jnp.zeros(2)}, Y)["y"]
    assert ll.shape == (2, 4) and jnp.all(ll[:, 2] == 0.0)

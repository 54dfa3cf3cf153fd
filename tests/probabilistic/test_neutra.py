"""NeuTraReparam: the pulled-back potential, against closed forms and NumPyro.

With a flat guide $u = \\text{loc} + L z$ the reparametrised potential is the
model's potential at $u$ minus $\\log|\\det L|$ (exact identity, checked to
rounding with its gradient). With the guide set to a Gaussian posterior's exact
mean and Cholesky factor, the pulled-back target is exactly $N(0, I)$: its
potential differences are $\\tfrac12(|z_1|^2 - |z_2|^2)$, and NUTS on it
samples a standard Normal with short trajectories while the mapped draws
recover the strongly correlated posterior.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import MCMC, NUTS, SVI, Trace_ELBO, potential_energy
from sciad.probabilistic.infer.autoguide import (
    AutoDiagonalNormal,
    AutoMultivariateNormal,
    AutoNormal,
)
from sciad.probabilistic.infer.reparam import NeuTraReparam


def hier():
    a = spp.sample("a", dist.Normal(0.0, 1.0))
    with spp.plate("J", 3):
        spp.sample("b", dist.LogNormal(a, 0.5))


DIAG = {
    "auto_loc": jnp.array([0.3, -0.2, 0.1, 0.5]),
    "auto_scale": jnp.array([0.5, 0.7, 1.1, 0.9]),
}


def set_up(guide, *args):
    svi = SVI(guide.model, guide, optax.adam(0.01), Trace_ELBO())
    svi.init(jr.key(0), *args)
    return guide


def test_potential_is_the_models_at_the_guides_image():
    guide = set_up(AutoDiagonalNormal(hier))
    neutra = NeuTraReparam(guide, DIAG)
    model = neutra.reparam(hier)

    def pulled_back(z):
        return potential_energy(model, (), {}, {"auto_shared_latent": z})

    def by_hand(z):
        u = DIAG["auto_loc"] + DIAG["auto_scale"] * z
        pe = potential_energy(hier, (), {}, guide._unravel(u))
        return pe - jnp.sum(jnp.log(DIAG["auto_scale"]))

    z = jnp.array([0.2, -1.0, 0.4, 1.3])
    np.testing.assert_allclose(pulled_back(z), by_hand(z), rtol=1e-13)
    np.testing.assert_allclose(
        jax.grad(pulled_back)(z), jax.grad(by_hand)(z), rtol=1e-12
    )
    tr = handlers.trace(handlers.seed(model, 0)).get_trace()
    assert tr["a"]["type"] == tr["b"]["type"] == "deterministic"
    assert tr["b"]["value"].shape == (3,)
    draws = neutra.transform_sample(jnp.stack([z, -z]))
    u = DIAG["auto_loc"] + DIAG["auto_scale"] * z
    np.testing.assert_allclose(draws["a"][0], u[0], rtol=1e-14)
    np.testing.assert_allclose(draws["b"][0], jnp.exp(u[1:]), rtol=1e-14)


MEAN = jnp.array([1.0, -2.0])
COV = jnp.array([[1.0, 9.9], [9.9, 100.0]])  # sds 1 and 10, correlation 0.99


def gaussian():
    spp.sample("x", dist.MultivariateNormal(MEAN, COV))


def test_exact_guide_whitens_a_correlated_posterior():
    guide = set_up(AutoMultivariateNormal(gaussian))
    exact = {"auto_loc": MEAN, "auto_scale_tril": jnp.linalg.cholesky(COV)}
    neutra = NeuTraReparam(guide, exact)
    model = neutra.reparam(gaussian)

    def pe(z):
        return potential_energy(model, (), {}, {"auto_shared_latent": z})

    z1, z2 = jnp.array([0.3, -1.2]), jnp.array([2.0, 0.5])
    np.testing.assert_allclose(pe(z1) - pe(z2), 0.5 * (z1 @ z1 - z2 @ z2), rtol=1e-12)
    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=2000, progress_bar=False)
    mcmc.run(jr.key(1), extra_fields=("num_steps",))
    z = mcmc.get_samples()["auto_shared_latent"]
    # a standard Normal target: trajectories of a few steps (4.5 measured;
    # NUTS on the model itself, diagonal mass matrix: 16)
    assert float(jnp.mean(mcmc.get_extra_fields()["num_steps"])) < 6
    x = neutra.transform_sample(z)["x"]
    sd = jnp.sqrt(jnp.diag(COV))
    # 5 standard errors, taking the effective sample size as at least 600
    # (measured 870 and 2170 for the two coordinates)
    assert np.all(np.abs(jnp.mean(x, 0) - MEAN) < 5 * sd / np.sqrt(600))
    np.testing.assert_allclose(jnp.corrcoef(x.T)[0, 1], 0.99, atol=0.005)


def test_potential_equals_numpyros():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as nd
    from numpyro.infer import SVI as NSVI, Trace_ELBO as NTrace
    from numpyro.infer.autoguide import AutoDiagonalNormal as NDiag
    from numpyro.infer.reparam import NeuTraReparam as NNeuTra
    from numpyro.infer.util import potential_energy as np_potential

    def np_hier():
        a = numpyro.sample("a", nd.Normal(0.0, 1.0))
        with numpyro.plate("J", 3):
            numpyro.sample("b", nd.LogNormal(a, 0.5))

    theirs = NDiag(np_hier)
    NSVI(np_hier, theirs, numpyro.optim.Adam(0.01), NTrace()).init(jr.key(0))
    np_model = NNeuTra(theirs, DIAG).reparam(np_hier)
    ours = NeuTraReparam(set_up(AutoDiagonalNormal(hier)), DIAG).reparam(hier)
    for z in (jnp.array([0.2, -1.0, 0.4, 1.3]), jnp.zeros(4)):
        u = {"auto_shared_latent": z}
        np.testing.assert_allclose(
            potential_energy(ours, (), {}, u),
            np_potential(np_model, (), {}, u),
            rtol=1e-13,
        )


def test_misuse_is_a_clear_error():
    with pytest.raises(TypeError, match="AutoContinuous"):
        NeuTraReparam(AutoNormal(hier), {})
    with pytest.raises(RuntimeError, match="has not been set up"):
        NeuTraReparam(AutoDiagonalNormal(hier), DIAG)
    neutra = NeuTraReparam(set_up(AutoDiagonalNormal(hier)), DIAG)
    direct = handlers.reparam(hier, config={"a": neutra})
    with pytest.raises(ValueError, match="site 'a'.*neutra.reparam"):
        handlers.seed(direct, 0)()

    def fewer():
        spp.sample("a", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match=r"site\(s\) \['b'\] did not appear"):
        handlers.seed(neutra.reparam(fewer), 0)()

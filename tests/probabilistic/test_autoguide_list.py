"""AutoGuideList: parts for disjoint sites, against closed forms; its errors.

The model has two independent blocks: a conjugate normal mean (fitted by an
`AutoNormal` part, whose family holds the exact posterior) and a Gamma-Poisson
rate (an `AutoDelta` part, whose ELBO optimum is the posterior mode). Their
fits are checked with the tolerances of `test_autoguide.py`'s module docstring.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import sciad.probabilistic.distributions as dist
from sciad.probabilistic import deterministic, handlers, param, plate, sample
from sciad.probabilistic.infer import SVI, Predictive, Trace_ELBO
from sciad.probabilistic.infer.autoguide import (
    AutoDelta,
    AutoDiagonalNormal,
    AutoGuideList,
    AutoNormal,
)

from .test_autoguide import NN_MEAN, NN_SD, TOL_SD, Y

COUNTS = jnp.array([3.0, 5.0, 2.0, 4.0])
ALPHA, BETA = 2.0, 0.5
RATE_MODE = (ALPHA + COUNTS.sum() - 1) / (BETA + COUNTS.shape[0])


def model(y, counts):
    mu = sample("mu", dist.Normal(0.0, 2.0))
    rate = sample("rate", dist.Gamma(ALPHA, BETA))
    deterministic("both", mu * rate)
    with plate("N", y.shape[0]):
        sample("y", dist.Normal(mu, 1.0), obs=y)
    with plate("M", counts.shape[0]):
        sample("counts", dist.Poisson(rate), obs=counts)


def two_parts():
    guide = AutoGuideList(model)
    guide.append(AutoNormal(handlers.block(model, hide=["rate", "both"])))
    guide.append(AutoDelta(handlers.block(model, expose=["rate"])))
    return guide


def test_parts_fit_their_own_sites_exactly():
    guide = two_parts()
    steps = 1000
    optim = optax.adam(optax.exponential_decay(0.05, steps, 0.01))
    svi = SVI(model, guide, optim, Trace_ELBO(num_particles=4))
    params = svi.run(jr.key(0), steps, Y, COUNTS, progress_bar=False).params
    assert sorted(params) == ["mu_auto_loc", "mu_auto_scale", "rate_auto_loc"]
    assert len(guide) == 2 and isinstance(guide[1], AutoDelta)
    np.testing.assert_allclose(params["mu_auto_loc"], NN_MEAN, atol=TOL_SD * NN_SD)
    np.testing.assert_allclose(params["mu_auto_scale"], NN_SD, rtol=TOL_SD)
    np.testing.assert_allclose(params["rate_auto_loc"], RATE_MODE, rtol=1e-3)
    median = guide.median(params)
    assert median["rate"] == params["rate_auto_loc"]
    np.testing.assert_allclose(median["mu"], params["mu_auto_loc"])
    q = guide.quantiles(params, [0.25, 0.75])
    assert q["mu"].shape == (2,) and q["mu"][0] < median["mu"] < q["mu"][1]
    draws = guide.sample_posterior(jr.key(1), params, Y, COUNTS, sample_shape=(4000,))
    assert draws["mu"].shape == draws["rate"].shape == (4000,)
    np.testing.assert_allclose(draws["rate"], params["rate_auto_loc"])
    np.testing.assert_allclose(jnp.std(draws["mu"]), NN_SD, rtol=0.05)
    # Predictive through the list, as with any guide: the model's deterministic
    # site from each joint draw of the two parts
    sites = ["mu", "rate", "both"]
    pred = Predictive(
        model, guide=guide, params=params, num_samples=50, return_sites=sites
    )
    out = pred(jr.key(2), Y, COUNTS)
    assert out["both"].shape == (50,)
    np.testing.assert_allclose(out["both"], out["mu"] * out["rate"], rtol=1e-12)
    np.testing.assert_allclose(out["rate"], params["rate_auto_loc"])


def test_a_guide_function_as_a_part():
    def rate_guide(y, counts):
        loc = param("rate_loc", 1.0, constraint=dist.constraints.positive)
        sample("rate", dist.LogNormal(jnp.log(loc), 0.1))

    guide = AutoGuideList(model)
    guide.append(AutoNormal(handlers.block(model, hide=["rate", "both"])))
    guide.append(rate_guide)
    svi = SVI(model, guide, optax.adam(0.01), Trace_ELBO())
    params = svi.get_params(svi.init(jr.key(0), Y, COUNTS))
    draws = guide.sample_posterior(jr.key(1), params, Y, COUNTS, sample_shape=(2, 3))
    assert draws["rate"].shape == draws["mu"].shape == (2, 3)
    assert len(np.unique(np.asarray(draws["rate"]))) == 6  # one key per draw
    with pytest.raises(NotImplementedError, match="part 1 .* not an autoguide"):
        guide.median(params)


def test_overlapping_parts_and_exposed_deterministic_sites_raise():
    both = AutoGuideList(model)
    both.append(AutoNormal(handlers.block(model, hide=["both"])))
    both.append(AutoDelta(handlers.block(model, expose=["rate"])))
    with pytest.raises(
        ValueError, match="site 'rate_auto_loc' is emitted by part 0 and part 1"
    ):
        handlers.seed(both, rng_seed=0)(Y, COUNTS)
    flat = AutoGuideList(model)
    flat.append(AutoDiagonalNormal(handlers.block(model, hide=["rate", "both"])))
    flat.append(AutoDiagonalNormal(handlers.block(model, expose=["rate"])))
    with pytest.raises(ValueError, match="param site 'auto_loc'.*distinct `prefix`"):
        handlers.seed(flat, rng_seed=0)(Y, COUNTS)
    flat = AutoGuideList(model)
    flat.append(AutoDiagonalNormal(handlers.block(model, hide=["rate", "both"])))
    flat.append(AutoDiagonalNormal(handlers.block(model, expose=["rate"]), prefix="r"))
    tr = handlers.trace(handlers.seed(flat, rng_seed=0)).get_trace(Y, COUNTS)
    assert {"auto_loc", "r_loc", "mu", "rate"} <= set(tr)
    exposed = AutoGuideList(model)
    exposed.append(AutoNormal(handlers.block(model, hide=["rate"])))
    exposed.append(AutoDelta(handlers.block(model, expose=["rate"])))
    with pytest.raises(ValueError, match="deterministic site 'both' is exposed"):
        handlers.seed(exposed, rng_seed=0)(Y, COUNTS)


def test_misuse_is_a_clear_error():
    guide = AutoGuideList(model)
    with pytest.raises(ValueError, match="no parts"):
        handlers.seed(guide, rng_seed=0)(Y, COUNTS)
    with pytest.raises(TypeError, match="autoguide or a guide function"):
        guide.append(3)
    with pytest.raises(TypeError, match="autoguide or a guide function"):
        guide.append(guide)
    guide = two_parts()
    with pytest.raises(RuntimeError, match="has not been set up"):
        guide.median({})

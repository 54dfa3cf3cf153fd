"""Bayesian calibration: NUTS recovers OU parameters from the exact likelihood."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.physics as sp
import sciad.probabilistic as spp
from sciad.probabilistic import distributions as dist
from sciad.probabilistic.infer import MCMC, NUTS

TRUE = dict(theta=1.5, mu=0.5, sigma=0.4)


def _ou_model(ts, ys):
    theta = spp.sample("theta", dist.LogNormal(0.0, 1.0))
    mu = spp.sample("mu", dist.Normal(0.0, 2.0))
    sigma = spp.sample("sigma", dist.LogNormal(-1.0, 1.0))
    ou = sp.OrnsteinUhlenbeck(theta, mu, sigma)
    spp.factor("transitions", sp.transition_log_likelihood(ou, ts, ys))


@pytest.mark.slow
def test_nuts_recovers_ou_parameters():
    ts = np.arange(200) * 0.1
    ou = sp.OrnsteinUhlenbeck(**TRUE)
    ys = sp.simulate(ou, jnp.array([TRUE["mu"]]), ts, key=jr.key(0), dt0=0.01)[0, :, 0]
    mcmc = MCMC(NUTS(_ou_model), num_warmup=500, num_samples=2000, progress_bar=False)
    mcmc.run(jr.key(1), ts, ys)
    samples = mcmc.get_samples()
    for name, value in TRUE.items():
        lo, hi = np.quantile(np.asarray(samples[name]), [0.05, 0.95])
        assert lo <= value <= hi, (name, value, lo, hi)

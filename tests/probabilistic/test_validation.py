"""validate_args inside models: errors name the sample site (eager, jit, MCMC)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import MCMC, NUTS, log_density, potential_energy


def model(scale, y=None):
    mu = spp.sample("mu", dist.Normal(0.0, 1.0))
    with spp.plate("N", 2):
        spp.sample("y", dist.Normal(mu, scale, validate_args=True), obs=y)


Y = jnp.array([0.3, -0.1])
BAD = jnp.array([1.0, -2.0])
EAGER_MSG = (
    r"sample site 'y': Normal: parameter `scale` must satisfy positive; "
    r"got \[ 1. -2.\] \(shape \(2,\)\)"
)
JIT_MSG = r"sample site 'y': Normal: parameter `scale` violates its constraint positive"


def test_eager_error_names_site_and_value():
    with pytest.raises(ValueError, match=EAGER_MSG):
        handlers.seed(model, 0)(BAD)
    with pytest.raises(ValueError, match=EAGER_MSG):
        log_density(model, (BAD, Y), {}, {"mu": 0.0})
    lp, _ = log_density(model, (jnp.ones(2), Y), {}, {"mu": 0.0})
    assert jnp.isfinite(lp)
    # No pending check survives a model run.
    assert dist._base._PENDING == []


def test_jit_error_names_site():
    f = jax.jit(lambda s: log_density(model, (s, Y), {}, {"mu": 0.0})[0])
    assert jnp.isfinite(f(jnp.ones(2)))
    with pytest.raises(Exception, match=JIT_MSG):
        jax.block_until_ready(f(BAD))
    # Sampling (not only scoring) is guarded too, and so is the potential's gradient.
    draw = jax.jit(
        lambda k, s: handlers.trace(handlers.seed(model, k)).get_trace(s)["y"]["value"]
    )
    with pytest.raises(Exception, match=JIT_MSG):
        jax.block_until_ready(draw(jr.key(0), BAD))
    grad = jax.jit(jax.grad(lambda z, s: potential_energy(model, (s, Y), {}, z)))
    with pytest.raises(Exception, match=JIT_MSG):
        jax.block_until_ready(grad({"mu": jnp.array(0.1)}, BAD))


def test_wrapped_and_globally_enabled_distributions():
    def wrapped(c):
        spp.sample("w", dist.Gamma(c, 1.0, validate_args=True).expand([3]).to_event(1))

    with pytest.raises(ValueError, match=r"site 'w': Gamma: parameter `concentration`"):
        handlers.seed(wrapped, 0)(-1.0)

    def plain(s):
        spp.sample("x", dist.HalfNormal(s))

    with dist.validation_enabled():
        with pytest.raises(ValueError, match=r"site 'x': HalfNormal: .*got -3.0"):
            handlers.seed(plain, 0)(-3.0)
    handlers.seed(plain, 0)(-3.0)  # validation off again: NumPyro's default


def test_outside_a_model_the_constructor_raises():
    with pytest.raises(ValueError, match=r"^Normal: parameter `scale`"):
        dist.Normal(0.0, -1.0, validate_args=True)

    def unused(s):
        d = dist.Normal(0.0, s, validate_args=True)  # never given to a sample site
        spp.factor("f", d.log_prob(0.0))

    with pytest.raises(ValueError, match="not passed to any sample site"):
        handlers.seed(unused, 0)(-1.0)


def test_obs_outside_support_names_site_and_distribution():
    def counts(y):
        spp.sample("k", dist.Poisson(2.0, validate_args=True), obs=y)

    with pytest.raises(ValueError, match=r"site 'k': observed value \[-1\] .* Poisson"):
        handlers.seed(counts, 0)(jnp.array([-1]))
    f = jax.jit(lambda y: log_density(counts, (y,), {}, {})[0])
    with pytest.raises(Exception, match="site 'k': observed value outside the support"):
        jax.block_until_ready(f(jnp.array([-1])))


def test_mcmc_reports_the_site():
    mcmc = MCMC(NUTS(model), num_warmup=3, num_samples=3, progress_bar=False)
    with pytest.raises(Exception, match=r"sample site 'y': Normal: parameter `scale`"):
        mcmc.run(jr.key(0), BAD, Y)

"""Losses, `fit`, and a neural SDE fitted to Ornstein-Uhlenbeck data."""

import jax.numpy as jnp
import jax.random as jr
import jaxtyping
import numpy as np
import optax
import pytest

import sciad
import sciad.physics as sp


def test_marginal_moment_loss_values():
    x = jr.normal(jr.key(0), (50, 3, 2))
    assert float(sp.marginal_moment_loss(x, x)) == 0.0
    shifted = x + 0.5
    # Mean off by 0.5 everywhere, central moments identical.
    np.testing.assert_allclose(
        sp.marginal_moment_loss(shifted, x, normalise=False), 0.25, rtol=1e-12
    )
    spread = jnp.mean(jnp.std(x, axis=0), axis=0)
    np.testing.assert_allclose(
        sp.marginal_moment_loss(shifted, x), jnp.mean(0.25 / spread**2), rtol=1e-12
    )
    scaled = x * 2.0
    var_err = jnp.mean((3 * x.var(0)) ** 2)  # 4 var - var, mean is ~unchanged
    mean_err = jnp.mean((x.mean(0)) ** 2)
    np.testing.assert_allclose(
        sp.marginal_moment_loss(scaled, x, normalise=False),
        var_err + mean_err,
        rtol=1e-10,
    )


def test_energy_distance_properties_and_grads():
    x = jr.normal(jr.key(1), (6, 3, 2))
    y = jr.normal(jr.key(2), (5, 3, 2))
    assert abs(float(sp.energy_distance(x, x))) < 1e-12
    assert float(sp.energy_distance(x + 1.0, y)) > float(sp.energy_distance(x, y))
    # The zero self-distances are masked, so the gradient is finite and exact.
    sciad.check_grads(lambda a: sp.energy_distance(a, y), (x,), rtol=1e-5)


@pytest.mark.parametrize("loss", [sp.marginal_moment_loss, sp.energy_distance])
def test_loss_bad_shapes(loss):
    # Under the suite's jaxtyping hook the annotation fires first; without it
    # the explicit ValueError does.
    bad = (ValueError, jaxtyping.TypeCheckError)
    with pytest.raises(bad):
        loss(jnp.zeros((4, 3)), jnp.zeros((4, 3, 1)))
    with pytest.raises(bad):
        loss(jnp.zeros((4, 3, 1)), jnp.zeros((4, 2, 1)))


def test_fit_decreases_quadratic_and_validates():
    target = jnp.array([1.0, -2.0])

    def loss(params, data, key):
        return jnp.sum((params - data) ** 2)

    params, history = sp.fit(
        jnp.zeros(2), target, loss, optax.adam(0.1), 200, key=jr.key(0)
    )
    assert history.shape == (200,)
    np.testing.assert_allclose(params, target, atol=1e-2)
    with pytest.raises(ValueError, match="steps"):
        sp.fit(jnp.zeros(2), target, loss, optax.adam(0.1), 0, key=jr.key(0))


OU_THETA, OU_MU, OU_SIGMA, OU_Y0 = 2.0, 0.5, 0.6, 2.0


@pytest.mark.slow
def test_neural_sde_fits_ou_stationary_moments():
    # Data relax from y0 = 2 to stationarity (e^{-theta t} < 0.02 for t > 2), so
    # the moment loss constrains both the drift (relaxation) and the noise.
    ts = np.linspace(0.0, 3.0, 16)
    ou = sp.OrnsteinUhlenbeck(OU_THETA, OU_MU, OU_SIGMA)
    y0 = jnp.array([OU_Y0])
    data = sp.simulate(ou, y0, ts, key=jr.key(1), n_paths=2000, dt0=0.05)

    def loss(model, data, key):
        return sp.marginal_moment_loss(
            sp.simulate(model, y0, ts, key=key, n_paths=256), data
        )

    model = sp.NeuralSDE(1, width=16, depth=1, key=jr.key(0))
    model, history = sp.fit(model, data, loss, optax.adam(1e-2), 500, key=jr.key(2))
    assert float(history[-20:].mean()) < 0.01 * float(history[0])
    sim = sp.simulate(model, y0, ts, key=jr.key(3), n_paths=8000)
    tail = sim[:, -5:, 0]  # t >= 2.2
    stat_var = OU_SIGMA**2 / (2 * OU_THETA)
    # Issue target: stationary mean and variance within 10% of the closed form
    # (Monte Carlo error of the estimates: ~1% of the mean, ~2% of the variance).
    np.testing.assert_allclose(tail.mean(), OU_MU, rtol=0.1)
    np.testing.assert_allclose(tail.var(0).mean(), stat_var, rtol=0.1)


@pytest.mark.slow
def test_latent_sde_elbo_improves_on_irregular_series():
    rng = np.random.default_rng(0)
    ts = np.concatenate([[0.0], np.sort(rng.uniform(0.0, 3.0, 7))])
    xs = np.stack([np.sin(ts), np.cos(ts)], 1) + 0.05 * rng.normal(size=(8, 2))
    model = sp.LatentSDE(2, 2, context_dim=4, hidden=8, width=8, key=jr.key(0))

    def loss(m, data, key):
        return -m.elbo(ts, data, key=key, n_samples=2)

    fitted, history = sp.fit(
        model, jnp.asarray(xs), loss, optax.adam(2e-2), 40, key=jr.key(1)
    )
    assert bool(jnp.all(jnp.isfinite(history)))
    # Untrained decoder is far from the data (ELBO ~ -1e2); 40 Adam steps must
    # improve the averaged negative ELBO by a wide margin.
    assert float(history[-5:].mean()) < 0.5 * float(history[:5].mean())
    samples = fitted.sample_prior(ts, key=jr.key(2), n_paths=3)
    assert samples.shape == (3, 8, 2)
    with pytest.raises(ValueError, match="latent_dim"):
        sp.LatentSDE(2, 0, key=jr.key(0))

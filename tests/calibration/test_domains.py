"""sciad.calibrate on each domain's small problem: the parameters are recovered.

MAP runs only (NUTS is covered by test_calibrate.py and the examples): each
problem is generated from known parameters, and the MAP must land near them.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad
from sciad.probabilistic import distributions as dist


def _map(simulator, priors, data, noise, **kwargs):
    return sciad.calibrate(
        simulator, priors, data, noise=noise, method="map", key=jr.key(0), **kwargs
    ).map_estimate


def test_finance_black_scholes_vol_and_rate_from_prices():
    from sciad.finance import bs_price

    strikes = jnp.linspace(80.0, 120.0, 9)
    maturities = jnp.array([0.5, 1.0, 2.0])
    grid = tuple(jnp.meshgrid(strikes, maturities))

    def prices(p, grid):
        strike, maturity = grid
        return bs_price(100.0, strike, maturity, p["rate"], p["vol"])

    observed = prices({"rate": 0.03, "vol": 0.25}, grid)
    observed = observed + 0.01 * jr.normal(jr.key(1), observed.shape)
    est = _map(
        prices,
        {"vol": dist.LogNormal(jnp.log(0.2), 0.5), "rate": dist.Normal(0.0, 0.05)},
        (grid, observed),
        0.01,
    )
    # 27 prices with 1-cent noise pin vol to ~1e-3 and rate to ~1e-3.
    np.testing.assert_allclose(est["vol"], 0.25, atol=5e-3)
    np.testing.assert_allclose(est["rate"], 0.03, atol=5e-3)


def test_sde_ou_parameters_with_common_random_numbers():
    from sciad.physics import OrnsteinUhlenbeck, simulate

    ts = jnp.linspace(0.0, 5.0, 26)
    key = jr.key(11)

    def path(p, ts):
        model = OrnsteinUhlenbeck(p["theta"], p["mu"], 0.3)
        return simulate(model, jnp.array([2.0]), ts, key=key, dt0=0.05)[0, :, 0]

    observed = path({"theta": 1.2, "mu": 0.5}, ts)
    observed = observed + 0.02 * jr.normal(jr.key(2), observed.shape)
    est = _map(
        path,
        {"theta": dist.LogNormal(0.0, 1.0), "mu": dist.Normal(0.0, 2.0)},
        (ts, observed),
        0.02,
    )
    np.testing.assert_allclose(est["theta"], 1.2, rtol=0.15)
    np.testing.assert_allclose(est["mu"], 0.5, atol=0.1)


def test_quantum_depolarizing_rate_from_probabilities():
    from sciad.quantum import Circuit, probabilities

    angles = jnp.linspace(0.1, 3.0, 8)

    def probs(p, angles):
        def one(theta):
            c = Circuit(2, mixed=True).ry(0, theta).cnot(0, 1)
            c = c.depolarizing(p["rate"], 1)
            return probabilities(c)

        return jax.vmap(one)(angles)

    observed = probs({"rate": 0.15}, angles)
    observed = observed + 0.005 * jr.normal(jr.key(3), observed.shape)
    est = _map(probs, {"rate": dist.Beta(1.0, 3.0)}, (angles, observed), 0.005)
    np.testing.assert_allclose(est["rate"], 0.15, atol=0.02)


@pytest.mark.slow
def test_raytrace_light_position_from_image():
    from sciad.physics import Camera, Material, Plane, PointLight, Scene, Sphere, render

    camera = Camera([0.0, 2.2, 6.0], [0.0, 0.8, 0.0], [0.0, 1.0, 0.0], 40.0, 12, 12)

    def picture(p, camera):
        scene = Scene(
            [
                Sphere(
                    jnp.array([0.0, 1.0, 0.0]),
                    1.0,
                    Material(jnp.array([0.9, 0.5, 0.3])),
                ),
                Plane([0.0, 0.0, 0.0], [0.0, 1.0, 0.0], Material(0.7)),
            ],
            [PointLight(p["light"], 40.0)],
            ambient=0.05,
        )
        return render(scene, camera)

    true_light = jnp.array([2.0, 5.0, 3.0])
    observed = picture({"light": true_light}, camera)
    prior = dist.Normal(jnp.array([0.0, 4.0, 2.0]), 2.0).to_event(1)
    est = _map(picture, {"light": prior}, (camera, observed), 0.01, map_steps=300)
    np.testing.assert_allclose(est["light"], true_light, atol=0.25)

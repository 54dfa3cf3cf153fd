import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import sciad.finance as sf

TRUE = jnp.array([0.04, 1.5, 0.06, 0.5, -0.7])  # v0, kappa, theta, sigma, rho
STRIKES = jnp.linspace(80.0, 120.0, 9)[:, None] * jnp.ones((1, 6))
MATURITIES = jnp.array([0.1, 0.25, 0.5, 1.0, 2.0, 3.0])[None, :] * jnp.ones((9, 1))


def constrain(p):
    """Unconstrained -> Heston domain (positivity by softplus, |rho| < 1 by tanh)."""
    return jnp.concatenate([jax.nn.softplus(p[:4]), jnp.tanh(p[4:])])


def unconstrain(x):
    return jnp.concatenate([jnp.log(jnp.expm1(x[:4])), jnp.arctanh(x[4:])])


def heston_surface(p, q):
    return sf.heston_price(
        q.spot, q.strike, q.maturity, q.rate, q.dividend, *constrain(p)
    )


QUOTES = sf.Quotes(
    100.0,
    STRIKES,
    MATURITIES,
    0.02,
    0.01,
    heston_surface(
        unconstrain(TRUE), sf.Quotes(100.0, STRIKES, MATURITIES, 0.02, 0.01, 0.0)
    ),
)
POOR_START = unconstrain(jnp.array([0.1, 0.5, 0.1, 1.0, 0.0]))


@pytest.mark.slow
def test_heston_surface_recovered_from_poor_start():
    fit = jax.jit(lambda p0: sf.calibrate_least_squares(heston_surface, QUOTES, p0))(
        POOR_START
    )
    assert bool(fit.converged)
    np.testing.assert_allclose(constrain(fit.params), TRUE, atol=1e-6)
    assert fit.rmse < 1e-10


def test_price_loss_with_optax_and_bad_loss():
    # Two-parameter Black–Scholes "model" fitted on prices with Adam: a cheap
    # check of the optax path and of the fit report.
    def bs_model(p, q):
        return sf.bs_price(q.spot, q.strike, q.maturity, q.rate, p["vol"], q.dividend)

    k = jnp.array([90.0, 100.0, 110.0])
    q = sf.Quotes(100.0, k, 1.0, 0.01, 0.0, sf.bs_price(100.0, k, 1.0, 0.01, 0.25))
    fit = sf.calibrate_least_squares(
        bs_model,
        q,
        {"vol": 0.4},
        loss="price",
        optimizer=optax.adam(0.01),
        max_steps=300,
    )
    np.testing.assert_allclose(fit.params["vol"], 0.25, atol=1e-3)
    fit = sf.calibrate_least_squares(bs_model, q, {"vol": jnp.asarray(0.4)})
    np.testing.assert_allclose(fit.params["vol"], 0.25, atol=1e-9)
    with pytest.raises(ValueError, match="loss"):
        sf.calibrate_least_squares(bs_model, q, {"vol": 0.4}, loss="bananas")

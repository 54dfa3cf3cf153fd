"""The six benchmark models as hand-written log densities for BlackJAX.

Each model maps its data to `(logdensity_fn, init_fn)`: `logdensity_fn` takes a
dict of unconstrained parameters (the bijections of MODEL_SPECS: exp for scales,
-1 + 2*sigmoid for phi) and includes the log-Jacobians, so it equals NumPyro's
potential up to sign and a constant; `init_fn(key)` draws every unconstrained
coordinate from Uniform(-2, 2) as NumPyro's `init_to_uniform` does.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.stats import cauchy, norm
from models_ppl import ar1_latent


def half_cauchy_lpdf(x, scale):
    return jnp.log(2.0 / (jnp.pi * scale)) - jnp.log1p(jnp.square(x / scale))


def half_normal_lpdf(x, scale):
    return 0.5 * jnp.log(2.0 / jnp.pi) - jnp.log(scale) - 0.5 * jnp.square(x / scale)


def uniform_init(shapes):
    """init_fn drawing a dict of the given shapes from Uniform(-2, 2)."""

    def init_fn(key):
        keys = jr.split(key, len(shapes))
        return {
            name: jr.uniform(k, shape, minval=-2.0, maxval=2.0)
            for k, (name, shape) in zip(keys, shapes.items(), strict=True)
        }

    return init_fn


def eight_schools_nc(J, y, sigma):
    def logdensity(p):
        tau = jnp.exp(p["tau"])
        lp = norm.logpdf(p["mu"], 0.0, 5.0) + half_cauchy_lpdf(tau, 5.0) + p["tau"]
        lp += norm.logpdf(p["theta_tilde"]).sum()
        loc = p["mu"] + tau * p["theta_tilde"]
        return lp + norm.logpdf(y, loc, sigma).sum()

    return logdensity, uniform_init({"mu": (), "tau": (), "theta_tilde": (J,)})


def logreg(X, y):
    def logdensity(p):
        logits = X @ p["w"] + p["b"]
        # Bernoulli(logits) log-likelihood, as numpyro writes it
        loglik = y * logits - jnp.logaddexp(0.0, logits)
        return norm.logpdf(p["w"]).sum() + norm.logpdf(p["b"]) + loglik.sum()

    return logdensity, uniform_init({"w": (X.shape[1],), "b": ()})


def hier_linreg(G, group, x, y):
    scales = ("sigma_a", "sigma_b", "sigma_y")

    def logdensity(p):
        s = {k: jnp.exp(p[k]) for k in scales}
        lp = norm.logpdf(p["mu_a"], 0.0, 10.0) + norm.logpdf(p["mu_b"], 0.0, 10.0)
        lp += sum(half_normal_lpdf(s[k], 1.0) + p[k] for k in scales)
        lp += norm.logpdf(p["za"]).sum() + norm.logpdf(p["zb"]).sum()
        a = p["mu_a"] + s["sigma_a"] * p["za"]
        b = p["mu_b"] + s["sigma_b"] * p["zb"]
        return lp + norm.logpdf(y, a[group] + b[group] * x, s["sigma_y"]).sum()

    shapes = {"mu_a": (), "sigma_a": (), "mu_b": (), "sigma_b": (), "sigma_y": ()}
    return logdensity, uniform_init(shapes | {"za": (G,), "zb": (G,)})


def stoch_vol(y):
    def logdensity(p):
        phi = -1.0 + 2.0 * jax.nn.sigmoid(p["phi"])
        sigma = jnp.exp(p["sigma"])
        # Uniform(-1, 1) density 1/2 times the Jacobian 2 sigmoid(u) sigmoid(-u)
        lp = jax.nn.log_sigmoid(p["phi"]) + jax.nn.log_sigmoid(-p["phi"])
        lp += cauchy.logpdf(p["mu"], 0.0, 10.0)
        lp += half_cauchy_lpdf(sigma, 5.0) + p["sigma"]
        lp += norm.logpdf(p["h_std"]).sum()
        h = ar1_latent(p["h_std"], p["mu"], phi, sigma)
        return lp + norm.logpdf(y, 0.0, jnp.exp(h / 2)).sum()

    T = y.shape[0]
    return logdensity, uniform_init({"mu": (), "phi": (), "sigma": (), "h_std": (T,)})


def funnel_nc(D):
    def logdensity(p):
        return norm.logpdf(p["v"], 0.0, 3.0) + norm.logpdf(p["x_raw"]).sum()

    return logdensity, uniform_init({"v": (), "x_raw": (D - 1,)})


def funnel_c(D):
    def logdensity(p):
        lp = norm.logpdf(p["v"], 0.0, 3.0)
        return lp + norm.logpdf(p["x"], 0.0, jnp.exp(p["v"] / 2)).sum()

    return logdensity, uniform_init({"v": (), "x": (D - 1,)})


MODELS = {
    "eight_schools_nc": eight_schools_nc,
    "logreg": logreg,
    "hier_linreg": hier_linreg,
    "stoch_vol": stoch_vol,
    "funnel_nc": funnel_nc,
    "funnel_c": funnel_c,
}

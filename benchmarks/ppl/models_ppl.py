"""The six benchmark models in the NumPyro modelling language, per MODEL_SPECS.

sciad.probabilistic speaks the same language (`sample`, `plate`, the same
distribution names), so one source serves both libraries: `make_models(ppl,
dist)` builds the models for `ppl = numpyro` or `ppl = sciad.probabilistic`
(see `models_numpyro.py` and `models_sciad.py`), which guarantees identical
mathematics.
"""

import jax
import jax.numpy as jnp


def ar1_latent(h_std, mu, phi, sigma):
    """h = sigma*h_std; h[0] /= sqrt(1-phi^2); h += mu; h[t] += phi*(h[t-1]-mu).

    The recursion d_t = phi d_{t-1} + e_t on d = h - mu is linear, so it is
    evaluated as an associative scan over the affine maps d -> a d + b.
    """
    e = sigma * h_std
    e = e.at[0].divide(jnp.sqrt(1 - phi * phi))
    a = jnp.full_like(e, phi).at[0].set(0.0)

    def compose(left, right):
        return left[0] * right[0], right[0] * left[1] + right[1]

    _, d = jax.lax.associative_scan(compose, (a, e))
    return mu + d


def make_models(ppl, dist):
    """dict model name -> model function, written with `ppl` and `dist`."""

    def eight_schools_nc(J, y, sigma):
        mu = ppl.sample("mu", dist.Normal(0.0, 5.0))
        tau = ppl.sample("tau", dist.HalfCauchy(5.0))
        with ppl.plate("J", J):
            theta_tilde = ppl.sample("theta_tilde", dist.Normal(0.0, 1.0))
            ppl.sample("obs", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)

    def logreg(X, y):
        w = ppl.sample("w", dist.Normal(jnp.zeros(X.shape[1]), 1.0).to_event(1))
        b = ppl.sample("b", dist.Normal(0.0, 1.0))
        with ppl.plate("N", X.shape[0]):
            ppl.sample("obs", dist.Bernoulli(logits=X @ w + b), obs=y)

    def hier_linreg(G, group, x, y):
        mu_a = ppl.sample("mu_a", dist.Normal(0.0, 10.0))
        sigma_a = ppl.sample("sigma_a", dist.HalfNormal(1.0))
        mu_b = ppl.sample("mu_b", dist.Normal(0.0, 10.0))
        sigma_b = ppl.sample("sigma_b", dist.HalfNormal(1.0))
        sigma_y = ppl.sample("sigma_y", dist.HalfNormal(1.0))
        with ppl.plate("G", G):
            za = ppl.sample("za", dist.Normal(0.0, 1.0))
            zb = ppl.sample("zb", dist.Normal(0.0, 1.0))
        a = mu_a + sigma_a * za
        b = mu_b + sigma_b * zb
        with ppl.plate("N", y.shape[0]):
            ppl.sample("obs", dist.Normal(a[group] + b[group] * x, sigma_y), obs=y)

    def stoch_vol(y):
        mu = ppl.sample("mu", dist.Cauchy(0.0, 10.0))
        phi = ppl.sample("phi", dist.Uniform(-1.0, 1.0))
        sigma = ppl.sample("sigma", dist.HalfCauchy(5.0))
        with ppl.plate("T", y.shape[0]):
            h_std = ppl.sample("h_std", dist.Normal(0.0, 1.0))
            h = ar1_latent(h_std, mu, phi, sigma)
            ppl.sample("obs", dist.Normal(0.0, jnp.exp(h / 2)), obs=y)

    def funnel_nc(D):
        ppl.sample("v", dist.Normal(0.0, 3.0))
        with ppl.plate("dims", D - 1):
            ppl.sample("x_raw", dist.Normal(0.0, 1.0))

    def funnel_c(D):
        v = ppl.sample("v", dist.Normal(0.0, 3.0))
        with ppl.plate("dims", D - 1):
            ppl.sample("x", dist.Normal(0.0, jnp.exp(v / 2)))

    return {
        "eight_schools_nc": eight_schools_nc,
        "logreg": logreg,
        "hier_linreg": hier_linreg,
        "stoch_vol": stoch_vol,
        "funnel_nc": funnel_nc,
        "funnel_c": funnel_c,
    }

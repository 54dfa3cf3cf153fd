"""Latent SDE (Li et al. 2020): a variational model for irregular, noisy series."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.stats import norm
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._neural import lipswish
from ._simulate import simulate


class LatentSDE(eqx.Module):
    r"""Latent SDE with a GRU encoder, posterior and prior SDEs, and a KL term.

    Prior: $\mathrm dz = f_\theta(z)\,\mathrm dt + g(z)\,\mathrm dW$,
    $z_0 \sim \mathcal N(m_0, s_0^2)$. Posterior (given observations
    $x_{1:T}$ at irregular times): $\mathrm dz = h_\phi(z, c_t)\,\mathrm dt +
    g(z)\,\mathrm dW$ with context $c_t$ from a GRU run backwards over the
    data, and $z_0 \sim \mathcal N(\mu_\phi, \sigma_\phi^2)$. Sharing $g$
    makes the path-space KL finite (Girsanov):
    $$\mathrm{KL} = \mathbb E_q \int_0^T \tfrac12 \|u_t\|^2 \mathrm dt,\qquad
    u = (h - f) / g,$$ integrated as an extra state component. Observations
    are $x_i \sim \mathcal N(W z_{t_i} + b, \text{obs\_std}^2)$. `elbo` returns
    $\mathbb E_q[\sum_i \log p(x_i \mid z_{t_i})] - \mathrm{KL}_{z_0} -
    \mathrm{KL}_\text{path}$ (Monte Carlo over `n_samples` posterior paths).

    Args:
        data_dim: observation dimension.
        latent_dim: dimension of z.
        context_dim: encoder output per time.
        hidden: GRU hidden size.
        width: MLP width of drifts and diffusion.
        obs_std: observation noise standard deviation (fixed), > 0.
        key: PRNG key.

    References:
        Li, Wong, Chen, Duvenaud, "Scalable Gradients for Stochastic
        Differential Equations", AISTATS 2020, arXiv:2001.01328.
    """

    encoder: eqx.nn.GRUCell
    context: eqx.nn.Linear
    qz0: eqx.nn.Linear
    posterior_drift: eqx.nn.MLP
    prior_drift: eqx.nn.MLP
    diffusion_net: eqx.nn.MLP
    decoder: eqx.nn.Linear
    pz0_mean: Float[Array, " latent"]
    pz0_logstd: Float[Array, " latent"]
    obs_std: float = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)

    def __init__(
        self,
        data_dim: int,
        latent_dim: int = 4,
        *,
        context_dim: int = 8,
        hidden: int = 16,
        width: int = 32,
        obs_std: float = 0.1,
        key: PRNGKeyArray,
    ):
        for name, v in dict(
            data_dim=data_dim, latent_dim=latent_dim, context_dim=context_dim,
            hidden=hidden, width=width,
        ).items():  # fmt: skip
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"`{name}` must be a positive int; got {v!r}.")
        if not obs_std > 0:
            raise ValueError(f"`obs_std` must be > 0; got {obs_std!r}.")
        k = jr.split(key, 7)
        self.encoder = eqx.nn.GRUCell(data_dim, hidden, key=k[0])
        self.context = eqx.nn.Linear(hidden, context_dim, key=k[1])
        self.qz0 = eqx.nn.Linear(context_dim, 2 * latent_dim, key=k[2])
        mlp = dict(width_size=width, depth=1, activation=lipswish)
        self.posterior_drift = eqx.nn.MLP(
            latent_dim + context_dim, latent_dim, **mlp, key=k[3]
        )
        self.prior_drift = eqx.nn.MLP(latent_dim, latent_dim, **mlp, key=k[4])
        self.diffusion_net = eqx.nn.MLP(latent_dim, latent_dim, **mlp, key=k[5])
        self.decoder = eqx.nn.Linear(latent_dim, data_dim, key=k[6])
        self.pz0_mean = jnp.zeros(latent_dim)
        self.pz0_logstd = jnp.zeros(latent_dim)
        self.obs_std, self.latent_dim = float(obs_std), latent_dim

    def diffusion(self, z: Float[Array, " latent"]) -> Float[Array, " latent"]:
        """Shared diagonal diffusion g(z) > 0 of prior and posterior."""
        return jax.nn.softplus(self.diffusion_net(z)) + 1e-3

    def encode(self, xs: Float[Array, "T data"]) -> Float[Array, "T context"]:
        """Context c_i summarising observations i, i+1, ... (GRU run backwards)."""

        def step(h, x):
            h = self.encoder(x, h)
            return h, self.context(h)

        h0 = jnp.zeros(self.encoder.hidden_size, xs.dtype)
        _, ctx = jax.lax.scan(step, h0, xs[::-1])
        return ctx[::-1]

    def elbo(
        self,
        ts: Float[ArrayLike, " T"],
        xs: Float[ArrayLike, "T data"],
        *,
        key: PRNGKeyArray,
        n_samples: int = 8,
        dt0: float | None = None,
    ) -> Float[Array, ""]:
        """Evidence lower bound of one series `xs` observed at times `ts`."""
        xs = jnp.asarray(xs)
        ctx = self.encode(xs)
        qm, qlogs = jnp.split(self.qz0(ctx[0]), 2)
        k0, k1 = jr.split(key)
        z0 = qm + jnp.exp(qlogs) * jr.normal(k0, (n_samples, self.latent_dim), qm.dtype)
        aug0 = jnp.concatenate([z0, jnp.zeros((n_samples, 1), z0.dtype)], axis=1)
        post = _AugmentedPosterior(self, jnp.asarray(ts, xs.dtype), ctx)
        paths = simulate(post, aug0, ts, key=k1, n_paths=n_samples, dt0=dt0)
        zs, kl_path = paths[..., : self.latent_dim], paths[:, -1, -1]
        xs_hat = jax.vmap(jax.vmap(self.decoder))(zs)
        log_px = norm.logpdf(xs, xs_hat, self.obs_std).sum(axis=(1, 2))
        ps = jnp.exp(self.pz0_logstd)
        qs = jnp.exp(qlogs)
        kl0 = jnp.sum(
            self.pz0_logstd
            - qlogs
            + (qs**2 + (qm - self.pz0_mean) ** 2) / (2 * ps**2)
            - 0.5
        )
        return jnp.mean(log_px - kl_path) - kl0

    def sample_prior(
        self,
        ts: Float[ArrayLike, " T"],
        *,
        key: PRNGKeyArray,
        n_paths: int = 1,
        dt0: float | None = None,
    ) -> Float[Array, "n_paths T data"]:
        """Decoded prior sample paths (observation noise not added)."""
        k0, k1 = jr.split(key)
        z0 = self.pz0_mean + jnp.exp(self.pz0_logstd) * jr.normal(
            k0, (n_paths, self.latent_dim), self.pz0_mean.dtype
        )
        zs = simulate(_Prior(self), z0, ts, key=k1, n_paths=n_paths, dt0=dt0)
        return jax.vmap(jax.vmap(self.decoder))(zs)


class _Prior(eqx.Module):
    latent: LatentSDE

    def drift(self, t, z, args):
        return self.latent.prior_drift(z)

    def diffusion(self, t, z, args):
        return self.latent.diffusion(z)


class _AugmentedPosterior(eqx.Module):
    """Posterior SDE on [z, KL-so-far]; the last component has no noise."""

    latent: LatentSDE
    ts: Array
    ctx: Array

    def drift(self, t, y, args):
        z = y[:-1]
        i = jnp.clip(
            jnp.searchsorted(self.ts, t, side="right", method="compare_all"),
            0,
            self.ts.shape[0] - 1,
        )
        h = self.latent.posterior_drift(jnp.concatenate([z, self.ctx[i]]))
        f = self.latent.prior_drift(z)
        u = (h - f) / self.latent.diffusion(z)
        return jnp.concatenate([h, 0.5 * jnp.sum(u**2)[None]])

    def diffusion(self, t, y, args):
        g = self.latent.diffusion(y[:-1])
        return jnp.concatenate([g, jnp.zeros((1,), g.dtype)])

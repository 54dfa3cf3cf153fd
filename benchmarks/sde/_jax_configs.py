"""JAX training-step implementations compared in `bench_training_step.py`.

Every config builds `step(model, opt_state, key) -> (model, opt_state, loss)`
for the same neural SDE, loss (marginal moments vs fixed data) and optax Adam.
"""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

import sciad.physics as sp

D, WIDTH, DEPTH, BATCH, T1 = 4, 32, 2, 256, 1.0


def make_problem(n_steps, n_save=101):
    ts = jnp.linspace(0.0, T1, n_save)
    data = jr.normal(jr.key(5), (BATCH, n_save, D)) * 0.3
    model = sp.NeuralSDE(D, width=WIDTH, depth=DEPTH, key=jr.key(0))
    return ts, data, model, T1 / n_steps


def _moment_loss(ys, data):
    return sp.marginal_moment_loss(ys, data)


def loss_sciad(ts, data, dt0, adjoint=None):
    def loss(model, key):
        ys = sp.simulate(
            model, jnp.zeros(D), ts, key=key, n_paths=BATCH, dt0=dt0, adjoint=adjoint
        )
        return _moment_loss(ys, data)

    return loss


def loss_scan(ts, data, dt0):
    """Hand-written Euler-Maruyama `lax.scan`, plain reverse-mode AD."""
    n_steps = round(T1 / dt0)
    every = n_steps // (ts.shape[0] - 1)

    def loss(model, key):
        def step(y, k):
            f = jax.vmap(model.drift, (None, 0, None))(0.0, y, None)
            g = jax.vmap(model.diffusion, (None, 0, None))(0.0, y, None)
            y = y + f * dt0 + g * jr.normal(k, y.shape) * math.sqrt(dt0)
            return y, y

        y0 = jnp.zeros((BATCH, D))
        _, ys = jax.lax.scan(step, y0, jr.split(key, n_steps))
        ys = jnp.concatenate([y0[None], ys[every - 1 :: every]]).swapaxes(0, 1)
        return _moment_loss(ys, data)

    return loss


def loss_diffrax_defaults(ts, data, dt0):
    """What a diffrax user writes: VirtualBrownianTree, Euler, default adjoint."""

    def loss(model, key):
        bm = diffrax.VirtualBrownianTree(
            0.0, T1, tol=dt0 / 2, shape=(BATCH, D), key=key
        )
        terms = diffrax.MultiTerm(
            diffrax.ODETerm(
                lambda t, y, m: jax.vmap(m.drift, (None, 0, None))(t, y, None)
            ),
            _DiagTerm(bm),
        )
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Euler(),
            0.0,
            T1,
            dt0,
            jnp.zeros((BATCH, D)),
            args=model,
            saveat=diffrax.SaveAt(ts=ts),
            max_steps=round(T1 / dt0) + 1,
        )
        return _moment_loss(jnp.swapaxes(sol.ys, 0, 1), data)

    return loss


class _DiagTerm(diffrax.AbstractTerm):
    bm: diffrax.AbstractBrownianPath

    def vf(self, t, y, m):
        return jax.vmap(m.diffusion, (None, 0, None))(t, y, None)

    def contr(self, t0, t1, **kwargs):
        return self.bm.evaluate(t0, t1, **kwargs)

    def prod(self, vf, control):
        return vf * control


def make_step(loss_fn, optimizer):
    @eqx.filter_jit
    def step(model, opt_state, key):
        value, grads = eqx.filter_value_and_grad(loss_fn)(model, key)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return eqx.apply_updates(model, updates), opt_state, value

    return step


def configs(ts, data, dt0):
    n = round(T1 / dt0)
    return {
        "sciad simulate (default)": loss_sciad(ts, data, dt0),
        "sciad simulate, checkpoints=ceil(sqrt(n))": loss_sciad(
            ts,
            data,
            dt0,
            diffrax.RecursiveCheckpointAdjoint(checkpoints=math.ceil(math.sqrt(n))),
        ),
        "diffrax defaults (VirtualBrownianTree)": loss_diffrax_defaults(ts, data, dt0),
        "hand-written lax.scan EM": loss_scan(ts, data, dt0),
    }


def optimizer():
    return optax.adam(1e-3)

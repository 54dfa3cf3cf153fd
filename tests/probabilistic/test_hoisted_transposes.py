"""Data-matrix transposes hoisted out of the gradient (`_hoisted_transposes`).

The rewrite must not change a single value: every case compares
`value_and_grad` of the rewritten potential with plain autodiff (float64,
rtol 1e-12: only the summation order of the products may differ) and checks
the gradient against finite differences. The structural tests pin which
products are rewritten, since a rewrite that never fires would pass the
value checks too.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from jax import lax
from jax.test_util import check_grads

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic.diagnostics import effective_sample_size
from sciad.probabilistic.infer import MCMC, NUTS, _chain
from sciad.probabilistic.infer._hoisted_transposes import hoist_data_transposes

pytestmark = pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="the rewrite is for XLA:CPU only"
)

RNG = np.random.default_rng(0)
X = jnp.asarray(RNG.normal(size=(400, 5)))
Y = jnp.asarray(RNG.integers(0, 2, size=400), jnp.float64)
W0 = jnp.asarray(RNG.normal(size=6) * 0.3)
COUNTS = jnp.asarray(RNG.integers(0, 3, size=(400, 5)))


def logreg(x, data=X):
    z = data @ x[:-1] + x[-1]
    return -jnp.sum(Y * z - jax.nn.softplus(z)) + 0.5 * jnp.sum(x**2)


def softmax_regression(x):
    w = x[:-1].reshape(5, 1) * jnp.ones((1, 3)) * jnp.arange(1.0, 4.0)
    return -jnp.sum(jax.nn.log_softmax(X @ w, axis=-1)[:, 0]) + x[-1] ** 2


def vector_times_tall(x):
    # `r @ X` already in the forward pass; derived data (`2 * X[:, :5]`)
    return jnp.sum(jnp.sin(x[:-1] + (Y * x[-1]) @ (2.0 * X[:, :5])))


def two_uses(x):
    return jnp.sum((X @ x[:-1]) ** 2) / 400 + jnp.sum(jnp.cos(X @ x[1:]))


def with_control_flow(x):
    # an integer design matrix (converted), a runtime check, scan and cond:
    # everything but the products is evaluated as traced
    z = COUNTS @ x[:-1] / 3 + jnp.einsum("nd,d->n", X, x[:-1])
    z = eqx.error_if(z, jnp.any(jnp.isnan(z)), "NaN linear predictor")
    c, _ = lax.scan(lambda c, zi: (c + jnp.tanh(zi) * x[-1], None), 0.0, z)
    return lax.cond(c > 0, lambda c: 2 * c, lambda c: c, c)


CASES = [logreg, softmax_regression, vector_times_tall, two_uses, with_control_flow]


def _transposed_dots(fn, x):
    """Shapes of the matrix operands of the products in `value_and_grad(fn)`."""
    jaxpr = jax.make_jaxpr(jax.value_and_grad(fn))(x).jaxpr
    shapes = []

    def visit(j):
        for eqn in j.eqns:
            if eqn.primitive is lax.dot_general_p:
                shapes.append(tuple(tuple(v.aval.shape) for v in eqn.invars))
        for sub in jax.extend.core.subjaxprs(j):
            visit(sub)

    visit(jaxpr)
    return shapes


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_values_and_gradients_unchanged(fn):
    fast = hoist_data_transposes(fn, W0)
    assert fast is not fn
    v, g = jax.jit(jax.value_and_grad(fast))(W0)
    v_ref, g_ref = jax.value_and_grad(fn)(W0)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    check_grads(fast, (W0,), order=1, modes=("rev",))
    # the primal alone (no gradient requested) is the original function
    np.testing.assert_allclose(fast(W0), v_ref, rtol=1e-12)


def test_every_product_with_a_tall_data_matrix_reads_its_transpose():
    for fn in CASES:
        shapes = [
            s for op in _transposed_dots(hoist_data_transposes(fn, W0), W0) for s in op
        ]
        assert (400, 5) not in shapes, fn.__name__
        assert (5, 400) in shapes, fn.__name__
    # without the rewrite, the gradient contracts the rows of X
    assert (400, 5) in [s for op in _transposed_dots(logreg, W0) for s in op]


def test_leaves_other_potentials_alone():
    square_matrix = jnp.asarray(RNG.normal(size=(6, 6)))

    def square(x):
        return jnp.sum(square_matrix @ x) ** 2

    def wide(x):
        return jnp.sum(jnp.tanh(x @ jnp.ones((6, 700))))

    def position_dependent(x):
        return jnp.sum((X * x[0]) @ x[:-1])

    def no_products(x):
        return jnp.sum(x**2)

    for fn in (square, wide, position_dependent, no_products):
        assert hoist_data_transposes(fn, W0) is fn, fn.__name__


DATA_TRANSPOSE = "(tensor<400x5xf64>) -> tensor<5x400xf64>"


def test_data_traced_by_an_outer_jit_and_vmapped_positions():
    # As in the sampler: the data are arguments of the compiled program, the
    # rewrite runs once outside a loop and the gradient is taken inside it,
    # for a batch of positions (vectorized chains).
    @jax.jit
    def run(data, xs):
        fast = hoist_data_transposes(lambda x: logreg(x, data), xs[0])

        def body(_, xs):
            return xs - 1e-3 * jax.vmap(jax.grad(fast))(xs)

        return lax.fori_loop(0, 3, body, xs)

    xs = jnp.stack([W0, -W0, 2 * W0])
    ref = xs
    for _ in range(3):
        ref = ref - 1e-3 * jax.vmap(jax.grad(logreg))(ref)
    np.testing.assert_allclose(run(X, xs), ref, rtol=1e-12)
    text = run.lower(X, xs).as_text()
    # formed once, before the loop
    assert 0 <= text.find(DATA_TRANSPOSE) < text.find("stablehlo.while")

    # vectorized chains: the rewrite itself runs under `vmap`
    @jax.jit
    def per_chain(data, xs):
        def one(x):
            return jax.grad(hoist_data_transposes(lambda y: logreg(y, data), x))(x)

        return jax.vmap(one)(xs)

    np.testing.assert_allclose(
        per_chain(X, xs), jax.vmap(jax.grad(logreg))(xs), rtol=1e-12
    )
    assert DATA_TRANSPOSE in per_chain.lower(X, xs).as_text()
    plain = jax.jit(lambda data, xs: jax.vmap(jax.grad(lambda y: logreg(y, data)))(xs))
    assert DATA_TRANSPOSE not in plain.lower(X, xs).as_text()


def test_nuts_recovers_a_linear_regression_posterior(monkeypatch):
    # Conjugate Gaussian regression on a tall design matrix: the posterior is
    # known exactly, and the sampler's gradient goes through the rewrite.
    n, d, noise, prior = 400, 3, 0.5, 2.0
    design = jnp.asarray(RNG.normal(size=(n, d)))
    beta = jnp.asarray([1.0, -0.5, 0.25])
    y = design @ beta + noise * jnp.asarray(RNG.normal(size=n))

    def model(design, y):
        b = spp.sample("b", dist.Normal(jnp.zeros(d), prior).to_event(1))
        with spp.plate("n", n):
            spp.sample("y", dist.Normal(design @ b, noise), obs=y)

    precision = design.T @ design / noise**2 + jnp.eye(d) / prior**2
    cov = jnp.linalg.inv(precision)
    mean = cov @ (design.T @ y) / noise**2
    rewritten = []

    def spy(fn, x):
        out = hoist_data_transposes(fn, x)
        rewritten.append(out is not fn)
        return out

    monkeypatch.setattr(_chain, "hoist_data_transposes", spy)
    # two chains on two devices: the rewrite also runs inside `shard_map`
    mcmc = MCMC(
        NUTS(model),
        num_warmup=300,
        num_samples=500,
        num_chains=2,
        chain_method="parallel",
        progress_bar=False,
    )
    mcmc.run(jr.key(1), design, y)
    by_chain = np.asarray(mcmc.get_samples(group_by_chain=True)["b"])
    draws = by_chain.reshape(-1, d)
    sd = np.sqrt(np.diag(cov))
    # 5 Monte Carlo standard errors with the sampler's own ESS
    ess = effective_sample_size(by_chain)
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * sd / np.sqrt(ess))
    assert np.all(np.abs(draws.std(0) / sd - 1) < 5 * np.sqrt(0.5 / ess) + 0.03)
    assert rewritten == [True]


def test_public_rewrite_of_a_pytree_potential():
    # the functional core's entry point: a dict position, data closed over
    from sciad.probabilistic.infer import hoist_data_transposes as public

    def potential(z):
        return logreg(jnp.concatenate([z["w"], z["b"][None]]))

    z0 = {"w": W0[:-1], "b": W0[-1]}
    fast = public(potential, z0)
    assert fast is not potential
    # the rewritten products read a transposed copy, built once
    jaxpr = jax.make_jaxpr(jax.grad(fast))(z0)
    assert any(c.shape == X.shape[::-1] for c in jaxpr.consts)
    v, g = jax.value_and_grad(fast)(z0)
    v_ref, g_ref = jax.value_and_grad(potential)(z0)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    for k in z0:
        np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-12)

    # nothing to rewrite: the potential itself comes back
    def quadratic(z):
        return 0.5 * jnp.sum(z["w"] ** 2)

    assert public(quadratic, z0) is quadratic


def test_extra_undifferentiated_arguments():
    # SVI's loss takes a fresh PRNG key each step: `extra` arguments are traced
    # once, passed through, and get no cotangent.
    def noisy(x, key):
        return logreg(x + 1e-3 * jax.random.normal(key, x.shape), X)

    fast = hoist_data_transposes(noisy, W0, jr.key(0))
    assert fast is not noisy
    for k in (1, 2):
        key = jr.key(k)
        v, g = jax.value_and_grad(fast)(W0, key)
        v_ref, g_ref = jax.value_and_grad(noisy)(W0, key)
        np.testing.assert_allclose(v, v_ref, rtol=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12)


def test_svi_run_steps_through_the_rewrite(monkeypatch):
    # Bayesian linear regression with a full-rank Gaussian guide: SVI's compiled
    # loop differentiates the rewritten loss, and still finds the exact posterior.
    from sciad.probabilistic import optim
    from sciad.probabilistic.infer import SVI, Trace_ELBO, _svi
    from sciad.probabilistic.infer.autoguide import AutoMultivariateNormal

    n, d, noise = 400, 3, 0.5
    design = jnp.asarray(RNG.normal(size=(n, d)))
    y = design @ jnp.asarray([1.0, -0.5, 0.25]) + noise * jnp.asarray(
        RNG.normal(size=n)
    )

    def model(design, y):
        b = spp.sample("b", dist.Normal(jnp.zeros(d), 1.0).to_event(1))
        spp.sample("y", dist.Normal(design @ b, noise).to_event(1), obs=y)

    rewritten = []

    def spy(fn, x, *extra):
        out = hoist_data_transposes(fn, x, *extra)
        rewritten.append(out is not fn)
        return out

    monkeypatch.setattr(_svi, "hoist_data_transposes", spy)
    guide = AutoMultivariateNormal(model)
    steps = 2000
    schedule = optax.exponential_decay(0.05, steps, 0.01)
    svi = SVI(model, guide, optim.Adam(schedule), Trace_ELBO(num_particles=8))
    params = svi.run(jr.key(0), steps, design, y, progress_bar=False).params
    assert rewritten == [True]
    cov = jnp.linalg.inv(design.T @ design / noise**2 + jnp.eye(d))
    mean = cov @ (design.T @ y) / noise**2
    sd = jnp.sqrt(jnp.diag(cov))
    # converged to within a tenth of a posterior sd (the last steps are 5e-4)
    np.testing.assert_allclose(params["auto_loc"], mean, atol=0.1 * float(sd.min()))

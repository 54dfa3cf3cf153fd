"""log_density, potential_energy, constrain_fn, initialize_model, init strategies."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad
import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import (
    constrain_fn,
    init_to_feasible,
    init_to_mean,
    init_to_median,
    init_to_sample,
    init_to_uniform,
    init_to_value,
    initialize_model,
    log_density,
    potential_energy,
    transform_fn,
    unconstrain_fn,
)


def make_model(p, d):
    def model(x, y=None):
        mu = p.sample("mu", d.Normal(0.0, 1.0))
        sigma = p.sample("sigma", d.HalfNormal(1.0))
        w = p.sample("w", d.Dirichlet(jnp.ones(3)))
        L = p.sample("L", d.LKJCholesky(3, 2.0))
        u = p.sample("u", d.Uniform(-1.0, 3.0 + jnp.exp(mu)))
        p.deterministic("shift", mu + u)
        with p.plate("N", x.shape[0]):
            p.sample("y", d.Normal(mu + x * w[0] + L[1, 0], sigma), obs=y)

    return model


model = make_model(spp, dist)
X = jnp.linspace(-1.0, 1.0, 5)
Y = 0.5 * X + 0.3
Z = {
    "mu": jnp.array(0.3),
    "sigma": jnp.array(-0.2),
    "w": jnp.array([0.1, -0.4]),
    "L": jnp.array([0.1, 0.2, -0.3]),
    "u": jnp.array(0.5),
}


def test_against_numpyro():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as ndist
    from numpyro.infer import util as nutil

    nmodel = make_model(numpyro, ndist)
    ours = potential_energy(model, (X, Y), {}, Z)
    ref = nutil.potential_energy(nmodel, (X, Y), {}, Z)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    constrained = constrain_fn(model, (X, Y), {}, Z, return_deterministic=True)
    ref_c = nutil.constrain_fn(nmodel, (X, Y), {}, Z, return_deterministic=True)
    assert set(constrained) == set(ref_c) == set(Z) | {"shift"}
    for k in ref_c:
        np.testing.assert_allclose(constrained[k], ref_c[k], rtol=1e-10)
    ld, tr = log_density(model, (X, Y), {}, constrained)
    np.testing.assert_allclose(
        ld, nutil.log_density(nmodel, (X, Y), {}, ref_c)[0], rtol=1e-10
    )
    assert tr["y"]["is_observed"]


def test_unconstrain_round_trip_and_transform_fn():
    constrained = constrain_fn(model, (X, Y), {}, Z)
    back = unconstrain_fn(model, (X, Y), {}, constrained)
    for k in Z:
        np.testing.assert_allclose(back[k], Z[k], rtol=1e-8, atol=1e-10)
    t = {"sigma": dist.biject_to(dist.constraints.positive)}
    out = transform_fn(t, {"sigma": jnp.array(0.0), "mu": 1.0})
    assert out == {"sigma": 1.0, "mu": 1.0}
    assert transform_fn(t, out, invert=True)["sigma"] == 0.0


def test_potential_and_log_density_gradients():
    # float64 finite differences; the potential is smooth at Z.
    sciad.check_grads(lambda z: potential_energy(model, (X, Y), {}, z), (Z,), order=1)
    c = constrain_fn(model, (X, Y), {}, Z)
    sciad.check_grads(
        lambda mu, sigma: log_density(model, (X, Y), {}, dict(c, mu=mu, sigma=sigma))[
            0
        ],
        (c["mu"], c["sigma"]),
        order=1,
    )


def test_initialize_model_and_compile_once():
    info = initialize_model(jr.PRNGKey(0), model, model_args=(X, Y))
    z, pe, grad = info.param_info
    assert set(z) == set(Z)
    assert jnp.isfinite(pe) and all(
        jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grad)
    )
    np.testing.assert_allclose(pe, info.potential_fn(z), rtol=1e-12)
    post = info.postprocess_fn(z)
    assert set(post) == set(Z) | {"shift"} and bool(dist.constraints.simplex(post["w"]))
    assert info.model_trace["y"]["is_observed"]

    @eqx.debug.assert_max_traces(max_traces=1)
    def pe_and_grad(z):
        return jax.value_and_grad(info.potential_fn)(z)

    f = jax.jit(pe_and_grad)
    for shift in (0.0, 0.01, 0.02):
        v, _ = f(jax.tree.map(lambda a, s=shift: a + s, z))
        assert jnp.isfinite(v)


def test_dynamic_args_new_data_without_retrace():
    info = initialize_model(jr.PRNGKey(1), model, model_args=(X, Y), dynamic_args=True)

    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def pe(z, x, y):
        return info.potential_fn(x, y)(z)

    a = pe(info.param_info.z, X, Y)
    b = pe(info.param_info.z, X, Y + 1.0)
    assert jnp.isfinite(a) and a != b
    np.testing.assert_allclose(
        b, potential_energy(model, (X, Y + 1.0), {}, info.param_info.z), rtol=1e-12
    )
    assert set(info.postprocess_fn(X, Y)(info.param_info.z)) == set(Z) | {"shift"}


def test_initialize_model_under_jit_with_batched_keys():
    keys = jr.split(jr.PRNGKey(2), 3)
    pinfo = jax.jit(lambda k: initialize_model(k, model, model_args=(X, Y)).param_info)(
        keys
    )
    assert pinfo.z["w"].shape == (3, 2) and pinfo.potential_energy.shape == (3,)
    assert jnp.all(jnp.isfinite(pinfo.potential_energy))
    assert not jnp.allclose(pinfo.z["mu"][0], pinfo.z["mu"][1])


STRATEGIES = {
    "uniform": init_to_uniform,
    "uniform(radius=0.5)": init_to_uniform(radius=0.5),
    "mean": init_to_mean,
    "median": init_to_median,
    "median(num_samples=5)": init_to_median(num_samples=5),
    "sample": init_to_sample,
    "feasible": init_to_feasible,
    "value": init_to_value(values={"mu": 0.25}),
}


def simple(y=None):
    mu = spp.sample("mu", dist.Normal(3.0, 1.0))
    s = spp.sample("s", dist.Gamma(2.0, 2.0))
    spp.sample("y", dist.Normal(mu, s), obs=y)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_init_strategies(name):
    info = initialize_model(
        jr.PRNGKey(3), simple, init_strategy=STRATEGIES[name], model_args=(1.0,)
    )
    z = info.param_info.z
    assert jnp.isfinite(info.param_info.potential_energy)
    if name == "feasible":
        assert z["mu"] == 0.0 and z["s"] == 0.0
    if name == "value":
        assert z["mu"] == pytest.approx(0.25)
    if name.startswith("uniform(radius=0.5)"):
        assert abs(float(z["mu"])) < 0.5 and abs(float(z["s"])) < 0.5
    if name == "median":
        assert abs(float(z["mu"]) - 3.0) < 1.0
    if name == "mean":  # unconstrained: mu itself, log of s's mean 2 / 2
        np.testing.assert_allclose([z["mu"], z["s"]], [3.0, 0.0], atol=1e-6)


def test_init_to_mean_falls_back_to_the_median_without_a_finite_mean():
    def heavy():
        spp.sample("c", dist.Cauchy(jnp.array([1.0, -2.0]), 1.0))
        spp.sample("h", dist.HalfCauchy(1.0))
        spp.sample("b", dist.Beta(2.0, 6.0), sample_shape=(3,))

    info = initialize_model(jr.PRNGKey(4), heavy, init_strategy=init_to_mean)
    z = info.param_info.z
    assert jnp.isfinite(info.param_info.potential_energy)
    # Cauchy and HalfCauchy: the median of 15 prior draws (NumPyro: NaN)
    assert np.all(np.isfinite(z["c"])) and np.isfinite(z["h"])
    assert np.all(np.abs(z["c"] - np.array([1.0, -2.0])) < 3.0)
    # Beta(2, 6): the mean 1/4 in every row, logit-transformed
    np.testing.assert_allclose(z["b"], np.full(3, np.log(0.25 / 0.75)), rtol=1e-5)


def test_init_error_names_site_with_infinite_log_density():
    def bad(y):
        mu = spp.sample("mu", dist.Normal())
        spp.sample("y", dist.Exponential(jnp.exp(mu)), obs=y)

    with pytest.raises(RuntimeError, match="log-density of site 'y' is not finite"):
        initialize_model(jr.PRNGKey(0), bad, model_args=(-1.0,))
    f = jax.jit(lambda k, y: initialize_model(k, bad, model_args=(y,)).param_info.z)
    assert jnp.isfinite(f(jr.PRNGKey(0), 1.0)["mu"])
    with pytest.raises(Exception, match="log-density of site 'y' is not finite"):
        jax.block_until_ready(f(jr.PRNGKey(0), -1.0))


def test_init_error_names_site_with_bad_gradient():
    def kinked():
        x = spp.sample("x", dist.Normal())
        spp.factor("f", -jnp.sqrt(jnp.abs(x)))

    with pytest.raises(RuntimeError, match="gradient of the potential w.r.t. site 'x'"):
        initialize_model(
            jr.PRNGKey(0), kinked, init_strategy=init_to_value(values={"x": 0.0})
        )
    info = initialize_model(
        jr.PRNGKey(0),
        kinked,
        init_strategy=init_to_value(values={"x": 0.0}),
        validate_grad=False,
    )
    assert info.param_info.z["x"] == 0.0


def test_discrete_latent_is_rejected():
    def discrete():
        spp.sample("k", dist.Poisson(3.0))

    with pytest.raises(ValueError, match="site 'k' is a discrete latent"):
        initialize_model(jr.PRNGKey(0), discrete)


def test_missing_latent_in_log_density_names_site():
    with pytest.raises(RuntimeError, match="sample site 's'"):
        log_density(simple, (1.0,), {}, {"mu": 0.0})


def test_subsample_scale_in_log_density():
    data = jnp.arange(6.0)

    def sub():
        mu = spp.sample("mu", dist.Normal())
        with spp.plate("N", 6, subsample_size=2):
            spp.sample("y", dist.Normal(mu, 1.0), obs=spp.subsample(data, event_dim=0))

    ld, tr = log_density(handlers.seed(sub, 0), (), {}, {"mu": 0.5})
    idx = tr["N"]["value"]
    expected = dist.Normal().log_prob(0.5) + 3.0 * jnp.sum(
        dist.Normal(0.5, 1.0).log_prob(data[idx])
    )
    np.testing.assert_allclose(ld, expected, rtol=1e-12)


def test_float32_model_keeps_float32_potential():
    z = {"mu": jnp.float32(0.1), "s": jnp.float32(0.2)}
    pe = potential_energy(simple, (jnp.float32(1.0),), {}, z)
    assert pe.dtype == jnp.float32

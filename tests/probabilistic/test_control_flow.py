"""`scan` and `cond`: sample sites inside `lax.scan` / `lax.cond` (NumPyro's
`contrib.control_flow`).

Oracles: the same model unrolled as a Python loop with one site per step (its
potential, gradient and log-density must equal the scanned model's to float64
rounding); the Gaussian random walk observed with noise, whose posterior is
Gaussian in closed form (NUTS and MAP must recover it); the random walk's own
increments for forecasts. Monte Carlo checks use 4.5 standard errors computed
from the draws (a false alarm ~1e-5 per check).
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic import handlers, infer, optim
from sciad.probabilistic.contrib.control_flow import cond, scan
from sciad.probabilistic.diagnostics import effective_sample_size
from sciad.probabilistic.infer import SVI, Trace_ELBO
from sciad.probabilistic.infer.autoguide import AutoDelta, AutoNormal
from sciad.probabilistic.reparam import LocScaleReparam

T = 5
Y = jnp.array([0.3, -0.4, 0.8, 1.5, 0.9])
OBS_SD = 0.5


def stepped(y):
    """Random walk with a step-dependent bounded site and a positive scale."""
    s = spp.sample("s", dist.HalfNormal(1.0))

    def step(c, yt):
        x = spp.sample("x", dist.Normal(0.9 * c, s))
        w = spp.sample("w", dist.Uniform(0.0, jnp.abs(c) + 1.0))  # bound from carry
        v = spp.sample("v", dist.Gamma(2.0, 1.0 + w))
        spp.sample("y", dist.Normal(x + w, v), obs=yt)
        return x, x * 2

    _, doubled = scan(step, 0.0, y)
    spp.deterministic("doubled", doubled)


def unrolled(y):
    s = spp.sample("s", dist.HalfNormal(1.0))
    c = 0.0
    for t in range(T):
        x = spp.sample(f"x{t}", dist.Normal(0.9 * c, s))
        w = spp.sample(f"w{t}", dist.Uniform(0.0, jnp.abs(c) + 1.0))
        v = spp.sample(f"v{t}", dist.Gamma(2.0, 1.0 + w))
        spp.sample(f"y{t}", dist.Normal(x + w, v), obs=y[t])
        c = x


def _per_step(values: dict) -> dict:
    """`{"x": series}` as the unrolled model's `{"x0": ..., "x1": ...}`."""
    out = {}
    for k, v in values.items():
        if jnp.ndim(v) and k != "s":
            out.update({f"{k}{t}": v[t] for t in range(T)})
        else:
            out[k] = v
    return out


U = {
    "s": jnp.array(-0.4),
    "x": jnp.array([0.2, -1.1, 0.4, 0.9, -0.3]),
    "w": jnp.array([-0.7, 0.3, 1.2, -2.0, 0.1]),
    "v": jnp.array([0.5, -0.2, 0.1, 0.8, -0.6]),
}


def test_trace_stacks_each_site_along_time():
    tr = handlers.trace(handlers.seed(stepped, 0)).get_trace(Y)
    assert list(tr) == ["s", "x", "w", "v", "y", "doubled"]
    for name in ("x", "w", "v", "y"):
        site = tr[name]
        assert isinstance(site["fn"], dist.StackedDistribution)
        assert site["value"].shape == site["fn"].shape() == (T,)
    assert tr["y"]["is_observed"] and not tr["x"]["is_observed"]
    np.testing.assert_array_equal(tr["y"]["value"], Y)
    np.testing.assert_allclose(tr["doubled"]["value"], 2 * tr["x"]["value"])
    # the bound of `w` at step t is |x_{t-1}| + 1: one support per step
    support = tr["w"]["fn"].support
    bounds = jnp.abs(jnp.concatenate([jnp.zeros(1), tr["x"]["value"][:-1]])) + 1
    assert bool(jnp.all(support(tr["w"]["value"])))
    assert not bool(support(bounds + 0.01).any())


def test_potential_gradient_and_log_density_equal_the_unrolled_model():
    pe = infer.potential_energy(stepped, (Y,), {}, U)
    pe_loop = infer.potential_energy(unrolled, (Y,), {}, _per_step(U))
    np.testing.assert_allclose(pe, pe_loop, rtol=1e-13)
    grad = jax.grad(lambda u: infer.potential_energy(stepped, (Y,), {}, u))(U)
    grad_loop = jax.grad(lambda u: infer.potential_energy(unrolled, (Y,), {}, u))(
        _per_step(U)
    )
    for name in ("x", "w", "v"):
        expect = jnp.stack([grad_loop[f"{name}{t}"] for t in range(T)])
        np.testing.assert_allclose(grad[name], expect, rtol=1e-12)
    np.testing.assert_allclose(grad["s"], grad_loop["s"], rtol=1e-12)
    constrained = infer.constrain_fn(stepped, (Y,), {}, U)
    back = infer.unconstrain_fn(stepped, (Y,), {}, constrained)
    for k in U:
        np.testing.assert_allclose(back[k], U[k], rtol=1e-10, atol=1e-12)
    lp, _ = infer.log_density(stepped, (Y,), {}, constrained)
    lp_loop, _ = infer.log_density(unrolled, (Y,), {}, _per_step(constrained))
    np.testing.assert_allclose(lp, lp_loop, rtol=1e-13)


def test_potential_equals_numpyros_scan():
    numpyro = pytest.importorskip("numpyro")
    from numpyro.contrib.control_flow import scan as numpyro_scan
    from numpyro.distributions import Gamma, HalfNormal, Normal, Uniform
    from numpyro.infer.util import potential_energy

    def numpyro_stepped(y):
        s = numpyro.sample("s", HalfNormal(1.0))

        def step(c, yt):
            x = numpyro.sample("x", Normal(0.9 * c, s))
            w = numpyro.sample("w", Uniform(0.0, jnp.abs(c) + 1.0))
            v = numpyro.sample("v", Gamma(2.0, 1.0 + w))
            numpyro.sample("y", Normal(x + w, v), obs=yt)
            return x, x * 2

        numpyro_scan(step, 0.0, y)

    expect = potential_energy(numpyro_stepped, (Y,), {}, U)
    np.testing.assert_allclose(
        infer.potential_energy(stepped, (Y,), {}, U), expect, rtol=1e-12
    )


def test_reverse_keeps_values_indexed_by_step():
    def model(reverse):
        def step(c, t):
            x = spp.sample("x", dist.Normal(c + t, 1.0))
            return x, c

        _, carries = scan(step, 0.0, jnp.arange(T, dtype=float), reverse=reverse)
        spp.deterministic("carries", carries)

    x = jnp.array([1.0, -2.0, 0.5, 3.0, -1.0])
    for reverse in (False, True):
        tr = handlers.trace(handlers.condition(model, {"x": x})).get_trace(reverse)
        order = range(T - 1, -1, -1) if reverse else range(T)
        c, carries = 0.0, {}
        for t in order:  # each step's carry is the previous step's x
            carries[t] = c
            c = x[t]
        np.testing.assert_allclose(
            tr["carries"]["value"], [carries[t] for t in range(T)]
        )
        loc = jnp.array([carries[t] + t for t in range(T)])
        np.testing.assert_allclose(
            tr["x"]["fn"].log_prob(x), dist.Normal(loc, 1.0).log_prob(x), rtol=1e-13
        )


def test_plates_and_sample_shape_inside_the_body():
    def model():
        def step(c, _):
            with spp.plate("units", 3):
                z = spp.sample("z", dist.Normal(c, 1.0))
            e = spp.sample("e", dist.Exponential(2.0), sample_shape=(2,))
            return z.mean() + e.sum(), None

        scan(step, 0.0, None, length=T)

    tr = handlers.trace(handlers.seed(model, 1)).get_trace()
    assert tr["z"]["value"].shape == tr["z"]["fn"].batch_shape == (T, 3)
    assert tr["z"]["cond_indep_stack"][0].name == "units"
    assert tr["e"]["value"].shape == tr["e"]["fn"].shape() == (T, 2)
    z, e = tr["z"]["value"], tr["e"]["value"]
    carry = jnp.concatenate([jnp.zeros(1), (z.mean(1) + e.sum(1))[:-1]])
    expect = (
        dist.Normal(carry[:, None], 1.0).log_prob(z).sum()
        + dist.Exponential(2.0).log_prob(e).sum()
    )
    lp, _ = infer.log_density(model, (), {}, {"z": z, "e": e})
    np.testing.assert_allclose(lp, expect, rtol=1e-13)


def random_walk(y=None, future=0):
    """x_t = x_{t-1} + N(0, 1), y_t = x_t + N(0, OBS_SD): a Gaussian posterior."""

    def step(c, _):
        x = spp.sample("x", dist.Normal(c, 1.0))
        spp.sample("y", dist.Normal(x, OBS_SD))
        return x, None

    data = {} if y is None else {"y": y}
    with handlers.condition(data=data):
        scan(step, 0.0, None, length=T + future)


def _exact_posterior():
    idx = jnp.arange(1, T + 1)
    prior_cov = jnp.minimum(idx[:, None], idx[None, :]).astype(float)
    precision = jnp.linalg.inv(prior_cov) + jnp.eye(T) / OBS_SD**2
    cov = jnp.linalg.inv(precision)
    return cov @ Y / OBS_SD**2, cov


def test_nuts_recovers_the_random_walk_posterior():
    mean, cov = _exact_posterior()
    mcmc = infer.MCMC(
        infer.NUTS(random_walk), num_warmup=500, num_samples=1000, progress_bar=False
    )
    mcmc.run(jr.key(0), Y)
    x = mcmc.get_samples(group_by_chain=True)["x"]
    assert x.shape == (1, 1000, T)
    ess = effective_sample_size(np.asarray(x))
    err = np.abs(x[0].mean(0) - mean)
    assert np.all(err < 4.5 * np.sqrt(np.diag(cov) / ess)), (err, ess)


def test_map_of_the_scanned_model_is_the_posterior_mean():
    mean, _ = _exact_posterior()
    guide = AutoDelta(random_walk)
    svi = SVI(random_walk, guide, optim.Adam(0.05), Trace_ELBO())
    result = svi.run(jr.key(0), 3000, Y, progress_bar=False)
    # AutoDelta's loss is deterministic: Adam converges to the mode, which for a
    # Gaussian posterior is its mean
    np.testing.assert_allclose(result.params["x_auto_loc"], mean, atol=1e-3)


def test_elbo_equals_the_vectorised_model():
    def vectorised(y):
        x = spp.sample("x", dist.Normal(0.0, 10.0).expand([T]).to_event(1))
        prev = jnp.concatenate([jnp.zeros(1), x[:-1]])
        spp.factor(
            "walk",
            dist.Normal(prev, 1.0).log_prob(x).sum()
            - dist.Normal(0.0, 10.0).log_prob(x).sum(),
        )
        spp.sample("y", dist.Normal(x, OBS_SD), obs=y)

    def guide(y):
        loc = spp.param("loc", jnp.zeros(T))
        spp.sample("x", dist.Normal(loc, 0.7).to_event(1))

    params = {"loc": jnp.linspace(-1, 1, T)}
    elbo = Trace_ELBO(num_particles=4)
    loss = elbo.loss(jr.key(3), params, random_walk, guide, Y)
    expect = elbo.loss(jr.key(3), params, vectorised, guide, Y)
    np.testing.assert_allclose(loss, expect, rtol=1e-12)


def test_a_scanned_guide_is_replayed_step_by_step():
    def delta_guide(y):
        loc = spp.param("loc", jnp.zeros(T))

        def step(c, l_t):
            return c, spp.sample("x", dist.Delta(l_t))

        scan(step, 0.0, loc)

    loc = jnp.array([0.2, -0.3, 0.9, 1.1, 0.4])
    loss = Trace_ELBO().loss(jr.key(0), {"loc": loc}, random_walk, delta_guide, Y)
    log_joint, _ = infer.log_density(random_walk, (Y,), {}, {"x": loc})
    np.testing.assert_allclose(loss, -log_joint, rtol=1e-13)


def test_autonormal_on_a_scanned_model():
    def model(y):
        def step(c, yt):
            scale = spp.sample("scale", dist.LogNormal(0.0, 0.3))
            spp.sample("y", dist.Normal(c, scale), obs=yt)
            return c + 0.1, None

        scan(step, 0.0, y)

    guide = AutoNormal(model)
    svi = SVI(model, guide, optim.Adam(0.02), Trace_ELBO())
    result = svi.run(jr.key(0), 200, Y, progress_bar=False)
    assert result.params["scale_auto_loc"].shape == (T,)
    draws = guide.sample_posterior(jr.key(1), result.params, sample_shape=(7,))
    assert draws["scale"].shape == (7, T) and bool(jnp.all(draws["scale"] > 0))
    assert np.all(np.isfinite(result.losses))


def test_predictive_forecasts_past_the_posterior_draws():
    n, future = 4000, 3
    posterior = {"x": jr.normal(jr.key(0), (n, T)).cumsum(-1)}
    predictive = infer.Predictive(random_walk, posterior, return_sites=["x", "y"])
    pred = predictive(jr.key(1), Y, future=future)
    x, y = pred["x"], pred["y"]
    assert x.shape == y.shape == (n, T + future)
    np.testing.assert_array_equal(x[:, :T], posterior["x"])
    np.testing.assert_array_equal(y[:, :T], jnp.broadcast_to(Y, (n, T)))
    # beyond the draws the walk goes on: increments N(0, 1), observations N(x, 0.5)
    for step in (x[:, T] - x[:, T - 1], x[:, -1] - x[:, -2]):
        assert abs(float(step.mean())) < 4.5 / np.sqrt(n)
        assert abs(float(step.std()) - 1.0) < 4.5 / np.sqrt(2 * n)
    noise = y[:, T:] - x[:, T:]
    assert abs(float(noise.std()) - OBS_SD) < 4.5 * OBS_SD / np.sqrt(2 * noise.size)
    pointwise = infer.log_likelihood(random_walk, {"x": posterior["x"][:5]}, Y)["y"]
    expect = dist.Normal(posterior["x"][:5], OBS_SD).log_prob(Y)
    np.testing.assert_allclose(pointwise, expect, rtol=1e-12)


def test_scale_and_mask_inside_and_outside_the_body():
    def model(outer_scale):
        def step(c, _):
            with handlers.scale(scale=3.0), handlers.mask(mask=c < 1.0):
                x = spp.sample("x", dist.Normal(c, 1.0))
            return c + 0.5, x

        with handlers.scale(scale=outer_scale):
            scan(step, 0.0, None, length=4)

    x = jnp.array([0.3, -0.2, 1.4, 0.8])
    lp, tr = infer.log_density(model, (2.0,), {}, {"x": x})
    c = jnp.arange(4) * 0.5
    expect = 6.0 * jnp.sum(jnp.where(c < 1.0, dist.Normal(c, 1.0).log_prob(x), 0.0))
    np.testing.assert_allclose(lp, expect, rtol=1e-13)
    np.testing.assert_array_equal(tr["x"]["mask"], c < 1.0)


def test_reparam_acts_at_each_step():
    config = {"x": LocScaleReparam(centered=0)}

    def loop(y):
        c = 0.0
        for t in range(T):
            x = spp.sample(f"x{t}", dist.Normal(c, 1.0))
            spp.sample(f"y{t}", dist.Normal(x, OBS_SD), obs=y[t])
            c = x

    loop_config = {f"x{t}": LocScaleReparam(centered=0) for t in range(T)}
    model = handlers.reparam(random_walk, config)
    tr = handlers.trace(handlers.seed(model, 0)).get_trace(Y)
    assert tr["x_decentered"]["value"].shape == (T,)
    assert tr["x"]["type"] == "deterministic"
    u = {"x_decentered": jnp.array([0.3, -0.2, 1.0, 0.4, -0.8])}
    pe = infer.potential_energy(model, (Y,), {}, u)
    u_loop = {f"x{t}_decentered": u["x_decentered"][t] for t in range(T)}
    pe_loop = infer.potential_energy(
        handlers.reparam(loop, loop_config), (Y,), {}, u_loop
    )
    np.testing.assert_allclose(pe, pe_loop, rtol=1e-13)


def test_nested_scans_equal_the_double_loop():
    def nested():
        def outer(c, _):
            def inner(d, _):
                z = spp.sample("z", dist.Normal(d, 1.0))
                return z, None

            d, _ = scan(inner, c, None, length=3)
            return d, None

        scan(outer, 0.0, None, length=2)

    def loop():
        d = 0.0
        for i in range(2):
            for j in range(3):
                d = spp.sample(f"z{i}{j}", dist.Normal(d, 1.0))

    z = jnp.array([[0.1, -0.5, 0.7], [1.2, 0.3, -0.4]])
    tr = handlers.trace(handlers.seed(nested, 0)).get_trace()
    assert tr["z"]["value"].shape == tr["z"]["fn"].shape() == (2, 3)
    pe = infer.potential_energy(nested, (), {}, {"z": z})
    flat = {f"z{i}{j}": z[i, j] for i in range(2) for j in range(3)}
    np.testing.assert_allclose(
        pe, infer.potential_energy(loop, (), {}, flat), rtol=1e-13
    )


def test_without_handlers_scan_is_lax_scan():
    def step(c, x):
        return c + spp.sample("y", dist.Normal(0.0, 1.0), obs=x), c

    carry, ys = scan(step, 0.0, Y)
    np.testing.assert_allclose(carry, Y.sum())
    np.testing.assert_allclose(ys, jnp.concatenate([jnp.zeros(1), Y.cumsum()[:-1]]))


def test_same_key_same_draws_and_jit():
    @jax.jit
    def run(key):
        tr = handlers.trace(handlers.seed(stepped, key)).get_trace(Y)
        return tr["x"]["value"]

    np.testing.assert_array_equal(run(jr.key(4)), run(jr.key(4)))
    assert not np.allclose(run(jr.key(4)), run(jr.key(5)))


def _seeded_trace(model, *args):
    return handlers.trace(handlers.seed(model, 0)).get_trace(*args)


def test_errors_name_the_problem():
    def in_plate():
        with spp.plate("n", 2):
            scan(lambda c, _: (c, None), 0.0, None, length=3)

    with pytest.raises(ValueError, match="scan inside plate 'n'"):
        _seeded_trace(in_plate)

    def with_param():
        scan(lambda c, _: (spp.param("p", 1.0), None), 0.0, None, length=3)

    with pytest.raises(ValueError, match="param .p. inside the function it runs"):
        _seeded_trace(with_param)

    def enumerated():
        def step(c, _):
            spp.sample("k", dist.Bernoulli(0.5), infer={"enumerate": "parallel"})
            return c, None

        scan(step, 0.0, None, length=3)

    with pytest.raises(NotImplementedError, match="site 'k' is marked for enum"):
        _seeded_trace(enumerated)

    def discrete():
        def step(c, _):
            return c + spp.sample("k", dist.Bernoulli(0.5)), None

        scan(step, 0.0, None, length=3)

    with pytest.raises(
        ValueError, match="site 'k' is a discrete latent.*inside `scan`"
    ):
        infer.initialize_model(jr.key(0), discrete)
    with pytest.raises(ValueError, match="length"):
        _seeded_trace(lambda: scan(lambda c, x: (c, x), 0.0, None))
    with pytest.raises(ValueError, match="leading axis of size 5"):
        _seeded_trace(
            lambda: scan(lambda c, x: (c, x), 0.0, (Y, jnp.zeros(4)), length=5)
        )
    too_long = handlers.substitute(random_walk, {"x": jnp.zeros(T + 1)})
    with pytest.raises(ValueError, match="site 'x' has 6 steps; the loop has 5"):
        _seeded_trace(too_long)
    short = handlers.substitute(random_walk, {"x": jnp.zeros(T - 1)})
    with pytest.raises(ValueError, match="needs a seed handler"):
        handlers.trace(short).get_trace()
    with pytest.raises(NotImplementedError, match="do: site 'x' is inside `scan`"):
        _seeded_trace(handlers.do(random_walk, {"x": jnp.zeros(T)}))


def branching():
    cluster = spp.sample("cluster", dist.Normal(0.0, 1.0))
    return cond(
        cluster > 0,
        lambda scale: spp.sample("x", dist.Normal(20.0, scale)),
        lambda scale: spp.sample("x", dist.Normal(0.0, scale)),
        2.0,
    )


def branching_by_where():
    cluster = spp.sample("cluster", dist.Normal(0.0, 1.0))
    spp.sample("x", dist.Normal(jnp.where(cluster > 0, 20.0, 0.0), 2.0))


def test_cond_density_equals_the_where_model():
    for cluster, x in ((0.7, 18.5), (-0.3, 1.2)):
        u = {"cluster": jnp.array(cluster), "x": jnp.array(x)}
        pe = infer.potential_energy(branching, (), {}, u)
        np.testing.assert_allclose(
            pe, infer.potential_energy(branching_by_where, (), {}, u), rtol=1e-14
        )
        grad = jax.grad(lambda u: infer.potential_energy(branching, (), {}, u))(u)
        expect = jax.grad(
            lambda u: infer.potential_energy(branching_by_where, (), {}, u)
        )(u)
        for k in u:
            np.testing.assert_allclose(grad[k], expect[k], rtol=1e-14)


def test_cond_draws_from_the_branch_taken():
    draws = infer.Predictive(branching, num_samples=4000)(jr.key(0))
    assert draws["x"].shape == (4000,)
    noise = draws["x"] - 20.0 * (draws["cluster"] > 0)
    assert abs(float(noise.mean())) < 4.5 * 2.0 / np.sqrt(4000)
    assert abs(float(noise.std()) - 2.0) < 4.5 * 2.0 / np.sqrt(2 * 4000)
    tr = handlers.trace(handlers.substitute(branching, {"cluster": 1.0, "x": 3.0}))
    assert float(tr.get_trace()["x"]["value"]) == 3.0


def test_cond_branches_must_record_the_same_sites():
    def other_name():
        return cond(
            True,
            lambda _: spp.sample("x", dist.Normal(0.0, 1.0)),
            lambda _: spp.sample("z", dist.Normal(0.0, 1.0)),
            None,
        )

    with pytest.raises(ValueError, match=r"true_fun records \[\('sample', 'x'\)\]"):
        _seeded_trace(other_name)

    def other_family():
        return cond(
            True,
            lambda _: spp.sample("x", dist.Normal(0.0, 1.0)),
            lambda _: spp.sample("x", dist.Cauchy(0.0, 1.0)),
            None,
        )

    with pytest.raises(ValueError, match="same family.*Normal.*Cauchy"):
        _seeded_trace(other_family)

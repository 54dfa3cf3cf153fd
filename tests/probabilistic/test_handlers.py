"""Effect handlers one by one and composed, eagerly and under jax.jit."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers
from sciad.probabilistic.infer import log_density
from sciad.probabilistic.reparam import LocScaleReparam

JIT = pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])


def maybe_jit(fn, jit):
    return jax.jit(fn) if jit else fn


def model(y=None):
    mu = spp.sample("mu", dist.Normal(0.0, 2.0))
    sigma = spp.sample("sigma", dist.HalfNormal(1.0))
    with spp.plate("N", 3):
        spp.sample("y", dist.Normal(mu, sigma), obs=y)
    return mu


Y = jnp.array([0.5, -0.2, 1.0])


def values(tr):
    return {k: s["value"] for k, s in tr.items() if s["type"] == "sample"}


@JIT
def test_seed_is_reproducible(jit):
    f = maybe_jit(
        lambda k: values(handlers.trace(handlers.seed(model, k)).get_trace()), jit
    )
    a, b, c = f(jr.PRNGKey(0)), f(jr.PRNGKey(0)), f(jr.PRNGKey(1))
    np.testing.assert_array_equal(a["y"], b["y"])
    assert not jnp.allclose(a["y"], c["y"])


def test_seed_forms_agree():
    wrapped = handlers.seed(model, rng_seed=3)()
    with handlers.seed(rng_seed=3):
        ctx = model()

    @handlers.seed(rng_seed=3)
    def decorated():
        return model()

    assert wrapped == ctx == decorated()
    # Same handler object called twice restarts from its seed.
    seeded = handlers.seed(model, rng_seed=3)
    assert seeded() == seeded()
    # Typed keys work as well as raw keys and ints.
    assert handlers.seed(model, rng_seed=jr.key(3))().shape == ()


@JIT
def test_seed_trace_condition(jit):
    def run(key):
        conditioned = handlers.condition(model, data={"mu": 0.7})
        tr = handlers.trace(handlers.seed(conditioned, key)).get_trace(Y)
        return tr["mu"]["value"], tr["mu"]["is_observed"], tr["y"]["is_observed"]

    mu, observed, y_observed = (
        run(jr.PRNGKey(0))
        if not jit
        else (jax.jit(lambda k: run(k)[0])(jr.PRNGKey(0)), True, True)
    )
    assert mu == pytest.approx(0.7)
    assert observed and y_observed


@JIT
def test_substitute_under_plate(jit):
    def run(key, y_val):
        sub = handlers.substitute(model, data={"y": y_val, "mu": 1.0})
        return values(handlers.trace(handlers.seed(sub, key)).get_trace())

    out = maybe_jit(run, jit)(jr.PRNGKey(0), Y)
    np.testing.assert_allclose(out["y"], Y)
    assert out["mu"] == 1.0
    fn_out = handlers.trace(
        handlers.seed(
            handlers.substitute(
                model, substitute_fn=lambda s: 2.0 if s["name"] == "sigma" else None
            ),
            0,
        )
    ).get_trace()
    assert fn_out["sigma"]["value"] == 2.0 and not fn_out["sigma"]["is_observed"]
    with pytest.raises(ValueError, match="exactly one"):
        handlers.substitute(model)


@JIT
def test_replay(jit):
    def run(key):
        guide_tr = handlers.trace(handlers.seed(model, key)).get_trace()
        replayed = handlers.trace(
            handlers.seed(handlers.replay(model, guide_tr), 99)
        ).get_trace()
        return guide_tr["mu"]["value"], replayed["mu"]["value"], replayed["N"]["value"]

    a, b, idx = maybe_jit(run, jit)(jr.PRNGKey(2))
    assert a == b and idx.shape == (3,)


def test_block_inside_trace():
    def run(**kw):
        return set(
            handlers.trace(handlers.block(handlers.seed(model, 0), **kw)).get_trace()
        )

    assert run() == set()
    assert run(hide=["mu"]) == {"sigma", "N", "y"}
    assert run(expose=["mu"]) == {"mu"}
    assert run(expose_types=["plate"]) == {"N"}
    assert run(hide_fn=lambda s: s["type"] == "sample") == {"N"}
    # A blocked site is still seeded by handlers inside the block.
    assert handlers.block(handlers.seed(model, 0))().shape == ()


def test_block_hidden_sites_take_keys_from_a_seed_outside():
    # NumPyro 0.22: a hidden site without a value asks the handlers outside for
    # a key (`prng_key` requests are never hidden), so it is drawn, just hidden.
    def chain():
        a = spp.sample("a", dist.Normal(0.0, 1.0))
        return spp.sample("b", dist.Normal(a, 1.0))

    full = handlers.trace(handlers.seed(chain, 3)).get_trace()
    for kw in ({"hide": ["a"]}, {}):
        tr = handlers.trace(handlers.seed(handlers.block(chain, **kw), 3)).get_trace()
        assert "a" not in tr
        if kw:  # the same key stream as unblocked: keys are taken in site order
            assert tr["b"]["value"] == full["b"]["value"]
    assert handlers.seed(handlers.block(chain), 3)() == full["b"]["value"]
    with handlers.seed(rng_seed=0), handlers.block():
        assert spp.prng_key() is not None
    # an observed site or one with a key of its own asks for nothing
    with handlers.seed(rng_seed=0) as outer, handlers.block():
        before = outer.rng_key
        spp.sample("y", dist.Normal(0.0, 1.0), obs=1.0)
        spp.sample("k", dist.Normal(0.0, 1.0), rng_key=jr.key(1))
        assert outer.rng_key is before
    with pytest.raises(RuntimeError, match="'a' has no value and no PRNG key"):
        handlers.block(chain, hide=["a"])()


@JIT
def test_scale_and_mask_weight_log_density(jit):
    params = {"mu": 0.3, "sigma": 1.2}

    def lds(y):
        base = log_density(model, (y,), {}, params)[0]
        scaled = log_density(handlers.scale(model, scale=2.5), (y,), {}, params)[0]
        masked = log_density(masked_model, (y,), {}, params)[0]
        nothing = log_density(handlers.mask(model, mask=False), (y,), {}, params)[0]
        return base, scaled, masked, nothing

    def masked_model(y):
        mu = spp.sample("mu", dist.Normal(0.0, 2.0))
        sigma = spp.sample("sigma", dist.HalfNormal(1.0))
        with spp.plate("N", 3), handlers.mask(mask=jnp.array([True, False, True])):
            spp.sample("y", dist.Normal(mu, sigma), obs=y)

    base, scaled, masked, nothing = maybe_jit(lds, jit)(Y)
    assert nothing == 0.0
    np.testing.assert_allclose(scaled, 2.5 * base, rtol=1e-12)
    lp_mu = dist.Normal(0.0, 2.0).log_prob(0.3) + dist.HalfNormal(1.0).log_prob(1.2)
    lp_y = dist.Normal(0.3, 1.2).log_prob(Y)
    np.testing.assert_allclose(base, lp_mu + lp_y.sum(), rtol=1e-12)
    np.testing.assert_allclose(masked, lp_mu + lp_y[0] + lp_y[2], rtol=1e-12)
    with pytest.raises(ValueError, match="positive"):
        handlers.scale(model, scale=-1.0)
    with pytest.raises(ValueError, match="boolean"):
        handlers.mask(model, mask=jnp.array([1.0]))


def test_nested_scales_multiply_with_subsample():
    def sub_model():
        with spp.plate("N", 8, subsample_size=2):
            spp.sample("y", dist.Normal(), obs=jnp.zeros(2))

    tr = handlers.trace(
        handlers.seed(handlers.scale(handlers.scale(sub_model, 2.0), 3.0), 0)
    ).get_trace()
    assert tr["y"]["scale"] == pytest.approx(24.0)


def test_do_intervention():
    def causal():
        x = spp.sample("x", dist.Normal())
        y = spp.sample("y", dist.Normal(10 * x, 0.01))
        return x, y

    tr = handlers.trace(
        handlers.seed(handlers.do(causal, data={"x": 5.0}), 0)
    ).get_trace()
    # The recorded x is a draw from its prior, but y depends on the intervened value.
    assert tr["x"]["value"] != 5.0 and not tr["x"]["is_observed"]
    assert abs(float(tr["y"]["value"]) - 50.0) < 0.1
    assert "x__CF" not in tr


@JIT
def test_loc_scale_reparam(jit):
    def centred():
        with spp.plate("J", 2):
            return spp.sample("theta", dist.Normal(1.0, 3.0))

    def run(key):
        rep = handlers.reparam(centred, config={"theta": LocScaleReparam(centered=0)})
        tr = handlers.trace(handlers.seed(rep, key)).get_trace()
        return (
            tr["theta"]["value"],
            tr["theta_decentered"]["value"],
            tr["theta_decentered"]["fn"].log_prob(0.0),
        )

    theta, z, lp0 = maybe_jit(run, jit)(jr.PRNGKey(0))
    np.testing.assert_allclose(theta, 1.0 + 3.0 * z, rtol=1e-12)
    np.testing.assert_allclose(lp0, dist.Normal().log_prob(jnp.zeros(2)), rtol=1e-12)
    tr = handlers.trace(
        handlers.seed(handlers.reparam(centred, config={"theta": LocScaleReparam()}), 0)
    ).get_trace()
    assert (
        tr["theta"]["type"] == "deterministic"
        and tr["theta_centered"]["type"] == "param"
    )
    # centered=1 leaves the site untouched; StudentT keeps df via shape_params.
    tr = handlers.trace(
        handlers.seed(
            handlers.reparam(centred, config=lambda s: LocScaleReparam(1.0)), 0
        )
    ).get_trace()
    assert tr["theta"]["type"] == "sample"

    def t_model():
        return spp.sample("t", dist.StudentT(4.0, 1.0, 2.0))

    rep = handlers.reparam(
        t_model, config={"t": LocScaleReparam(0.0, shape_params=("df",))}
    )
    tr = handlers.trace(handlers.seed(rep, 0)).get_trace()
    assert tr["t_decentered"]["fn"].df == 4.0


def test_infer_config_and_scope():
    tr = handlers.trace(
        handlers.seed(handlers.infer_config(model, lambda s: {"tag": 1}), 0)
    ).get_trace()
    assert tr["mu"]["infer"]["tag"] == 1
    tr = handlers.trace(handlers.seed(handlers.scope(model, prefix="a"), 0)).get_trace()
    assert {"a/mu", "a/sigma", "a/y"} <= set(tr)


def test_handler_stack_is_clean_after_error():
    from sciad.probabilistic._primitives import _PYRO_STACK

    def broken():
        spp.sample("x", dist.Normal())
        raise KeyError("boom")

    with pytest.raises(KeyError):
        handlers.trace(handlers.seed(broken, 0)).get_trace()
    assert _PYRO_STACK == []


def test_log_density_matches_numpyro_for_composed_handlers():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as ndist

    def make(p, d, h, rep):
        def m(y):
            mu = p.sample("mu", d.Normal(0.0, 2.0))
            tau = p.sample("tau", d.HalfCauchy(1.0))
            with p.plate("J", 3):
                theta = p.sample("theta", d.Normal(mu, tau))
                p.sample("y", d.Normal(theta, 1.0), obs=y)

        return h.reparam(h.scale(m, 0.5), config={"theta": rep(centered=0)})

    from numpyro.infer.reparam import LocScaleReparam as NLocScale

    params = {"mu": 0.2, "tau": 1.3, "theta_decentered": jnp.array([0.1, -0.5, 2.0])}
    ours = log_density(make(spp, dist, handlers, LocScaleReparam), (Y,), {}, params)[0]
    ref = numpyro.infer.util.log_density(
        make(numpyro, ndist, numpyro.handlers, NLocScale), (Y,), {}, params
    )[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


# --- seed: NumPyro's key-splitting semantics ------------------------------------


def _keyed_model(p, d):
    # Every kind of key consumer: latent, prng_key(), subsampled plate, observed
    # (no key), explicit rng_key (no key), latent again.
    def m():
        p.sample("a", d.Normal(0.0, 1.0))
        k1 = p.prng_key()
        with p.plate("N", 5, subsample_size=2):
            p.sample("b", d.Normal(0.0, 1.0))
        p.sample("c", d.Normal(0.0, 1.0), obs=1.0)
        p.sample("e", d.Normal(0.0, 1.0), rng_key=jr.key(7))
        p.sample("f", d.Normal(0.0, 1.0))
        return k1, p.prng_key()

    return m


def _keys(p, h, model, wrap):
    """Key data of every site key and returned key, under handler layout ``wrap``."""
    tr = h.trace(wrap(h, model)).get_trace()
    site_keys = {
        k: jr.key_data(s["kwargs"]["rng_key"])
        for k, s in tr.items()
        if s["type"] in ("sample", "plate") and s["kwargs"].get("rng_key") is not None
    }
    return site_keys


SEED_LAYOUTS = {
    "seed": lambda h, m: h.seed(m, 0),
    "condition-inside-seed": lambda h, m: h.seed(h.condition(m, {"a": 1.0}), 0),
    "condition-outside-seed": lambda h, m: h.condition(h.seed(m, 0), {"a": 1.0}),
    "substitute-inside-seed": lambda h, m: h.seed(h.substitute(m, {"b": 1.0}), 0),
    "nested-seeds": lambda h, m: h.seed(h.seed(m, 1), 2),
    "hide-plate": lambda h, m: h.seed(m, 0, hide_types=["plate"]),
}


@pytest.mark.parametrize("layout", sorted(SEED_LAYOUTS))
def test_seed_splits_keys_like_numpyro(layout):
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as ndist

    wrap = SEED_LAYOUTS[layout]
    if layout == "hide-plate":
        # Without a key the subsampled plate cannot draw: both libraries refuse.
        with pytest.raises(Exception):  # noqa: B017 -- numpyro's error type differs
            _keys(numpyro, numpyro.handlers, _keyed_model(numpyro, ndist), wrap)
        with pytest.raises(RuntimeError, match="plate 'N' with subsample_size"):
            _keys(spp, handlers, _keyed_model(spp, dist), wrap)
        return
    ours = _keys(spp, handlers, _keyed_model(spp, dist), wrap)
    ref = _keys(numpyro, numpyro.handlers, _keyed_model(numpyro, ndist), wrap)
    # Same sites receive keys, and they are the same keys: same split tree.
    assert ours.keys() == ref.keys()
    for k in ref:
        np.testing.assert_array_equal(ours[k], ref[k], err_msg=k)


def test_seed_returned_keys_and_reentry_match_numpyro():
    numpyro = pytest.importorskip("numpyro")
    import numpyro.distributions as ndist

    def run(p, h, d):
        model = _keyed_model(p, d)
        seeded = h.seed(model, rng_seed=0)
        first, again = seeded(), seeded()  # a seeded function restarts each call
        ctx = h.seed(rng_seed=0)
        with ctx:  # a seed context manager keeps its state across entries
            k_a = p.prng_key()
        with ctx:
            k_b = p.prng_key()
        with h.seed(rng_seed=5):
            inner = h.seed(model, rng_seed=1)()  # inner seed: outer key not used
            k_outer = p.prng_key()
        return [jr.key_data(k) for k in (*first, *again, k_a, k_b, *inner, k_outer)]

    ours = run(spp, handlers, dist)
    ref = run(numpyro, numpyro.handlers, ndist)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours[0], ours[2])  # restart on call
    assert not np.array_equal(ours[4], ours[5])  # context manager advances
    np.testing.assert_array_equal(ours[8], jr.key_data(jr.split(jr.key(5))[1]))


def test_seed_arguments():
    assert handlers.seed(model, rng_seed=jnp.array(3))() == handlers.seed(model, 3)()
    assert handlers.seed(model, rng_seed=jr.PRNGKey(3))().shape == ()
    with pytest.raises(TypeError, match="rng_seed"):
        handlers.seed(model, rng_seed=1.5)
    with pytest.raises(TypeError, match="rng_seed"):
        handlers.seed(model, rng_seed=jr.split(jr.key(0), 2))
    # rng_seed=None seeds nothing (NumPyro): the sample site then names itself.
    with pytest.raises(RuntimeError, match="sample site 'mu'"):
        handlers.seed(model, rng_seed=None)()


def test_seeded_function_does_not_leak_tracers():
    seeded = handlers.seed(model, rng_seed=0)
    a = jax.jit(lambda: seeded())()
    b = jax.jit(lambda y: seeded(y))(Y)  # a second trace reuses the same wrapper
    assert a == b == seeded()

"""Primitives and plates: shapes, subsampling, and the errors for bad models."""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.probabilistic as spp
from sciad.probabilistic import dist, handlers


def _trace(model, *args, seed=0, **kwargs):
    return handlers.trace(handlers.seed(model, rng_seed=seed)).get_trace(
        *args, **kwargs
    )


def test_site_dict_keys():
    def model():
        spp.sample("x", dist.Normal())

    site = _trace(model)["x"]
    for key in (
        "type",
        "name",
        "fn",
        "args",
        "kwargs",
        "value",
        "is_observed",
        "scale",
        "mask",
        "cond_indep_stack",
        "infer",
    ):
        assert key in site
    assert (
        site["type"] == "sample" and not site["is_observed"] and site["scale"] is None
    )


def test_sample_outside_handlers():
    assert spp.sample("x", dist.Normal(), obs=1.5) == 1.5
    assert spp.sample("x", dist.Normal(), rng_key=jr.key(0)).shape == ()
    with pytest.raises(RuntimeError, match="sample site 'x'.*handlers.seed"):
        spp.sample("x", dist.Normal())


def test_sample_without_seed_inside_trace_names_site():
    def model():
        spp.sample("theta", dist.Normal())

    with pytest.raises(
        RuntimeError, match="sample site 'theta' has no value and no PRNG key"
    ):
        handlers.trace(model).get_trace()


def test_duplicate_site_names():
    def model():
        spp.sample("x", dist.Normal())
        spp.sample("x", dist.Normal())

    with pytest.raises(ValueError, match="duplicate site name 'x'"):
        _trace(model)


def test_nested_plates_broadcast_and_dims():
    def model():
        with spp.plate("outer", 3):
            a = spp.sample("a", dist.Normal())
            with spp.plate("inner", 4):
                b = spp.sample("b", dist.Normal())
        with spp.plate("rows", 2, dim=-2), spp.plate("cols", 5):
            c = spp.sample("c", dist.Normal(0.0, jnp.ones(5)))
        return a, b, c

    tr = _trace(model)
    assert tr["a"]["value"].shape == (3,)
    assert tr["b"]["value"].shape == (4, 3)
    assert tr["c"]["value"].shape == (2, 5)
    frames = {f.name: f.dim for f in tr["b"]["cond_indep_stack"]}
    assert frames == {"outer": -1, "inner": -2}
    assert tr["outer"]["type"] == "plate" and tr["outer"]["value"].shape == (3,)


def test_plate_with_vector_event_and_sample_shape():
    def model():
        with spp.plate("N", 3):
            x = spp.sample("x", dist.Dirichlet(jnp.ones(4)))
            y = spp.sample("y", dist.Normal(), sample_shape=())
        z = spp.sample("z", dist.Normal(), sample_shape=(2,))
        return x, y, z

    tr = _trace(model)
    assert tr["x"]["value"].shape == (3, 4) and tr["x"]["fn"].batch_shape == (3,)
    assert tr["z"]["value"].shape == (2,)


def test_plate_size_mismatch_names_site_and_shapes():
    def model():
        with spp.plate("N", 5):
            spp.sample("y", dist.Normal(jnp.zeros(4), 1.0))

    with pytest.raises(ValueError, match=r"site 'y'.*\(4,\).*plate 'N' of size 5"):
        _trace(model)


def test_type_errors_users_see():
    # This suite type-checks sciad's annotations at run time (jaxtyping's import
    # hook), which users do not: check sciad's own messages without the hook.
    code = textwrap.dedent(
        """
        import sciad.probabilistic as spp
        from sciad.probabilistic import dist, handlers
        from sciad.probabilistic.infer import NUTS
        calls = [
            lambda: spp.sample("a", 3.0),
            lambda: spp.sample(3, dist.Normal(0.0, 1.0)),
            lambda: NUTS(model=3),
        ]
        for call in calls:
            try:
                handlers.seed(call, 0)()
            except TypeError as err:
                print(err)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert run.stdout.splitlines() == [
        "sample site 'a': `fn` must be a distribution; got float.",
        "sample: the site name must be a str; got 3.",
        "`model` must be callable; got int.",
    ], run.stdout + run.stderr


def test_obs_shape_errors():
    def bad_broadcast():
        spp.sample("y", dist.Normal(jnp.zeros(3), 1.0), obs=jnp.zeros(4))

    with pytest.raises(ValueError, match=r"site 'y'.*shape \(4,\).*\(3,\)"):
        _trace(bad_broadcast)

    def silently_enlarged():
        with spp.plate("N", 3):
            spp.sample("y", dist.Normal(), obs=jnp.zeros((3, 1)))

    with pytest.raises(
        ValueError, match=r"site 'y' inside plate\(s\) \['N'\].*\(3, 1\)"
    ):
        _trace(silently_enlarged)

    # Outside plates, NumPyro-style implicit broadcasting of obs is allowed.
    def implicit():
        spp.sample("y", dist.Normal(0.0, 1.0), obs=jnp.zeros(4))

    assert _trace(implicit)["y"]["fn"].log_prob(jnp.zeros(4)).shape == (4,)


def test_obs_outside_support_with_validate_args():
    def model(y):
        spp.sample("counts", dist.Poisson(2.0, validate_args=True), obs=y)

    with pytest.raises(ValueError, match=r"site 'counts'.*-1.*outside the support"):
        _trace(model, jnp.array([1.0, -1.0]))
    f = jax.jit(lambda y: _trace(model, y)["counts"]["value"])
    assert f(jnp.array([1.0, 2.0])).shape == (2,)
    with pytest.raises(
        Exception, match="site 'counts': observed value outside the support .* Poisson"
    ):
        jax.block_until_ready(f(jnp.array([1.0, -1.0])))


def test_subsample_scale_and_indices():
    data = jnp.arange(10.0)

    def model():
        with spp.plate("N", 10, subsample_size=4) as idx:
            batch = spp.subsample(data, event_dim=0)
            spp.sample("y", dist.Normal(0.0, 1.0), obs=batch)
        return idx

    tr = _trace(model)
    idx = tr["N"]["value"]
    assert idx.shape == (4,) and len(set(np.asarray(idx).tolist())) == 4
    np.testing.assert_array_equal(tr["y"]["value"], data[idx])
    assert tr["y"]["scale"] == pytest.approx(2.5)
    assert not jnp.array_equal(idx, _trace(model, seed=1)["N"]["value"])


def test_plate_argument_errors():
    with pytest.raises(ValueError, match="subsample_size must be in"):
        spp.plate("N", 3, subsample_size=5)
    with pytest.raises(ValueError, match="dim must be negative"):
        spp.plate("N", 3, dim=0)
    # Under the test suite's runtime type checking this is jaxtyping's TypeError.
    with pytest.raises((ValueError, TypeError), match="size"):
        spp.plate("N", 2.5)


def test_deterministic_factor_param_prng_key():
    def model():
        x = spp.sample("x", dist.Normal())
        spp.deterministic("x2", x**2)
        spp.factor("penalty", -3.0)
        p = spp.param("p", 0.5)
        return spp.prng_key(), p

    tr = _trace(model)
    assert tr["x2"]["type"] == "deterministic"
    np.testing.assert_allclose(tr["x2"]["value"], tr["x"]["value"] ** 2)
    assert (
        tr["penalty"]["is_observed"]
        and tr["penalty"]["fn"].log_prob(tr["penalty"]["value"]) == -3.0
    )
    assert tr["p"]["type"] == "param" and tr["p"]["value"] == 0.5
    key, _ = handlers.seed(model, rng_seed=0)()
    assert key is not None
    with pytest.warns(UserWarning, match="outside any handler"):
        assert spp.prng_key() is None
    assert spp.param("p", 2.0) == 2.0 and spp.deterministic("d", 1.0) == 1.0


def test_obs_mask_splits_sites():
    y = jnp.array([1.0, 2.0, 3.0])
    mask = jnp.array([True, False, True])

    def model():
        with spp.plate("N", 3):
            return spp.sample("y", dist.Normal(), obs=y, obs_mask=mask)

    tr = _trace(model)
    assert {"y_observed", "y_unobserved", "y"} <= set(tr)
    value = tr["y"]["value"]
    np.testing.assert_allclose(value[mask], y[mask])
    assert value[1] == tr["y_unobserved"]["value"][1]
    lp = tr["y_observed"]["fn"].log_prob(tr["y_observed"]["value"])
    assert lp[1] == 0.0

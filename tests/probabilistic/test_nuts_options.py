"""NumPyro's remaining `NUTS`/`HMC`/`MCMC` options.

`forward_mode_differentiation`, `inverse_mass_matrix`, `max_tree_depth` as a
pair, `find_heuristic_step_size`, `regularize_mass_matrix` and
`MCMC(postprocess_fn=...)`.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.test_util import check_grads

import sciad.probabilistic as sp
from sciad.probabilistic import distributions as dist
from sciad.probabilistic.diagnostics import effective_sample_size
from sciad.probabilistic.infer import (
    HMC,
    MCMC,
    NUTS,
    build_nuts_kernel,
    dual_averaging,
    nuts_kernel,
    welford_covariance,
    window_adaptation,
)
from sciad.probabilistic.infer._forward_mode import (
    forward_mode_potential,
    value_and_jacfwd,
)

# runs too short to mix, in tests that check something else than the draws
short_run = pytest.mark.filterwarnings("ignore:R-hat > 1.01")


def _mcmc(kernel, warmup=300, samples=600, **kw):
    return MCMC(
        kernel, num_warmup=warmup, num_samples=samples, progress_bar=False, **kw
    )


def _within_mc_error(draws, mean, sd, n_sigma=5.0):
    draws = np.asarray(draws)
    ess = effective_sample_size(draws[None], kind="basic")
    err = np.abs(draws.mean(0) - mean) / (sd / np.sqrt(ess))
    assert np.all(err < n_sigma), err
    np.testing.assert_allclose(draws.std(0), sd, rtol=5 / np.sqrt(np.min(ess)))


# ----------------------------------------------------- forward-mode gradients
def _newton_identity(a):
    """`a`, found as the root of x^3 + x = a^3 + a by Newton's method.

    A `lax.while_loop` with a data-dependent trip count: reverse mode cannot
    differentiate it; forward mode differentiates the iteration itself, whose
    derivative converges to the root's (exactly 1) as the iterate converges.
    The iteration stops at a few ulps of the dtype.
    """
    target = a**3 + a
    tol = 8 * jnp.finfo(jnp.result_type(a)).eps

    def body(carry):
        i, x = carry
        return i + 1, x - (x**3 + x - target) / (3 * x**2 + 1)

    def cond(carry):
        i, x = carry
        residual = jnp.abs(x**3 + x - target)
        return (i < 60) & jnp.any(residual > tol * (1 + jnp.abs(target)))

    return jax.lax.while_loop(cond, body, (0, jnp.zeros_like(a)))[1]


Y = np.array([0.9, 1.4, 0.6, 1.2, 1.1])


def _loop_model(y):
    a = sp.sample("a", dist.Normal(0.0, 1.0))
    with sp.plate("n", y.shape[0]):
        sp.sample("y", dist.Normal(_newton_identity(a), 1.0), obs=y)


def test_forward_mode_potential_gradients():
    """The custom rule's gradient against finite differences, where reverse fails."""

    def fn(z):
        solved = _newton_identity(z["a"])
        return jnp.sum(solved**2) + jnp.sum(jnp.sin(z["b"]) * z["a"])

    z = {"a": jnp.array([0.3, -1.2]), "b": jnp.array([0.7, 2.0])}
    with pytest.raises(ValueError, match="Reverse-mode differentiation"):
        jax.grad(fn)(z)
    wrapped = forward_mode_potential(fn)
    # float64 central differences: check_grads' default tolerances hold, and
    # the exact gradient agrees to 1e-9 (Newton stops at ~1e-15 relative)
    with jax.enable_x64(True):
        z64 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float64), z)
        check_grads(wrapped, (z64,), order=1, modes=["rev"])
        value, grad = value_and_jacfwd(fn, z64)
        np.testing.assert_allclose(value, fn(z64), rtol=1e-14)
        np.testing.assert_allclose(
            grad["a"], 2 * z64["a"] + jnp.sin(z64["b"]), rtol=1e-9
        )
        np.testing.assert_allclose(grad["b"], jnp.cos(z64["b"]) * z64["a"], rtol=1e-12)


def test_reverse_mode_through_while_loop_names_the_fix():
    mcmc = _mcmc(NUTS(_loop_model), warmup=5, samples=5)
    with pytest.raises(ValueError, match="forward_mode_differentiation=True"):
        mcmc.run(jr.key(0), Y)


@pytest.mark.parametrize(
    "kernel",
    [
        NUTS(_loop_model, forward_mode_differentiation=True),
        # a trajectory of 2 pi on a whitened Gaussian is a full period (it
        # returns to its start): HMC needs a shorter one here
        HMC(_loop_model, forward_mode_differentiation=True, trajectory_length=1.3),
    ],
    ids=["NUTS", "HMC"],
)
def test_forward_mode_recovers_conjugate_posterior(kernel):
    """Prior N(0, 1), n unit-variance observations of `a`: N(Σy/(n+1), 1/(n+1))."""
    mcmc = _mcmc(kernel)
    mcmc.run(jr.key(1), Y)
    n = len(Y)
    _within_mc_error(mcmc.get_samples()["a"], Y.sum() / (n + 1), np.sqrt(1 / (n + 1)))


def test_forward_mode_with_potential_fn_matches_reverse_mode():
    """Same key, same draws up to rounding: only the differentiation differs."""

    def potential(z):
        return 0.5 * jnp.sum((z["x"] - jnp.array([1.0, -2.0])) ** 2 / jnp.array([1, 4]))

    init = {"x": jnp.zeros(2)}
    runs = []
    for forward in (False, True):
        kernel = NUTS(potential_fn=potential, forward_mode_differentiation=forward)
        mcmc = _mcmc(kernel, warmup=100, samples=100)
        mcmc.run(jr.key(2), init_params=init)
        runs.append(mcmc.get_samples()["x"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-4, atol=1e-5)


def test_forward_mode_flag_is_checked():
    with pytest.raises(TypeError, match="forward_mode_differentiation"):
        NUTS(_loop_model, forward_mode_differentiation="yes")


# ---------------------------------------------------------- max_tree_depth pair
def _scales_model():
    sp.sample("x", dist.Normal(jnp.zeros(3), jnp.array([1.0, 10.0, 100.0])))


@short_run
def test_max_tree_depth_pair_limits_each_phase():
    """(3, 8): warmup trees stop at depth 3, sampling trees may grow past it."""
    mcmc = _mcmc(NUTS(_scales_model, max_tree_depth=(3, 8)), warmup=200, samples=200)
    mcmc.warmup(jr.key(0), collect_warmup=True, extra_fields=("tree_depth",))
    warm = mcmc.get_extra_fields()["tree_depth"]
    assert warm.max() == 3
    mcmc.run(jr.key(1), extra_fields=("tree_depth",))
    sampled = mcmc.get_extra_fields()["tree_depth"]
    assert 3 < sampled.max() <= 8
    # a list is NumPyro's pair too; an int is both depths
    assert NUTS(_scales_model, max_tree_depth=[3, 8]).max_tree_depth == (3, 8)


def test_max_tree_depth_pair_is_checked():
    for bad in [(3,), (0, 5), (3, 31), (3, 4, 5), (3.0, 5), (True, 5)]:
        with pytest.raises(ValueError, match="max_tree_depth"):
            NUTS(_scales_model, max_tree_depth=bad)

    def potential(z):
        return jnp.sum(z**2)

    with pytest.raises(ValueError, match="has no warmup phase"):
        nuts_kernel(potential, max_tree_depth=(3, 8))
    with pytest.raises(ValueError, match="max_tree_depth"):
        build_nuts_kernel(potential, (0, 8))


# -------------------------------------------------------- inverse_mass_matrix
def test_fixed_inverse_mass_matrix_is_used():
    """The true variances as a fixed metric: kept, and the draws are right."""
    variances = np.array([1.0, 100.0, 1e4])
    kernel = NUTS(_scales_model, inverse_mass_matrix=variances, adapt_mass_matrix=False)
    mcmc = _mcmc(kernel, warmup=100, samples=400)
    mcmc.run(jr.key(3), extra_fields=("tree_depth",))
    np.testing.assert_array_equal(
        mcmc.last_state.adapt_state.inverse_mass_matrix, variances
    )
    # a whitened standard normal needs short trees (identity: depth ~8)
    assert np.median(mcmc.get_extra_fields()["tree_depth"]) <= 3
    _within_mc_error(mcmc.get_samples()["x"], np.zeros(3), np.sqrt(variances))


@short_run
def test_inverse_mass_matrix_blocks_as_numpyro():
    """NumPyro's dict form: a dense block for `x`, a diagonal for `y`."""
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])

    def potential(z):
        return 0.5 * jnp.sum(z["y"] ** 2) + 0.5 * z["x"] @ jnp.linalg.solve(cov, z["x"])

    init = {"x": jnp.zeros(2), "y": jnp.zeros(3)}
    kernel = NUTS(
        potential_fn=potential,
        dense_mass=[("x",)],
        inverse_mass_matrix={("x",): cov, ("y",): np.array([1.0, 2.0, 3.0])},
        adapt_mass_matrix=False,
    )
    mcmc = _mcmc(kernel, warmup=10, samples=10)
    mcmc.run(jr.key(4), init_params=init)
    expected = np.zeros((5, 5))
    expected[:2, :2] = cov
    expected[2:, 2:] = np.diag([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(
        mcmc.last_state.adapt_state.inverse_mass_matrix, expected
    )
    # a diagonal metric from blocks of vectors
    kernel = NUTS(
        potential_fn=potential,
        inverse_mass_matrix={("y", "x"): np.array([1.0, 2.0, 3.0, 4.0, 5.0])},
    )
    # sites in the tuple's order (y then x), laid out in sorted order (x, y)
    np.testing.assert_array_equal(
        kernel.initial_inverse_mass_matrix(init), [4.0, 5.0, 1.0, 2.0, 3.0]
    )
    # a site left out keeps the identity; a diagonal block in a dense metric
    kernel = NUTS(
        potential_fn=potential,
        dense_mass=True,
        inverse_mass_matrix={("y",): np.array([1.0, 2.0, 3.0])},
    )
    np.testing.assert_array_equal(
        kernel.initial_inverse_mass_matrix(init), np.diag([1.0, 1.0, 1.0, 2.0, 3.0])
    )


@short_run
def test_initial_inverse_mass_matrix_survives_a_warmup_without_slow_windows():
    """Fewer than 20 warmup steps: no slow window, so the given metric stays."""
    variances = np.array([2.0, 3.0, 4.0])
    kernel = NUTS(_scales_model, inverse_mass_matrix=variances)
    mcmc = _mcmc(kernel, warmup=10, samples=5)
    mcmc.run(jr.key(5))
    np.testing.assert_array_equal(
        mcmc.last_state.adapt_state.inverse_mass_matrix, variances
    )


def test_inverse_mass_matrix_is_checked():
    def potential(z):
        return 0.5 * jnp.sum(z["x"] ** 2) + 0.5 * jnp.sum(z["y"] ** 2)

    init = {"x": jnp.zeros(2), "y": jnp.zeros(1)}
    at_construction = [
        (np.array([1.0, -1.0, 1.0]), ValueError, "finite and positive"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), ValueError, "positive definite"),
        (np.array([[1.0, 0.5], [0.0, 1.0]]), ValueError, "symmetric"),
        (np.ones((2, 3)), ValueError, "square matrix"),
        (np.array(["a"]), TypeError, "real numbers"),
        ({("x", 1): np.ones(3)}, TypeError, "tuples of site names"),
    ]
    for value, error, match in at_construction:
        with pytest.raises(error, match=match):
            NUTS(potential_fn=potential, inverse_mass_matrix=value, dense_mass=True)
    with pytest.raises(ValueError, match="pass `dense_mass=True`"):
        NUTS(potential_fn=potential, inverse_mass_matrix=np.eye(3))
    at_run = [
        ({}, np.ones(4), r"shape \(4,\).*3 unconstrained coordinates"),
        ({}, {("x", "z"): np.ones(3)}, "site 'z', which is not a latent site"),
        ({}, {("x",): np.ones(2), ("y", "x"): np.ones(3)}, "in two blocks"),
        ({}, {("x",): np.eye(2)}, r"need \(2,\) \(a matrix block needs `dense"),
        (
            {"dense_mass": [("x",)]},
            np.eye(3) + 0.1 * np.ones((3, 3)),
            "outside the `dense_mass` blocks",
        ),
    ]
    for kw, value, match in at_run:
        kernel = NUTS(potential_fn=potential, inverse_mass_matrix=value, **kw)
        with pytest.raises(ValueError, match=match):
            _mcmc(kernel, warmup=2, samples=2).run(jr.key(0), init_params=init)


# ----------------------------------------------------- find_heuristic_step_size
def _gauss(z):
    return 0.5 * jnp.sum(z**2 / jnp.array([1.0, 9.0]))


def _warmup_trace(heuristic, num_warmup=100, step_size=0.37):
    algo = window_adaptation(
        build_nuts_kernel(_gauss),
        _gauss,
        inline_search=True,
        find_heuristic_step_size=heuristic,
    )
    state = algo.init(jnp.ones(2), num_warmup, step_size)
    step = jax.jit(algo.step)
    states, infos = [state], []
    for key in jr.split(jr.key(6), num_warmup):
        state, info = step(key, state)
        states.append(state)
        infos.append(info)
    return states, infos


def test_find_heuristic_step_size_false_starts_from_step_size():
    """NumPyro's default: no search, dual averaging from log(10 * step_size)."""
    states, infos = _warmup_trace(False, num_warmup=3)
    assert not bool(states[0].adapt_state.needs_search)
    da = dual_averaging()
    expected = da.update(da.init(jnp.log(10 * 0.37)), 0.8 - infos[0].accept_prob)
    np.testing.assert_allclose(
        states[1].adapt_state.step_size, jnp.exp(expected.log_step), rtol=1e-6
    )


def test_find_heuristic_step_size_true_searches_after_every_slow_window():
    # 100 warmup steps: fast 0-14, one slow window 15-89, fast 90-99
    default, _ = _warmup_trace(None)
    every, _ = _warmup_trace(True)
    assert bool(default[0].adapt_state.needs_search)
    assert bool(every[0].adapt_state.needs_search)
    searching = [bool(s.adapt_state.needs_search) for s in every[1:]]
    assert searching == [i == 89 for i in range(100)]
    assert not any(bool(s.adapt_state.needs_search) for s in default[1:])
    # identical until the window's last update, where the restarts differ
    for a, b in zip(default[:90], every[:90], strict=True):
        np.testing.assert_array_equal(a.adapt_state.step_size, b.adapt_state.step_size)
    assert default[90].adapt_state.step_size != every[90].adapt_state.step_size


def test_find_heuristic_step_size_through_nuts():
    kernel = NUTS(_scales_model, find_heuristic_step_size=True)
    mcmc = _mcmc(kernel, warmup=200, samples=400)
    mcmc.run(jr.key(7))
    _within_mc_error(mcmc.get_samples()["x"], np.zeros(3), np.array([1.0, 10.0, 100.0]))
    with pytest.raises(TypeError, match="find_heuristic_step_size"):
        NUTS(_scales_model, find_heuristic_step_size=1)


# ------------------------------------------------------ regularize_mass_matrix
@pytest.mark.parametrize("dense", [False, True])
def test_unregularized_welford_is_the_sample_covariance(dense):
    x = np.random.default_rng(0).normal(size=(40, 3)) * np.array([1.0, 5.0, 0.1])
    w = welford_covariance(dense, regularize=False)
    state = w.init(jnp.zeros(3))
    for row in x:
        state = w.update(state, jnp.asarray(row))
    expected = np.cov(x.T) if dense else x.var(0, ddof=1)
    np.testing.assert_allclose(w.final(state), expected, rtol=1e-5)
    shrunk = welford_covariance(dense).final(state)
    n = len(x)
    reg = n / (n + 5) * expected + 1e-3 * 5 / (n + 5) * (np.eye(3) if dense else 1)
    np.testing.assert_allclose(shrunk, reg, rtol=1e-5)


def test_regularize_mass_matrix_reaches_the_sampler():
    kernels = [NUTS(_scales_model, regularize_mass_matrix=r) for r in (True, False)]
    found = []
    for kernel in kernels:
        mcmc = _mcmc(kernel, warmup=150, samples=0)
        mcmc.warmup(jr.key(8))
        found.append(np.asarray(mcmc.post_warmup_state.adapt_state.inverse_mass_matrix))
    # the same draws until the first slow window ends (both start from the
    # identity); then only the shrinkage differs, by the factor n / (n + 5)
    # up to the jitter, and the trajectories diverge: only check the direction
    assert not np.allclose(found[0], found[1])
    with pytest.raises(TypeError, match="regularize_mass_matrix"):
        NUTS(_scales_model, regularize_mass_matrix=None)


# ------------------------------------------------------------ postprocess_fn
@short_run
def test_postprocess_fn_maps_the_draws():
    def potential(z):
        return 0.5 * jnp.sum(z["u"] ** 2)

    mcmc = _mcmc(
        NUTS(potential_fn=potential),
        warmup=50,
        samples=50,
        postprocess_fn=lambda z: {"v": jnp.exp(z["u"]), "u": z["u"]},
    )
    mcmc.run(jr.key(9), init_params={"u": jnp.zeros(2)})
    draws = mcmc.get_samples()
    np.testing.assert_allclose(draws["v"], np.exp(draws["u"]), rtol=1e-6)

    def model():
        sp.sample("s", dist.LogNormal(0.0, 1.0))

    mcmc = _mcmc(
        NUTS(model), warmup=50, samples=50, postprocess_fn=lambda z: {"log_s": z["s"]}
    )
    mcmc.run(jr.key(10))
    assert set(mcmc.get_samples()) == {"log_s"}
    with pytest.raises(TypeError, match="postprocess_fn"):
        MCMC(NUTS(model), num_warmup=1, num_samples=1, postprocess_fn=3)


@short_run
def test_init_params_from_initialize_model():
    """NumPyro's `run(init_params=initialize_model(...).param_info)`."""
    from sciad.probabilistic.infer import initialize_model

    info = initialize_model(jr.key(11), _scales_model).param_info
    mcmc = _mcmc(NUTS(_scales_model), warmup=0, samples=1)
    mcmc.run(jr.key(12), init_params=info, extra_fields=("potential_energy",))
    assert np.isfinite(mcmc.get_extra_fields()["potential_energy"]).all()
    # no warmup: the post-warmup state is the given point
    mcmc.warmup(jr.key(12), init_params=info)
    np.testing.assert_allclose(mcmc.post_warmup_state.z["x"], info.z["x"], rtol=1e-6)

"""SVI, the ELBOs and the optimisers.

Oracles: the conjugate normal model, where the ELBO of a Gaussian guide, its
gradient, the evidence $\\log p(y)$ and the posterior are all closed form; a
Bayesian linear regression with a correlated Gaussian posterior; the update
rules of ``jax.example_libraries.optimizers`` (what NumPyro's optimisers run).
Monte Carlo checks use bounds of 4.5 standard errors computed from the draws
themselves (a false alarm ~1e-5 per check).
"""

import collections

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
import scipy.stats as st
from jax.example_libraries import optimizers as jopt
from jax.test_util import check_grads

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic import optim
from sciad.probabilistic.distributions import constraints
from sciad.probabilistic.infer import (
    SVI,
    RenyiELBO,
    SVIRunResult,
    Trace_ELBO,
    TraceMeanField_ELBO,
)

Y = jnp.array([1.2, 0.3, 2.1, 1.7, 0.9])
M0, S0, SIGMA = 0.0, 2.0, 1.0
POST_PREC = 1 / S0**2 + Y.size / SIGMA**2
POST_MEAN = float((M0 / S0**2 + Y.sum() / SIGMA**2) / POST_PREC)
POST_SD = float(POST_PREC**-0.5)
LOG_EVIDENCE = st.multivariate_normal(
    np.full(Y.size, M0), SIGMA**2 * np.eye(Y.size) + S0**2
).logpdf(np.asarray(Y))


def model(y):
    mu = spp.sample("mu", dist.Normal(M0, S0))
    with spp.plate("n", y.shape[0]):
        spp.sample("y", dist.Normal(mu, SIGMA), obs=y)


def guide(y):
    loc = spp.param("loc", 0.0)
    scale = spp.param("scale", 1.0, constraint=constraints.positive)
    spp.sample("mu", dist.Normal(loc, scale))


def exact_elbo(m, s, y=Y):
    """E_q[log p(y, mu) - log q(mu)] for q = N(m, s), in closed form."""
    lik = -0.5 * jnp.log(2 * jnp.pi * SIGMA**2) * y.size - (
        jnp.sum((y - m) ** 2) + y.size * s**2
    ) / (2 * SIGMA**2)
    prior = -0.5 * jnp.log(2 * jnp.pi * S0**2) - ((m - M0) ** 2 + s**2) / (2 * S0**2)
    entropy = 0.5 * jnp.log(2 * jnp.pi * jnp.e * s**2)
    return lik + prior + entropy


def _single_particle_losses(elbo, params, n=4000, seed=3):
    def one(k):
        return elbo.loss(k, params, model, guide, Y)

    return jax.jit(jax.vmap(one))(jr.split(jr.key(seed), n))


def _assert_mc_mean(draws, expected):
    draws = np.asarray(draws)
    se = draws.std(axis=0, ddof=1) / np.sqrt(draws.shape[0])
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - expected), 4.5 * se)


PARAMS = {"loc": jnp.asarray(0.4), "scale": jnp.asarray(0.7)}


@pytest.mark.parametrize("elbo", [Trace_ELBO(), TraceMeanField_ELBO()])
def test_elbo_is_unbiased_for_the_closed_form(elbo):
    losses = _single_particle_losses(elbo, PARAMS)
    _assert_mc_mean(losses, -exact_elbo(0.4, 0.7))


@pytest.mark.parametrize("elbo", [Trace_ELBO(), TraceMeanField_ELBO()])
def test_pathwise_gradient_is_unbiased(elbo):
    def one(k):
        return jax.grad(lambda p: elbo.loss(k, p, model, guide, Y))(PARAMS)

    grads = jax.jit(jax.vmap(one))(jr.split(jr.key(5), 4000))
    exact = jax.grad(lambda p: -exact_elbo(p["loc"], p["scale"]))(PARAMS)
    for name in PARAMS:
        _assert_mc_mean(grads[name], exact[name])


@pytest.mark.parametrize(
    "elbo",
    [Trace_ELBO(), RenyiELBO(alpha=0.0, num_particles=3)],
    ids=["trace", "renyi"],
)
def test_elbos_are_the_evidence_at_the_exact_posterior(elbo):
    # With q equal to the posterior, log p(y, mu) - log q(mu) = log p(y) for every
    # draw: the loss is -log p(y) exactly, whatever the key. (Not so for the
    # mean-field ELBO's per-draw estimate, which splits that difference.)
    exact = {"loc": jnp.asarray(POST_MEAN), "scale": jnp.asarray(POST_SD)}
    for k in range(3):
        loss = elbo.loss(jr.key(k), exact, model, guide, Y)
        np.testing.assert_allclose(loss, -LOG_EVIDENCE, rtol=1e-12)


def test_renyi_bound_lies_between_elbo_and_evidence():
    # Burda et al. (2016): E[IWAE_K] increases with K from the ELBO to log p(y).
    iwae = np.mean(
        _single_particle_losses(RenyiELBO(alpha=0.0, num_particles=8), PARAMS, n=2000)
    )
    elbo = -float(exact_elbo(0.4, 0.7))
    assert -LOG_EVIDENCE < iwae < elbo


def test_loss_gradients_match_finite_differences():
    elbo = Trace_ELBO(num_particles=3)

    def f(loc, scale):
        return elbo.loss(jr.key(1), {"loc": loc, "scale": scale}, model, guide, Y)

    check_grads(f, (0.3, 0.8), order=2, modes=("rev",))


def test_particles_vectorised_or_mapped_agree():
    a = Trace_ELBO(num_particles=5).loss(jr.key(2), PARAMS, model, guide, Y)
    b = Trace_ELBO(num_particles=5, vectorize_particles=False).loss(
        jr.key(2), PARAMS, model, guide, Y
    )
    np.testing.assert_allclose(a, b, rtol=1e-12)


# one SVI object (so one compiled loop) for the runs below
SCHEDULE = optax.exponential_decay(0.05, 4000, 0.01)
SVI_NORMAL = SVI(model, guide, optim.Adam(SCHEDULE), Trace_ELBO(num_particles=16))


def test_svi_recovers_the_conjugate_posterior():
    result = SVI_NORMAL.run(jr.key(0), 4000, Y, progress_bar=False)
    assert isinstance(result, SVIRunResult)
    assert result.losses.shape == (4000,)
    # The step size decays to 5e-4, so the last iterates sit within a few 1e-3
    # of the optimum; 3% of the posterior sd leaves room for that jitter.
    np.testing.assert_allclose(result.params["loc"], POST_MEAN, atol=0.03 * POST_SD)
    np.testing.assert_allclose(result.params["scale"], POST_SD, atol=0.03 * POST_SD)
    # the final loss is -ELBO at the optimum, which is -log p(y) here
    assert abs(float(jnp.mean(result.losses[-500:])) + LOG_EVIDENCE) < 0.05


def test_second_run_compiles_nothing_and_same_key_same_numbers():
    first = SVI_NORMAL.run(jr.key(7), 4000, Y, progress_bar=False)
    new_data = Y + 1.0
    compiles = collections.Counter()
    listener = lambda name, *a, **k: compiles.update([name])  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        again = SVI_NORMAL.run(jr.key(7), 4000, Y, progress_bar=False)
        SVI_NORMAL.run(jr.key(8), 4000, new_data, progress_bar=False)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles["/jax/core/compile/backend_compile_duration"] == 0
    np.testing.assert_array_equal(first.losses, again.losses)


def test_run_continues_from_a_state():
    svi = SVI(model, guide, optim.Adam(0.01), Trace_ELBO())
    whole = svi.run(jr.key(4), 200, Y, progress_bar=False)
    half = svi.run(jr.key(4), 100, Y, progress_bar=False)
    rest = svi.run(None, 100, Y, progress_bar=False, init_state=half.state)
    np.testing.assert_allclose(
        jnp.concatenate([half.losses, rest.losses]), whole.losses, rtol=1e-12
    )


def test_update_and_evaluate_under_jit():
    svi = SVI(model, guide, optim.Adam(0.01), Trace_ELBO())
    state = svi.init(jr.key(0), Y)
    expected = svi.evaluate(state, Y)
    new_state, loss = jax.jit(svi.update)(state, Y)
    # evaluate uses the key the next update draws with
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    assert svi.get_params(new_state)["loc"] != svi.get_params(state)["loc"]


def test_constrained_params_and_init_params():
    svi = SVI(model, guide, optim.Adam(0.01), Trace_ELBO())
    state = svi.init(jr.key(0), Y, init_params={"scale": 0.25})
    unconstrained = state.optim_state[0]
    np.testing.assert_allclose(unconstrained["scale"], np.log(0.25), rtol=1e-12)
    np.testing.assert_allclose(svi.get_params(state)["scale"], 0.25, rtol=1e-12)
    with pytest.raises(ValueError, match=r"init_params.*\['sigma'\]"):
        svi.init(jr.key(0), Y, init_params={"sigma": 1.0})


def test_model_params_are_optimised_too():
    # Type-II maximum likelihood of the prior mean: the evidence is maximal at
    # m0 = mean(y), for any prior scale.
    def model_with_param(y):
        m0 = spp.param("m0", 0.0)
        mu = spp.sample("mu", dist.Normal(m0, S0))
        with spp.plate("n", y.shape[0]):
            spp.sample("y", dist.Normal(mu, SIGMA), obs=y)

    svi = SVI(
        model_with_param,
        guide,
        optim.Adam(optax.exponential_decay(0.05, 3000, 0.01)),
        TraceMeanField_ELBO(num_particles=8),
    )
    params = svi.run(jr.key(0), 3000, Y, progress_bar=False).params
    assert set(params) == {"m0", "loc", "scale"}
    np.testing.assert_allclose(params["m0"], float(Y.mean()), atol=0.05)


def test_correlated_posterior_with_a_full_rank_guide():
    x = jnp.array([[1.0, 0.8], [0.5, 1.0], [1.0, 1.2], [0.2, 0.1], [1.5, 1.1]])
    y = jnp.array([1.0, 0.5, 1.6, 0.1, 1.9])

    def reg(x, y):
        w = spp.sample("w", dist.Normal(jnp.zeros(2), 1.0).to_event(1))
        spp.sample("y", dist.Normal(x @ w, 0.5).to_event(1), obs=y)

    def full_rank(x, y):
        loc = spp.param("w_loc", jnp.zeros(2))
        tril = spp.param(
            "w_tril", 0.3 * jnp.eye(2), constraint=constraints.lower_cholesky
        )
        spp.sample("w", dist.MultivariateNormal(loc, scale_tril=tril))

    cov = np.linalg.inv(np.eye(2) + np.asarray(x.T @ x) / 0.25)
    mean = cov @ np.asarray(x.T @ y) / 0.25
    svi = SVI(
        reg,
        full_rank,
        optim.Adam(optax.exponential_decay(0.02, 4000, 0.01)),
        Trace_ELBO(num_particles=16),
    )
    p = svi.run(jr.key(1), 4000, x, y, progress_bar=False).params
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(p["w_loc"], mean, atol=0.05 * sd.min())
    fitted = np.asarray(p["w_tril"] @ p["w_tril"].T)
    np.testing.assert_allclose(fitted, cov, atol=0.05 * sd.min() ** 2)
    assert cov[0, 1] / np.prod(sd) < -0.5  # strongly correlated: the check bites


def test_stable_update_keeps_the_state_on_a_nan_loss():
    def nan_model(y):
        mu = spp.sample("mu", dist.Normal(0.0, 1.0))
        spp.factor("bad", jnp.sqrt(-(mu**2) - 1.0))  # NaN value and gradient

    svi = SVI(nan_model, guide, optim.Adam(0.1), Trace_ELBO())
    state = svi.init(jr.key(0), Y)
    kept, loss = svi.stable_update(state, Y)
    assert not np.isfinite(loss)
    np.testing.assert_array_equal(svi.get_params(kept)["loc"], 0.0)
    moved, _ = svi.update(state, Y)
    assert np.isnan(svi.get_params(moved)["loc"])
    with pytest.warns(RuntimeWarning, match="not finite at 5 of 5 steps"):
        svi.run(jr.key(0), 5, Y, progress_bar=False, stable_update=True)


def test_clear_errors():
    def no_guide_site(y):
        spp.param("loc", 0.0)

    svi = SVI(model, no_guide_site, optim.Adam(0.1), Trace_ELBO())
    state = svi.init(jr.key(0), Y)
    with pytest.raises(ValueError, match="model sample site 'mu' is latent"):
        svi.update(state, Y)

    def discrete_guide(y):
        p = spp.param("p", 0.5, constraint=constraints.unit_interval)
        spp.sample("mu", dist.Bernoulli(probs=p))

    svi = SVI(model, discrete_guide, optim.Adam(0.1), Trace_ELBO())
    state = svi.init(jr.key(0), Y)
    with pytest.raises(NotImplementedError, match="guide site 'mu'.*reparameter"):
        svi.update(state, Y)
    with pytest.raises(TypeError, match="optax.GradientTransformation"):
        SVI(model, guide, "adam", Trace_ELBO())
    with pytest.raises(TypeError, match="must be an ELBO"):
        SVI(model, guide, optim.Adam(0.1), "elbo")
    with pytest.raises(ValueError, match="num_particles"):
        Trace_ELBO(num_particles=0)
    with pytest.raises(ValueError, match="alpha"):
        RenyiELBO(alpha=1.0)
    with pytest.raises(ValueError, match="num_steps"):
        SVI_NORMAL.run(jr.key(0), 0, Y)
    with pytest.raises(RuntimeError, match="call `init`"):
        SVI(model, guide, optim.Adam(0.1), Trace_ELBO()).get_params(state)
    with pytest.raises(ValueError, match="nothing to optimise"):
        SVI(model, lambda y: None, optim.Adam(0.1), Trace_ELBO()).init(jr.key(0), Y)
    with pytest.raises(ValueError, match="step_size"):
        optim.Adam(-1.0)


def _quadratic_trajectory(init_fn, update_fn, get_params, steps=6):
    a = jnp.array([[3.0, 0.5], [0.5, 1.0]])
    grad = jax.grad(lambda x: 0.5 * x @ a @ x + jnp.sum(jnp.sin(x)))
    state, out = init_fn(jnp.array([1.0, -2.0])), []
    for i in range(steps):
        state = update_fn(i, grad(get_params(state)), state)
        out.append(get_params(state))
    return np.stack(out)


def _optax_trajectory(tx, steps=6):
    def init_fn(x):
        return x, tx.init(x)

    def update_fn(i, g, state):
        x, s = state
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s

    return _quadratic_trajectory(init_fn, update_fn, lambda s: s[0], steps)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (optim.Adam(0.1), jopt.adam(0.1)),
        (optim.SGD(0.1), jopt.sgd(0.1)),
        (optim.Momentum(0.1, 0.9), jopt.momentum(0.1, 0.9)),
        (optim.RMSProp(0.1, 0.8), jopt.rmsprop(0.1, 0.8)),
    ],
    ids=["adam", "sgd", "momentum", "rmsprop"],
)
def test_optimisers_follow_numpyros_update_rules(ours, theirs):
    expected = _quadratic_trajectory(*theirs)
    np.testing.assert_allclose(_optax_trajectory(ours), expected, rtol=1e-10)


def test_clipped_adam_clips_each_gradient_element():
    # Adam is invariant to a constant gradient's scale, so compare with Adam
    # fed the elementwise-clipped gradient instead.
    clipped = optim.ClippedAdam(0.1, clip_norm=0.5)
    init, update, get = jopt.adam(0.1)

    def update_clipped(i, g, s):
        return update(i, jnp.clip(g, -0.5, 0.5), s)

    np.testing.assert_allclose(
        _optax_trajectory(clipped),
        _quadratic_trajectory(init, update_clipped, get),
        rtol=1e-10,
    )


def test_adagrad_descends():
    traj = _optax_trajectory(optim.Adagrad(0.1), steps=50)
    a = np.array([[3.0, 0.5], [0.5, 1.0]])

    def f(x):
        return 0.5 * x @ a @ x + np.sum(np.sin(x))

    assert f(traj[-1]) < f(traj[0]) - 1.0


def test_subsampled_plate_gives_an_unbiased_elbo():
    # plate(subsample_size=2) scales the likelihood by 5/2: over draws of the
    # subsample (and of mu) the loss averages to the full-data closed form.
    def sub_model(y):
        mu = spp.sample("mu", dist.Normal(M0, S0))
        with spp.plate("n", y.shape[0], subsample_size=2) as idx:
            spp.sample("y", dist.Normal(mu, SIGMA), obs=y[idx])

    def one(k):
        return Trace_ELBO().loss(k, PARAMS, sub_model, guide, Y)

    losses = jax.jit(jax.vmap(one))(jr.split(jr.key(11), 6000))
    _assert_mc_mean(losses, -exact_elbo(0.4, 0.7))


def test_trace_elbo_matches_numpyro_on_autonormal():
    # Same model source, same AutoNormal params: both libraries' Monte Carlo
    # estimates of the same expectation, within 4.5 standard errors (2000 draws
    # each, ddof-corrected).
    numpyro = pytest.importorskip("numpyro")
    from numpyro.infer import Trace_ELBO as NumPyroTraceELBO
    from numpyro.infer.autoguide import AutoNormal as NumPyroAutoNormal

    from sciad.probabilistic.infer.autoguide import AutoNormal

    y = jnp.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = jnp.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

    def schools(ppl, d):
        def model(y, sigma):
            mu = ppl.sample("mu", d.Normal(0.0, 5.0))
            tau = ppl.sample("tau", d.HalfCauchy(5.0))
            with ppl.plate("J", 8):
                theta = ppl.sample("theta", d.Normal(0.0, 1.0))
                ppl.sample("obs", d.Normal(mu + tau * theta, sigma), obs=y)

        return model

    ours_model = schools(spp, dist)
    theirs_model = schools(numpyro, numpyro.distributions)
    guide = AutoNormal(ours_model)
    params = (
        SVI(ours_model, guide, optim.Adam(0.05), Trace_ELBO())
        .run(jr.key(0), 300, y, sigma, progress_bar=False)
        .params
    )
    theirs_guide = NumPyroAutoNormal(theirs_model)

    def ours(k):
        return Trace_ELBO().loss(k, params, ours_model, guide, y, sigma)

    def theirs(k):
        return NumPyroTraceELBO().loss(k, params, theirs_model, theirs_guide, y, sigma)

    keys = jr.split(jr.key(1), 2000)
    a = np.asarray(jax.jit(jax.vmap(ours))(keys))
    b = np.asarray(jax.jit(jax.vmap(theirs))(keys))
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert abs(a.mean() - b.mean()) < 4.5 * se


def test_progress_bar_is_fed_from_inside_the_loop(monkeypatch):
    import io

    from tqdm import tqdm

    from sciad.probabilistic.infer import _svi

    buf = io.StringIO()
    monkeypatch.setattr(_svi._progress, "enabled", lambda progress_bar: progress_bar)
    monkeypatch.setattr(
        _svi,
        "_open_bar",
        lambda total: _svi._BAR.update(bar=tqdm(total=total, file=buf)),
    )
    svi = SVI(model, guide, optim.Adam(0.01), Trace_ELBO())
    svi.run(jr.key(0), 300, Y, progress_bar=True)
    out = buf.getvalue()
    assert "300/300" in out and "loss" in out
    assert not _svi._BAR  # closed and dropped after the run


def test_predictive_draws_latents_from_a_fitted_guide():
    from sciad.probabilistic.infer import Predictive
    from sciad.probabilistic.infer.autoguide import AutoNormal

    def pred_model(n, y=None):
        mu = spp.sample("mu", dist.Normal(M0, S0))
        with spp.plate("n", n):
            spp.sample("y", dist.Normal(mu, SIGMA), obs=y)

    guide = AutoNormal(pred_model)
    svi = SVI(pred_model, guide, optim.Adam(0.05), Trace_ELBO())
    params = svi.run(jr.key(0), 500, Y.size, Y, progress_bar=False).params
    loc, scale = params["mu_auto_loc"], params["mu_auto_scale"]
    n = 4000
    pred = Predictive(
        pred_model, guide=guide, params=params, num_samples=n, return_sites=["mu", "y"]
    )
    draws = pred(jr.key(1), 3)
    assert draws["mu"].shape == (n,) and draws["y"].shape == (n, 3)
    # mu ~ N(loc, scale) from the guide; y | mu ~ N(mu, SIGMA) from the model
    _assert_mc_mean(draws["mu"], loc)
    _assert_mc_mean(draws["y"], jnp.full(3, loc))
    _assert_mc_mean((draws["mu"] - loc) ** 2, scale**2)
    _assert_mc_mean((draws["y"][:, 0] - loc) ** 2, scale**2 + SIGMA**2)
    # by default (as NumPyro) the guide's latents are not returned
    assert set(
        Predictive(pred_model, guide=guide, params=params, num_samples=5)(jr.key(2), 3)
    ) == {"y"}
    with pytest.raises(ValueError, match="not both"):
        Predictive(pred_model, {"mu": jnp.zeros(5)}, guide=guide, params=params)

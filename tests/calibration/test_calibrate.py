"""sciad.calibrate: analytic posterior, parameter recovery, errors, outputs."""

import os
import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad
from sciad.probabilistic import distributions as dist

X = jnp.linspace(-1.0, 1.0, 30)
TRUE = {"a": 0.7, "b": -1.3}
NOISE = 0.3
TAU = 2.0
Y = TRUE["a"] + TRUE["b"] * X + NOISE * jr.normal(jr.key(3), X.shape)


def line(params, x):
    return params["a"] + params["b"] * x


PRIORS = {"a": dist.Normal(0.0, TAU), "b": dist.Normal(0.0, TAU)}


@pytest.fixture(scope="module")
def linear_result():
    return sciad.calibrate(
        line, PRIORS, (X, Y), noise=NOISE, num_warmup=300, num_samples=600,
        num_chains=2, key=jr.key(0), truth=TRUE, progress_bar=False,
    )  # fmt: skip


def _analytic_posterior():
    design = np.stack([np.ones_like(X), np.asarray(X)], axis=1)
    precision = design.T @ design / NOISE**2 + np.eye(2) / TAU**2
    cov = np.linalg.inv(precision)
    mean = cov @ design.T @ np.asarray(Y) / NOISE**2
    return mean, cov


def test_linear_gaussian_matches_analytic_posterior(linear_result):
    mean, cov = _analytic_posterior()
    samples = linear_result.samples
    ess = linear_result.diagnostics["ess"]
    for i, name in enumerate(("a", "b")):
        draws = np.asarray(samples[name])
        sd = np.sqrt(cov[i, i])
        # Monte Carlo standard error of the mean is sd / sqrt(ESS); 4 of them
        # make a false failure a ~1e-4 event.
        assert abs(draws.mean() - mean[i]) < 4 * sd / np.sqrt(ess[name])
        # Relative error of a sd estimate is ~1/sqrt(2 ESS) (~3% here); 15% bound.
        assert abs(draws.std() / sd - 1) < 0.15
    corr = np.corrcoef(np.asarray(samples["a"]), np.asarray(samples["b"]))[0, 1]
    assert abs(corr - cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])) < 0.15
    # The MAP of a Gaussian posterior is its mean.
    np.testing.assert_allclose(
        [linear_result.map_estimate[k] for k in ("a", "b")], mean, rtol=1e-3
    )


def test_diagnostics_summary_predictive_plot(linear_result, tmp_path):
    d = linear_result.diagnostics
    assert d["divergences"] == 0
    assert max(d["r_hat"].values()) < 1.05
    table = linear_result.summary()
    assert "truth" in table and "in interval" in table and "divergences: 0" in table
    band = linear_result.predictive(X)
    assert band["mean"].shape == X.shape
    assert np.all(band["lower"] <= band["mean"]) and np.all(
        band["mean"] <= band["upper"]
    )
    # Predictive bands of new observations include the noise.
    assert np.all(band["obs_upper"] - band["obs_lower"] > band["upper"] - band["lower"])
    coverage = np.mean((Y >= band["obs_lower"]) & (Y <= band["obs_upper"]))
    assert coverage > 0.75
    path = linear_result.plot(str(tmp_path / "cal.png"))
    assert os.path.getsize(path) > 1000


def test_unknown_noise_and_student_t_likelihood_map():
    y = Y.at[5].add(5.0)  # one outlier; Student-t should shrug it off
    result = sciad.calibrate(
        line, PRIORS, (X, y), noise=dist.HalfNormal(1.0), method="map",
        likelihood="student_t", key=jr.key(1),
    )  # fmt: skip
    assert result.samples is None and result.mcmc is None
    assert set(result.map_estimate) == {"a", "b", "noise"}
    assert abs(result.map_estimate["a"] - TRUE["a"]) < 0.2
    assert abs(result.map_estimate["b"] - TRUE["b"]) < 0.3
    assert "MAP" in result.summary()


def test_poisson_likelihood_recovers_rate():
    x = jnp.linspace(0.0, 2.0, 40)
    counts = jr.poisson(jr.key(2), 3.0 * jnp.exp(0.5 * x)).astype(jnp.float32)
    result = sciad.calibrate(
        lambda p, x: p["rate"] * jnp.exp(p["growth"] * x),
        {"rate": dist.LogNormal(0.0, 1.0), "growth": dist.Normal(0.0, 1.0)},
        (x, counts), noise=1.0, likelihood="poisson", method="map", key=jr.key(0),
    )  # fmt: skip
    assert abs(result.map_estimate["rate"] - 3.0) < 1.0
    assert abs(result.map_estimate["growth"] - 0.5) < 0.25


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(noise=-1.0), ValueError, "positive float"),
        (dict(noise=0.1, method="vi"), ValueError, "'nuts' or 'map'"),
        (dict(noise=0.1, likelihood="gumbel"), ValueError, "likelihood"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        sciad.calibrate(line, PRIORS, (X, Y), key=jr.key(0), **kwargs)


def test_bad_priors_and_shapes():
    with pytest.raises(TypeError, match="prior for 'a'"):
        sciad.calibrate(line, {"a": 1.0}, (X, Y), noise=0.1, key=jr.key(0))
    with pytest.raises(ValueError, match="reserved"):
        sciad.calibrate(line, {"noise": dist.Normal(0, 1)}, (X, Y), noise=0.1,
                        key=jr.key(0))  # fmt: skip
    with pytest.raises(ValueError, match=r"shape \(30,\).*shape \(29,\)"):
        sciad.calibrate(line, PRIORS, (X, Y[:-1]), noise=0.1, key=jr.key(0),
                        method="map")  # fmt: skip
    # a parameter the simulator reads but `priors` lacks: named, with the priors
    with pytest.raises(KeyError, match="reads parameter 'slope'.*defines 'a', 'b'"):
        sciad.calibrate(lambda p, x: p["slope"] * x, PRIORS, (X, Y), noise=0.1,
                        key=jr.key(0), method="map")  # fmt: skip


def test_model_is_a_plain_sciad_model():
    # Users can drop down a level: the model runs under the public handlers.
    from sciad.probabilistic import handlers

    model = sciad.calibration_model(line, PRIORS, noise=NOISE)
    tr = handlers.trace(handlers.seed(model, jr.key(0))).get_trace(X, Y)
    assert list(tr) == ["a", "b", "prediction", "obs"]
    assert tr["obs"]["is_observed"]


def test_bad_diagnostics_warn():
    # 10 draws per chain after 5 warmup steps from dispersed starts: both the
    # sampler and the result's diagnostics must complain.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sciad.calibrate(
            line, PRIORS, (X, Y), noise=NOISE, num_warmup=5, num_samples=10,
            key=jr.key(0), progress_bar=False, init_jitter=3.0,
        )  # fmt: skip
        result.diagnostics  # noqa: B018
    assert any(issubclass(w.category, sciad.CalibrationWarning) for w in caught)


def test_same_key_same_numbers(linear_result):
    again = sciad.calibrate(
        line, PRIORS, (X, Y), noise=NOISE, num_warmup=300, num_samples=600,
        num_chains=2, key=jr.key(0), truth=TRUE, progress_bar=False,
    )  # fmt: skip
    jax.tree.map(np.testing.assert_array_equal, again.samples, linear_result.samples)


def _solve_identity(v):
    """`v`, as the root of u^3 + u = v^3 + v by Newton: a `lax.while_loop`."""
    target = v**3 + v
    tol = 8 * jnp.finfo(jnp.result_type(v)).eps * (1 + jnp.abs(target))

    def body(carry):
        i, u = carry
        return i + 1, u - (u**3 + u - target) / (3 * u**2 + 1)

    def cond(carry):
        i, u = carry
        return (i < 60) & (jnp.abs(u**3 + u - target) > tol)

    return jax.lax.while_loop(cond, body, (0, jnp.zeros_like(v)))[1]


def line_through_loop(params, x):
    return _solve_identity(params["a"]) + _solve_identity(params["b"]) * x


def test_forward_mode_calibrates_a_simulator_with_a_while_loop():
    """Reverse mode cannot differentiate the loop and says so; forward mode can."""
    kwargs = dict(noise=NOISE, num_chains=1, key=jr.key(1), progress_bar=False)
    with pytest.raises(ValueError, match="forward_mode_differentiation=True"):
        sciad.calibrate(line_through_loop, PRIORS, (X, Y), method="map", **kwargs)
    result = sciad.calibrate(
        line_through_loop, PRIORS, (X, Y), num_warmup=200, num_samples=600,
        forward_mode_differentiation=True, **kwargs,
    )  # fmt: skip
    mean, cov = _analytic_posterior()
    ess = result.diagnostics["ess"]
    for i, name in enumerate(("a", "b")):
        draws = np.asarray(result.samples[name])
        sd = np.sqrt(cov[i, i])
        assert abs(draws.mean() - mean[i]) < 4 * sd / np.sqrt(ess[name])
        assert abs(draws.std() / sd - 1) < 0.2  # ~1/sqrt(2 ESS) ~ 4%: 5 sigma
    np.testing.assert_allclose(
        [result.map_estimate[k] for k in ("a", "b")], mean, rtol=1e-3
    )


def test_forward_mode_through_a_custom_vjp_names_the_fix():
    @jax.custom_vjp
    def ident(v):
        return v

    ident.defvjp(lambda v: (v, None), lambda _, g: (g,))

    def simulator(params, x):
        return ident(params["a"]) + params["b"] * x

    with pytest.raises(TypeError, match=r"adjoint=diffrax.ForwardMode\(\)"):
        sciad.calibrate(
            simulator, PRIORS, (X, Y), noise=NOISE, method="map", key=jr.key(0),
            forward_mode_differentiation=True,
        )  # fmt: skip

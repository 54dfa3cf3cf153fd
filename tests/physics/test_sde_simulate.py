"""simulate: convergence orders, closed-form moments, adjoints, reproducibility."""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sciad.physics as sp
from sciad.physics.sde import FixedGridBrownianPath

GBM_MU, GBM_SIGMA, X0 = 1.0, 0.8, 1.0
T_FINE = 2**8
N_CONV = 2000


@pytest.fixture(scope="module")
def gbm_convergence():
    """Errors of the default GBM solver at T=1 for h = 2^-3 .. 2^-6.

    All step sizes share one fine Brownian path (`brownian=`), so the exact
    solution `X0 exp((mu - sigma^2/2) T + sigma W_T)` uses the same W_T.
    """
    model = sp.GeometricBrownianMotion(GBM_MU, GBM_SIGMA)
    path = FixedGridBrownianPath(
        (N_CONV, 1), jr.key(3), np.linspace(0.0, 1.0, T_FINE + 1)
    )
    w_t = path.evaluate(0.0, 1.0)[:, 0]
    exact = X0 * jnp.exp((GBM_MU - GBM_SIGMA**2 / 2) + GBM_SIGMA * w_t)
    hs = [2.0**-k for k in range(3, 7)]
    strong, weak = [], []
    for h in hs:
        ys = sp.simulate(
            model,
            jnp.array([X0]),
            jnp.array([0.0, 1.0]),
            key=jr.key(0),
            n_paths=N_CONV,
            dt0=h,
            brownian=path,
        )[:, -1, 0]
        strong.append(float(jnp.mean(jnp.abs(ys - exact))))
        # Same paths on both sides: the Monte Carlo noise of the bias estimate is
        # ~ strong_error / sqrt(N), well below the O(h) bias itself.
        weak.append(abs(float(jnp.mean(ys) - jnp.mean(exact))))
    return np.log(hs), np.log(strong), np.log(weak)


def test_default_solver_choice():
    assert isinstance(
        sp.default_solver(sp.GeometricBrownianMotion(0.1, 0.2)), diffrax.Euler
    )
    assert isinstance(
        sp.default_solver(sp.OrnsteinUhlenbeck(1.0, 0.0, 0.3)), diffrax.ShARK
    )


def test_gbm_strong_order(gbm_convergence):
    # Euler-Maruyama has strong order 1/2 for multiplicative noise.
    log_h, log_strong, _ = gbm_convergence
    slope = np.polyfit(log_h, log_strong, 1)[0]
    assert abs(slope - 0.5) < 0.15, slope


def test_gbm_weak_order(gbm_convergence):
    # ... and weak order 1.
    log_h, _, log_weak = gbm_convergence
    slope = np.polyfit(log_h, log_weak, 1)[0]
    assert abs(slope - 1.0) < 0.15, slope


def test_ou_moments_match_closed_form():
    theta, mu, sigma, y0 = 2.0, 0.5, 0.6, -1.0
    model = sp.OrnsteinUhlenbeck(theta, mu, sigma)
    ts = jnp.linspace(0.0, 2.0, 5)
    ys = sp.simulate(model, jnp.array([y0]), ts, key=jr.key(1), n_paths=20000, dt0=0.05)
    t = np.asarray(ts)
    mean = mu + (y0 - mu) * np.exp(-theta * t)
    var = sigma**2 / (2 * theta) * (1 - np.exp(-2 * theta * t))
    n = ys.shape[0]
    # 5 standard errors of the sample mean / variance (var of s^2 ~ 2 var^2 / n).
    np.testing.assert_allclose(
        ys[:, :, 0].mean(0), mean, atol=5 * np.sqrt(var.max() / n)
    )
    np.testing.assert_allclose(ys[:, 1:, 0].var(0), var[1:], rtol=5 * np.sqrt(2 / n))


def test_output_shape_and_irregular_ts():
    model = sp.StochasticLotkaVolterra()
    ts = jnp.array([0.0, 0.3, 0.35, 1.0])
    ys = sp.simulate(
        model, jnp.array([2.0, 1.0]), ts, key=jr.key(0), n_paths=3, dt0=0.1
    )
    assert ys.shape == (3, 4, 2)
    np.testing.assert_allclose(
        ys[:, 0], jnp.broadcast_to(jnp.array([2.0, 1.0]), (3, 2))
    )
    assert bool(jnp.all(jnp.isfinite(ys)))


def test_reproducible_and_key_dependent():
    model = sp.GeometricBrownianMotion(0.1, 0.3)
    ts = jnp.linspace(0.0, 1.0, 11)
    a = sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(7), n_paths=4)
    b = sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(7), n_paths=4)
    c = sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(8), n_paths=4)
    assert bool(jnp.all(a == b))
    assert not bool(jnp.allclose(a, c))


def test_general_noise_and_float32():
    model = sp.NeuralSDE(
        3, width=8, depth=1, noise="general", noise_dim=2, key=jr.key(0)
    )
    ys = sp.simulate(
        model,
        jnp.zeros(3, jnp.float32),
        jnp.linspace(0.0, 1.0, 6),
        key=jr.key(1),
        n_paths=2,
    )
    assert ys.shape == (2, 6, 3) and ys.dtype == jnp.float32


def _ou_terminal_mean(params, adjoint):
    theta, mu, sigma, y0 = params
    model = sp.OrnsteinUhlenbeck(theta, mu, sigma)
    ys = sp.simulate(
        model,
        y0[None],
        np.linspace(0.0, 1.0, 5),
        key=jr.key(0),
        n_paths=8,
        dt0=0.1,
        adjoint=adjoint,
    )
    return jnp.mean(ys[:, -1, 0] ** 2)


def _lv_loss(params, adjoint):
    model = sp.StochasticLotkaVolterra(*params)
    ys = sp.simulate(
        model,
        jnp.array([2.0, 1.0]),
        np.linspace(0.0, 1.0, 4),
        key=jr.key(2),
        n_paths=4,
        dt0=0.1,
        adjoint=adjoint,
    )
    return jnp.mean(ys**2)


@pytest.mark.parametrize(
    "fn,params,with_direct",
    [
        # DirectAdjoint compiles slowly: compared once (Euler-Maruyama, LV).
        (_ou_terminal_mean, jnp.array([1.5, 0.3, 0.4, -0.2]), False),
        (_lv_loss, jnp.array([1.0, 0.5, 0.25, 0.75, 0.2]), True),
    ],
)
def test_gradients_agree_between_adjoints(fn, params, with_direct):
    # 2 checkpoints for 10 steps: the backward pass recomputes most steps, so a
    # Brownian path that did not replay the forward noise would fail below.
    rec = jax.grad(fn)(params, diffrax.RecursiveCheckpointAdjoint(checkpoints=2))
    if with_direct:
        direct = jax.grad(fn)(params, diffrax.DirectAdjoint())
        # Same noise, same arithmetic: only summation order may differ.
        np.testing.assert_allclose(rec, direct, rtol=1e-10, atol=1e-12)
    # Pathwise derivative vs float64 central differences (fixed key -> the loss is
    # smooth in the parameters). Done by hand: `check_grads` also needs forward
    # mode, which RecursiveCheckpointAdjoint does not support by design.
    eps = 1e-6
    fd = [
        (fn(params.at[i].add(eps), None) - fn(params.at[i].add(-eps), None)) / (2 * eps)
        for i in range(params.shape[0])
    ]
    # FD truncation + rounding error ~ 1e-8 for O(1) smooth functions.
    np.testing.assert_allclose(rec, np.array(fd), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(ts=jnp.array([0.0, 1.0, 0.5])), "strictly increasing"),
        (dict(ts=jnp.array([0.0])), ">= 2 points"),
        (dict(dt0=-0.1), "dt0"),
        (dict(n_paths=0), "n_paths"),
        (dict(y0=jnp.zeros((2, 1))), "y0"),
    ],
)
def test_bad_simulate_input(kwargs, match):
    args = dict(y0=jnp.array([1.0]), ts=jnp.linspace(0.0, 1.0, 3), n_paths=3, dt0=None)
    args.update(kwargs)
    model = sp.GeometricBrownianMotion(0.1, 0.2)
    with pytest.raises(ValueError, match=match):
        sp.simulate(
            model,
            args["y0"],
            args["ts"],
            key=jr.key(0),
            n_paths=args["n_paths"],
            dt0=args["dt0"],
        )


def test_traced_ts():
    # Traced ts: one step per gap works (irregular grid found by search) ...
    model = sp.GeometricBrownianMotion(0.1, 0.2)
    ts = jnp.array([0.0, 0.1, 0.5, 1.0])
    run = jax.jit(lambda ts: sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(0)))
    np.testing.assert_allclose(
        run(ts), sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(0)), rtol=1e-12
    )
    # ... but sub-stepping with dt0 needs a static number of steps.
    with pytest.raises(TypeError, match="dt0"):
        jax.jit(
            lambda ts: sp.simulate(model, jnp.array([1.0]), ts, key=jr.key(0), dt0=0.1)
        )(ts)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: sp.OrnsteinUhlenbeck(-1.0, 0.0, 0.3), "theta"),
        (lambda: sp.GeometricBrownianMotion(0.1, 0.0), "sigma"),
        (lambda: sp.CIR(1.0, 0.04, -0.2), "sigma"),
        (lambda: sp.StochasticLotkaVolterra(sigma=jnp.ones(3)), "sigma"),
        (lambda: sp.NeuralSDE(2, noise="full", key=jr.key(0)), "noise"),
        (lambda: sp.NeuralSDE(0, key=jr.key(0)), "state_dim"),
    ],
)
def test_bad_model_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_non_finite_paths_raise():
    class Blowup(sp.AbstractSDE):
        def drift(self, t, y, args):
            return jnp.log(y)  # NaN for y < 0

        def diffusion(self, t, y, args):
            return jnp.zeros_like(y)

    with pytest.raises(Exception, match="non-finite"):
        sp.simulate(Blowup(), -jnp.ones(1), np.linspace(0.0, 1.0, 3), key=jr.key(0))


def test_bad_diffusion_shape():
    class Bad(sp.AbstractSDE):
        def drift(self, t, y, args):
            return -y

        def diffusion(self, t, y, args):
            return jnp.ones((3, 3, 1))

    with pytest.raises(ValueError, match="diffusion"):
        sp.simulate(Bad(), jnp.zeros(2), jnp.linspace(0.0, 1.0, 3), key=jr.key(0))


def test_heston_from_finance_simulates():
    # sciad.finance.Heston: state [log S, v], 2x2 general-noise diffusion.
    assert sp.Heston is __import__("sciad.finance", fromlist=["Heston"]).Heston
    h = sp.Heston(
        spot=100.0, rate=0.03, dividend=0.01, v0=0.04, kappa=1.5, theta=0.04,
        sigma=0.3, rho=-0.7,
    )  # fmt: skip
    n = 4000
    ys = sp.simulate(
        h, jnp.array([np.log(100.0), 0.04]), np.linspace(0.0, 1.0, 21),
        key=jr.key(0), n_paths=n,
    )  # fmt: skip
    spot = jnp.exp(ys[:, -1, 0])
    # Euler in log-spot with full truncation keeps E[S_T] = S0 e^{(r-q)T} up to
    # discretisation bias << the 4-standard-error Monte Carlo band.
    se = float(spot.std() / np.sqrt(n))
    np.testing.assert_allclose(spot.mean(), 100.0 * np.exp(0.02), atol=4 * se)


def test_sharded_paths_match_single_device():
    # Shard y0 (n_paths, d) over the 4 virtual devices along the path axis; the
    # noise (threefry, partitionable) and hence the paths must not change.
    from jax.sharding import AxisType, NamedSharding, PartitionSpec

    mesh = jax.make_mesh((4,), ("paths",), axis_types=(AxisType.Auto,))
    model = sp.GeometricBrownianMotion(0.1, 0.3)
    ts = np.linspace(0.0, 1.0, 11)
    y0 = jnp.ones((8, 1))
    run = jax.jit(lambda y0: sp.simulate(model, y0, ts, key=jr.key(0), n_paths=8))
    single = run(y0)
    sharded = run(jax.device_put(y0, NamedSharding(mesh, PartitionSpec("paths"))))
    assert len(sharded.sharding.device_set) == 4
    np.testing.assert_array_equal(np.asarray(sharded), np.asarray(single))

"""sciad.probabilistic.diagnostics against arviz, numpyro and AR(1) closed forms."""

import warnings

import jax.numpy as jnp
import numpy as np
import numpyro.diagnostics as npd
import pytest

from sciad.probabilistic import diagnostics as diag

with warnings.catch_warnings():
    # arviz announces its refactor with a FutureWarning at import time
    warnings.simplefilter("ignore")
    import arviz as az


def ar1(seed, chains, draws, phi, shape=()):
    """Stationary AR(1) chains x_t = phi x_{t-1} + e_t, e_t ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((chains, draws) + shape)
    x = np.empty_like(eps)
    x[:, 0] = eps[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + eps[:, t]
    return x


def per_element(fn, x):
    """Apply arviz's scalar-site function to each trailing element of x."""
    flat = x.reshape(x.shape[:2] + (-1,))
    return np.array([fn(flat[..., i]) for i in range(flat.shape[-1])]).reshape(
        x.shape[2:]
    )


# (chains, draws, phi, sample shape): odd draw counts, one chain, anticorrelated
# chains, vector and matrix sites, and the shortest legal chain (4 draws).
CASES = [
    (4, 400, 0.9, ()),
    (1, 301, 0.5, (3,)),
    (3, 101, -0.4, (2, 2)),
    (2, 4, 0.2, (2,)),
]


@pytest.mark.parametrize("chains,draws,phi,shape", CASES)
@pytest.mark.parametrize(
    "kind,method", [("bulk", "bulk"), ("tail", "tail"), ("basic", "mean")]
)
def test_ess_matches_arviz(chains, draws, phi, shape, kind, method):
    # cubing makes the marginals heavy-tailed so rank normalisation matters
    x = ar1(0, chains, draws, phi, shape) ** 3
    ours = diag.effective_sample_size(x, kind=kind)
    ref = per_element(lambda a: az.ess(a, method=method), x)
    assert ours.shape == shape
    # same algorithm term by term: only float64 round-off may differ
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@pytest.mark.parametrize("chains,draws,phi,shape", [c for c in CASES if c[0] > 1])
def test_split_rhat_matches_arviz(chains, draws, phi, shape):
    x = ar1(1, chains, draws, phi, shape) ** 3
    ref = per_element(lambda a: az.rhat(a, method="rank"), x)
    np.testing.assert_allclose(diag.split_gelman_rubin(x), ref, rtol=1e-12)


def test_ess_of_ar1_matches_closed_form():
    # AR(1): tau = (1 + phi) / (1 - phi). With 4 x 4000 draws the Geyer
    # estimate has a relative sd of about 3%; 10% is > 3 sd.
    phi = 0.6
    x = ar1(2, 4, 4000, phi, (2,))
    expected = x.shape[0] * x.shape[1] * (1 - phi) / (1 + phi)
    for kind in ("bulk", "basic"):
        np.testing.assert_allclose(
            diag.effective_sample_size(x, kind), expected, rtol=0.1
        )
    # independent draws: ESS ~ number of draws
    iid = np.random.default_rng(3).standard_normal((4, 1000))
    np.testing.assert_allclose(diag.effective_sample_size(iid), 4000, rtol=0.1)


def test_rhat_flags_unmixed_chains():
    x = np.random.default_rng(4).standard_normal((4, 500))
    assert diag.split_gelman_rubin(x) < 1.01
    x[0] += 3.0
    assert diag.split_gelman_rubin(x) > 1.1
    # only the spread differs: the folded (tail) R-hat catches it
    y = np.random.default_rng(5).standard_normal((4, 500))
    y[0] *= 5.0
    assert diag.split_gelman_rubin(y) > 1.1
    # one chain whose halves disagree
    trend = np.linspace(0.0, 10.0, 400)[None] + np.zeros((1, 400))
    assert diag.split_gelman_rubin(trend) > 1.5


def test_gelman_rubin_and_autocorrelation_match_numpyro():
    x = ar1(6, 3, 200, 0.7, (2,))
    np.testing.assert_allclose(diag.gelman_rubin(x), npd.gelman_rubin(x), rtol=1e-12)
    for axis, bias in [(1, True), (1, False), (0, True)]:
        np.testing.assert_allclose(
            diag.autocovariance(x, axis=axis, bias=bias),
            npd.autocovariance(x, axis=axis, bias=bias),
            atol=1e-12,
        )
        np.testing.assert_allclose(
            diag.autocorrelation(x, axis=axis, bias=bias),
            npd.autocorrelation(x, axis=axis, bias=bias),
            atol=1e-12,
        )
    rho = diag.autocorrelation(x[0, :, 0])
    assert rho[0] == pytest.approx(1.0)


def test_hpdi_matches_arviz_and_numpyro():
    x = np.random.default_rng(7).gamma(2.0, size=(999, 3))
    ours = diag.hpdi(x, prob=0.8)
    ref = np.stack([az.hdi(x[:, i], hdi_prob=0.8) for i in range(3)], axis=1)
    np.testing.assert_allclose(ours, ref)
    np.testing.assert_allclose(diag.hpdi(x.T, 0.8, axis=1), ref.T)
    np.testing.assert_allclose(ours, npd.hpdi(x, 0.8))
    # the HPDI of a right-skewed law sits left of the equal-tailed interval
    assert np.all(ours[1] < np.quantile(x, 0.9, axis=0))


def test_energy_bfmi_matches_arviz():
    rng = np.random.default_rng(8)
    energy = rng.standard_normal((4, 300)).cumsum(axis=1)  # random walk: tiny BFMI
    np.testing.assert_allclose(diag.energy_bfmi(energy), az.bfmi(energy), rtol=1e-12)
    assert np.all(diag.energy_bfmi(energy) < 0.3)
    iid = rng.standard_normal(5000)
    assert diag.energy_bfmi(iid) == pytest.approx(2.0, rel=0.1)  # E(diff^2)=2 var


def test_summary_values_and_input_forms():
    x = ar1(9, 2, 100, 0.3, (2, 3)) + 5.0
    out = diag.summary({"L": jnp.asarray(x, dtype=jnp.float32), "s": x[..., 0, 0]})
    assert set(out) == {"L", "s"}
    stats = out["L"]
    assert list(stats) == ["mean", "std", "median", "5.0%", "95.0%", "n_eff", "r_hat"]
    flat = np.asarray(jnp.asarray(x, dtype=jnp.float32), dtype=np.float64).reshape(
        200, 2, 3
    )
    np.testing.assert_allclose(stats["mean"], flat.mean(0))
    np.testing.assert_allclose(stats["std"], flat.std(0, ddof=1))
    np.testing.assert_allclose(stats["95.0%"], np.quantile(flat, 0.95, axis=0))
    assert stats["n_eff"].shape == (2, 3)
    np.testing.assert_allclose(out["s"]["r_hat"], diag.split_gelman_rubin(x[..., 0, 0]))
    # a bare array becomes Param:0; group_by_chain=False adds the chain axis
    bare = diag.summary(x[0], prob=0.5, group_by_chain=False)
    assert list(bare) == ["Param:0"] and "25.0%" in bare["Param:0"]
    np.testing.assert_allclose(bare["Param:0"]["mean"], x[0].mean(0))


def test_print_summary_table(capsys):
    x = ar1(10, 2, 50, 0.0, (2, 2))
    diag.print_summary(
        {"L": x, "mu": x[..., 0, 0]}, divergences=np.array([[1, 0], [1, 1]])
    )
    lines = capsys.readouterr().out.strip().splitlines()
    header = lines[0].split()
    assert header == ["mean", "std", "median", "5.5%", "94.5%", "n_eff", "r_hat"]
    labels = [line.split()[0] for line in lines[1:-1] if line.strip()]
    assert labels == ["L[0,0]", "L[0,1]", "L[1,0]", "L[1,1]", "mu"]
    assert lines[-1] == "Number of divergences: 3"
    assert float(lines[1].split()[1]) == pytest.approx(x[..., 0, 0].mean(), abs=0.006)


def test_bad_inputs_raise():
    x = np.zeros((2, 10))
    with pytest.raises(ValueError, match="kind"):
        diag.effective_sample_size(x, kind="mean")
    with pytest.raises(ValueError, match="at least 4 draws"):
        diag.effective_sample_size(np.zeros((2, 3)))
    # the shape annotation rejects it first when runtime type checking is on
    with pytest.raises((ValueError, TypeError), match="chains,? draws"):
        diag.split_gelman_rubin(np.zeros(10))
    with pytest.raises(ValueError, match="at least 2 chains"):
        diag.gelman_rubin(np.zeros((1, 10)))
    with pytest.raises(ValueError, match="prob"):
        diag.hpdi(x, prob=1.5)
    with pytest.raises(ValueError, match="axis"):
        diag.autocorrelation(x, axis=2)
    with pytest.raises(ValueError, match="energy"):
        diag.energy_bfmi(np.zeros((2, 2, 2)))


def test_degenerate_and_nan_draws():
    const = np.ones((2, 20))
    assert diag.effective_sample_size(const) == 40  # arviz's convention
    x = ar1(11, 2, 20, 0.0)
    x[0, 3] = np.nan
    assert np.isnan(diag.effective_sample_size(x, "basic"))
    # ranks would place a NaN last and hide it: every statistic is NaN there
    # (as in arviz), and only there
    pair = np.stack([x, ar1(12, 2, 20, 0.5)], axis=-1)
    for stat in (
        diag.effective_sample_size,
        lambda d: diag.effective_sample_size(d, "tail"),
        diag.split_gelman_rubin,
    ):
        out = stat(pair)
        assert np.isnan(out[0]) and out[1] == stat(pair[..., 1])
        assert np.isnan(stat(np.full((2, 20), np.nan)))

"""The MCMC driver: model path, compile-once, chain methods, warnings, progress."""

import sys

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from scipy import stats

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic.diagnostics import effective_sample_size
from sciad.probabilistic.infer import HMC, MCMC, NUTS, SamplingWarning, _progress
from sciad.probabilistic.infer._init_params import model_init_params

quiet = pytest.mark.filterwarnings("ignore::sciad.probabilistic.infer.SamplingWarning")


def beta_binomial(n, k=None):
    p = spp.sample("p", dist.Beta(2.0, 3.0))
    spp.sample("k", dist.Binomial(n, probs=p), obs=k)


def _within_mc_error(draws, mean, sd, n_sigma=5.0):
    draws = np.asarray(draws, np.float64)
    if draws.ndim == 1:
        draws = draws[None]
    ess = effective_sample_size(draws, kind="basic")
    assert abs(draws.mean() - mean) < n_sigma * sd / np.sqrt(ess), (draws.mean(), mean)
    assert abs(draws.std() / sd - 1) < n_sigma * np.sqrt(0.5 / ess) + 0.03, draws.std()


@pytest.fixture(scope="module")
def bb_mcmc():
    mcmc = MCMC(
        NUTS(beta_binomial),
        num_warmup=300,
        num_samples=1000,
        num_chains=2,
        thinning=2,
        progress_bar=False,
    )
    mcmc.run(
        jr.key(0), jnp.asarray(20.0), k=jnp.asarray(7.0), extra_fields=("num_steps",)
    )
    return mcmc


def test_beta_binomial_posterior(bb_mcmc):
    p = bb_mcmc.get_samples(group_by_chain=True)["p"]
    assert p.shape == (2, 500)  # NumPyro's rule: num_samples // thinning kept
    assert np.all((p > 0) & (p < 1))  # constrained values are returned
    post = stats.beta(2 + 7, 3 + 13)
    _within_mc_error(p, post.mean(), post.std())
    extra = bb_mcmc.get_extra_fields()
    assert set(extra) >= {"num_steps", "diverging", "energy"}
    assert extra["num_steps"].shape == (1000,)


def test_second_runs_recompile_nothing(bb_mcmc):
    traces = bb_mcmc.num_traces
    assert traces == 1
    fields = ("num_steps",)
    # new key, new data of the same shape
    bb_mcmc.run(jr.key(1), jnp.asarray(30.0), k=jnp.asarray(21.0), extra_fields=fields)
    post = stats.beta(2 + 21, 3 + 9)
    _within_mc_error(
        bb_mcmc.get_samples(group_by_chain=True)["p"], post.mean(), post.std()
    )
    # continue from the last state without warmup
    bb_mcmc.post_warmup_state = bb_mcmc.last_state
    bb_mcmc.run(jr.key(2), jnp.asarray(30.0), k=jnp.asarray(21.0), extra_fields=fields)
    assert np.all(np.asarray(bb_mcmc.last_state.i) == 300 + 2 * 1000)
    # warmup() then run() use the same program as well
    bb_mcmc.post_warmup_state = None
    bb_mcmc.warmup(
        jr.key(3), jnp.asarray(20.0), k=jnp.asarray(7.0), extra_fields=fields
    )
    assert np.all(np.asarray(bb_mcmc.post_warmup_state.i) == 300)
    bb_mcmc.run(jr.key(3), jnp.asarray(20.0), k=jnp.asarray(7.0), extra_fields=fields)
    bb_mcmc.post_warmup_state = None
    assert bb_mcmc.num_traces == traces


def test_print_summary_reports_divergences(bb_mcmc, capsys):
    bb_mcmc.print_summary()
    out = capsys.readouterr().out
    assert "n_eff" in out and "r_hat" in out and "Number of divergences" in out
    assert "5.5%" in out and "94.5%" in out  # the default interval


@quiet
def test_print_summary_excludes_deterministic_sites(capsys):
    def model():
        x = spp.sample("x", dist.Normal(0.0, 1.0))
        spp.deterministic("twice_x", 2.0 * x)

    mcmc = MCMC(NUTS(model), num_warmup=50, num_samples=50, progress_bar=False)
    mcmc.run(jr.key(0))
    assert set(mcmc.get_samples()) == {"x", "twice_x"}
    mcmc.print_summary()
    out = capsys.readouterr().out
    assert " x " in out and "twice_x" not in out
    mcmc.print_summary(exclude_deterministic=False)
    assert "twice_x" in capsys.readouterr().out


def test_zero_samples_is_a_warmup_only_run():
    mcmc = MCMC(NUTS(potential_fn=_tiny_potential), num_warmup=20, num_samples=0)
    mcmc.progress_bar = False
    mcmc.run(jr.key(0), init_params=jnp.zeros(2))
    assert mcmc.get_samples().shape == (0, 2)
    assert int(mcmc.last_state.i) == 20  # warmed up


def test_thinning_keeps_num_samples_over_thinning_draws():
    # NumPyro's rule (MCMC(num_samples=10, thinning=3) keeps 3 draws), so that
    # ported code gets the draws and the run time it had
    mcmc = MCMC(
        NUTS(potential_fn=_tiny_potential),
        num_warmup=5,
        num_samples=10,
        thinning=3,
        progress_bar=False,
    )
    mcmc.run(jr.key(0), init_params=jnp.zeros(2), extra_fields=("i",))
    assert mcmc.get_samples().shape == (3, 2)
    assert mcmc.get_extra_fields()["diverging"].shape == (3,)
    # all 10 iterations run; the first 10 % 3 are discarded, as NumPyro does
    assert int(mcmc.last_state.i) == 5 + 10
    np.testing.assert_array_equal(mcmc.get_extra_fields()["i"], [9, 12, 15])


@quiet
def test_collect_warmup_keeps_the_warmup_draws():
    mcmc = MCMC(
        NUTS(potential_fn=_tiny_potential),
        num_warmup=7,
        num_samples=4,
        thinning=2,
        progress_bar=False,
    )
    fields = ("i", "accept_prob", "mean_accept_prob", "adapt_state.step_size")
    mcmc.warmup(
        jr.key(0), init_params=jnp.zeros(2), extra_fields=fields, collect_warmup=True
    )
    extra = mcmc.get_extra_fields()
    assert mcmc.get_samples().shape == (3, 2)
    np.testing.assert_array_equal(extra["i"], [3, 5, 7])  # NumPyro's iterations
    assert int(mcmc.post_warmup_state.i) == 7
    # the step size still moves: these are adaptation draws
    assert len(np.unique(extra["adapt_state.step_size"])) > 1
    mcmc.run(jr.key(1), init_params=jnp.zeros(2), extra_fields=fields)
    assert mcmc.get_samples().shape == (2, 2)
    np.testing.assert_array_equal(mcmc.get_extra_fields()["i"], [9, 11])


@quiet
def test_mean_accept_prob_is_the_running_mean_of_the_phase():
    mcmc = MCMC(
        NUTS(potential_fn=_tiny_potential),
        num_warmup=6,
        num_samples=5,
        progress_bar=False,
    )
    fields = ("accept_prob", "mean_accept_prob")
    mcmc.warmup(
        jr.key(0), init_params=jnp.zeros(2), extra_fields=fields, collect_warmup=True
    )
    warm = mcmc.get_extra_fields()
    acc = np.asarray(warm["accept_prob"], np.float64)
    np.testing.assert_allclose(
        warm["mean_accept_prob"], np.cumsum(acc) / np.arange(1, 7), rtol=1e-6
    )
    mcmc.run(jr.key(1), init_params=jnp.zeros(2), extra_fields=fields)
    first = np.asarray(mcmc.get_extra_fields()["accept_prob"], np.float64)
    # sampling restarts the mean, and continuing carries it over
    mcmc.post_warmup_state = mcmc.last_state
    mcmc.run(jr.key(2), init_params=jnp.zeros(2), extra_fields=fields)
    extra = mcmc.get_extra_fields()
    acc = np.concatenate([first, np.asarray(extra["accept_prob"], np.float64)])
    np.testing.assert_allclose(
        extra["mean_accept_prob"], (np.cumsum(acc) / np.arange(1, 11))[5:], rtol=1e-6
    )


@quiet
def test_kept_iterations_match_numpyro():
    numpyro = pytest.importorskip("numpyro")
    from numpyro.infer import MCMC as NMCMC, NUTS as NNUTS

    def model(lib, d):
        return lambda: lib.sample("a", d.Normal(0.0, 1.0))

    for warmup, samples, thinning, collect in [(5, 7, 3, False), (5, 3, 2, True)]:
        got = []
        for lib, d, mcmc_cls, nuts_cls in [
            (spp, dist, MCMC, NUTS),
            (numpyro, numpyro.distributions, NMCMC, NNUTS),
        ]:
            mcmc = mcmc_cls(
                nuts_cls(model(lib, d)),
                num_warmup=warmup,
                num_samples=samples,
                thinning=thinning,
                progress_bar=False,
            )
            if collect:
                mcmc.warmup(jr.PRNGKey(0), extra_fields=("i",), collect_warmup=True)
            else:
                mcmc.run(jr.PRNGKey(0), extra_fields=("i",))
            runs = [np.asarray(mcmc.get_extra_fields()["i"])]
            mcmc.post_warmup_state = mcmc.last_state
            mcmc.run(mcmc.post_warmup_state.rng_key, extra_fields=("i",))
            runs.append(np.asarray(mcmc.get_extra_fields()["i"]))
            got.append(runs)
        for ours, theirs in zip(*got, strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_subsampling_plates_are_refused_with_a_reason():
    def model(y):
        mu = spp.sample("mu", dist.Normal(0.0, 10.0))
        with spp.plate("n", 100, subsample_size=10) as idx:
            spp.sample("y", dist.Normal(mu, 1.0), obs=y[idx])

    mcmc = MCMC(NUTS(model), num_warmup=5, num_samples=5, progress_bar=False)
    with pytest.raises(RuntimeError, match="plate 'n'.*do not support subsampling"):
        mcmc.run(jr.key(0), jnp.zeros(100))


EIGHT_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
# NumPyro NUTS, 4 x 50,000 draws (float64): mean and sd of mu and tau
EIGHT_REFERENCE = {"mu": (4.405, 3.325), "tau": (3.591, 3.211)}


def eight_schools(sigma, y=None):
    mu = spp.sample("mu", dist.Normal(0.0, 5.0))
    tau = spp.sample("tau", dist.HalfCauchy(5.0))
    with spp.plate("J", 8):
        theta_t = spp.sample("theta_t", dist.Normal(0.0, 1.0))
        spp.sample("obs", dist.Normal(mu + tau * theta_t, sigma), obs=y)


@quiet
@pytest.mark.slow
@pytest.mark.parametrize("kernel", [NUTS, HMC])
def test_eight_schools_matches_reference(kernel):
    mcmc = MCMC(
        kernel(eight_schools), num_warmup=500, num_samples=3000, progress_bar=False
    )
    mcmc.run(jr.key(11), EIGHT_SIGMA, y=EIGHT_Y)
    samples = mcmc.get_samples()
    for name, (mean, sd) in EIGHT_REFERENCE.items():
        # tau is skewed: compare log-free moments with a wider band
        _within_mc_error(samples[name], mean, sd, n_sigma=6.0)


def funnel_centered(z):
    y, x = z["y"], z["x"]
    return 0.5 * (y / 3.0) ** 2 + 0.5 * jnp.sum(x**2) * jnp.exp(-y) + 0.5 * 9 * y


def test_centered_funnel_warns_about_divergences():
    # one chain of 500 draws visits the funnel's neck (and diverges there) only
    # about 2 times in 3, in any NUTS implementation; with 4 chains the
    # divergences are all but certain, so the test checks the reporting and
    # not the luck of one chain
    mcmc = MCMC(
        NUTS(potential_fn=funnel_centered),
        num_warmup=300,
        num_samples=500,
        num_chains=4,
        progress_bar=False,
    )
    with pytest.warns(SamplingWarning) as record:
        mcmc.run(jr.key(5), init_params={"y": jnp.asarray(0.0), "x": jnp.zeros(9)})
    messages = " ".join(str(w.message) for w in record)
    assert "divergent transitions" in messages
    assert int(np.sum(mcmc.get_extra_fields()["diverging"])) > 0


def _tiny_potential(z):
    return 0.5 * jnp.sum((z - 1.0) ** 2 / jnp.array([1.0, 4.0]))


@quiet
def test_chain_methods_agree():
    results = {}
    for method in ("sequential", "vectorized", "parallel"):
        mcmc = MCMC(
            NUTS(potential_fn=_tiny_potential, max_tree_depth=4),
            num_warmup=20,
            num_samples=15,
            num_chains=4,
            chain_method=method,
            progress_bar=False,
        )
        mcmc.run(jr.key(8), init_params=jnp.zeros(2))
        results[method] = np.asarray(mcmc.get_samples(group_by_chain=True))
    assert results["sequential"].shape == (4, 15, 2)
    np.testing.assert_allclose(
        results["vectorized"], results["sequential"], rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        results["parallel"], results["sequential"], rtol=1e-9, atol=1e-10
    )


def test_parallel_falls_back_with_warning():
    mcmc = MCMC(
        NUTS(potential_fn=_tiny_potential),
        num_warmup=1,
        num_samples=1,
        num_chains=jax.device_count() + 1,
        chain_method="parallel",
    )
    with pytest.warns(SamplingWarning, match="vectorized"):
        assert mcmc._resolve_chain_method() == ("vectorized", 1)


def test_progress_bar_off_without_tty(monkeypatch):
    assert not sys.stdout.isatty()  # pytest captures stdout
    assert not _progress.enabled(True)

    class FakeTTY:
        def isatty(self):
            return True

        def write(self, s):
            return len(s)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", FakeTTY())
    assert _progress.enabled(True)
    assert not _progress.enabled(False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        NUTS()
    with pytest.raises(ValueError, match="chain_method"):
        MCMC(
            NUTS(potential_fn=_tiny_potential),
            num_warmup=1,
            num_samples=1,
            chain_method="threads",
        )
    with pytest.raises(ValueError, match="num_samples"):
        MCMC(NUTS(potential_fn=_tiny_potential), num_warmup=1, num_samples=-1)
    with pytest.raises(ValueError, match="init_params"):
        MCMC(NUTS(potential_fn=_tiny_potential), num_warmup=1, num_samples=1).run(
            jr.key(0)
        )
    with pytest.raises(ValueError, match="max_tree_depth.*got 0"):
        NUTS(potential_fn=_tiny_potential, max_tree_depth=0)
    mcmc = MCMC(NUTS(potential_fn=_tiny_potential), num_warmup=1, num_samples=1)
    assert mcmc.transfer_states_to_host() is None  # NumPyro's API; a no-op here
    with pytest.raises(ValueError, match="trajectory_length.*got -1"):
        HMC(potential_fn=_tiny_potential, trajectory_length=-1.0)
    # (under the test suite's jaxtyping hook the type hint catches it first)
    with pytest.raises(TypeError, match="model"):
        NUTS(model=3)
    with pytest.raises(ValueError, match="storage_dtype"):
        MCMC(NUTS(_tiny_potential), num_warmup=1, num_samples=1, storage_dtype="int8")
    mcmc = MCMC(NUTS(potential_fn=_tiny_potential), num_warmup=1, num_samples=1)
    init = jnp.zeros(2)
    with pytest.raises(TypeError, match="`rng_key` must be a PRNG key.*got int"):
        mcmc.run(0, init_params=init)
    with pytest.raises(TypeError, match="got ndarray of dtype float64"):
        mcmc.run(np.zeros(2), init_params=init)
    with pytest.raises(ValueError, match="single PRNG key"):
        mcmc.run(jr.split(jr.key(0), 2), init_params=init)


def test_initialisation_failure_names_the_site():
    def bad_model():
        mu = spp.sample("mu", dist.Normal(0.0, 1.0))
        spp.sample("obs", dist.Normal(mu, 0.0), obs=1.0)  # zero scale: -inf/NaN

    mcmc = MCMC(NUTS(bad_model), num_warmup=2, num_samples=2, progress_bar=False)
    with pytest.raises(Exception, match="site 'obs'"):
        mcmc.run(jr.key(0))


def _scale_model(y):
    mu = spp.sample("mu", dist.Normal(0.0, 1.0))
    s = spp.sample("s", dist.HalfNormal(1.0))
    # finite density at mu = 0, infinite slope there
    spp.sample("kink", dist.Normal(jnp.sqrt(jnp.abs(mu)), 1.0), obs=0.5)
    spp.sample("obs", dist.Normal(mu, s), obs=y)


@pytest.mark.parametrize(
    "init, site",
    [
        # exp(1000) overflows: the scale site's density is the first bad term
        ({"mu": 0.5, "s": 1000.0}, "the log-density of site 's' is not finite"),
        ({"mu": np.nan, "s": 0.0}, "the log-density of site 'mu' is not finite"),
        ({"mu": 0.0, "s": 0.0}, "gradient of the potential w.r.t. site 'mu'"),
    ],
)
def test_bad_init_params_name_the_site(init, site):
    mcmc = MCMC(NUTS(_scale_model), num_warmup=2, num_samples=2, progress_bar=False)
    init = {k: jnp.float32(v) for k, v in init.items()}
    with pytest.raises(ValueError, match="not finite at `init_params`") as err:
        mcmc.run(jr.key(0), jnp.ones(3), init_params=init)
    assert site in str(err.value), str(err.value)


@pytest.mark.parametrize("method", ["sequential", "vectorized", "parallel"])
def test_bad_init_params_of_a_potential_name_the_leaf(method):
    def potential(p):
        # a standard normal whose gradient is 0 * inf = NaN where b[1] = 0
        kink = 0.0 * jnp.sqrt(jnp.abs(p["b"][1]))
        return 0.5 * (jnp.sum(p["a"] ** 2) + jnp.sum(p["b"] ** 2)) + kink

    mcmc = MCMC(
        NUTS(potential_fn=potential),
        num_warmup=2,
        num_samples=2,
        num_chains=2,
        chain_method=method,
        progress_bar=False,
    )
    # the second of the two chains starts where the gradient is not finite
    init = {"a": jnp.ones((2, 3)), "b": jnp.array([[1.0, 1.0], [1.0, 0.0]])}
    match = r"\(chain 1\): the gradient w.r.t. init_params\['b'\] is not finite"
    with pytest.raises(ValueError, match=match):
        mcmc.run(jr.key(0), init_params=init)
    good = {"a": jnp.ones((2, 3)), "b": jnp.ones((2, 2))}
    mcmc.run(jr.key(0), init_params=good)  # the same program, valid starts
    assert mcmc.get_samples()["a"].shape == (4, 3)
    assert mcmc.num_traces == 1


def test_init_params_are_checked_against_the_model_sites():
    mcmc = MCMC(NUTS(_scale_model), num_warmup=2, num_samples=2, progress_bar=False)
    y = jnp.ones(3)
    cases = [
        ({"mu": 0.0, "s": 0.0, "sigma": 1.0}, ValueError, "unknown site.*'sigma'"),
        ({"mu": 0.0}, ValueError, "no value for latent site.*'s'"),
        ({"mu": jnp.zeros(2), "s": 0.0}, ValueError, r"init_params\['mu'\].*\(2,\)"),
        ({"mu": "a", "s": 0.0}, TypeError, r"init_params\['mu'\].*real"),
        ([0.0, 0.0], TypeError, "dict"),
    ]
    for init, error, match in cases:
        with pytest.raises(error, match=match):
            mcmc.run(jr.key(0), y, init_params=init)
    assert mcmc.num_traces == 0  # all caught on the host, before tracing


def test_init_params_chain_axis_and_dtype():
    proto = {"v": jax.ShapeDtypeStruct((2,), jnp.float64)}
    # shaped like the site: every chain starts there, even with 2 chains
    out = model_init_params({"v": np.float32([0.1, 0.2])}, proto, 2)["v"]
    assert out.shape == (2, 2) and out.dtype == np.float64
    np.testing.assert_array_equal(out[0], out[1])
    rows = np.array([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(model_init_params({"v": rows}, proto, 2)["v"], rows)
    with pytest.raises(ValueError, match=r"\(3, 2\).*one row per chain"):
        model_init_params({"v": np.zeros((3, 2))}, proto, 2)


@quiet
def test_float32_init_params_in_a_float64_program():
    init = {"mu": jnp.float32(0.5), "s": jnp.float32(0.0)}
    mcmc = MCMC(NUTS(_scale_model), num_warmup=20, num_samples=5, progress_bar=False)
    mcmc.run(jr.key(1), jnp.ones(3), init_params=init)  # cast to the sites' float64
    assert mcmc.get_samples()["mu"].dtype == jnp.float64
    data = jnp.linspace(0.0, 1.0, 5)  # float64: a float64 potential

    def potential(p):
        return 0.5 * jnp.sum((p["a"] - data.mean()) ** 2)

    mcmc = MCMC(NUTS(potential_fn=potential), num_warmup=20, num_samples=5)
    mcmc.progress_bar = False
    mcmc.run(jr.key(1), init_params={"a": jnp.zeros(3, jnp.float32)})
    samples = mcmc.get_samples()["a"]
    assert samples.dtype == jnp.float32 and np.all(np.isfinite(samples))


def _rank_rhat_by_definition(draws):
    """Vehtari et al.'s R-hat written out: scipy ranks, Blom scores, no shortcuts."""
    from scipy.special import ndtri

    half = draws.shape[1] // 2
    split = np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half :]])

    def rhat_of_scores(x):
        flat = x.reshape((-1,) + x.shape[2:])
        z = ndtri((stats.rankdata(flat, axis=0) - 0.375) / (len(flat) + 0.25))
        z = z.reshape(x.shape)
        n = x.shape[1]
        within = z.var(axis=1, ddof=1).mean(axis=0)
        var_plus = within * (n - 1) / n + z.mean(axis=1).var(axis=0, ddof=1)
        return np.sqrt(var_plus / within)

    median = np.median(split.reshape((-1,) + split.shape[2:]), axis=0)
    folded = np.abs(split - median)
    return np.maximum(rhat_of_scores(split), rhat_of_scores(folded))


def test_fast_rhat_matches_definition():
    """The post-run R-hat check equals the rank-normalised R-hat, ties included.

    It sums each chain's scores in sorted order and patches tie runs only
    where they occur (NUTS often returns its starting point); rounding aside,
    the numbers must be those of the definition.
    """
    from sciad.probabilistic.diagnostics import split_gelman_rubin
    from sciad.probabilistic.infer._run_checks import max_rank_rhat

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 300, 7))
    x[:, 100:120] = x[:, 99:100]  # repeated draws
    walk = np.cumsum(rng.standard_normal((1, 300, 3)), axis=1)
    rounded = np.round(rng.standard_normal((3, 200)), 1)  # heavy ties
    shifted = rng.standard_normal((8, 51, 2)) + np.arange(8)[:, None, None] / 4
    wide = rng.standard_normal((1, 40, 3000))  # two blocks of elements
    wide[:, 5:9] = wide[:, 4:5]
    for draws in (x, walk, rounded, shifted, wide):
        got = max_rank_rhat({"s": draws.astype(np.float32), "i": np.ones((1, 9), int)})
        exact = _rank_rhat_by_definition(draws.astype(np.float32).astype(np.float64))
        assert list(got) == ["s"]  # integer sites are skipped
        np.testing.assert_allclose(got["s"], np.max(exact), rtol=1e-12)
        np.testing.assert_allclose(
            split_gelman_rubin(draws), _rank_rhat_by_definition(draws), rtol=1e-12
        )
    # constant elements are ignored, a constant site is omitted
    mixed = np.concatenate([x[..., :1], np.ones_like(x[..., :1])], axis=-1)
    got = max_rank_rhat({"m": mixed, "c": np.ones((2, 300))})
    np.testing.assert_allclose(got["m"], np.max(_rank_rhat_by_definition(x[..., 0])))
    assert "c" not in got
    assert np.isnan(split_gelman_rubin(mixed)[1])
    # two chains stuck at -1 and +1: the folded draws are constant, the bulk
    # R-hat infinite, and the check must flag it
    stuck = np.concatenate([-np.ones((1, 20)), np.ones((1, 20))])
    assert max_rank_rhat({"stuck": stuck})["stuck"] == np.inf


def test_rank_scores_match_scipy_ranks():
    """The tie-run scores and sorted-row medians of `rank_scores` are exact."""
    from scipy.special import ndtri

    from sciad.probabilistic._diagnostics_core import rank_scores

    rng = np.random.default_rng(1)
    rows = np.round(rng.standard_normal((6, 301)), 1)  # many ties, odd length
    rows[0] = 2.0  # one constant row
    rows[1, :150] = rows[1, 150]  # a long run of ties
    with_nan = rows.copy()
    with_nan[2, 7] = np.nan  # non-finite draws take the reference path
    for r in (rows, rows[:, :300], with_nan):
        scores, median = rank_scores(r)
        s = r.shape[-1]
        ranks = stats.rankdata(r, axis=-1)
        finite = np.isfinite(r).all(axis=-1)
        ref = ndtri((ranks - 0.375) / (s + 0.25))
        np.testing.assert_array_equal(scores[finite], ref[finite])
        np.testing.assert_array_equal(median, np.median(r, axis=-1))
    assert np.isfinite(rank_scores(with_nan)[0][3]).all()


def test_big_data_arguments_get_their_own_xla_options(monkeypatch):
    # Model arguments of >= 2**20 elements mark the chain program as big data;
    # its XLA options then depend on the CPU (see `_compiler_options`).
    from sciad.probabilistic.infer import _compiler_options as xo

    def model(x):
        mu = spp.sample("mu", dist.Normal(0.0, 10.0))
        spp.factor("lik", -0.5 * jnp.sum((x - mu) ** 2) / x.size)

    configs = {}
    for n in (xo.BIG_DATA_ELEMENTS, 1000):
        mcmc = MCMC(NUTS(model), num_warmup=5, num_samples=5, progress_bar=False)
        mcmc.run(jr.key(0), jnp.full((n,), 0.5, jnp.float32))
        ((_, config),) = mcmc._programs
        configs[n] = config.big_data
        assert np.isfinite(mcmc.get_samples()["mu"]).all()
    assert configs == {xo.BIG_DATA_ELEMENTS: True, 1000: False}
    assert not xo._accepted((("xla_cpu_no_such_option", True),))
    if jax.default_backend() != "cpu":
        return
    assert xo.cpu_vendor() in ("GenuineIntel", "AuthenticAMD", "")
    small = {"xla_cpu_use_fusion_emitters": False}
    amd = small | {"xla_backend_optimization_level": 2}
    for vendor in ("GenuineIntel", "AuthenticAMD", ""):
        monkeypatch.setattr(xo, "cpu_vendor", lambda v=vendor: v)
        if vendor == "AuthenticAMD":
            assert xo.compiler_options(False) == xo.compiler_options(True) == amd
        else:
            assert xo.compiler_options(False) == small
            assert xo.compiler_options(True) in ({}, dict(xo.NO_YNN_FUSIONS))
    # every option set this module can return compiles on this XLA
    assert xo._accepted(tuple(amd.items()))

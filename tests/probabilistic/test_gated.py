"""Zero-inflated and hurdle distributions.

Oracles: scipy's Poisson, negative binomial, Gamma and LogNormal laws put
together by the defining formulas; normalisation and moments by summing the
pmf; chi-square and KS tests on draws; a conjugate Beta posterior for a hurdle
gate (exact) and a grid posterior for its rate, sampled by NUTS; NumPyro's
densities when it is installed.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st
from jax.test_util import check_grads

import sciad.probabilistic as spp
import sciad.probabilistic.distributions as dist
from sciad.probabilistic.infer import MCMC, NUTS

K = np.arange(0, 60)


def _nb2(mean, conc):
    return st.nbinom(conc, conc / (conc + mean))


def _discrete_cases():
    g = 0.3
    pois, nb = st.poisson(2.5), _nb2(3.0, 2.0)

    def zi(law):
        pmf = (1 - g) * law.pmf(K)
        pmf[0] += g
        return pmf

    def hurdle(law):
        pmf = (1 - g) * law.pmf(K) / (1 - law.pmf(0))
        pmf[0] = g
        return pmf

    logit_g = float(np.log(g / (1 - g)))
    return {
        "zi_poisson": (
            dist.ZeroInflatedDistribution(dist.Poisson(2.5), gate=g),
            zi(pois),
        ),
        "zi_poisson_logits": (
            dist.ZeroInflatedLogits(dist.Poisson(2.5), logit_g),
            zi(pois),
        ),
        "zi_nb2": (dist.ZeroInflatedNegativeBinomial2(3.0, 2.0, gate=g), zi(nb)),
        "hurdle_poisson": (dist.HurdlePoisson(g, 2.5), hurdle(pois)),
        "hurdle_poisson_logits": (
            dist.HurdleLogits(dist.Poisson(2.5), logit_g),
            hurdle(pois),
        ),
        "hurdle_nb2": (dist.HurdleNegativeBinomial2(g, 3.0, 2.0), hurdle(nb)),
    }


@pytest.mark.parametrize("name", sorted(_discrete_cases()))
def test_discrete_pmf_moments_and_draws(name):
    with jax.enable_x64(True):
        d, pmf = _discrete_cases()[name]
        np.testing.assert_allclose(np.exp(d.log_prob(jnp.asarray(K))), pmf, rtol=1e-10)
        assert abs(pmf.sum() - 1) < 1e-9  # K covers the mass
        mean = np.sum(K * pmf)
        np.testing.assert_allclose(d.mean, mean, rtol=1e-9)
        np.testing.assert_allclose(d.variance, np.sum(K**2 * pmf) - mean**2, rtol=1e-9)
        x = np.asarray(d.sample(jr.key(0), (20000,)))
        assert x.dtype.kind == "i"
        counts = np.bincount(x, minlength=len(K))[:12]
        expected = 20000 * pmf[:12]
        keep = expected > 5
        chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
        assert st.chi2(keep.sum()).sf(chi2) > 1e-3


def test_hurdle_on_positive_continuous_bases():
    with jax.enable_x64(True):
        cases = [
            (dist.HurdleGamma(0.3, 2.0, 1.5), st.gamma(2.0, scale=1 / 1.5)),
            (dist.HurdleLogNormal(0.4, 0.1, 0.7), st.lognorm(0.7, scale=np.exp(0.1))),
        ]
        for d, law in cases:
            g = float(d.gate)
            x = jnp.array([0.0, 0.3, 1.0, 4.0])
            ref = np.concatenate([[np.log(g)], np.log1p(-g) + law.logpdf(x[1:])])
            np.testing.assert_allclose(d.log_prob(x), ref, rtol=1e-12)
            assert d.log_prob(-1.0) == -np.inf
            np.testing.assert_allclose(d.mean, (1 - g) * law.mean(), rtol=1e-12)
            second = (1 - g) * (law.var() + law.mean() ** 2)
            np.testing.assert_allclose(d.variance, second - d.mean**2, rtol=1e-12)
            draws = np.asarray(d.sample(jr.key(1), (20000,)))
            zero = draws == 0
            assert abs(zero.mean() - g) < 4 * np.sqrt(g * (1 - g) / 20000)
            assert st.kstest(draws[~zero], law.cdf).pvalue > 1e-3


def test_gated_batches_gradients_and_errors():
    with jax.enable_x64(True):
        d = dist.ZeroInflatedDistribution(
            dist.Poisson(jnp.array([1.0, 4.0])), gate=jnp.array([[0.1], [0.5]])
        )
        assert d.batch_shape == (2, 2) and d.base_dist.batch_shape == (2, 2)
        assert d.log_prob(jnp.zeros((3, 1, 1), int)).shape == (3, 2, 2)
        assert d.sample(jr.key(2), (5,)).shape == (5, 2, 2)
        assert d.has_enumerate_support is False  # Poisson is unbounded

        def lp(logit_g, rate):
            k = jnp.array([0, 1, 3])
            zi = dist.ZeroInflatedLogits(dist.Poisson(rate), logit_g).log_prob(k)
            hurdle = dist.HurdleLogits(dist.Poisson(rate), logit_g).log_prob(k)
            return jnp.sum(zi + hurdle)

        check_grads(lp, (0.4, 2.2), order=1, modes=["rev", "fwd"])
        check_grads(lambda g: dist.HurdleGamma(g, 2.0).log_prob(0.7), (0.2,), 1)
        # the logits parametrisation keeps log(1 - g) when g rounds to 1
        far = dist.ZeroInflatedLogits(dist.Poisson(2.0), 40.0).log_prob(3)
        np.testing.assert_allclose(far, -40.0 + st.poisson(2.0).logpmf(3), rtol=1e-12)
    with pytest.raises(ValueError, match="exactly one of `gate` or `gate_logits`"):
        dist.ZeroInflatedDistribution(dist.Poisson(1.0))
    with pytest.raises(ValueError, match="discrete"):
        dist.ZeroInflatedDistribution(dist.Gamma(2.0), gate=0.3)
    with pytest.raises(ValueError, match="positive reals"):
        dist.HurdleDistribution(dist.Normal(0.0, 1.0), gate=0.3)
    with pytest.raises(ValueError, match="univariate"):
        dist.HurdleDistribution(dist.Dirichlet(jnp.ones(3)), gate=0.3)
    with pytest.raises(ValueError, match="gate"):
        dist.HurdlePoisson(1.5, 2.0, validate_args=True)


def test_gated_match_numpyro():
    nd = pytest.importorskip("numpyro.distributions")
    with jax.enable_x64(True):
        k = np.arange(0, 12)
        x = np.array([0.0, 0.5, 2.0])
        cases = [
            ("ZeroInflatedProbs", (0.3,), k),
            ("ZeroInflatedLogits", (-0.4,), k),
            ("HurdleProbs", (0.2,), k),
            ("HurdleLogits", (0.6,), k),
        ]
        pairs = [
            (
                getattr(dist, n)(dist.Poisson(2.5), *a),
                getattr(nd, n)(nd.Poisson(2.5), *a),
                v,
            )
            for n, a, v in cases
        ]
        for n, a, v in [
            ("HurdlePoisson", (0.3, 2.5), k),
            # (NumPyro's NegativeBinomial2 differs from scipy's by ~1e-6 in float64;
            # ours matches scipy to 1e-10, tested above)
            ("HurdleGamma", (0.3, 2.0, 1.5), x),
            ("HurdleLogNormal", (0.4, 0.1, 0.7), x),
        ]:
            kw = {"gate": 0.25} if n.startswith("ZeroInflated") else {}
            pairs.append((getattr(dist, n)(*a, **kw), getattr(nd, n)(*a, **kw), v))
        for ours, theirs, v in pairs:
            np.testing.assert_allclose(
                ours.log_prob(jnp.asarray(v)), theirs.log_prob(v), rtol=1e-12
            )
            np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-12)
            np.testing.assert_allclose(ours.variance, theirs.variance, rtol=1e-12)


@pytest.mark.slow
def test_nuts_recovers_a_hurdle_poisson_posterior():
    # The hurdle likelihood factorises: zeros inform only the gate, so with
    # g ~ Beta(1, 1) the gate's posterior is Beta(1 + n_zero, 1 + n_positive)
    # exactly; the rate's posterior (zero-truncated Poisson, Gamma(2, 1) prior)
    # is computed on a grid.
    y = np.asarray(dist.HurdlePoisson(0.35, 1.3).sample(jr.key(3), (60,)))
    n0, pos = int(np.sum(y == 0)), y[y > 0]

    def model(y):
        g = spp.sample("g", dist.Beta(1.0, 1.0))
        rate = spp.sample("rate", dist.Gamma(2.0, 1.0))
        with spp.plate("n", y.shape[0]):
            spp.sample("y", dist.HurdlePoisson(g, rate), obs=y)

    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(model), num_warmup=400, num_samples=2000, progress_bar=False)
        mcmc.run(jr.key(4), jnp.asarray(y))
        draws = {k: np.asarray(v) for k, v in mcmc.get_samples().items()}
    lam = np.linspace(1e-3, 6, 20001)
    log_post = st.gamma(2.0).logpdf(lam) + np.sum(
        st.poisson(lam[:, None]).logpmf(pos) - np.log1p(-np.exp(-lam[:, None])), 1
    )
    w = np.exp(log_post - log_post.max())
    gate_post = st.beta(1 + n0, 1 + len(pos))
    refs = {
        "g": (gate_post.mean(), gate_post.std()),
        "rate": (
            np.sum(lam * w) / w.sum(),
            np.sqrt(np.sum(lam**2 * w) / w.sum() - (np.sum(lam * w) / w.sum()) ** 2),
        ),
    }
    for site, (mean, sd) in refs.items():
        ess = float(spp.diagnostics.effective_sample_size(draws[site][None]))
        assert abs(draws[site].mean() - mean) < 4 * sd / np.sqrt(ess), site
        assert abs(draws[site].std() - sd) < 0.15 * sd, site

"""Every distribution against scipy.stats (float64, random parameters) + sampling."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.stats as st

import sciad.probabilistic.distributions as dist

RNG = np.random.default_rng(0)


def _u(lo, hi, n=3):
    return RNG.uniform(lo, hi, size=n)


def _simplex(n, k):
    return RNG.dirichlet(np.ones(k), size=n)


def _cov(k):
    a = RNG.normal(size=(k, k))
    return a @ a.T + k * np.eye(k)


# name -> (our distribution, scipy frozen distribution (or None), moments are finite)
_W = RNG.normal(size=(4, 2))
_D = _u(0.5, 1.5, 4)
_MU4 = RNG.normal(size=4)
_COV = _cov(3)
_MU3 = RNG.normal(size=3)


def _table():
    loc, scale = _u(-2, 2), _u(0.5, 2)
    df = _u(5, 10)
    conc, rate = _u(1, 4), _u(0.5, 2)
    a, b = _u(0.5, 3), _u(0.5, 3)
    ig_conc = _u(5, 10)
    low, high = _u(-3, -0.5), _u(0.5, 3)
    p = _u(0.1, 0.9)
    n = np.array([5, 10, 20])
    lam = _u(1, 10)
    probs = _simplex(2, 4)
    alpha = RNG.uniform(0.5, 3, size=(2, 4))
    nb_r, nb_p = _u(1, 5), _u(0.2, 0.8)
    nb_mean = _u(1, 10)
    return {
        "Normal": (dist.Normal(loc, scale), st.norm(loc, scale)),
        "StudentT": (dist.StudentT(df, loc, scale), st.t(df, loc, scale)),
        "Cauchy": (dist.Cauchy(loc, scale), st.cauchy(loc, scale)),
        "Laplace": (dist.Laplace(loc, scale), st.laplace(loc, scale)),
        "Logistic": (dist.Logistic(loc, scale), st.logistic(loc, scale)),
        "HalfNormal": (dist.HalfNormal(scale), st.halfnorm(scale=scale)),
        "HalfCauchy": (dist.HalfCauchy(scale), st.halfcauchy(scale=scale)),
        "LogNormal": (
            dist.LogNormal(loc / 4, scale / 4),
            st.lognorm(scale / 4, scale=np.exp(loc / 4)),
        ),
        "Exponential": (dist.Exponential(rate), st.expon(scale=1 / rate)),
        "Gamma": (dist.Gamma(conc, rate), st.gamma(conc, scale=1 / rate)),
        "InverseGamma": (
            dist.InverseGamma(ig_conc, rate),
            st.invgamma(ig_conc, scale=rate),
        ),
        "Beta": (dist.Beta(a, b), st.beta(a, b)),
        "Uniform": (dist.Uniform(low, high), st.uniform(low, high - low)),
        "TruncatedNormal": (
            dist.TruncatedNormal(loc, scale, low=low, high=high),
            st.truncnorm((low - loc) / scale, (high - loc) / scale, loc, scale),
        ),
        "TruncatedNormal-low": (
            dist.TruncatedNormal(loc, scale, low=low + 2),
            st.truncnorm((low + 2 - loc) / scale, np.inf, loc, scale),
        ),
        "TruncatedNormal-high": (
            dist.TruncatedNormal(loc, scale, high=high - 2),
            st.truncnorm(-np.inf, (high - 2 - loc) / scale, loc, scale),
        ),
        "TruncatedNormal-tail": (
            dist.TruncatedNormal(0.0, 1.0, low=np.array([4.0, 6.0, 8.0])),
            st.truncnorm(np.array([4.0, 6.0, 8.0]), np.inf),
        ),
        "Bernoulli": (dist.Bernoulli(probs=p), st.bernoulli(p)),
        "Bernoulli-logits": (
            dist.Bernoulli(logits=np.log(p / (1 - p))),
            st.bernoulli(p),
        ),
        "Binomial": (dist.Binomial(n, probs=p), st.binom(n, p)),
        "Binomial-logits": (
            dist.Binomial(n, logits=np.log(p / (1 - p))),
            st.binom(n, p),
        ),
        "Poisson": (dist.Poisson(lam), st.poisson(lam)),
        "GammaPoisson": (
            dist.GammaPoisson(conc, rate),
            st.nbinom(conc, rate / (1 + rate)),
        ),
        "NegativeBinomial": (
            dist.NegativeBinomial(nb_r, probs=nb_p),
            st.nbinom(nb_r, 1 - nb_p),
        ),
        "NegativeBinomial-logits": (
            dist.NegativeBinomial(nb_r, logits=np.log(nb_p / (1 - nb_p))),
            st.nbinom(nb_r, 1 - nb_p),
        ),
        "NegativeBinomial2": (
            dist.NegativeBinomial2(nb_mean, conc),
            st.nbinom(conc, conc / (conc + nb_mean)),
        ),
        "Multinomial": (
            dist.Multinomial(7, probs=probs),
            [st.multinomial(7, q) for q in probs],
        ),
        "Multinomial-logits": (
            dist.Multinomial(7, logits=np.log(probs)),
            [st.multinomial(7, q) for q in probs],
        ),
        "Dirichlet": (dist.Dirichlet(alpha), [st.dirichlet(c) for c in alpha]),
        "MultivariateNormal-cov": (
            dist.MultivariateNormal(_MU3, covariance_matrix=_COV),
            [st.multivariate_normal(_MU3, _COV)],
        ),
        "MultivariateNormal-tril": (
            dist.MultivariateNormal(_MU3, scale_tril=np.linalg.cholesky(_COV)),
            [st.multivariate_normal(_MU3, _COV)],
        ),
        "MultivariateNormal-prec": (
            dist.MultivariateNormal(_MU3, precision_matrix=np.linalg.inv(_COV)),
            [st.multivariate_normal(_MU3, _COV)],
        ),
        "LowRankMultivariateNormal": (
            dist.LowRankMultivariateNormal(_MU4, _W, _D),
            [st.multivariate_normal(_MU4, _W @ _W.T + np.diag(_D))],
        ),
        **_more_table(),
    }


def _more_table():
    # drawn after the entries above, so their parameters do not move
    loc, scale = _u(-2, 2), _u(0.5, 2)
    k, alpha, df = _u(0.6, 3), _u(2.5, 5), _u(1, 8)
    a, b, n = _u(0.5, 3), _u(0.5, 3), np.array([1, 6, 15])
    low = np.array([-3, 0, 2])
    gate, rate = _u(0.05, 0.6), _u(0.5, 6)
    grw_scale, t = _u(0.5, 2, 2), np.arange(1, 5)
    kappa = _u(0.3, 3)
    geom_p = _u(0.1, 0.9)
    lu_low = _u(0.01, 1.0)
    lu_high = lu_low * _u(2.0, 1000.0)
    return {
        "Geometric": (dist.Geometric(geom_p), st.geom(geom_p, loc=-1)),
        "Geometric-logits": (
            dist.Geometric(logits=np.log(geom_p / (1 - geom_p))),
            st.geom(geom_p, loc=-1),
        ),
        "LogUniform": (
            dist.LogUniform(lu_low, lu_high),
            st.loguniform(lu_low, lu_high),
        ),
        "AsymmetricLaplace": (
            dist.AsymmetricLaplace(loc, scale, kappa),
            st.laplace_asymmetric(kappa, loc, scale),
        ),
        "Gumbel": (dist.Gumbel(loc, scale), st.gumbel_r(loc, scale)),
        "Weibull": (dist.Weibull(scale, k), st.weibull_min(k, scale=scale)),
        "Pareto": (dist.Pareto(scale, alpha), st.pareto(alpha, scale=scale)),
        "Chi2": (dist.Chi2(df), st.chi2(df)),
        "BetaBinomial": (dist.BetaBinomial(a, b, n), st.betabinom(n, a, b)),
        "DiscreteUniform": (
            dist.DiscreteUniform(low, low + n),
            st.randint(low, low + n + 1),
        ),
        "ZeroInflatedPoisson": (
            dist.ZeroInflatedPoisson(gate, rate),
            _ZeroInflatedPoissonRef(gate, rate),
        ),
        "GaussianRandomWalk": (
            dist.GaussianRandomWalk(grw_scale, num_steps=4),
            [st.multivariate_normal(np.zeros(4), s**2 * np.minimum.outer(t, t))
             for s in grw_scale],
        ),
    }  # fmt: skip


class _ZeroInflatedPoissonRef:
    """scipy-style reference: a two-component mixture written out with scipy."""

    def __init__(self, gate, rate):
        self.gate, self.rate = gate, rate

    def rvs(self, size, random_state):
        k = st.poisson(self.rate).rvs(size=size, random_state=random_state)
        return np.where(random_state.uniform(size=size) < self.gate, 0, k)

    def logpmf(self, x):
        g, pmf = self.gate, st.poisson(self.rate).pmf(x)
        return np.log(np.where(x == 0, g, 0.0) + (1 - g) * pmf)

    def mean(self):
        return (1 - self.gate) * self.rate

    def var(self):
        m = self.mean()
        second = (1 - self.gate) * (self.rate + self.rate**2)
        return second - m**2


TABLE = _table()
HEAVY_TAILED = {"Cauchy", "HalfCauchy"}


def _scipy_values(ref, n):
    if isinstance(ref, list):
        return np.stack([r.rvs(size=n, random_state=RNG) for r in ref], axis=1)
    return ref.rvs(size=(n,) + np.shape(ref.mean()), random_state=RNG)


def _scipy_logp(ref, x, discrete):
    if isinstance(ref, list):
        method = "logpmf" if discrete else "logpdf"
        # scipy's Dirichlet wants the simplex coordinate first.
        per = [
            x[:, i].T if "dirichlet" in type(r).__name__ else x[:, i]
            for i, r in enumerate(ref)
        ]
        return np.stack(
            [getattr(r, method)(v) for v, r in zip(per, ref, strict=True)], axis=1
        )
    return ref.logpmf(x) if discrete else ref.logpdf(x)


def _scipy_moments(ref):
    if isinstance(ref, list):
        means = np.stack([r.mean() if callable(r.mean) else r.mean for r in ref])
        if hasattr(ref[0], "cov"):
            covs = [_scipy_cov(r) for r in ref]
            var = np.stack([np.diag(np.atleast_2d(c)) for c in covs])
        else:
            var = np.stack([r.var() for r in ref])
        return means, var
    return ref.mean(), ref.var()


def _scipy_cov(r):
    return r.cov() if callable(r.cov) else r.cov


@pytest.mark.parametrize("name", sorted(TABLE))
def test_log_prob_matches_scipy(name):
    d, ref = TABLE[name]
    x = _scipy_values(ref, 5)
    expected = _scipy_logp(ref, x, d.is_discrete)
    got = jax.jit(lambda d, x: d.log_prob(x))(d, jnp.asarray(x))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(set(TABLE) - HEAVY_TAILED))
def test_mean_variance_match_scipy(name):
    d, ref = TABLE[name]
    mean, var = _scipy_moments(ref)
    np.testing.assert_allclose(d.mean, np.reshape(mean, d.shape()), rtol=1e-7)
    np.testing.assert_allclose(d.variance, np.reshape(var, d.shape()), rtol=1e-7)


def test_heavy_tailed_moments_are_undefined():
    assert jnp.all(jnp.isnan(dist.Cauchy(0.0, 1.0).mean))
    assert jnp.all(jnp.isinf(dist.HalfCauchy(1.0).variance))
    assert jnp.isnan(dist.StudentT(0.5).mean) and jnp.isinf(dist.StudentT(1.5).variance)


N_DRAWS = 4000


@pytest.mark.parametrize("name", sorted(set(TABLE) - HEAVY_TAILED))
def test_sample_moments_and_support(name):
    d, _ = TABLE[name]
    x = d.sample(jr.key(1), (N_DRAWS,))
    assert x.shape == (N_DRAWS,) + d.batch_shape + d.event_shape
    assert bool(jnp.all(d.support(x)))
    # 5 standard errors on the mean; variance to 25% (N=4000, kurtosis up to ~9).
    se = jnp.sqrt(d.variance / N_DRAWS)
    assert jnp.all(jnp.abs(jnp.mean(x, 0) - d.mean) < 5 * se + 1e-12)
    np.testing.assert_allclose(jnp.var(x, 0), d.variance, rtol=0.25, atol=1e-10)


@pytest.mark.parametrize("name", sorted(HEAVY_TAILED))
def test_heavy_tailed_sample_distribution(name):
    d, _ = TABLE[name]
    x = d.sample(jr.key(2), (N_DRAWS,))
    assert bool(jnp.all(d.support(x)))
    # Kolmogorov-Smirnov test on the first batch member (moments do not exist).
    scale = float(d.scale[0])
    ref = (
        st.cauchy(float(d.loc[0]), scale)
        if name == "Cauchy"
        else st.halfcauchy(scale=scale)
    )
    assert st.kstest(np.asarray(x[:, 0]), ref.cdf).pvalue > 1e-3


def test_categorical_against_explicit_probabilities():
    probs = jnp.asarray(_simplex(3, 5))
    for d in (dist.Categorical(probs), dist.Categorical(logits=jnp.log(probs) + 2.0)):
        k = jnp.array([0, 4, 2])
        np.testing.assert_allclose(
            d.log_prob(k), jnp.log(probs[jnp.arange(3), k]), rtol=1e-12
        )
        assert d.log_prob(jnp.array([5, -1, 0]))[0] == -jnp.inf
    x = d.sample(jr.key(0), (N_DRAWS,))
    freq = jnp.mean(jax.nn.one_hot(x, 5), 0)
    assert jnp.all(jnp.abs(freq - probs) < 5 * jnp.sqrt(probs * (1 - probs) / N_DRAWS))


def test_lkj_cholesky_2d_matches_beta():
    # For n = 2 the correlation r = L[1, 0] satisfies (r + 1) / 2 ~ Beta(eta, eta).
    eta = jnp.array([0.7, 1.0, 3.0])
    d = dist.LKJCholesky(2, eta)
    r = jnp.array([-0.3, 0.1, 0.8])
    L = jnp.zeros((3, 2, 2)).at[:, 0, 0].set(1.0).at[:, 1, 0].set(r)
    L = L.at[:, 1, 1].set(jnp.sqrt(1 - r**2))
    expected = st.beta(eta, eta).logpdf((r + 1) / 2) - np.log(2.0)
    np.testing.assert_allclose(d.log_prob(L), expected, rtol=1e-10)
    x = d.sample(jr.key(3), (1000,))
    assert x.shape == (1000, 3, 2, 2) and bool(jnp.all(d.support(x)))
    u = np.asarray((x[:, :, 1, 0] + 1) / 2)
    for i in range(3):
        assert st.kstest(u[:, i], st.beta(eta[i], eta[i]).cdf).pvalue > 1e-3


def test_lkj_cholesky_3d_normalised():
    # Monte Carlo check of the normaliser and the onion sampler together:
    # E_{x ~ LKJ(1)}[p_2(x) / p_1(x)] = 1; the ratio is bounded (<= 2.5), so with 4000
    # draws the standard error is < 0.02 and 0.08 is four of them.
    x = dist.LKJCholesky(3, 1.0).sample(jr.key(4), (4000,))
    ratio = jnp.exp(
        dist.LKJCholesky(3, 2.0).log_prob(x) - dist.LKJCholesky(3, 1.0).log_prob(x)
    )
    assert abs(float(jnp.mean(ratio)) - 1.0) < 0.08


def test_delta_and_unit():
    d = dist.Delta(jnp.array([1.0, 2.0]), log_density=0.5, event_dim=1)
    assert d.batch_shape == () and d.event_shape == (2,)
    assert d.log_prob(jnp.array([1.0, 2.0])) == 0.5
    assert d.log_prob(jnp.array([1.0, 3.0])) == -jnp.inf
    u = dist.Unit(jnp.array([1.0, 2.0]))
    assert u.sample(None).shape == (2, 0)
    np.testing.assert_allclose(u.log_prob(u.sample(None)), [1.0, 2.0])


def test_transformed_distribution_lognormal():
    base = dist.Normal(jnp.array([0.1, 0.5]), 0.7)
    d = dist.TransformedDistribution(base, dist.transforms.ExpTransform())
    x = jnp.array([0.4, 2.0])
    np.testing.assert_allclose(
        d.log_prob(x), dist.LogNormal(base.loc, 0.7).log_prob(x), rtol=1e-12
    )
    assert d.batch_shape == (2,) and d.event_shape == ()
    # A vector-valued transform turns batch dims into event dims.
    mvn = dist.TransformedDistribution(
        dist.Normal(jnp.zeros(3), 1.0), dist.transforms.StickBreakingTransform()
    )
    assert mvn.batch_shape == () and mvn.event_shape == (4,)
    assert mvn.log_prob(mvn.sample(jr.key(0), (2,))).shape == (2,)


def test_shape_wrappers():
    d = dist.Normal(jnp.zeros((3, 1)), 1.0)
    e = d.expand((2, 3, 4))
    x = e.sample(jr.key(0), (5,))
    assert x.shape == (5, 2, 3, 4)
    # Expanded singleton dims get independent draws.
    assert not jnp.allclose(x[..., 0], x[..., 1])
    assert e.log_prob(x).shape == (5, 2, 3, 4)
    ind = e.to_event(2)
    assert ind.batch_shape == (2,) and ind.event_shape == (3, 4)
    np.testing.assert_allclose(ind.log_prob(x), e.log_prob(x).sum((-1, -2)), rtol=1e-12)
    m = e.mask(jnp.array([True, False, True, False]))
    lp = m.log_prob(x)
    assert jnp.all(lp[..., 1] == 0) and jnp.all(lp[..., 0] == e.log_prob(x)[..., 0])
    with pytest.raises(ValueError, match="Cannot expand"):
        dist.Normal(jnp.zeros(3)).expand((4,))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        dist.Normal(jnp.zeros(3)).to_event(2)


def test_mask_blocks_nan_gradient():
    # A masked-out invalid value must not poison the gradient.
    def f(scale):
        d = dist.HalfNormal(scale).expand((2,)).mask(jnp.array([True, False]))
        return jnp.sum(d.log_prob(jnp.array([1.0, -1.0])))

    assert jnp.isfinite(jax.grad(f)(1.0))


def test_distributions_are_pytrees_under_vmap_and_jit():
    d = dist.Normal(jnp.zeros(3), jnp.ones(3))
    lp = jax.vmap(lambda d: d.log_prob(0.5))(d)
    np.testing.assert_allclose(lp, d.log_prob(0.5))
    mvn = dist.MultivariateNormal(jnp.zeros((2, 3)), covariance_matrix=jnp.eye(3))
    out = jax.jit(jax.vmap(lambda m: m.log_prob(jnp.ones(3))))(mvn)
    np.testing.assert_allclose(out, mvn.log_prob(jnp.ones(3)))


def test_float32_dtype_preserved():
    d = dist.Gamma(jnp.float32(2.0), jnp.float32(1.0))
    assert d.sample(jr.key(0), (3,)).dtype == jnp.float32
    assert d.log_prob(jnp.float32(1.0)).dtype == jnp.float32


def test_probs_and_logits_exclusive():
    with pytest.raises(ValueError, match="exactly one of `probs` or `logits`"):
        dist.Bernoulli()
    with pytest.raises(ValueError, match="exactly one"):
        dist.Categorical(probs=jnp.ones(2) / 2, logits=jnp.zeros(2))
    b = dist.Bernoulli(probs=jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(b.log_prob(jnp.array([0.0, 1.0])), [0.0, 0.0])


def test_validate_args_eager_and_jit():
    with pytest.raises(
        ValueError, match=r"Normal: parameter `scale` must satisfy positive; got -1"
    ):
        dist.Normal(0.0, -1.0, validate_args=True)
    with pytest.raises(ValueError, match="`probs` must satisfy simplex"):
        dist.Categorical(jnp.array([0.5, 0.6]), validate_args=True)
    f = jax.jit(lambda s: dist.Gamma(2.0, s, validate_args=True).log_prob(1.0))
    assert jnp.isfinite(f(1.0))
    with pytest.raises(
        Exception, match="Gamma: parameter `rate` violates its constraint positive"
    ):
        jax.block_until_ready(f(-1.0))
    # Without validation, invalid parameters are not checked (NumPyro's default).
    assert jnp.isnan(dist.Normal(0.0, -1.0).log_prob(0.0))
    with dist.validation_enabled():
        with pytest.raises(ValueError, match="scale"):
            dist.HalfNormal(-2.0)


def test_log_prob_gradients():
    import sciad

    def f(loc, scale, x):
        return dist.TruncatedNormal(loc, scale, low=-1.0, high=2.0).log_prob(x)

    sciad.check_grads(f, (0.3, 1.2, 0.5), order=1)
    sciad.check_grads(
        lambda loc, w, d: dist.LowRankMultivariateNormal(loc, w, d).log_prob(
            jnp.ones(4)
        ),
        (jnp.asarray(_MU4), jnp.asarray(_W), jnp.asarray(_D)),
        order=1,
    )


def test_log_prob_gradients_of_the_newer_families():
    import sciad

    x = {
        "Gumbel": 0.4, "Weibull": 1.3, "Pareto": 2.5, "Chi2": 1.7,
        "BetaBinomial": 4.0, "ZeroInflatedPoisson": 0.0,
        "ZeroInflatedPoisson-pos": 3.0, "GaussianRandomWalk": jnp.array([0.3, -0.2]),
    }  # fmt: skip
    make = {
        "Gumbel": lambda p: dist.Gumbel(p[0], p[1]),
        "Weibull": lambda p: dist.Weibull(p[0], p[1]),
        "Pareto": lambda p: dist.Pareto(p[0], p[1]),
        "Chi2": lambda p: dist.Chi2(p[0]),
        "BetaBinomial": lambda p: dist.BetaBinomial(p[0], p[1], 9),
        "ZeroInflatedPoisson": lambda p: dist.ZeroInflatedPoisson(p[0] / 4, p[1]),
        "ZeroInflatedPoisson-pos": lambda p: dist.ZeroInflatedPoisson(p[0] / 4, p[1]),
        "GaussianRandomWalk": lambda p: dist.GaussianRandomWalk(p[0], 2),
    }

    def f(params):
        return {n: make[n](p).log_prob(x[n]) for n, p in params.items()}

    params = {n: jnp.array([1.2, 2.7]) for n in make}
    params["Pareto"] = jnp.array([0.8, 2.7])
    sciad.check_grads(f, (params,), order=1, modes=("rev",))


def test_newer_families_edges():
    # the density of Weibull(k=1) at 0 is the exponential's, not 0 * log 0 = NaN
    np.testing.assert_allclose(dist.Weibull(2.0, 1.0).log_prob(0.0), -np.log(2.0))
    assert dist.Pareto(1.0, 3.0).log_prob(0.5) == -np.inf
    assert jnp.isinf(dist.Pareto(1.0, 1.5).variance)
    assert jnp.isinf(dist.Pareto(1.0, 0.5).mean)
    # no underflow to log(0) at a large rate without a gate
    np.testing.assert_allclose(
        dist.ZeroInflatedPoisson(0.0, 200.0).log_prob(0.0), -200.0, rtol=1e-6
    )
    np.testing.assert_array_equal(
        dist.BetaBinomial(2.0, 3.0, 4).enumerate_support(), np.arange(5)
    )
    np.testing.assert_array_equal(
        dist.DiscreteUniform(-1, 2).enumerate_support(), [-1, 0, 1, 2]
    )
    with pytest.raises(ValueError, match="one support for the whole batch"):
        dist.DiscreteUniform(np.array([0, 1]), 3).enumerate_support()
    with pytest.raises(ValueError, match="num_steps"):
        dist.GaussianRandomWalk(1.0, num_steps=0)
    with pytest.raises(ValueError, match="gate"):
        dist.ZeroInflatedPoisson(1.5, 2.0, validate_args=True)


def test_reparametrized_samples_are_differentiable():
    def f(loc, scale):
        return jnp.sum(dist.Normal(loc, scale).sample(jr.key(0), (3,)))

    eps = dist.Normal().sample(jr.key(0), (3,))
    g_loc, g_scale = jax.grad(f, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose([g_loc, g_scale], [3.0, jnp.sum(eps)], rtol=1e-12)
    assert dist.Normal().has_rsample and not dist.Poisson(1.0).has_rsample


# --- cdf, icdf, entropy against scipy.stats -------------------------------------

TRUNC = {n for n in TABLE if n.startswith("TruncatedNormal")}
CDF = {
    "Normal", "StudentT", "Cauchy", "Laplace", "Logistic", "HalfNormal",
    "HalfCauchy", "LogNormal", "Exponential", "Gamma", "InverseGamma", "Beta",
    "Uniform", "Bernoulli", "Bernoulli-logits", "Binomial", "Binomial-logits",
    "Poisson", "Gumbel", "Weibull", "Pareto", "Chi2", "DiscreteUniform",
    "AsymmetricLaplace", "Geometric", "Geometric-logits", "LogUniform",
} | TRUNC  # fmt: skip
ICDF = {
    "Normal", "Cauchy", "Laplace", "Logistic", "HalfNormal", "HalfCauchy",
    "LogNormal", "Exponential", "Uniform", "Gumbel", "Weibull", "Pareto",
    "AsymmetricLaplace", "LogUniform", "StudentT", "Gamma", "Chi2",
} | TRUNC  # fmt: skip
ENTROPY = {
    "Normal", "StudentT", "Cauchy", "Laplace", "Logistic", "HalfNormal",
    "HalfCauchy", "LogNormal", "Exponential", "Gamma", "InverseGamma", "Beta",
    "Uniform", "Bernoulli", "Bernoulli-logits", "Dirichlet",
    "MultivariateNormal-cov", "MultivariateNormal-tril", "MultivariateNormal-prec",
    "LowRankMultivariateNormal", "Gumbel", "Weibull", "Pareto", "Chi2",
    "DiscreteUniform", "AsymmetricLaplace", "Geometric", "Geometric-logits",
    "LogUniform",
} | TRUNC  # fmt: skip
_cdf = jax.jit(lambda d, x: d.cdf(x))
_icdf = jax.jit(lambda d, q: d.icdf(q))
_entropy = jax.jit(lambda d: d.entropy())


@pytest.mark.parametrize("name", sorted(CDF))
def test_cdf_matches_scipy(name):
    d, ref = TABLE[name]
    x = _scipy_values(ref, 5).astype(float)
    if d.is_discrete:  # between atoms and outside the support too
        x = np.concatenate([x, x + 0.5, -x - 1.0])
    elif name not in ("Normal", "StudentT", "Cauchy", "Laplace", "Logistic"):
        x = np.concatenate([x, np.full((1, 3), -1.0)])  # below a bounded support
    # 1e-9: betainc/gammainc are accurate to ~1e-13 relative in float64; tiny
    # truncated-tail CDFs are differences of ~1e-15 numbers, hence the atol.
    np.testing.assert_allclose(
        _cdf(d, jnp.asarray(x)), ref.cdf(x), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("name", sorted(ICDF))
def test_icdf_matches_scipy(name):
    d, ref = TABLE[name]
    q = RNG.uniform(0.02, 0.98, size=(5, 3))
    got = _icdf(d, jnp.asarray(q))
    np.testing.assert_allclose(got, ref.ppf(q), rtol=1e-9)
    np.testing.assert_allclose(_cdf(d, got), q, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(ENTROPY))
def test_entropy_matches_scipy(name):
    d, ref = TABLE[name]
    if isinstance(ref, list):
        expected = np.stack([r.entropy() for r in ref])
    elif name in TRUNC - {"TruncatedNormal"}:
        # scipy's closed form gives inf * 0 for an infinite bound: integrate instead.
        expected = [
            st.truncnorm(a, b, m, s).expect(
                lambda x, r=(a, b, m, s): -st.truncnorm(*r).logpdf(x)
            )
            for a, b, m, s in np.broadcast(
                *(ref.args + (0.0, 1.0)[len(ref.args) - 2 :])
            )
        ]
    else:
        expected = ref.entropy()
    got = _entropy(d)
    assert got.shape == d.batch_shape
    np.testing.assert_allclose(got, np.reshape(expected, d.batch_shape), rtol=1e-9)


def test_entropy_of_categorical_and_wrappers():
    probs = _simplex(3, 5)
    probs[0, 1] = 0.0  # a zero-probability category contributes 0, not NaN
    probs[0] /= probs[0].sum()
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    for d in (dist.Categorical(probs), dist.Categorical(logits=logits)):
        np.testing.assert_allclose(d.entropy(), st.entropy(probs, axis=-1), rtol=1e-12)
    n = dist.Normal(jnp.zeros(3), jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(n.to_event(1).entropy(), jnp.sum(n.entropy()))
    assert n.expand((2, 3)).entropy().shape == (2, 3)
    with pytest.raises(NotImplementedError):
        dist.Poisson(2.0).entropy()  # no closed form


# Parameter gradients of cdf/icdf/entropy, grouped into few check_grads calls
# (three compiles each). Cdfs through betainc/gammainc are checked in the value
# only (test_cdf_derivative_is_density): JAX has no betainc parameter derivative,
# and gammainc's is JAX's own (and slow to compile).
GRAD_GROUPS = {
    "elementary": [
        "Normal", "Cauchy", "Laplace", "Logistic", "HalfNormal", "HalfCauchy",
        "LogNormal", "Exponential", "Uniform", "MultivariateNormal-tril",
        "LowRankMultivariateNormal", "Dirichlet", "Gumbel", "Weibull", "Pareto",
        "AsymmetricLaplace", "LogUniform", "Geometric", "Geometric-logits",
    ],
    "truncated": ["TruncatedNormal"],
    "special": ["Gamma", "InverseGamma", "StudentT", "Beta", "Chi2"],
}  # fmt: skip
VALUE_ONLY_CDF = {"Gamma", "InverseGamma", "StudentT", "Beta", "Chi2"}
# no df derivative either (betainc); its q, loc and scale ones are tested below
VALUE_ONLY_ICDF = {"StudentT"}


@pytest.mark.parametrize("group", sorted(GRAD_GROUPS))
def test_cdf_icdf_entropy_gradients(group):
    import sciad

    dists = {n: TABLE[n][0] for n in GRAD_GROUPS[group]}
    xs = {n: jnp.asarray(_scipy_values(TABLE[n][1], 1)[0]) for n in dists}

    def f(dists):
        out = {}
        for n, d in dists.items():
            x = xs[n]
            if n in ENTROPY:
                out[n, "entropy"] = d.entropy()
            if n in ICDF and n not in VALUE_ONLY_ICDF:
                out[n, "icdf"] = d.icdf(jnp.full(d.batch_shape, 0.3))
            if n in CDF and n not in VALUE_ONLY_CDF:
                out[n, "cdf"] = d.cdf(x)
        return out

    # Forward mode too for TruncatedNormal (its tail-stable formulas select
    # branches with jnp.where); reverse mode alone for the plain closed forms, to
    # save one compile of each large Jacobian.
    modes = ("fwd", "rev") if group == "truncated" else ("rev",)
    sciad.check_grads(f, (dists,), order=1, modes=modes)


@pytest.mark.parametrize("name", sorted(n for n in CDF if not TABLE[n][0].is_discrete))
def test_cdf_derivative_is_density(name):
    # d/dx cdf(x) = exp(log_prob(x)): an exact oracle for the value derivative.
    d, ref = TABLE[name]
    x = jnp.asarray(_scipy_values(ref, 2))
    # the cdf acts elementwise, so the gradient of its sum is its derivative
    dcdf = jax.jit(jax.grad(lambda x, d: d.cdf(x).sum()))
    # rtol: the derivative of a float64 special function, ~1e-12 accurate.
    np.testing.assert_allclose(dcdf(x, d), jnp.exp(d.log_prob(x)), rtol=1e-9)


# Families that store their parameters unbroadcast (`promote_dtype`): each is
# built with one parameter a 3-vector and the others scalars, and must agree in
# shape and value with the same family built from explicitly broadcast
# parameters. name -> (constructor, parameter values as 3-vectors).
_SCALAR_PARAMS = {
    "Normal": (dist.Normal, (_u(-2, 2), _u(0.5, 2))),
    "StudentT": (dist.StudentT, (_u(5, 10), _u(-2, 2), _u(0.5, 2))),
    "Cauchy": (dist.Cauchy, (_u(-2, 2), _u(0.5, 2))),
    "Laplace": (dist.Laplace, (_u(-2, 2), _u(0.5, 2))),
    "Logistic": (dist.Logistic, (_u(-2, 2), _u(0.5, 2))),
    "LogNormal": (dist.LogNormal, (_u(-0.5, 0.5), _u(0.2, 0.5))),
    "Gamma": (dist.Gamma, (_u(1, 4), _u(0.5, 2))),
    "InverseGamma": (dist.InverseGamma, (_u(5, 10), _u(0.5, 2))),
    "Beta": (dist.Beta, (_u(0.5, 3), _u(0.5, 3))),
    "Uniform": (dist.Uniform, (_u(-3, -0.5), _u(0.5, 3))),
    "TruncatedNormal": (
        lambda loc, scale, lo, hi: dist.TruncatedNormal(loc, scale, low=lo, high=hi),
        (_u(-2, 2), _u(0.5, 2), _u(-3, -2.5), _u(2.5, 3)),
    ),
    "TruncatedNormal-low": (
        lambda loc, scale, low: dist.TruncatedNormal(loc, scale, low=low),
        (_u(-2, 2), _u(0.5, 2), _u(-1, 0)),
    ),
    "Binomial": (
        lambda n, p: dist.Binomial(n, probs=p),
        (np.array([5.0, 10.0, 20.0]), _u(0.1, 0.9)),
    ),
    "GammaPoisson": (dist.GammaPoisson, (_u(1, 4), _u(0.5, 2))),
    "NegativeBinomial": (
        lambda r, p: dist.NegativeBinomial(r, probs=p),
        (_u(1, 5), _u(0.2, 0.8)),
    ),
    "NegativeBinomial2": (dist.NegativeBinomial2, (_u(1, 10), _u(1, 4))),
    "Gumbel": (dist.Gumbel, (_u(-2, 2), _u(0.5, 2))),
    "AsymmetricLaplace": (dist.AsymmetricLaplace, (_u(-2, 2), _u(0.5, 2), _u(0.3, 3))),
    "Kumaraswamy": (dist.Kumaraswamy, (_u(0.5, 3), _u(0.5, 3))),
    "Weibull": (dist.Weibull, (_u(0.5, 2), _u(0.6, 3))),
    "Pareto": (dist.Pareto, (_u(0.5, 2), _u(2.5, 5))),
    "BetaBinomial": (
        dist.BetaBinomial,
        (_u(0.5, 3), _u(0.5, 3), np.array([12.0, 12.0, 12.0])),
    ),
    "DiscreteUniform": (
        dist.DiscreteUniform,
        (np.array([-2.0, -2.0, -2.0]), np.array([3.0, 3.0, 3.0])),
    ),
    "ZeroInflatedPoisson": (dist.ZeroInflatedPoisson, (_u(0.05, 0.6), _u(0.5, 6))),
}


def _outputs(d, x):
    out = {"batch_shape": np.array(d.batch_shape)}
    out["log_prob"] = d.log_prob(x)
    out["log_prob_scalar"] = d.log_prob(x[0, 0])
    out["log_prob_event"] = d.to_event(1).log_prob(x)
    out["sample"] = d.sample(jr.PRNGKey(0), (2,))
    out["mean"], out["variance"] = d.mean, d.variance
    methods = (
        ("entropy", ()),
        ("cdf", (x,)),
        ("cdf_scalar", (x[0, 0],)),
        ("icdf", (0.3,)),
    )
    for name, args in methods:
        try:
            out[name] = getattr(d, name.removesuffix("_scalar"))(*args)
        except NotImplementedError:
            pass
    if d.is_discrete and d.has_enumerate_support:
        try:
            out["support"] = d.enumerate_support()
        except ValueError:  # e.g. Binomial with several total counts
            out["support"] = np.nan
    out["in_support"] = d.support(x)
    return out


@pytest.mark.parametrize("name", sorted(_SCALAR_PARAMS))
@pytest.mark.parametrize("vector", [0, 1])
def test_unbroadcast_parameters_match_broadcast(name, vector):
    make, params = _SCALAR_PARAMS[name]
    # the vector parameter is `vector` from the end (so 0: the last one)
    i = len(params) - 1 - vector
    mixed = [p if j == i else p[0] for j, p in enumerate(params)]
    full = [np.broadcast_to(p, (3,)) for p in mixed]
    d_mixed, d_full = make(*mixed), make(*full)
    x = d_full.sample(jr.PRNGKey(1), (2,))
    got, want = _outputs(d_mixed, x), _outputs(d_full, x)
    assert got.keys() == want.keys()
    for k in want:
        assert jnp.shape(got[k]) == jnp.shape(want[k]), k
        # rtol: the same float64 formulas, evaluated with or without a broadcast
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, err_msg=k)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_ordered_logistic_against_its_cumulative_form():
    eta, cut = np.array([-1.0, 0.3, 2.0]), np.array([-0.5, 0.7, 1.5])
    d = dist.OrderedLogistic(eta, cut)
    cum = np.concatenate(
        [np.zeros((3, 1)), _sigmoid(cut - eta[:, None]), np.ones((3, 1))], 1
    )
    probs = np.diff(cum, axis=1)  # P(Y = k) = P(Y <= k) - P(Y <= k - 1)
    assert d.batch_shape == (3,)
    k = np.arange(4)[:, None]
    np.testing.assert_allclose(jnp.exp(d.log_prob(k)), probs.T, rtol=1e-12)
    # far in a tail the log-space form keeps precision: log(1 - sigmoid(41))
    np.testing.assert_allclose(
        dist.OrderedLogistic(40.0, np.array([-1.0, 0.0])).log_prob(0), -41.0, rtol=1e-9
    )
    draws = d.sample(jr.key(0), (20000,))
    freq = np.stack([np.mean(draws == j, 0) for j in range(4)])
    np.testing.assert_allclose(freq, probs.T, atol=0.02)  # 5 sd of 20000 draws
    numpyro = pytest.importorskip("numpyro")
    ref = numpyro.distributions.OrderedLogistic(eta, cut)
    np.testing.assert_allclose(d.log_prob(k), ref.log_prob(k), rtol=1e-12)


def test_mixture_same_family_scalar_components():
    w, mu, sd = np.array([0.2, 0.5, 0.3]), np.array([-2.0, 0.0, 3.0]), _u(0.5, 2)
    m = dist.MixtureSameFamily(dist.Categorical(probs=w), dist.Normal(mu, sd))
    assert (m.batch_shape, m.event_shape) == ((), ())
    x = np.linspace(-4.0, 6.0, 7)
    comps = st.norm(mu, sd)
    np.testing.assert_allclose(
        m.log_prob(x), np.log(comps.pdf(x[:, None]) @ w), rtol=1e-12
    )
    np.testing.assert_allclose(m.cdf(x), comps.cdf(x[:, None]) @ w, rtol=1e-12)
    mean = w @ mu
    np.testing.assert_allclose(m.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(m.variance, w @ (sd**2 + mu**2) - mean**2, rtol=1e-12)
    draws = m.sample(jr.key(1), (N_DRAWS,))
    assert abs(float(draws.mean()) - mean) < 5 * np.sqrt(float(m.variance) / N_DRAWS)
    assert (
        st.kstest(np.asarray(draws), lambda t: comps.cdf(t[:, None]) @ w).pvalue > 1e-3
    )


def test_mixture_same_family_vector_components_and_batches():
    rng = np.random.default_rng(3)
    w = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    mus = rng.normal(size=(2, 3, 2))
    covs = np.eye(2) * np.array([0.5, 1.0, 2.0])[:, None, None]
    m = dist.MixtureSameFamily(
        dist.Categorical(probs=w), dist.MultivariateNormal(mus, covariance_matrix=covs)
    )
    assert (m.batch_shape, m.event_shape) == ((2,), (2,))
    x = rng.normal(size=(4, 2, 2))
    ref = np.array(
        [
            [
                np.log(
                    sum(
                        w[b, k]
                        * st.multivariate_normal(mus[b, k], covs[k]).pdf(x[i, b])
                        for k in range(3)
                    )
                )
                for b in range(2)
            ]
            for i in range(4)
        ]
    )
    np.testing.assert_allclose(m.log_prob(x), ref, rtol=1e-12)
    assert m.sample(jr.key(2), (5,)).shape == (5, 2, 2)
    np.testing.assert_allclose(m.mean, np.einsum("bk,bkd->bd", w, mus), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="scalar components"):
        m.cdf(x)
    with pytest.raises(ValueError, match="rightmost batch dimension.*3"):
        dist.MixtureSameFamily(dist.Categorical(probs=w[0]), dist.Normal(np.zeros(2)))
    with pytest.raises(TypeError, match="Categorical"):
        dist.MixtureSameFamily(dist.Normal(0.0, 1.0), dist.Normal(np.zeros(3)))


def test_ordered_logistic_and_mixture_gradients():
    import sciad

    def f(p):
        ol = dist.OrderedLogistic(p["eta"], jnp.cumsum(p["cut"])).log_prob(
            jnp.array([0, 1, 2])
        )
        mix = dist.MixtureSameFamily(
            dist.Categorical(logits=p["logits"]), dist.Normal(p["loc"], p["scale"])
        )
        return {"ordered": ol, "mixture": mix.log_prob(jnp.array([-1.0, 0.5, 2.0]))}

    p = {
        "eta": jnp.array([-0.3, 0.2, 1.1]),
        "cut": jnp.array([-0.5, 0.8]),
        "logits": jnp.array([0.1, -0.4, 0.3]),
        "loc": jnp.array([-1.0, 0.0, 2.0]),
        "scale": jnp.array([0.7, 1.2, 0.9]),
    }
    sciad.check_grads(f, (p,), order=1, modes=("rev",))


def test_kumaraswamy_against_quadrature():
    from scipy.integrate import quad

    a, b = _u(0.6, 3), _u(0.6, 3)
    d = dist.Kumaraswamy(a, b)
    for i in range(3):
        one = dist.Kumaraswamy(a[i], b[i])

        def pdf(t, one=one):
            return float(jnp.exp(one.log_prob(t)))

        # quad's own error is below 1e-9 for these smooth integrands
        assert quad(pdf, 0, 1)[0] == pytest.approx(1.0, abs=1e-9)
        mean = quad(lambda t: t * pdf(t), 0, 1)[0]
        second = quad(lambda t: t * t * pdf(t), 0, 1)[0]
        np.testing.assert_allclose(d.mean[i], mean, rtol=1e-8)
        np.testing.assert_allclose(d.variance[i], second - mean**2, rtol=1e-7)
        np.testing.assert_allclose(one.cdf(0.4), quad(pdf, 0, 0.4)[0], rtol=1e-8)
        neg_entropy = quad(lambda t: pdf(t) * np.log(pdf(t)), 0, 1)[0]
        np.testing.assert_allclose(one.entropy(), -neg_entropy, rtol=1e-7, atol=1e-9)
    q = RNG.uniform(0.02, 0.98, size=(5, 3))
    np.testing.assert_allclose(d.cdf(d.icdf(q)), q, rtol=1e-12)
    draws = d.sample(jr.key(3), (N_DRAWS,))
    assert bool(jnp.all((draws > 0) & (draws < 1)))
    assert jnp.all(jnp.abs(draws.mean(0) - d.mean) < 5 * jnp.sqrt(d.variance / N_DRAWS))
    numpyro = pytest.importorskip("numpyro")
    x = RNG.uniform(0.01, 0.99, size=(4, 3))
    np.testing.assert_allclose(
        d.log_prob(x),
        numpyro.distributions.Kumaraswamy(a, b).log_prob(x),
        rtol=1e-10,
    )


def test_dirichlet_multinomial_against_scipy():
    alpha = RNG.uniform(0.5, 3, size=(2, 3))
    n = np.array([7, 12])
    d = dist.DirichletMultinomial(alpha, n)
    assert (d.batch_shape, d.event_shape) == ((2,), (3,))
    refs = [st.dirichlet_multinomial(alpha[i], n[i]) for i in range(2)]
    x = np.stack([RNG.multinomial(n, [0.2, 0.3, 0.5]) for _ in range(5)])
    expected = np.stack([refs[i].logpmf(x[:, i]) for i in range(2)], 1)
    np.testing.assert_allclose(d.log_prob(x), expected, rtol=1e-12)
    np.testing.assert_allclose(d.mean, np.stack([r.mean() for r in refs]), rtol=1e-12)
    np.testing.assert_allclose(
        d.variance, np.stack([r.var() for r in refs]), rtol=1e-12
    )
    assert d.log_prob(np.array([1, 2, 3])).tolist() == [-np.inf, -np.inf]  # sums off
    draws = d.sample(jr.key(4), (N_DRAWS,))
    np.testing.assert_array_equal(draws.sum(-1), np.broadcast_to(n, (N_DRAWS, 2)))
    se = jnp.sqrt(d.variance / N_DRAWS)
    assert jnp.all(jnp.abs(draws.mean(0) - d.mean) < 5 * se)
    np.testing.assert_allclose(draws.var(0), d.variance, rtol=0.15)
    import sciad

    sciad.check_grads(
        lambda a: dist.DirichletMultinomial(a, 12).log_prob(jnp.array([3, 4, 5])),
        (jnp.asarray(alpha[1]),),
        order=1,
        modes=("rev",),
    )


# --- VonMises, MultivariateStudentT, LKJ, NumPyro's parametrisation names ------


def _centred_angles(x, loc):
    """`x - loc` wrapped to [-pi, pi] (scipy's vonmises is on [loc - pi, loc + pi])."""
    return np.remainder(np.asarray(x) - loc + np.pi, 2 * np.pi) - np.pi


def test_von_mises_against_scipy():
    locs, kappas = np.array([0.5, -3.0, 2.0, 0.0]), np.array([2.0, 30.0, 1e-3, 500.0])
    d = dist.VonMises(locs, kappas)
    x = RNG.uniform(-np.pi, np.pi, size=(5, 4))
    ref = st.vonmises(kappas)  # centred: the density depends on x - loc only
    np.testing.assert_allclose(
        d.log_prob(x), ref.logpdf(_centred_angles(x, locs)), rtol=1e-10
    )
    assert d.log_prob(4.0)[0] == -np.inf  # outside [-pi, pi]
    np.testing.assert_allclose(d.mean, locs)
    circ_var = 1 - np.array([st.vonmises(k).expect(np.cos) for k in kappas[:2]])
    np.testing.assert_allclose(d.variance[:2], circ_var, rtol=1e-6)
    draws = np.asarray(d.sample(jr.key(4), (4000,)))
    assert bool(jnp.all(d.support(draws)))
    for i, k in enumerate(kappas):
        pvalue = st.kstest(_centred_angles(draws[:, i], locs[i]), st.vonmises(k).cdf)
        assert pvalue.pvalue > 1e-3, (k, pvalue)
    # concentration 0 is uniform on the circle (the envelope is not used)
    flat = np.asarray(dist.VonMises(1.0, 0.0).sample(jr.key(5), (4000,)))
    assert st.kstest(flat, st.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    # float32 sampling takes the small-concentration branch below 0.02
    with jax.enable_x64(False):
        small = dist.VonMises(0.0, np.float32(0.01)).sample(jr.key(6), (4000,))
        assert small.dtype == jnp.float32
        assert st.kstest(np.asarray(small), st.vonmises(0.01).cdf).pvalue > 1e-3


def test_multivariate_student_t_against_scipy():
    cov = _COV
    tril = np.linalg.cholesky(cov)
    dfs = np.array([3.5, 7.0])
    d = dist.MultivariateStudentT(dfs, _MU3, tril)
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    refs = [st.multivariate_t(_MU3, cov, df=nu) for nu in dfs]
    x = np.stack([r.rvs(size=4, random_state=RNG) for r in refs], axis=1)
    expected = np.stack([r.logpdf(x[:, i]) for i, r in enumerate(refs)], axis=1)
    np.testing.assert_allclose(d.log_prob(x), expected, rtol=1e-10)
    np.testing.assert_allclose(d.entropy(), [r.entropy() for r in refs], rtol=1e-10)
    np.testing.assert_allclose(d.mean, np.broadcast_to(_MU3, (2, 3)))
    np.testing.assert_allclose(
        d.covariance_matrix, [nu / (nu - 2) * cov for nu in dfs], rtol=1e-12
    )
    # sample moments: df = 7 has a finite fourth moment, so the variance
    # estimate's error is ~sqrt(2 + kurtosis) / sqrt(N); 25% is > 5 of them
    draws = dist.MultivariateStudentT(7.0, _MU3, tril).sample(jr.key(7), (20000,))
    se = np.sqrt(np.diag(cov) * 7 / 5 / 20000)
    assert np.all(np.abs(draws.mean(0) - _MU3) < 5 * se)
    np.testing.assert_allclose(np.cov(draws.T), 7 / 5 * cov, rtol=0.25, atol=0.05)
    # NumPyro's edge cases: no mean for df <= 1, infinite variance for df <= 2
    edge = dist.MultivariateStudentT(np.array([0.8, 1.5]), _MU3, tril)
    assert np.all(np.isnan(edge.mean[0])) and np.all(np.isinf(edge.variance[1]))
    with pytest.raises(ValueError, match="scale_tril"):
        dist.MultivariateStudentT(3.0, _MU3)
    with pytest.raises(ValueError, match="event size"):
        dist.MultivariateStudentT(3.0, np.zeros(2), tril)


def test_lkj_matches_beta_in_two_dimensions_and_numpyro():
    """d = 2: (r + 1) / 2 ~ Beta(eta, eta) for the off-diagonal r."""
    r = np.array([-0.7, 0.1, 0.65])
    eta = np.array([0.5, 1.0, 3.0])
    corr = np.stack([[np.ones(3), r], [r, np.ones(3)]]).transpose(2, 0, 1)
    d = dist.LKJ(2, eta)
    np.testing.assert_allclose(
        d.log_prob(corr), st.beta(eta, eta).logpdf((r + 1) / 2) - np.log(2), rtol=1e-10
    )
    d3 = dist.LKJ(4, 2.0)
    draws = d3.sample(jr.key(8), (500,))
    assert draws.shape == (500, 4, 4) and bool(jnp.all(d3.support(draws)))
    np.testing.assert_allclose(draws.mean(0), np.eye(4), atol=0.1)  # sd ~ 0.4/sqrt(500)
    np.testing.assert_allclose(d3.mean, np.eye(4))
    assert d3.dimension == 4
    numpyro_dist = pytest.importorskip("numpyro.distributions")
    np.testing.assert_allclose(
        d3.log_prob(draws[:5]),
        numpyro_dist.LKJ(4, 2.0).log_prob(np.asarray(draws[:5])),
        rtol=1e-9,
    )


def test_numpyro_parametrisation_names():
    p = np.array([0.2, 0.7])
    logits = np.log(p / (1 - p))
    probs = _simplex(2, 3)
    pairs = [
        (dist.BernoulliProbs(p), dist.Bernoulli(probs=p), 1.0),
        (dist.BernoulliLogits(logits), dist.Bernoulli(logits=logits), 1.0),
        (dist.BinomialProbs(p, 5), dist.Binomial(5, probs=p), 3.0),
        (dist.BinomialLogits(logits, 5), dist.Binomial(5, logits=logits), 3.0),
        (dist.GeometricProbs(p), dist.Geometric(probs=p), 2.0),
        (dist.GeometricLogits(logits), dist.Geometric(logits=logits), 2.0),
        (dist.NegativeBinomialProbs(3.0, p), dist.NegativeBinomial(3.0, probs=p), 2.0),
        (
            dist.NegativeBinomialLogits(3.0, logits),
            dist.NegativeBinomial(3.0, logits=logits),
            2.0,
        ),
        (dist.CategoricalProbs(probs), dist.Categorical(probs), 1),
        (
            dist.MultinomialLogits(np.log(probs[0]), 4),
            dist.Multinomial(4, logits=np.log(probs[0])),
            np.array([1.0, 2.0, 1.0]),
        ),
    ]
    for alias, family, x in pairs:
        assert type(alias) is type(family)
        np.testing.assert_allclose(alias.log_prob(x), family.log_prob(x), rtol=1e-12)
    np.testing.assert_allclose(
        dist.CategoricalLogits(np.zeros(4)).probs, np.full(4, 0.25)
    )
    assert dist.MultinomialProbs(np.full(3, 1 / 3), 6).total_count == 6


def test_new_families_gradients():
    import sciad

    tril = jnp.asarray(np.linalg.cholesky(_COV))

    def f(params):
        return {
            "von_mises": dist.VonMises(params["vm"][0], params["vm"][1]).log_prob(0.4),
            "mvt": dist.MultivariateStudentT(
                params["nu"], params["loc"], params["tril"]
            ).log_prob(jnp.array([0.3, -0.2, 1.0])),
            "lkj": dist.LKJ(3, params["eta"]).log_prob(
                jnp.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.0]])
            ),
            "log_uniform": dist.LogUniform(params["lu"][0], params["lu"][1]).log_prob(
                0.7
            ),
            "geometric": dist.Geometric(logits=params["g"]).log_prob(3.0),
        }

    params = {
        "vm": jnp.array([0.2, 2.5]),
        "nu": jnp.asarray(4.5),
        "loc": jnp.asarray(_MU3),
        "tril": tril,
        "eta": jnp.asarray(1.7),
        "lu": jnp.array([0.1, 5.0]),
        "g": jnp.asarray(-0.4),
    }
    sciad.check_grads(f, (params,), order=1, modes=("rev",))
    # the reparametrised draws of the Student t, df included (implicit gamma
    # gradients): d/d loc of the mean draw is the identity
    key = jr.key(9)
    grad = jax.jacobian(
        lambda loc: dist.MultivariateStudentT(5.0, loc, tril).sample(key).sum()
    )(jnp.asarray(_MU3))
    np.testing.assert_allclose(grad, np.ones(3))
    dnu = jax.grad(
        lambda nu: dist.MultivariateStudentT(nu, _MU3, tril).sample(key).sum()
    )(5.0)
    assert np.isfinite(dnu) and dnu != 0


# --- TruncatedDistribution ------------------------------------------------------


class _TruncatedRef:
    """scipy's base distribution renormalised to [a, b], in whichever tail keeps
    the normaliser accurate (survival functions above the median)."""

    def __init__(self, ref, a, b):
        self.ref, self.a, self.b = ref, a, b
        self.upper = a > ref.median()
        sf, cdf = ref.sf, ref.cdf
        self.z = sf(a) - sf(b) if self.upper else cdf(b) - cdf(a)

    def logpdf(self, x):
        return self.ref.logpdf(x) - np.log(self.z)

    def cdf(self, x):
        r = self.ref
        if self.upper:
            return (r.sf(self.a) - r.sf(x)) / self.z
        return (r.cdf(x) - r.cdf(self.a)) / self.z

    def ppf(self, q):
        r = self.ref
        if self.upper:
            return r.isf(r.sf(self.a) - q * self.z)
        return r.ppf(r.cdf(self.a) + q * self.z)


TRUNCATED = {
    # name: (ours, scipy base, low, high); Logistic's [8, 9] is reflected (a far
    # upper tail, where 1 - F keeps no digits)
    "Cauchy-two-sided": (dist.Cauchy(0.5, 2.0), st.cauchy(0.5, 2.0), 3.0, 40.0),
    "Laplace-right": (dist.Laplace(-1.0, 0.5), st.laplace(-1.0, 0.5), None, 0.0),
    "StudentT-left": (dist.StudentT(3.0, 0.0, 2.5), st.t(3.0, 0.0, 2.5), 0.0, None),
    "Logistic-tail": (dist.Logistic(0.0, 1.0), st.logistic(0.0, 1.0), 8.0, 9.0),
    "Gumbel": (dist.Gumbel(0.0, 1.0), st.gumbel_r(0.0, 1.0), -1.0, 2.0),
}


@pytest.mark.parametrize("name", sorted(TRUNCATED))
def test_truncated_distribution_against_scipy(name):
    base, ref, low, high = TRUNCATED[name]
    d = dist.TruncatedDistribution(base, low, high)
    r = _TruncatedRef(
        ref, -np.inf if low is None else low, np.inf if high is None else high
    )
    q = np.array([0.05, 0.3, 0.5, 0.9])
    x = r.ppf(q)
    np.testing.assert_allclose(d.log_prob(x), r.logpdf(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(d.cdf(x), r.cdf(x), rtol=1e-12, atol=1e-13)
    outside = (low - 1.0) if low is not None else (high + 1.0)
    assert d.log_prob(outside) == -np.inf
    assert bool(jnp.all(d.support(x)))
    np.testing.assert_allclose(d.icdf(q), x, rtol=1e-12)
    draws = np.asarray(d.sample(jr.key(0), (4000,)))
    assert bool(jnp.all(d.support(draws)))
    assert st.kstest(draws, r.cdf).pvalue > 1e-3


def test_truncated_distribution_forms_and_errors():
    # a Normal base goes to the tail-stable TruncatedNormal
    assert isinstance(
        dist.TruncatedDistribution(dist.Normal(0.0, 1.0), low=0.0),
        dist.TruncatedNormal,
    )
    cauchy = dist.TruncatedCauchy(0.0, 1.0, low=np.array([-1.0, 2.0]))
    assert cauchy.batch_shape == (2,)
    np.testing.assert_allclose(
        cauchy.log_prob(3.0),
        st.cauchy.logpdf(3.0) - np.log(st.cauchy.sf([-1.0, 2.0])),
        rtol=1e-12,
    )
    left = dist.LeftTruncatedDistribution(dist.Laplace(0.0, 1.0), low=1.0)
    right = dist.RightTruncatedDistribution(dist.Laplace(0.0, 1.0), high=1.0)
    both = dist.TwoSidedTruncatedDistribution(dist.Laplace(0.0, 1.0), -1.0, 1.0)
    np.testing.assert_allclose(left.log_prob(1.5), -0.5)  # Exponential(1) from 1
    np.testing.assert_allclose(
        right.cdf(1.0) + both.cdf(1.0) + both.cdf(-1.0), 2.0, rtol=1e-12
    )
    # float32, far in a tail: reflected about loc, so the normaliser keeps digits
    with jax.enable_x64(False):
        far = dist.TruncatedCauchy(0.0, 1.0, low=1e4)
        expected = st.cauchy.logpdf(2e4) - np.log(st.cauchy.sf(1e4))
        np.testing.assert_allclose(far.log_prob(2e4), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="univariate continuous"):
        dist.TruncatedDistribution(dist.Poisson(2.0), low=1.0)
    with pytest.raises(ValueError, match="univariate continuous"):
        dist.TruncatedDistribution(dist.MultivariateNormal(_MU3, _COV), low=0.0)
    with pytest.raises(NotImplementedError, match="closed-form mean"):
        _ = cauchy.mean


def test_truncated_distribution_gradients():
    import sciad

    def f(p):
        d = dist.TruncatedDistribution(
            dist.Cauchy(p["loc"], p["scale"]), low=p["low"], high=p["high"]
        )
        reflected = dist.TruncatedDistribution(
            dist.Logistic(p["loc"], p["scale"]), low=p["high"]
        )
        return {
            "log_prob": d.log_prob(0.4),
            "cdf": d.cdf(0.4),
            "icdf": d.icdf(0.3),
            "reflected": reflected.log_prob(p["high"] + 0.5),
            "right": dist.TruncatedDistribution(
                dist.Laplace(p["loc"], p["scale"]), high=p["high"]
            ).cdf(0.1),
            # df fixed: JAX's betainc (StudentT's cdf) has no derivative in it
            "half_t": dist.TruncatedDistribution(
                dist.StudentT(4.0, 0.0, p["scale"]), low=0.0
            ).log_prob(0.7),
        }

    params = {
        "loc": jnp.asarray(0.2),
        "scale": jnp.asarray(1.3),
        "low": jnp.asarray(-0.5),
        "high": jnp.asarray(2.5),
    }
    sciad.check_grads(f, (params,), order=1, modes=("rev",))


def test_student_t_cdf_derivatives_at_the_centre():
    """Through betainc the slope at loc was inf * 0 = NaN: the centre of a half-t."""
    d = dist.StudentT(4.0, 0.3, 1.3)
    slope = jax.grad(lambda x: d.cdf(x))(0.3)
    np.testing.assert_allclose(slope, jnp.exp(d.log_prob(0.3)), rtol=1e-12)
    # d/dloc = -density, d/dscale = -z * density = 0 at the centre
    grads = jax.grad(lambda p: dist.StudentT(4.0, p[0], p[1]).cdf(0.3))(
        jnp.array([0.3, 1.3])
    )
    np.testing.assert_allclose(grads, [-slope, 0.0], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="no derivative with respect to `df`"):
        jax.grad(lambda df: dist.StudentT(df, 0.0, 1.0).cdf(0.5))(4.0)


def test_mixture_general_against_scipy_sums():
    w = np.array([0.3, 0.7])
    refs = [st.norm(-1.0, 0.5), st.laplace(2.0, 0.7)]
    d = dist.MixtureGeneral(
        dist.Categorical(w), [dist.Normal(-1.0, 0.5), dist.Laplace(2.0, 0.7)]
    )
    x = np.array([-1.2, 0.3, 2.5, 6.0])
    pdf = sum(wk * r.pdf(x) for wk, r in zip(w, refs, strict=True))
    np.testing.assert_allclose(jax.jit(lambda d, x: d.log_prob(x))(d, x), np.log(pdf))
    cdf = sum(wk * r.cdf(x) for wk, r in zip(w, refs, strict=True))
    np.testing.assert_allclose(d.cdf(x), cdf, rtol=1e-12)
    mean = sum(wk * r.mean() for wk, r in zip(w, refs, strict=True))
    second = sum(wk * (r.var() + r.mean() ** 2) for wk, r in zip(w, refs, strict=True))
    np.testing.assert_allclose(d.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(d.variance, second - mean**2, rtol=1e-12)
    draws = np.asarray(d.sample(jr.key(3), (8000,)))
    assert st.kstest(draws, lambda v: sum(
        wk * r.cdf(v) for wk, r in zip(w, refs, strict=True)
    )).pvalue > 1e-3  # fmt: skip
    # a batch: two mixtures at once, components broadcast against the weights
    batched = dist.MixtureGeneral(
        dist.Categorical(np.array([[0.2, 0.8], [0.5, 0.5]])),
        [dist.Normal(np.zeros(2), 1.0), dist.Normal(1.0, 2.0)],
    )
    assert batched.batch_shape == (2,) and batched.sample(jr.key(4), (3,)).shape == (
        3,
        2,
    )
    expected = np.log(
        np.array([0.2, 0.5]) * st.norm(0, 1).pdf(0.4)
        + np.array([0.8, 0.5]) * st.norm(1, 2).pdf(0.4)
    )
    np.testing.assert_allclose(batched.log_prob(0.4), expected, rtol=1e-12)


def test_mixture_general_supports_factory_and_gradients():
    import sciad

    w = dist.Categorical(np.array([0.4, 0.6]))
    with pytest.raises(ValueError, match="supports differ"):
        dist.MixtureGeneral(w, [dist.Normal(0.0, 1.0), dist.Gamma(2.0, 1.0)])
    with pytest.raises(ValueError, match="3 components for 2"):
        dist.MixtureGeneral(w, [dist.Normal(0.0, 1.0)] * 3)
    mixed = dist.MixtureGeneral(
        w, [dist.Normal(0.0, 1.0), dist.Gamma(2.0, 1.0)], support=dist.constraints.real
    )
    # below 0 only the Normal contributes
    np.testing.assert_allclose(
        mixed.log_prob(-0.5), np.log(0.4 * st.norm.pdf(-0.5)), rtol=1e-12
    )
    assert isinstance(
        dist.Mixture(w, dist.Normal(np.array([0.0, 1.0]), 1.0)),
        dist.MixtureSameFamily,
    )
    assert isinstance(
        dist.Mixture(w, [dist.Normal(0.0, 1.0), dist.Cauchy(0.0, 1.0)]),
        dist.MixtureGeneral,
    )

    def f(p):
        d = dist.MixtureGeneral(
            dist.Categorical(logits=p["logits"]),
            [dist.Normal(p["loc"], 1.0), dist.Cauchy(0.0, p["scale"])],
        )
        return d.log_prob(jnp.array([0.3, -1.5]))

    params = {
        "logits": jnp.array([0.2, -0.4]),
        "loc": jnp.asarray(0.7),
        "scale": jnp.asarray(1.4),
    }
    sciad.check_grads(f, (params,), order=1, modes=("rev",))


# --- Censored observations ------------------------------------------------------

CENSORED = {
    # exact log survival (closed forms, log_ndtr, gammaincc, reflection) far
    # into the upper tail, where 1 - F has no digits left
    "Normal": (dist.Normal(1.0, 2.0), st.norm(1.0, 2.0)),
    "Cauchy": (dist.Cauchy(1.0, 2.0), st.cauchy(1.0, 2.0)),
    "Exponential": (dist.Exponential(0.7), st.expon(scale=1 / 0.7)),
    "Weibull": (dist.Weibull(2.0, 1.5), st.weibull_min(1.5, scale=2.0)),
    "LogNormal": (dist.LogNormal(0.3, 0.8), st.lognorm(0.8, scale=np.exp(0.3))),
    "Gamma": (dist.Gamma(2.0, 1.0), st.gamma(2.0)),
}


@pytest.mark.parametrize("name", sorted(CENSORED))
def test_censored_distributions_against_scipy(name):
    base, ref = CENSORED[name]
    x = np.array([0.5, 3.0, 12.0, 40.0])
    censored = np.array([False, True, True, True])
    right = dist.RightCensoredDistribution(base, censored)
    left = dist.LeftCensoredDistribution(base, censored)
    np.testing.assert_allclose(
        right.log_prob(x), np.where(censored, ref.logsf(x), ref.logpdf(x)), rtol=1e-12
    )
    # log F near F = 1 is log of a number within eps of 1: absolute error ~eps
    np.testing.assert_allclose(
        left.log_prob(x),
        np.where(censored, ref.logcdf(x), ref.logpdf(x)),
        rtol=1e-12,
        atol=1e-15,
    )
    assert right.batch_shape == (4,) and right.sample(jr.key(0), (2,)).shape == (2, 4)


def test_censored_fallback_and_gradients():
    import sciad

    # no closed form: log1p(-F), floored one ulp below 1 (NumPyro's rule)
    gumbel = dist.RightCensoredDistribution(dist.Gumbel(1.0, 2.0), True)
    np.testing.assert_allclose(
        gumbel.log_prob(20.0), st.gumbel_r(1.0, 2.0).logsf(20.0), rtol=1e-9
    )
    assert gumbel.log_prob(200.0) == pytest.approx(np.log(np.finfo(float).eps))
    with pytest.raises(ValueError, match="univariate continuous"):
        dist.RightCensoredDistribution(dist.Poisson(3.0), True)

    def f(p):
        c = jnp.array([False, True])
        x = jnp.array([1.2, 3.5])
        return {
            "weibull": dist.RightCensoredDistribution(
                dist.Weibull(p[0], p[1]), c
            ).log_prob(x),
            "lognormal": dist.RightCensoredDistribution(
                dist.LogNormal(p[0] - 1, p[1]), c
            ).log_prob(x),
            "normal_left": dist.LeftCensoredDistribution(
                dist.Normal(p[0], p[1]), c
            ).log_prob(x),
            "gamma": dist.RightCensoredDistribution(dist.Gamma(p[0], p[1]), c).log_prob(
                x
            ),
        }

    sciad.check_grads(f, (jnp.array([1.7, 1.3]),), order=1, modes=("rev",))


def test_student_t_icdf_in_the_tails_and_at_the_centre():
    # df = 1 is the Cauchy: an exact quantile to compare with, also where
    # scipy's ppf loses digits (0.5 - 1e-9: scipy is 3e-8 off, tan is exact)
    # (tan(pi (q - 1/2)) near the centre, where q - 1/2 is exact; -cot(pi q)
    # and cot(pi (1 - q)) in the tails, where tan near pi/2 would amplify the
    # rounding of q - 1/2)
    q = np.array([1e-12, 1e-5, 0.3, 0.5 - 1e-9, 0.5, 0.5 + 1e-9, 0.999, 1 - 1e-10])
    cauchy = np.where(
        np.abs(q - 0.5) < 0.25,
        np.tan(np.pi * (q - 0.5)),
        np.where(q < 0.5, -1 / np.tan(np.pi * q), 1 / np.tan(np.pi * (1 - q))),
    )
    np.testing.assert_allclose(dist.StudentT(1.0).icdf(q), cauchy, rtol=1e-12)
    # other df against scipy away from the centre (bisection to ~1e-16 in log x;
    # betainc itself is good to ~1e-13)
    q = np.array([1e-12, 1e-5, 0.02, 0.3, 0.8, 0.999, 1 - 1e-10])
    icdf = jax.jit(lambda df, q: dist.StudentT(df).icdf(q))  # one compile
    for df in (0.7, 3.0, 30.0, 300.0):
        np.testing.assert_allclose(icdf(df, q), st.t(df).ppf(q), rtol=1e-11, err_msg=df)
    # derivatives: dq of the quantile is 1 / density; loc and scale shift/scale
    d = dist.StudentT(3.0, 1.0, 2.0)
    grads = jax.grad(lambda p: dist.StudentT(3.0, p[0], p[1]).icdf(p[2]))(
        jnp.array([1.0, 2.0, 0.3])
    )
    t = d.icdf(0.3)
    np.testing.assert_allclose(
        grads, [1.0, (t - 1.0) / 2.0, 1 / jnp.exp(d.log_prob(t))], rtol=1e-10
    )
    with pytest.raises(ValueError, match="no derivative with respect to `df`"):
        jax.grad(lambda df: dist.StudentT(df).icdf(0.3))(4.0)
    # a truncated Student t can now be drawn from
    half_t = dist.TruncatedDistribution(dist.StudentT(3.0, 0.0, 2.5), low=0.0)
    draws = np.asarray(half_t.sample(jr.key(5), (4000,)))
    assert draws.min() >= 0
    assert st.kstest(draws, lambda v: 2 * st.t(3.0, 0, 2.5).cdf(v) - 1).pvalue > 1e-3


def test_log_cdf_and_rsample():
    for name in sorted(CDF):
        d, ref = TABLE[name]
        x = _scipy_values(ref, 3).astype(float)
        np.testing.assert_allclose(
            d.log_cdf(x), ref.logcdf(x), rtol=1e-9, atol=1e-12, err_msg=name
        )
    # Normal's is tail-stable (log of the cdf would be log 0 = -inf here)
    np.testing.assert_allclose(
        dist.Normal(0.0, 1.0).log_cdf(-40.0), st.norm.logcdf(-40.0), rtol=1e-12
    )
    x = dist.Normal(1.0, 2.0).rsample(jr.key(0), (3,))
    np.testing.assert_array_equal(x, dist.Normal(1.0, 2.0).sample(jr.key(0), (3,)))
    with pytest.raises(NotImplementedError, match="no reparametrised sampler"):
        dist.Poisson(2.0).rsample(jr.key(0))


def test_gamma_icdf_in_the_tails():
    """Bisection on P below the median and on Q above it: full precision in both."""
    q = np.array([1e-12, 1e-5, 0.02, 0.3, 0.5, 0.8, 0.999, 1 - 1e-10])
    icdf = jax.jit(lambda a, q: dist.Gamma(a, 2.0).icdf(q))  # one compile
    for a in (0.05, 0.5, 3.0, 50.0, 1e4):
        np.testing.assert_allclose(
            icdf(a, q), st.gamma(a, scale=0.5).ppf(q), rtol=1e-12, err_msg=a
        )
    np.testing.assert_allclose(dist.Chi2(3.0).icdf(q), st.chi2(3.0).ppf(q), rtol=1e-12)
    assert (
        dist.Gamma(2.0, 1.0).icdf(0.0) == 0 and dist.Gamma(2.0, 1.0).icdf(1.0) == np.inf
    )
    # a truncated Gamma can be drawn from
    d = dist.TruncatedDistribution(dist.Gamma(2.0, 1.0), low=1.0, high=4.0)
    draws = np.asarray(d.sample(jr.key(6), (4000,)))
    ref = st.gamma(2.0)
    z = ref.cdf(4.0) - ref.cdf(1.0)
    assert st.kstest(draws, lambda v: (ref.cdf(v) - ref.cdf(1.0)) / z).pvalue > 1e-3


@pytest.mark.filterwarnings("ignore::sciad.probabilistic.infer.SamplingWarning")
def test_count_likelihoods_differentiate_with_integer_observations():
    # jax's xlogy/xlog1py JVP rules raised on integer x (a float0 tangent):
    # grad of a Poisson likelihood in its rate failed for integer counts, and
    # so did NUTS on any model observing them.
    import sciad.probabilistic as spp
    from sciad.probabilistic.infer import MCMC, NUTS

    k = np.array([0, 1, 3])
    cases = {
        "poisson": lambda r, v: dist.Poisson(r).log_prob(v),
        "bernoulli": lambda r, v: dist.Bernoulli(probs=r / 4).log_prob(v % 2),
        "binomial": lambda r, v: dist.Binomial(5, probs=r / 4).log_prob(v),
        "zip": lambda r, v: dist.ZeroInflatedPoisson(0.2, r).log_prob(v),
        "multinomial": lambda r, v: dist.Multinomial(
            4, probs=jnp.array([r, 1.0, 1.0]) / (r + 2)
        ).log_prob(jnp.array([1, 2, 1]) + 0 * v[:1]),
    }

    def total(f, counts):
        return lambda r: jnp.sum(f(r, counts))

    with jax.enable_x64(True):
        for name, f in cases.items():
            as_int = jax.value_and_grad(total(f, jnp.asarray(k)))(1.3)
            as_float = jax.value_and_grad(total(f, jnp.asarray(k, float)))(1.3)
            np.testing.assert_allclose(as_int, as_float, rtol=1e-14, err_msg=name)
            tangent = jax.jvp(total(f, jnp.asarray(k)), (1.3,), (1.0,))[1]
            np.testing.assert_allclose(tangent, as_float[1], rtol=1e-14, err_msg=name)

    def model(y):
        rate = spp.sample("rate", dist.Gamma(2.0, 1.0))
        with spp.plate("n", y.shape[0]):
            spp.sample("y", dist.Poisson(rate), obs=y)

    mcmc = MCMC(NUTS(model), num_warmup=100, num_samples=400, progress_bar=False)
    mcmc.run(jr.key(0), np.array([0, 2, 3, 1, 4]))
    rate = np.asarray(mcmc.get_samples()["rate"])
    # conjugate: Gamma(2 + 10, 1 + 5), mean 2, sd 0.58; 400 draws, ESS >= ~100
    assert abs(rate.mean() - 2.0) < 4 * 0.58 / np.sqrt(100)

"""Wishart, WishartCholesky, ZeroSumNormal, and their constraints and transforms.

Oracles: scipy's Wishart density and chi-square marginal, the Jacobian of
L -> LL^T by autodiff, closed-form moments, a conjugate posterior sampled by
NUTS, and (when installed) NumPyro's ZeroSumNormal density.
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
from sciad.probabilistic.distributions import constraints as C, transforms as T
from sciad.probabilistic.infer import MCMC, NUTS

S = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 1.5]])


def _sym(key, n, batch=()):
    a = jr.normal(key, batch + (n, n), jnp.float64)
    return a @ jnp.swapaxes(a, -1, -2) + n * jnp.eye(n)


@pytest.mark.parametrize("param", ["scale_matrix", "rate_matrix", "scale_tril"])
def test_wishart_log_prob_matches_scipy(param):
    with jax.enable_x64(True):
        arg = {
            "scale_matrix": S,
            "rate_matrix": np.linalg.inv(S),
            "scale_tril": np.linalg.cholesky(S),
        }[param]
        d = dist.Wishart(jnp.array([3.5, 7.0]), **{param: arg})
        assert d.batch_shape == (2,) and d.event_shape == (3, 3)
        w = np.asarray(_sym(jr.key(0), 3, (4, 1)))  # (4, 1, 3, 3) against batch (2,)
        got = np.asarray(d.log_prob(w))
        for j, nu in enumerate((3.5, 7.0)):
            ref = st.wishart(df=nu, scale=S).logpdf(np.moveaxis(w[:, 0], 0, -1))
            np.testing.assert_allclose(got[:, j], ref, rtol=1e-12)


def test_wishart_cholesky_is_wishart_through_the_jacobian_of_llt():
    # p(L) = p_W(LL^T) |d vech(LL^T) / d vech(L)|, the Jacobian by autodiff
    with jax.enable_x64(True):
        n = 3
        rows, cols = np.tril_indices(n)
        d = dist.WishartCholesky(4.2, scale_matrix=S)
        w = dist.Wishart(4.2, scale_matrix=S)
        for L in d.sample(jr.key(1), (3,)):

            def llt(v):
                m = jnp.zeros((n, n)).at[rows, cols].set(v)
                return (m @ m.T)[rows, cols]

            jac = jax.jacfwd(llt)(L[rows, cols])
            log_jac = np.linalg.slogdet(np.asarray(jac))[1]
            np.testing.assert_allclose(
                d.log_prob(L), w.log_prob(L @ L.T) + log_jac, rtol=1e-12
            )


def test_wishart_samples_moments_and_chi_square_marginal():
    with jax.enable_x64(True):
        nu, m = 5.5, 20000
        d = dist.Wishart(nu, scale_matrix=S)
        w = np.asarray(d.sample(jr.key(2), (m,)))
        assert np.all(np.linalg.eigvalsh(w) > 0)
        np.testing.assert_allclose(w, np.swapaxes(w, -1, -2))
        mean, var = np.asarray(d.mean), np.asarray(d.variance)
        np.testing.assert_allclose(mean, st.wishart(df=nu, scale=S).mean())
        np.testing.assert_allclose(var, st.wishart(df=nu, scale=S).var())
        # sample mean within 5 standard errors, entry by entry
        assert np.all(np.abs(w.mean(0) - mean) < 5 * np.sqrt(var / m))
        # W_ii / S_ii ~ chi^2(nu) exactly (a non-integer nu included)
        for i in range(3):
            assert st.kstest(w[:, i, i] / S[i, i], st.chi2(nu).cdf).pvalue > 1e-3
        chol = np.asarray(dist.WishartCholesky(nu, scale_matrix=S).sample(jr.key(2)))
        assert np.allclose(np.triu(chol, 1), 0) and np.all(np.diag(chol) > 0)


def test_wishart_gradients():
    with jax.enable_x64(True):
        w = _sym(jr.key(3), 3)
        L = jnp.linalg.cholesky(w)
        tril = jnp.linalg.cholesky(jnp.asarray(S))

        def lp(nu, t):
            return dist.Wishart(nu, scale_tril=t).log_prob(w)

        def lpc(nu, t):
            return dist.WishartCholesky(nu, scale_tril=t).log_prob(L)

        for f in (lp, lpc):
            check_grads(f, (4.0, tril), order=1, modes=["rev", "fwd"])

        def draw_mean(t):  # Bartlett sampling is reparametrised in the scale
            return jnp.mean(dist.Wishart(6.0, scale_tril=t).sample(jr.key(4), (200,)))

        check_grads(draw_mean, (tril,), order=1, modes=["rev"])


def test_wishart_bad_arguments_are_named():
    with pytest.raises(ValueError, match="concentration"):
        dist.Wishart(1.5, scale_matrix=S, validate_args=True)  # needs > n - 1 = 2
    with pytest.raises(ValueError, match="exactly one"):
        dist.Wishart(4.0, scale_matrix=S, rate_matrix=S)
    with pytest.raises(ValueError, match=r"\(\.\.\., n, n\)"):
        dist.WishartCholesky(4.0, scale_matrix=np.ones((3, 2)))


def test_zero_sum_transform_is_an_isometry_onto_the_hyperplane():
    with jax.enable_x64(True):
        for k, shape in ((1, (5,)), (2, (3, 4))):
            t = T.ZeroSumTransform(k)
            x = jr.normal(jr.key(5), (2,) + shape)
            y = t(x)
            assert y.shape == (2,) + tuple(s + 1 for s in shape)
            assert t.forward_shape(x.shape) == y.shape
            assert t.inverse_shape(y.shape) == x.shape
            for axis in range(-k, 0):
                np.testing.assert_allclose(jnp.sum(y, axis), 0, atol=1e-13)
            assert bool(jnp.all(C.zero_sum(k)(y))) and bool(jnp.all(t.codomain(y)))
            np.testing.assert_allclose(t.inv(y), x, atol=1e-13)
            jac = jax.jacfwd(lambda v, t=t: jnp.ravel(t(v)))(x[0])
            jac = jac.reshape(y[0].size, -1)
            np.testing.assert_allclose(jac.T @ jac, np.eye(x[0].size), atol=1e-13)
            assert t.log_abs_det_jacobian(x, y).shape == (2,)
    with pytest.raises(ValueError, match="transform_ndims"):
        T.ZeroSumTransform(0)


def test_new_constraints():
    assert bool(C.zero_sum(1)(jnp.array([1.0, -3.0, 2.0])))
    assert not bool(C.zero_sum(1)(jnp.array([1.0, -3.0, 2.1])))
    both = jnp.array([[1.0, -1.0], [-1.0, 1.0]])
    assert bool(C.zero_sum(2)(both))
    assert not bool(C.zero_sum(2)(both.at[0].set(0.5)))
    assert C.zero_sum(2).event_dim == 2
    assert bool(C.positive_ordered_vector(jnp.array([0.1, 0.5, 2.0])))
    assert not bool(C.positive_ordered_vector(jnp.array([-0.1, 0.5, 2.0])))
    assert not bool(C.positive_ordered_vector(jnp.array([0.1, 0.05, 2.0])))
    f = C.positive_ordered_vector.feasible_like(jnp.zeros(3))
    assert bool(C.positive_ordered_vector(f))
    with jax.enable_x64(True):
        t = dist.biject_to(C.positive_ordered_vector)
        x = jnp.array([[0.3, -1.0, 0.2], [-2.0, 0.5, 0.1]])
        y = t(x)
        assert bool(jnp.all(C.positive_ordered_vector(y)))
        np.testing.assert_allclose(t.inv(y), x, atol=1e-12)
        jac = jax.jacfwd(t)(x[0])
        np.testing.assert_allclose(
            t.log_abs_det_jacobian(x, y)[0], np.linalg.slogdet(jac)[1], rtol=1e-12
        )
    with pytest.raises(ValueError, match="event_dim"):
        C.zero_sum(0)


def test_zero_sum_normal_density_and_moments():
    with jax.enable_x64(True):
        sigma = jnp.array([0.5, 2.0])
        d = dist.ZeroSumNormal(sigma, (4,))
        assert d.batch_shape == (2,) and d.event_shape == (4,)
        x = d.sample(jr.key(6), (20000,))
        np.testing.assert_allclose(jnp.sum(x, -1), 0, atol=1e-12)
        # an isotropic normal on the 3-d subspace: closed-form density
        lp = -0.5 * jnp.sum(x**2, -1) / sigma**2 - 1.5 * jnp.log(2 * jnp.pi * sigma**2)
        np.testing.assert_allclose(d.log_prob(x), lp, rtol=1e-12)
        # covariance sigma^2 (I - J/n): within 5 standard errors
        for j in range(2):
            cov = np.cov(np.asarray(x[:, j]).T)
            ref = float(sigma[j]) ** 2 * (np.eye(4) - 1 / 4)
            # Gaussian sample covariance: Var(c_ij) = (R_ij^2 + R_ii R_jj) / m
            se = np.sqrt((ref**2 + np.outer(np.diag(ref), np.diag(ref))) / 20000)
            assert np.all(np.abs(cov - ref) < 5 * se)
        np.testing.assert_allclose(d.variance, jnp.outer(sigma**2, jnp.full(4, 0.75)))
        assert d.mean.shape == (2, 4)
        two = dist.ZeroSumNormal(1.5, (3, 5))
        y = two.sample(jr.key(7), (4000,))
        np.testing.assert_allclose(jnp.sum(y, -1), 0, atol=1e-12)
        np.testing.assert_allclose(jnp.sum(y, -2), 0, atol=1e-12)
        np.testing.assert_allclose(two.variance, 2.25 * (2 / 3) * (4 / 5))
        np.testing.assert_allclose(jnp.var(y, 0), two.variance, rtol=0.1)
        check_grads(lambda s: dist.ZeroSumNormal(s, (4,)).log_prob(x[0, 0]), (1.3,), 2)
    with pytest.raises(ValueError, match="event_shape"):
        dist.ZeroSumNormal(1.0, (1,))


def test_zero_sum_normal_matches_numpyro():
    numpyro_dist = pytest.importorskip("numpyro.distributions")
    with jax.enable_x64(True):
        for shape in ((5,), (3, 4)):
            x = dist.ZeroSumNormal(1.7, shape).sample(jr.key(8), (3,))
            np.testing.assert_allclose(
                dist.ZeroSumNormal(1.7, shape).log_prob(x),
                numpyro_dist.ZeroSumNormal(1.7, shape).log_prob(np.asarray(x)),
                rtol=1e-10,
            )


def _conjugate_data():
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(np.zeros(2), [[1.0, 0.6], [0.6, 2.0]], size=40)
    nu0, v0 = 4.0, np.eye(2)
    post_scale = np.linalg.inv(np.linalg.inv(v0) + x.T @ x)
    return x, nu0, v0, (nu0 + len(x)) * post_scale


@pytest.mark.slow
def test_nuts_recovers_a_conjugate_wishart_posterior_and_zero_sum_prior():
    # precision Lambda ~ Wishart(nu0, V0), x_i ~ N(0, Lambda^-1): the posterior is
    # Wishart(nu0 + N, (V0^-1 + sum x x^T)^-1), mean (nu0 + N) times that scale.
    # A ZeroSumNormal site rides along: its draws must sum to zero and have
    # covariance sigma^2 (I - J/n).
    x, nu0, v0, post_mean = _conjugate_data()

    def model(x):
        lam = spp.sample("lam", dist.Wishart(nu0, scale_matrix=v0))
        spp.sample("beta", dist.ZeroSumNormal(2.0, (3,)))
        with spp.plate("n", x.shape[0]):
            spp.sample("x", dist.MultivariateNormal(0.0, precision_matrix=lam), obs=x)

    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(model), num_warmup=400, num_samples=2000, progress_bar=False)
        mcmc.run(jr.key(9), jnp.asarray(x))
        draws = mcmc.get_samples()
    lam = np.asarray(draws["lam"])
    ess = spp.diagnostics.effective_sample_size(lam[None])
    sd = lam.std(0)
    assert np.all(np.abs(lam.mean(0) - post_mean) < 4 * sd / np.sqrt(ess))
    beta = np.asarray(draws["beta"])
    np.testing.assert_allclose(beta.sum(-1), 0, atol=1e-10)
    ess_b = spp.diagnostics.effective_sample_size(beta[None])
    var_ref = 4.0 * (2 / 3)
    # variance of a normal's sample variance: 2 var^2 / ESS
    assert np.all(np.abs(beta.var(0) - var_ref) < 4 * var_ref * np.sqrt(2 / ess_b))

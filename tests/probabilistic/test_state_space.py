"""`GaussianStateSpace` and `RelaxedBernoulli`.

Oracles: the state path as one explicit Gaussian (the linear map from the
innovations, scipy's multivariate normal), NumPyro's implementations, quadrature
of the relaxed density, finite differences in float64. Monte Carlo checks use
4.5 standard errors (a false alarm ~1e-5 per check).
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.integrate as si
import scipy.stats as st
from jax.test_util import check_grads

import sciad.probabilistic.distributions as dist

A = jnp.array([[0.9, 0.1], [-0.2, 0.8]])
S = jnp.array([[1.0, 0.3], [0.3, 0.5]])
Z0 = jnp.array([0.5, -1.0])
T = 4


def _explicit(a, cov, z0, steps):
    """Mean and covariance of the flattened path z = M eps + m."""
    a, L, z0 = (np.asarray(v) for v in (a, np.linalg.cholesky(cov), z0))
    d = len(z0)
    powers = [np.linalg.matrix_power(a, k) for k in range(steps + 1)]
    m = np.concatenate([powers[t + 1] @ z0 for t in range(steps)])
    M = np.zeros((steps * d, steps * d))
    for t in range(steps):
        for k in range(t + 1):
            M[t * d : (t + 1) * d, k * d : (k + 1) * d] = powers[t - k] @ L
    return m, M @ M.T


def test_state_space_is_the_explicit_gaussian():
    d = dist.GaussianStateSpace(T, A, covariance_matrix=S, initial_value=Z0)
    assert d.event_shape == (T, 2) and d.batch_shape == ()
    paths = d.sample(jr.key(0), (3,))
    assert paths.shape == (3, T, 2)
    m, cov = _explicit(A, S, Z0, T)
    expect = st.multivariate_normal(m, cov).logpdf(np.asarray(paths).reshape(3, -1))
    np.testing.assert_allclose(d.log_prob(paths), expect, rtol=1e-12)
    np.testing.assert_allclose(d.mean.reshape(-1), m, rtol=1e-12)
    np.testing.assert_allclose(d.variance.reshape(-1), np.diag(cov), rtol=1e-12)
    draws = d.sample(jr.key(1), (4000,)).reshape(4000, -1)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(0) - m) < 4.5 * sd / np.sqrt(4000))


def test_state_space_batches_and_agrees_with_numpyro():
    nd = pytest.importorskip("numpyro.distributions")
    z0 = jnp.array([[0.0, 0.0], [1.0, -1.0], [0.3, 2.0]])
    ours = dist.GaussianStateSpace(
        T, A, scale_tril=jnp.linalg.cholesky(S), initial_value=z0
    )
    theirs = nd.GaussianStateSpace(
        T, A, scale_tril=jnp.linalg.cholesky(S), initial_value=z0
    )
    assert ours.batch_shape == (3,)
    paths = ours.sample(jr.key(2), (2,))
    assert paths.shape == (2, 3, T, 2)
    np.testing.assert_allclose(ours.log_prob(paths), theirs.log_prob(paths), rtol=1e-12)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.variance, theirs.variance, rtol=1e-12)


def test_state_space_gradients():
    path = dist.GaussianStateSpace(T, A, covariance_matrix=S).sample(jr.key(3))

    def lp(a, z0):
        d = dist.GaussianStateSpace(T, a, covariance_matrix=S, initial_value=z0)
        return d.log_prob(path)

    check_grads(lp, (A, Z0), order=2, modes=["rev", "fwd"])
    check_grads(
        lambda a: dist.GaussianStateSpace(T, a, covariance_matrix=S).sample(jr.key(4)),
        (A,),
        order=1,
        modes=["rev"],
    )


def test_state_space_arguments_are_checked():
    with pytest.raises(ValueError, match="`num_steps` must be an int >= 1"):
        dist.GaussianStateSpace(0, A, covariance_matrix=S)
    with pytest.raises(ValueError, match=r"`transition_matrix` must be \(2, 2\)"):
        dist.GaussianStateSpace(T, jnp.eye(3), covariance_matrix=S)
    with pytest.raises(ValueError, match="exactly one"):
        dist.GaussianStateSpace(T, A)


def test_relaxed_bernoulli_density():
    nd = pytest.importorskip("numpyro.distributions")
    d = dist.RelaxedBernoulli(0.5, probs=jnp.array([0.3, 0.8]))
    v = d.sample(jr.key(5), (6,))
    assert v.shape == (6, 2) and bool(jnp.all((v > 0) & (v < 1)))
    theirs = nd.RelaxedBernoulli(0.5, probs=jnp.array([0.3, 0.8]))
    np.testing.assert_allclose(d.log_prob(v), theirs.log_prob(v), rtol=1e-12)
    one = dist.RelaxedBernoulliLogits(0.7, -0.4)
    total, _ = si.quad(lambda x: float(jnp.exp(one.log_prob(x))), 0, 1, limit=200)
    assert abs(total - 1) < 1e-8


def test_relaxed_bernoulli_tends_to_the_bernoulli():
    p = 0.3
    cold = dist.RelaxedBernoulli(0.05, probs=p).sample(jr.key(6), (4000,))
    ones = float(jnp.mean(cold > 0.5))
    assert abs(ones - p) < 4.5 * np.sqrt(p * (1 - p) / 4000)
    # near the ends: P(L < logit 0.01) + P(L > logit 0.99), L ~ Logistic(l/tau, 1/tau)
    tau, logit = 0.05, np.log(p / (1 - p))
    q = st.logistic.cdf(tau * st.logistic.ppf(0.01) - logit) + st.logistic.sf(
        tau * st.logistic.ppf(0.99) - logit
    )
    ends = float(jnp.mean((cold < 0.01) | (cold > 0.99)))
    assert abs(ends - q) < 4.5 * np.sqrt(q * (1 - q) / 4000), (ends, q)
    check_grads(
        lambda logit, tau: dist.RelaxedBernoulliLogits(tau, logit).sample(jr.key(7)),
        (0.2, 0.6),
        order=1,
        modes=["rev"],
    )
    with pytest.raises(ValueError, match="exactly one of `probs` or `logits`"):
        dist.RelaxedBernoulli(0.5)

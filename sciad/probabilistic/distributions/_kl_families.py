r"""Closed-form KL divergences between the families, registered with `register_kl`.

Each rule takes the two distributions and returns an array broadcastable to their
broadcast batch shape (`kl_divergence` broadcasts it). Ratios near one go
through $x - \log(1 + x)$ with $x = r - 1$ formed without cancellation, so
$\mathrm{KL}(p \,\|\, p) = 0$ exactly and nearby values keep their digits.
"""

import numpy as np
from jax import numpy as jnp
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import digamma, gammaln

from ..._softplus import softplus
from ._betaln import betaln
from ._bounded import Beta, Kumaraswamy
from ._continuous_real import Laplace, Normal
from ._discrete import Bernoulli, Categorical, Poisson
from ._kl import register_kl
from ._multivariate import Dirichlet, LowRankMultivariateNormal, MultivariateNormal
from ._positive import Exponential, Gamma, LogNormal, Weibull

__all__: list[str] = []

# Exact terms of the Kumaraswamy-Beta series before the asymptotic tail.
_KUMARASWAMY_TERMS = 1000


def _x_minus_log1p(x):
    """$x - \\log(1 + x) \\ge 0$, for the ``r - 1 - log r`` terms."""
    return x - jnp.log1p(x)


def _p_log_ratio(log_p, log_q):
    r"""$p(\log p - \log q)$ from log-probabilities; 0 where $p = 0$, also in
    the gradient of ``log_q`` (the where-guard on both inputs keeps the masked
    branch free of ``0 * inf``)."""
    pos = log_p > -jnp.inf
    log_p = jnp.where(pos, log_p, 0.0)
    log_q = jnp.where(pos, log_q, 0.0)
    return jnp.where(pos, jnp.exp(log_p) * (log_p - log_q), 0.0)


# --- real line and positive half-line ---------------------------------------
def _normal_kl(loc_p, scale_p, loc_q, scale_q):
    # x = sigma_p^2 / sigma_q^2 - 1, without the cancellation of the ratio form
    x = (scale_p - scale_q) * (scale_p + scale_q) / scale_q**2
    return 0.5 * (((loc_p - loc_q) / scale_q) ** 2 + _x_minus_log1p(x))


@register_kl(Normal, Normal)
def _kl_normal(p, q):
    r"""$\frac12\left[\frac{(\mu_p - \mu_q)^2}{\sigma_q^2} + \frac{\sigma_p^2}
    {\sigma_q^2} - 1 - \log\frac{\sigma_p^2}{\sigma_q^2}\right]$."""
    return _normal_kl(p.loc, p.scale, q.loc, q.scale)


@register_kl(LogNormal, LogNormal)
def _kl_lognormal(p, q):
    r"""As Normal-Normal in ``loc``, ``scale``: KL is invariant under the
    bijection $\exp$."""
    return _normal_kl(p.loc, p.scale, q.loc, q.scale)


@register_kl(Laplace, Laplace)
def _kl_laplace(p, q):
    r"""$\log\frac{b_q}{b_p} + \frac{|\mu_p - \mu_q|}{b_q} +
    \frac{b_p}{b_q} e^{-|\mu_p - \mu_q| / b_p} - 1$ ($b$ = ``scale``)."""
    d = jnp.abs(p.loc - q.loc)
    ratio = p.scale / q.scale
    x = (p.scale - q.scale) / q.scale
    return d / q.scale + ratio * jnp.expm1(-d / p.scale) + _x_minus_log1p(x)


@register_kl(Exponential, Exponential)
def _kl_exponential(p, q):
    r"""$\frac{\lambda_q}{\lambda_p} - 1 - \log\frac{\lambda_q}{\lambda_p}$."""
    return _x_minus_log1p((q.rate - p.rate) / p.rate)


def _gamma_kl(a, b, alpha, beta):
    r"""$(a - \alpha)\psi(a) - \log\Gamma(a) + \log\Gamma(\alpha) +
    \alpha \log\frac{b}{\beta} + a\frac{\beta - b}{b}$ for Gamma$(a, b)$ against
    Gamma$(\alpha, \beta)$ (shape, rate)."""
    x = (beta - b) / b
    return (
        (a - alpha) * digamma(a)
        - gammaln(a)
        + gammaln(alpha)
        - alpha * jnp.log1p(x)
        + a * x
    )


@register_kl(Gamma, Gamma)
def _kl_gamma(p, q):
    """Gamma-Gamma (Chi2 included), see `_gamma_kl`."""
    return _gamma_kl(p.concentration, p.rate, q.concentration, q.rate)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    """Exponential(rate) is Gamma(1, rate)."""
    return _gamma_kl(jnp.ones_like(p.rate), p.rate, q.concentration, q.rate)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    """Exponential(rate) is Gamma(1, rate)."""
    return _gamma_kl(p.concentration, p.rate, jnp.ones_like(q.rate), q.rate)


@register_kl(Weibull, Gamma)
def _kl_weibull_gamma(p, q):
    r"""For Weibull(scale $\lambda$, concentration $k$) against
    Gamma($\alpha$, rate $\beta$):

    $$\log k + \log\Gamma(\alpha) + \frac{\alpha\gamma}{k} - \alpha\log(\lambda
    \beta) + \lambda\beta\,\Gamma(1 + 1/k) - \gamma - 1,$$

    $\gamma$ the Euler-Mascheroni constant; from $-H(p) - \mathbb{E}_p \log q$
    with $\mathbb{E}\log x = \log\lambda - \gamma/k$.

    References:
        Bauckhage, "Computing the Kullback-Leibler divergence between two
        generalized gamma distributions", 2014, arXiv:1401.6853, eq. (28).
    """
    k, lam = p.concentration, p.scale
    alpha, beta = q.concentration, q.rate
    g = np.euler_gamma
    return (
        jnp.log(k)
        + gammaln(alpha)
        + alpha * (g / k - jnp.log(lam * beta))
        + lam * beta * jnp.exp(gammaln(1 + 1 / k))
        - (g + 1)
    )


# --- bounded and simplex ----------------------------------------------------
def _beta_kl(a, b, alpha, beta):
    return (
        betaln(alpha, beta)
        - betaln(a, b)
        + (a - alpha) * digamma(a)
        + (b - beta) * digamma(b)
        + (alpha - a + beta - b) * digamma(a + b)
    )


@register_kl(Beta, Beta)
def _kl_beta(p, q):
    r"""$\log\frac{B(\alpha_q, \beta_q)}{B(\alpha_p, \beta_p)} +
    (\alpha_p - \alpha_q)\psi(\alpha_p) + (\beta_p - \beta_q)\psi(\beta_p) +
    (\alpha_q - \alpha_p + \beta_q - \beta_p)\psi(\alpha_p + \beta_p)$
    ($\alpha$ = ``concentration1``, $\beta$ = ``concentration0``)."""
    return _beta_kl(
        p.concentration1, p.concentration0, q.concentration1, q.concentration0
    )


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet(p, q):
    r"""$\log\Gamma(a_0) - \log\Gamma(b_0) - \sum_k [\log\Gamma(a_k) -
    \log\Gamma(b_k)] + \sum_k (a_k - b_k)[\psi(a_k) - \psi(a_0)]$ with $a$, $b$
    the concentrations of $p$, $q$ and $a_0 = \sum_k a_k$ ($b_0$ likewise)."""
    a, b = p.concentration, q.concentration
    a0, b0 = jnp.sum(a, -1), jnp.sum(b, -1)
    return (
        gammaln(a0)
        - gammaln(b0)
        - jnp.sum(gammaln(a) - gammaln(b), -1)
        + jnp.sum((a - b) * (digamma(a) - digamma(a0)[..., None]), -1)
    )


@register_kl(Kumaraswamy, Beta)
def _kl_kumaraswamy_beta(p, q):
    r"""For Kumaraswamy$(a, b)$ against Beta$(\alpha, \beta)$:

    $$\log ab + \Big(\frac{\alpha}{a} - 1\Big)\Big(\gamma + \psi(b) +
    \frac1b\Big) + \frac1b - 1 + \log B(\alpha, \beta) - (\beta - 1)\,
    \mathbb{E}_p\log(1 - x),$$

    $$\mathbb{E}_p\log(1 - x) = -b\sum_{m \ge 1}\frac{B(m/a,\, b)}{m + ab}.$$

    The series converges like $m^{-b-1}$, so NumPyro's 10 terms can be off by
    more than 1 for $b < 1$. Here the first 1000 terms are summed exactly and
    the rest by the integral from 1000.5 of the expansion $b\Gamma(b)a^b
    (m^{-b-1} - \tfrac{ab(b+1)}{2}m^{-b-2})$ of the terms; the error falls like
    $1000^{-b-2}$ (the expectation is within about 1e-6 of quadrature for
    $a \le 20$, $b \ge 0.1$).

    References:
        Nalisnick & Smyth, "Stick-Breaking Variational Autoencoders", 2017,
        arXiv:1605.06197, eq. (12).
    """
    a, b = p.concentration1, p.concentration0
    alpha, beta = q.concentration1, q.concentration0
    g = np.euler_gamma
    m = jnp.arange(1, _KUMARASWAMY_TERMS + 1, dtype=jnp.result_type(a, b))
    a_, b_ = a[..., None], b[..., None]
    head = jnp.sum(jnp.exp(betaln(m / a_, b_)) / (m + a_ * b_), -1)
    t = _KUMARASWAMY_TERMS + 0.5
    c = jnp.exp(gammaln(b) + b * jnp.log(a))  # Gamma(b) a^b
    tail = c * (t**-b / b - 0.5 * a * b * t ** (-b - 1))  # sum of head's terms, m > M
    e_log1m = -b * (head + tail)
    return (
        jnp.log(a * b)
        + (alpha / a - 1) * (g + digamma(b) + 1 / b)
        + 1 / b
        - 1
        + betaln(alpha, beta)
        - (beta - 1) * e_log1m
    )


# --- multivariate normal ----------------------------------------------------
def _loc_tril(d):
    if isinstance(d, MultivariateNormal):
        return d.loc, d.scale_tril
    return d.loc, jnp.linalg.cholesky(d.covariance_matrix)


def _kl_mvn(p, q):
    r"""$\frac12\left[\operatorname{tr}(\Sigma_q^{-1}\Sigma_p) + (\mu_q - \mu_p)^\top
    \Sigma_q^{-1}(\mu_q - \mu_p) - n + \log\frac{|\Sigma_q|}{|\Sigma_p|}\right]$,
    with $\Sigma = LL^\top$: the trace is $\|L_q^{-1}L_p\|_F^2$ and the quadratic
    form $\|L_q^{-1}(\mu_p - \mu_q)\|^2$, both by triangular solves (no inverse).
    A `LowRankMultivariateNormal` enters through the Cholesky factor of its
    covariance ($O(n^3)$)."""
    (loc_p, tril_p), (loc_q, tril_q) = _loc_tril(p), _loc_tril(q)
    n = loc_p.shape[-1]
    batch = jnp.broadcast_shapes(loc_p.shape[:-1], loc_q.shape[:-1])
    tril_q = jnp.broadcast_to(tril_q, batch + (n, n))
    m = solve_triangular(tril_q, jnp.broadcast_to(tril_p, batch + (n, n)), lower=True)
    diff = jnp.broadcast_to(loc_p - loc_q, batch + (n,))
    z = solve_triangular(tril_q, diff[..., None], lower=True)[..., 0]

    def half_log_det(tril):
        return jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), -1)

    trace = jnp.sum(m**2, (-2, -1))
    return 0.5 * (trace + jnp.sum(z**2, -1) - n) + (
        half_log_det(tril_q) - half_log_det(tril_p)
    )


for _p in (MultivariateNormal, LowRankMultivariateNormal):
    for _q in (MultivariateNormal, LowRankMultivariateNormal):
        register_kl(_p, _q)(_kl_mvn)
del _p, _q


# --- discrete ---------------------------------------------------------------
def _bernoulli_logs(d):
    """log P(1), log P(0) from whichever form was given (so probs 0 or 1 is exact)."""
    if d._from_logits:
        return -softplus(-d.logits), -softplus(d.logits)
    return jnp.log(d.probs), jnp.log1p(-d.probs)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli(p, q):
    r"""$\pi_p \log\frac{\pi_p}{\pi_q} + (1 - \pi_p)\log\frac{1 - \pi_p}{1 - \pi_q}$,
    from log-probabilities; terms with $\pi_p \in \{0, 1\}$ vanish, and
    $\pi_q \in \{0, 1\}$ against a $p$ with mass there gives $+\infty$."""
    (p1, p0), (q1, q0) = _bernoulli_logs(p), _bernoulli_logs(q)
    return _p_log_ratio(p1, q1) + _p_log_ratio(p0, q0)


@register_kl(Categorical, Categorical)
def _kl_categorical(p, q):
    r"""$\sum_k \pi_{p,k}(\log\pi_{p,k} - \log\pi_{q,k})$ from the normalised
    ``logits``; categories with $\pi_{p,k} = 0$ contribute 0."""
    k_p, k_q = p.logits.shape[-1], q.logits.shape[-1]
    if k_p != k_q:
        raise ValueError(
            f"kl_divergence(Categorical, Categorical): p has {k_p} categories, "
            f"q has {k_q}."
        )
    return jnp.sum(_p_log_ratio(p.logits, q.logits), -1)


@register_kl(Poisson, Poisson)
def _kl_poisson(p, q):
    r"""$\lambda_p\log\frac{\lambda_p}{\lambda_q} + \lambda_q - \lambda_p =
    \lambda_p\,[x - \log(1 + x)]$ with $x = (\lambda_q - \lambda_p)/\lambda_p$."""
    return p.rate * _x_minus_log1p((q.rate - p.rate) / p.rate)

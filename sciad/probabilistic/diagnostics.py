r"""MCMC diagnostics: autocorrelation, effective sample size, R-hat, HPDI, E-BFMI.

These run on the host after sampling (numpy, float64) and accept numpy or JAX
arrays. Draws are laid out `(chains, draws, *sample)` as returned by
`MCMC.get_samples(group_by_chain=True)`.

References:
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), "Rank-normalization,
    folding, and localization: an improved R-hat for assessing convergence of
    MCMC", Bayesian Analysis 16(2). https://doi.org/10.1214/20-BA1221

    Geyer (1992), "Practical Markov chain Monte Carlo", Statistical Science 7(4).

    Betancourt (2016), "Diagnosing suboptimal cotangent disintegrations in
    Hamiltonian Monte Carlo". https://arxiv.org/abs/1604.00695
"""

import numpy as np
from jaxtyping import ArrayLike, Float, Shaped

from . import _diagnostics_core as _core
from ._diagnostics_table import (
    print_summary as print_summary,
    summary as summary,
)

__all__ = [
    "autocorrelation",
    "autocovariance",
    "effective_sample_size",
    "energy_bfmi",
    "gelman_rubin",
    "hpdi",
    "print_summary",
    "split_gelman_rubin",
    "summary",
]


def autocovariance(
    x: Shaped[ArrayLike, "..."], axis: int = 0, bias: bool = True
) -> Float[np.ndarray, "..."]:
    r"""Autocovariance $\hat\gamma_k$ of `x` at every lag $k$ along `axis`.

    $\hat\gamma_k = \frac{1}{N}\sum_{t=0}^{N-k-1}(x_t-\bar x)(x_{t+k}-\bar x)$, or
    with $1/(N-k)$ when `bias=False`. Computed by FFT in $O(N\log N)$.

    Args:
        x: samples; any shape.
        axis: the time axis.
        bias: divide by $N$ (the positive-definite estimator Geyer recommends).

    Returns:
        Array of the shape of `x`; entry `k` along `axis` is lag `k`.
    """
    x = np.asarray(x)
    _check_axis(x, axis)
    return _core.autocovariance(x, axis, bias)


def autocorrelation(
    x: Shaped[ArrayLike, "..."], axis: int = 0, bias: bool = True
) -> Float[np.ndarray, "..."]:
    r"""Autocorrelation $\hat\rho_k = \hat\gamma_k / \hat\gamma_0$ along `axis`.

    Args:
        x: samples; any shape.
        axis: the time axis.
        bias: as in `autocovariance`; the lag-0 normaliser is the same for both.

    Returns:
        Array of the shape of `x`, equal to 1 at lag 0.
    """
    acov = autocovariance(x, axis=axis, bias=bias)
    with np.errstate(invalid="ignore", divide="ignore"):
        return acov / np.take(acov, [0], axis=axis)


def effective_sample_size(
    x: Shaped[ArrayLike, "chains draws *sample"],
    kind: str = "bulk",
) -> Float[np.ndarray, "*sample"]:
    r"""Effective sample size of draws `x` shaped `(chains, draws, *sample)`.

    All kinds split each chain in halves and estimate
    $S_\text{eff} = S / \hat\tau$ with
    $\hat\tau = -1 + 2\sum_{k}\hat P_k$, the pair sums
    $\hat P_k = \hat\rho_{2k} + \hat\rho_{2k+1}$ of the multi-chain
    autocorrelation
    $\hat\rho_t = 1 - (W - \overline{\hat\gamma_t}) / \widehat{\mathrm{var}}^+$
    truncated at the first non-positive pair and made monotone (Geyer's initial
    monotone sequence), exactly as Stan and arviz do.

    - `"bulk"`: on rank-normalised draws $\Phi^{-1}((r - 3/8)/(S + 1/4))$ —
      reliable for the posterior centre, finite even for infinite-variance
      posteriors. The number to report (`n_eff` in `summary`).
    - `"tail"`: minimum ESS of the indicators $I(x \le q_{0.05})$ and
      $I(x \le q_{0.95})$ — reliability of the 5% and 95% quantiles.
    - `"basic"`: on the raw split draws — ESS of the posterior mean estimate.

    Args:
        x: at least 4 draws per chain; one or more chains.
        kind: `"bulk"`, `"tail"` or `"basic"`.

    Returns:
        ESS per element of `*sample` (NaN where any draw is NaN).

    References:
        Vehtari et al. (2021), section 3.2 and appendix A (see module docstring).
    """
    if kind not in ("bulk", "tail", "basic"):
        raise ValueError(f"`kind` must be 'bulk', 'tail' or 'basic'; got {kind!r}.")
    return np.asarray(_core.ess(_core.as_draws(x), kind))


def gelman_rubin(
    x: Shaped[ArrayLike, "chains draws *sample"],
) -> Float[np.ndarray, "*sample"]:
    r"""Classical potential scale reduction $\hat R=\sqrt{\widehat{\mathrm{var}}^+/W}$.

    No chain splitting and no rank normalisation (Gelman and Rubin 1992); prefer
    `split_gelman_rubin`. Needs at least 2 chains.
    """
    draws = _core.as_draws(x, min_draws=2)
    _check_chains(draws, 2)
    return np.asarray(_core.rhat_basic(draws))


def split_gelman_rubin(
    x: Shaped[ArrayLike, "chains draws *sample"],
) -> Float[np.ndarray, "*sample"]:
    r"""Rank-normalised split $\hat R$ of Vehtari et al. (2021).

    $\hat R = \max(\hat R_\text{bulk}, \hat R_\text{tail})$ where
    $\hat R_\text{bulk}$ is the classical $\hat R$ of the rank-normalised
    split chains and $\hat R_\text{tail}$ the same for the folded draws
    $|x - \operatorname{median}(x)|$. Values above 1.01 signal chains that
    have not mixed. Works with a single chain (its two halves are compared).

    References:
        Vehtari et al. (2021), section 4.2 (see module docstring).
    """
    return np.asarray(_core.rhat_rank(_core.as_draws(x)))


def hpdi(
    x: Shaped[ArrayLike, "..."], prob: float = 0.90, axis: int = 0
) -> Float[np.ndarray, "..."]:
    r"""Highest posterior density interval: the narrowest interval holding `prob`.

    Among the intervals $[x_{(i)}, x_{(i+m)}]$ of the sorted draws with
    $m = \lfloor \text{prob}\cdot N\rfloor$, returns the shortest.

    Args:
        x: samples.
        prob: probability mass in `(0, 1)`.
        axis: the sample axis.

    Returns:
        `x`'s shape with `axis` of size 2: lower bound then upper bound.
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"`prob` must be in (0, 1); got {prob}.")
    x = np.asarray(x)
    _check_axis(x, axis)
    ordered = np.sort(np.moveaxis(x, axis, 0), axis=0)
    n = ordered.shape[0]
    width = int(prob * n)
    start = np.argmin(ordered[width:] - ordered[: n - width], axis=0)[None]
    bounds = np.concatenate(
        [
            np.take_along_axis(ordered, start, axis=0),
            np.take_along_axis(ordered, start + width, axis=0),
        ]
    )
    return np.moveaxis(bounds, 0, axis).astype(np.result_type(x.dtype, np.float32))


def energy_bfmi(
    energy: Shaped[ArrayLike, "*chains draws"],
) -> Float[np.ndarray, "*chains"]:
    r"""Energy Bayesian fraction of missing information, one value per chain.

    $\text{E-BFMI} = \sum_t (E_t - E_{t-1})^2 \,/\, \sum_t (E_t - \bar E)^2$
    (numerator averaged over $N-1$ differences, denominator the unbiased
    variance, as in arviz). Below 0.3 the momentum resampling cannot explore the
    energy distribution: heavy tails or funnels.

    Args:
        energy: Hamiltonian at each draw, `(draws,)` or `(chains, draws)`.

    References:
        Betancourt (2016) (see module docstring).
    """
    e = np.asarray(energy, dtype=np.float64)
    if e.ndim not in (1, 2) or e.shape[-1] < 2:
        raise ValueError(
            f"`energy` must be shaped (draws,) or (chains, draws) with >= 2 draws; "
            f"got shape {e.shape}."
        )
    num = np.square(np.diff(e, axis=-1)).mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num / e.var(axis=-1, ddof=1))


def _check_axis(x: np.ndarray, axis: int) -> None:
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"`axis` must index one of {x.ndim} axes; got {axis}.")


def _check_chains(x: np.ndarray, min_chains: int) -> None:
    if x.shape[0] < min_chains:
        raise ValueError(
            f"`x` needs at least {min_chains} chains (axis 0); got shape {x.shape}."
        )

"""What `MCMC` checks after a run: divergences, R-hat and E-BFMI warnings."""

import warnings

import jax
import numpy as np


class SamplingWarning(UserWarning):
    """Raised after a run with divergences, R-hat > 1.01 or E-BFMI < 0.3."""


def warn_after_run(
    samples, extra_fields, latent_sites, num_kept: int, periodic=frozenset
) -> None:
    """Warn after `MCMC.run` (called from `MCMC._warn`, hence the stack level).

    `periodic()` names the sites whose R-hat is not checked: a periodic,
    improper posterior (`CircularReparam`'s unwrapped angle) never mixes
    across periods, by design. Called only when such a site would be named.
    """
    from .. import diagnostics

    div = int(np.sum(np.asarray(extra_fields["diverging"])))
    if div > 0:
        warnings.warn(
            f"There were {div} divergent transitions after warmup: the sampler "
            "could not follow the posterior's geometry and the draws may be "
            "biased. Reparameterise (e.g. non-centre) or raise target_accept_prob.",
            SamplingWarning,
            stacklevel=4,
        )
    if num_kept >= 4:
        bad = []
        by_name = sites(samples)
        # sample sites only, like print_summary's default: deterministic
        # sites are functions of them, and ranking costs ~0.07 us per value
        latent = {k: v for k, v in by_name.items() if k in latent_sites}
        high = {n: r for n, r in max_rank_rhat(latent or by_name).items() if r > 1.01}
        if high:
            skip = periodic()
            bad = [f"{n} ({r:.3f})" for n, r in high.items() if n not in skip]
        if bad:
            warnings.warn(
                "R-hat > 1.01 for " + ", ".join(bad) + ": the chains have not "
                "mixed; run longer or reparameterise.",
                SamplingWarning,
                stacklevel=4,
            )
        bfmi = diagnostics.energy_bfmi(np.asarray(extra_fields["energy"]))
        if np.any(bfmi < 0.3):
            warnings.warn(
                f"E-BFMI below 0.3 ({np.round(bfmi, 3).tolist()}): momentum "
                "resampling explores the energy poorly (heavy tails or a funnel).",
                SamplingWarning,
                stacklevel=4,
            )


def max_rank_rhat(sites: dict) -> dict:
    """Per float site, the largest rank-normalised split R-hat over its elements.

    `diagnostics.split_gelman_rubin` on all sites' columns at once.
    Constant elements (NaN R-hat) are ignored; a site of constants is omitted.
    """
    from .._diagnostics_core import rhat_rank

    names, cols = [], []
    for name, value in sites.items():
        v = np.asarray(value)
        if not np.issubdtype(v.dtype, np.floating) or v.ndim < 2 or v.shape[1] < 4:
            continue
        names.append(name)
        cols.append(v.reshape(v.shape[:2] + (-1,)))
    if not cols:
        return {}
    rhat = rhat_rank(np.concatenate(cols, axis=-1, dtype=np.float64))
    rhat = np.where(np.isnan(rhat), -np.inf, rhat)  # constant columns
    sizes = np.cumsum([c.shape[-1] for c in cols])[:-1]
    parts = zip(names, np.split(rhat, sizes), strict=True)
    out = {name: float(np.max(r)) for name, r in parts}
    return {name: r for name, r in out.items() if r > -np.inf}


def sites(samples) -> dict:
    if isinstance(samples, dict):
        return samples
    leaves = jax.tree_util.tree_leaves_with_path(samples)
    return {jax.tree_util.keystr(p) or "z": v for p, v in leaves}


def periodic_sites(model, args, kwargs) -> set:
    """Latent sites marked ``infer={"periodic": True}`` (the enumeration probe's
    abstract run, cached per model and argument signature)."""
    if model is None:
        return set()
    from ._enum import probe

    return probe(model, args, kwargs)["periodic"]

"""Posterior summary table (`summary`, `print_summary`) for MCMC draws."""

import itertools
from typing import Any

import jax
import numpy as np

from . import _diagnostics_core as _core


def _as_sites(samples: Any, group_by_chain: bool) -> dict[str, np.ndarray]:
    if isinstance(samples, dict):
        sites = {str(k): np.asarray(v) for k, v in samples.items()}
    else:
        leaves = jax.tree.leaves(samples)
        sites = {f"Param:{i}": np.asarray(v) for i, v in enumerate(leaves)}
    if not group_by_chain:
        sites = {k: v[None] for k, v in sites.items()}
    for name, v in sites.items():
        if v.ndim < 2:
            raise ValueError(
                f"site {name!r} must be shaped (chains, draws, *sample) "
                f"(or (draws, *sample) with group_by_chain=False); got {v.shape}."
            )
    return sites


def _quantile_labels(prob: float) -> tuple[str, str]:
    return f"{50 * (1 - prob):.1f}%", f"{50 * (1 + prob):.1f}%"


def summary(
    samples: Any, prob: float = 0.90, group_by_chain: bool = True
) -> dict[str, dict[str, np.ndarray]]:
    r"""Posterior summary per site: mean, std, median, quantiles, n_eff, r_hat.

    The interval is the equal-tailed one between the $(1-p)/2$ and $(1+p)/2$
    quantiles, keyed e.g. `"5.0%"` and `"95.0%"` for `prob=0.9`. `n_eff` is the
    rank-normalised bulk ESS and `r_hat` the rank-normalised split R-hat of
    Vehtari et al. (2021); both are NaN with fewer than 4 draws per chain.

    Args:
        samples: dict site -> draws shaped `(chains, draws, *sample)`, or any
            pytree of such arrays (sites named `Param:i`), numpy or JAX.
        prob: mass of the central interval, in `(0, 1)`.
        group_by_chain: if False, draws are `(draws, *sample)` (one chain).

    Returns:
        dict site -> dict statistic -> array shaped `*sample`.
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"`prob` must be in (0, 1); got {prob}.")
    lo, hi = _quantile_labels(prob)
    out = {}
    for name, value in _as_sites(samples, group_by_chain).items():
        value = value.astype(np.float64)
        flat = value.reshape((-1,) + value.shape[2:])
        if flat.shape[0] == 0:
            continue
        q = np.quantile(flat, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
        if value.shape[1] >= 4:
            n_eff = _core.ess(value, "bulk")
            r_hat = _core.rhat_rank(value)
        else:
            n_eff = r_hat = np.full(value.shape[2:], np.nan)
        out[name] = {
            "mean": np.asarray(flat.mean(axis=0)),
            "std": np.asarray(flat.std(axis=0, ddof=1) if len(flat) > 1 else np.nan),
            "median": np.asarray(q[1]),
            lo: np.asarray(q[0]),
            hi: np.asarray(q[2]),
            "n_eff": np.asarray(n_eff),
            "r_hat": np.asarray(r_hat),
        }
    return out


def print_summary(
    samples: Any,
    prob: float = 0.89,
    group_by_chain: bool = True,
    divergences: Any = None,
) -> None:
    """Print `summary` as a table, one row per scalar element of every site.

    Columns: mean, std, median, the `(1-prob)/2` and `(1+prob)/2` quantiles
    (5.5% and 94.5% by default), n_eff, r_hat. Vector and matrix sites get a row
    per element, `theta[3]` or `L[1,0]`.

    Args:
        samples: as in `summary`.
        prob: mass of the central interval.
        group_by_chain: as in `summary`.
        divergences: optional count, or boolean array of divergent transitions
            (e.g. `get_extra_fields()["diverging"]`); its total is printed.
    """
    table = summary(samples, prob=prob, group_by_chain=group_by_chain)
    rows = []
    for name, stats in table.items():
        shape = stats["mean"].shape
        for idx in itertools.product(*map(range, shape)):
            label = name + (f"[{','.join(map(str, idx))}]" if idx else "")
            rows.append((label, [float(v[idx]) for v in stats.values()]))
    columns = list(next(iter(table.values())).keys()) if table else []
    width = max([10] + [len(label) for label, _ in rows])
    print()
    print(" " * width + "".join(f" {c:>9}" for c in columns))
    for label, values in rows:
        print(f"{label:>{width}}" + "".join(f" {v:>9.2f}" for v in values))
    print()
    if divergences is not None:
        print(f"Number of divergences: {int(np.sum(np.asarray(divergences)))}")

"""``CalibrationResult``: what ``sciad.calibrate`` returns, and how to read it."""

import dataclasses
import warnings
from collections.abc import Callable
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np


class CalibrationWarning(UserWarning):
    """The sampler's diagnostics say the posterior may not be trustworthy."""


def _flat_names(name: str, shape: tuple[int, ...]) -> list[tuple[str, tuple]]:
    if not shape:
        return [(name, ())]
    return [(f"{name}[{', '.join(map(str, idx))}]", idx) for idx in np.ndindex(*shape)]


@dataclasses.dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Posterior (or MAP) of a calibrated simulator.

    Attributes:
        model: the sciad model that was sampled, ``model(inputs, observations)``.
        priors: the priors, by parameter name.
        data: ``(inputs, observations)``.
        map_estimate: MAP parameter values (constrained), by name.
        map_loss_history: potential energy per L-BFGS iteration.
        mcmc: the ``MCMC`` object (``None`` for ``method="map"``).
        truth: true parameter values if given.
    """

    model: Callable
    priors: dict[str, Any]
    data: tuple[Any, Any]
    map_estimate: dict[str, jax.Array]
    map_loss_history: jax.Array
    mcmc: Any
    truth: dict[str, Any] | None

    @property
    def samples(self) -> dict[str, Any] | None:
        """Posterior draws by parameter name, chains flattened: ``(draws, ...)``."""
        if self.mcmc is None:
            return None
        return {k: v for k, v in self.mcmc.get_samples().items() if k != "prediction"}

    def _by_chain(self) -> dict[str, np.ndarray]:
        samples = self.mcmc.get_samples(group_by_chain=True)
        return {k: np.asarray(v) for k, v in samples.items() if k != "prediction"}

    @cached_property
    def diagnostics(self) -> dict[str, Any]:
        """R-hat and bulk ESS per scalar parameter, and the divergence count.

        Warns (``CalibrationWarning``) when there are divergences, any R-hat
        exceeds 1.01, or any bulk ESS is below 100.
        """
        from .probabilistic import diagnostics as diag

        if self.mcmc is None:
            return {}
        r_hat, ess = {}, {}
        for name, draws in self._by_chain().items():
            rh = (
                np.atleast_1d(diag.split_gelman_rubin(draws))
                if draws.shape[0] > 1
                else None
            )
            es = np.atleast_1d(diag.effective_sample_size(draws))
            for i, (label, _) in enumerate(_flat_names(name, draws.shape[2:])):
                r_hat[label] = float(rh.ravel()[i]) if rh is not None else float("nan")
                ess[label] = float(es.ravel()[i])
        extra = self.mcmc.get_extra_fields()
        divergences = (
            int(np.sum(np.asarray(extra["diverging"]))) if "diverging" in extra else 0
        )
        problems = []
        if divergences:
            problems.append(f"{divergences} divergent transitions")
        bad_rhat = {k: v for k, v in r_hat.items() if v > 1.01}
        if bad_rhat:
            problems.append(f"R-hat > 1.01 for {sorted(bad_rhat)}")
        low_ess = {k: v for k, v in ess.items() if v < 100}
        if low_ess:
            problems.append(f"bulk ESS < 100 for {sorted(low_ess)}")
        if problems:
            warnings.warn(
                "calibrate: " + "; ".join(problems) + ". Run longer, tighten priors "
                "or reparameterise before trusting the intervals.",
                CalibrationWarning,
                stacklevel=3,
            )
        return {"r_hat": r_hat, "ess": ess, "divergences": divergences}

    def summary(self, prob: float = 0.9) -> str:
        """A table: posterior mean, sd, central ``prob`` interval, ESS, R-hat, MAP
        and, if known, the true value and whether the interval covers it."""
        lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
        pct = f"{100 * prob:g}%"
        rows = []
        names = list(self.map_estimate)
        samples = None if self.mcmc is None else self._by_chain()
        diagnostics = self.diagnostics if samples is not None else {}
        for name in names:
            map_value = np.asarray(self.map_estimate[name])
            true = (
                None
                if not self.truth or name not in self.truth
                else np.asarray(self.truth[name])
            )
            for label, idx in _flat_names(name, map_value.shape):
                row = {"param": label, "MAP": float(map_value[idx])}
                if samples is not None:
                    draws = samples[name][(..., *idx)].ravel()
                    lo, hi = np.quantile(draws, [lo_q, hi_q])
                    row.update(
                        mean=float(draws.mean()),
                        sd=float(draws.std()),
                        lo=float(lo),
                        hi=float(hi),
                        ess=diagnostics["ess"][label],
                        r_hat=diagnostics["r_hat"][label],
                    )
                if true is not None:
                    row["truth"] = float(np.broadcast_to(true, map_value.shape)[idx])
                    if samples is not None:
                        row["covered"] = row["lo"] <= row["truth"] <= row["hi"]
                rows.append(row)
        return _format_table(rows, pct, diagnostics.get("divergences"))

    def predictive(
        self, inputs: Any, *, prob: float = 0.9, key: jax.Array | None = None
    ):
        """Posterior predictive at new inputs.

        Returns a dict with ``mean``, ``lower``, ``upper`` of the simulator output
        (``prediction``; parameter uncertainty only) and ``obs_mean``,
        ``obs_lower``, ``obs_upper`` of new observations (noise included), the
        bounds being the central ``prob`` interval. For ``method="map"`` the
        prediction is the MAP simulator output and the bands are empty.
        """
        from .probabilistic.infer import Predictive

        key = jr.key(0) if key is None else key
        lo_q, hi_q = (1 - prob) / 2, (1 + prob) / 2
        if self.mcmc is None:
            pred = Predictive(
                self.model,
                {k: jnp.asarray(v)[None] for k, v in self.map_estimate.items()},
                return_sites=["prediction"],
            )(key, inputs)["prediction"][0]
            return {"mean": pred, "lower": pred, "upper": pred}
        out = Predictive(self.model, self.samples, return_sites=["prediction", "obs"])(
            key, inputs
        )
        result = {}
        for site, prefix in (("prediction", ""), ("obs", "obs_")):
            draws = out[site]
            result[prefix + "mean"] = jnp.mean(draws, axis=0)
            result[prefix + "lower"] = jnp.quantile(draws, lo_q, axis=0)
            result[prefix + "upper"] = jnp.quantile(draws, hi_q, axis=0)
        return result

    def plot(self, path: str, *, prob: float = 0.9) -> str:
        """Save posterior marginals and predictive bands to ``path`` (matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        labels = [
            (name, label, idx)
            for name, v in self.map_estimate.items()
            for label, idx in _flat_names(name, np.shape(v))
        ]
        n = len(labels) + 1
        cols = min(n, 4)
        rows = -(-n // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows))
        axes = np.atleast_1d(axes).ravel()
        samples = None if self.mcmc is None else self.samples
        for ax, (name, label, idx) in zip(axes, labels, strict=False):
            if samples is not None:
                ax.hist(
                    np.asarray(samples[name][(..., *idx)]).ravel(),
                    bins=40,
                    density=True,
                    color="C0",
                    alpha=0.7,
                )
            ax.axvline(
                float(np.asarray(self.map_estimate[name])[idx]), color="C1", label="MAP"
            )
            if self.truth and name in self.truth:
                true = np.broadcast_to(
                    np.asarray(self.truth[name]), np.shape(self.map_estimate[name])
                )[idx]
                ax.axvline(float(true), color="k", ls="--", label="truth")
            ax.set_title(label)
        axes[0].legend(fontsize=7)
        ax = axes[len(labels)]
        inputs, obs = self.data
        band = self.predictive(inputs, prob=prob)
        x = np.arange(np.size(obs))
        ax.plot(x, np.ravel(obs), "k.", ms=3, label="observed")
        ax.plot(x, np.ravel(band["mean"]), "C0-", lw=1, label="posterior mean")
        if "obs_lower" in band:
            ax.fill_between(
                x,
                np.ravel(band["obs_lower"]),
                np.ravel(band["obs_upper"]),
                color="C0",
                alpha=0.25,
                label=f"{100 * prob:g}% predictive",
            )
        ax.set_title("observations")
        ax.legend(fontsize=7)
        for ax in axes[n:]:
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def __str__(self) -> str:
        return self.summary()


def _format_table(rows: list[dict], pct: str, divergences: int | None) -> str:
    columns = [
        ("param", "param", "{}"),
        ("mean", "mean", "{:.4g}"),
        ("sd", "sd", "{:.3g}"),
        ("lo", f"{pct} lo", "{:.4g}"),
        ("hi", f"{pct} hi", "{:.4g}"),
        ("MAP", "MAP", "{:.4g}"),
        ("truth", "truth", "{:.4g}"),
        ("covered", "in interval", "{}"),
        ("ess", "n_eff", "{:.0f}"),
        ("r_hat", "r_hat", "{:.3f}"),
    ]
    columns = [c for c in columns if any(c[0] in r for r in rows)]
    cells = [[title for _, title, _ in columns]]
    for r in rows:
        cells.append([fmt.format(r[k]) if k in r else "" for k, _, fmt in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    if divergences is not None:
        lines.append(f"divergences: {divergences}")
    return "\n".join(lines)

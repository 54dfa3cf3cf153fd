"""Calibrate Heston to an implied-volatility surface with Levenberg–Marquardt.

Quotes: 9 strikes x 6 maturities generated from known Heston parameters plus
(optional) implied-vol noise. The fit starts far away, uses the implied-vol loss
(gradients through `implied_vol`'s implicit-function rule) and optimistix LM.
Saves examples/out/heston_calibration.png (or $SCIAD_OUT/...).
"""

import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import sciad.finance as sf  # noqa: E402

jax.config.update("jax_enable_x64", True)
SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))
NAMES = ("v0", "kappa", "theta", "sigma", "rho")


def constrain(p):
    return jnp.concatenate([jax.nn.softplus(p[:4]), jnp.tanh(p[4:])])


def unconstrain(x):
    return jnp.concatenate([jnp.log(jnp.expm1(x[:4])), jnp.arctanh(x[4:])])


def heston_surface(p, q):
    return sf.heston_price(
        q.spot, q.strike, q.maturity, q.rate, q.dividend, *constrain(p)
    )


def main():
    truth = jnp.array([0.04, 1.5, 0.06, 0.5, -0.7])
    n_k, mats = (5, [0.25, 1.0]) if SMOKE else (9, [0.1, 0.25, 0.5, 1.0, 2.0, 3.0])
    strikes = jnp.linspace(80.0, 120.0, n_k)[:, None] * jnp.ones((1, len(mats)))
    maturities = jnp.asarray(mats)[None, :] * jnp.ones((n_k, 1))
    spot, rate, div = 100.0, 0.02, 0.01
    clean = sf.heston_price(spot, strikes, maturities, rate, div, *truth)
    vols = sf.implied_vol(clean, spot, strikes, maturities, rate, div)
    noise = 0.0 if SMOKE else 0.0005  # 5 bp of implied vol
    noisy_vols = vols + noise * jax.random.normal(jax.random.key(0), vols.shape)
    quotes = sf.Quotes(
        spot,
        strikes,
        maturities,
        rate,
        div,
        sf.bs_price(spot, strikes, maturities, rate, noisy_vols, div),
    )
    start = unconstrain(jnp.array([0.1, 0.5, 0.1, 1.0, 0.0]))

    t0 = time.perf_counter()
    loss = "price" if SMOKE else "implied_vol"  # smoke: the cheaper-to-compile loss
    fit = jax.jit(
        lambda p0: sf.calibrate_least_squares(heston_surface, quotes, p0, loss=loss)
    )(start)
    fitted = constrain(fit.params)
    print(
        f"LM ({loss} loss): {int(fit.num_steps)} steps, "
        f"converged={bool(fit.converged)}, "
        f"rmse={float(fit.rmse):.2e}, {time.perf_counter() - t0:.1f}s incl. compile"
    )
    print(f"{'param':<6} {'true':>9} {'start':>9} {'fitted':>12}")
    for name, tr, st, fi in zip(NAMES, truth, constrain(start), fitted, strict=True):
        print(f"{name:<6} {float(tr):9.4f} {float(st):9.4f} {float(fi):12.6f}")

    model_vols = sf.implied_vol(
        heston_surface(fit.params, quotes), spot, strikes, maturities, rate, div
    )
    fig, axes = plt.subplots(1, len(mats), figsize=(3.2 * len(mats), 3.2), sharey=True)
    for j, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(strikes[:, j], noisy_vols[:, j], "o", label="quoted")
        ax.plot(strikes[:, j], model_vols[:, j], "-", label="fitted Heston")
        ax.set_title(f"T = {mats[j]}")
        ax.set_xlabel("strike")
    np.atleast_1d(axes)[0].set_ylabel("implied vol")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "heston_calibration.png")
    fig.savefig(path, dpi=80)
    print(f"saved {path}")


if __name__ == "__main__":
    main()

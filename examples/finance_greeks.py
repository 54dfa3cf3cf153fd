"""Black–Scholes Greeks surfaces by AD, and Monte Carlo pathwise Greeks.

All eight Greeks of a 60 x 40 (spot x maturity) grid come from one reverse pass
plus forward-over-reverse (`sciad.finance.bs_greeks`). The same AD machinery
gives pathwise Monte Carlo Greeks of an arithmetic Asian and a barrier option.
Saves examples/out/finance_greeks.png (or $SCIAD_OUT/finance_greeks.png).
"""

import os
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import sciad.finance as sf  # noqa: E402

SMOKE = os.environ.get("SCIAD_SMOKE") == "1"
OUT = os.environ.get("SCIAD_OUT", os.path.join(os.path.dirname(__file__), "out"))


def main():
    strike, rate, vol, div = 100.0, 0.03, 0.25, 0.01
    spots = jnp.linspace(60.0, 140.0, 60)
    mats = jnp.linspace(0.05, 2.0, 40)
    s, t = jnp.meshgrid(spots, mats, indexing="ij")
    greeks = jax.jit(lambda s, t: sf.bs_greeks(s, strike, t, rate, vol, div))(s, t)
    atm = sf.bs_greeks(100.0, strike, 1.0, rate, vol, div)
    print(f"Greeks on a {s.shape} grid; ATM 1y delta={float(atm.delta):.4f}")

    n_paths = 4096 if SMOKE else 200_000
    n_steps = 16 if SMOKE else 64
    key = jr.key(0)

    def mc(spot, sigma, payoff):
        model = sf.GBM(spot, rate, sigma, div)
        return sf.mc_price(
            model, payoff, n_paths=n_paths, n_steps=n_steps, key=key
        ).price

    payoffs = {
        "Asian arithmetic call": sf.AsianArithmetic(strike, 1.0),
        "Down-and-out call, H=85": sf.Barrier(strike, 85.0, 1.0),
        "Digital call": sf.Digital(strike, 1.0),
    }
    if SMOKE:  # one payoff: every payoff is a separate compile
        payoffs = {"Down-and-out call, H=85": payoffs["Down-and-out call, H=85"]}
    for name, payoff in payoffs.items():
        f = jax.jit(
            jax.value_and_grad(lambda sp, sg, p=payoff: mc(sp, sg, p), argnums=(0, 1))
        )
        t0 = time.perf_counter()
        value, (delta, vega) = jax.block_until_ready(f(100.0, vol))
        print(
            f"{name:<26} price {float(value):8.4f}  delta {float(delta):7.4f}  "
            f"vega {float(vega):8.4f}  ({time.perf_counter() - t0:.1f}s incl. compile)"
        )
    exact = jax.grad(
        lambda sp: sf.barrier_price(sp, strike, 85.0, 1.0, rate, vol, div)
    )(100.0)
    print(f"closed-form barrier delta {float(exact):.4f}")

    fig, axes = plt.subplots(2, 4, figsize=(16, 7), subplot_kw={"projection": "3d"})
    for ax, name in zip(axes.ravel(), sf.Greeks._fields, strict=True):
        ax.plot_surface(s, t, getattr(greeks, name), cmap="viridis")
        ax.set_title(name)
        ax.set_xlabel("spot")
        ax.set_ylabel("T")
    fig.suptitle("Black–Scholes Greeks by automatic differentiation (K=100)")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "finance_greeks.png")
    fig.savefig(path, dpi=80)
    print(f"saved {path}")


if __name__ == "__main__":
    main()

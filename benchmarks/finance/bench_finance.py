"""sciad.finance vs QuantLib, side by side in one process.

Run: python benchmarks/finance/bench_finance.py [--x64] [--quick]
Prints absolute throughputs and sciad/QuantLib ratios. Default float32 for sciad
(pass --x64 for float64); QuantLib is always double precision. ``--quick``
measures the same targets with fewer QuantLib repetitions (~2 min).
Cost ratios (Greeks / price) are medians of interleaved runs, which is robust
to other load on the machine.
"""

import sys
import time

import jax

if "--x64" in sys.argv:
    jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402
import QuantLib as ql  # noqa: E402

import sciad.finance as sf  # noqa: E402

ROWS = []


def best_of(fn, repeat=3):
    fn()  # compile / warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


QUICK = "--quick" in sys.argv


def ratio_of(fn_a, fn_b, repeat=9):
    """Median of interleaved timing ratios fn_a / fn_b (robust to load)."""
    jax.block_until_ready(fn_a())
    jax.block_until_ready(fn_b())
    ratios = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn_a())
        t1 = time.perf_counter()
        jax.block_until_ready(fn_b())
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    return float(np.median(ratios))


def row(name, unit, ours, theirs):
    ratio = ours / theirs if theirs else float("nan")
    ROWS.append((name, unit, ours, theirs, ratio))
    print(
        f"{name:<38} {unit:<14} sciad {ours:>12.4g}  "
        f"QuantLib {theirs:>12.4g}  ratio {ratio:>7.2f}",
        flush=True,
    )


def ql_setup():
    today = ql.Date(1, 1, 2020)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.SimpleQuote(100.0)
    flat = lambda r: ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))
    vol = ql.BlackVolTermStructureHandle(
        ql.BlackConstantVol(today, ql.NullCalendar(), 0.2, dc)
    )
    bsm = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot), flat(0.01), flat(0.03), vol
    )
    return today, dc, spot, flat, bsm


def main():
    rng = np.random.default_rng(0)
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    today, dc, spot, flat, bsm = ql_setup()

    print(f"dtype {jnp.dtype(dtype).name}, devices {jax.devices()}")

    # --- analytic BS price + Greeks -------------------------------------------
    n = 1_000_000
    k = jnp.asarray(100 * np.exp(rng.uniform(-0.5, 0.5, n)), dtype)
    t = jnp.asarray(rng.uniform(0.1, 3.0, n), dtype)
    greeks = jax.jit(lambda k, t: sf.bs_greeks(100.0, k, t, 0.03, 0.2, 0.01))
    ours = n / best_of(lambda: greeks(k, t))
    n_ql = 2000 if QUICK else 5000
    # QuantLib's own fast analytic path (no observer/caching machinery):
    # BlackCalculator gives the value and every Greek of one option.
    ql_inputs = []
    for i in range(n_ql):
        kk, tt = float(k[i]), float(t[i])
        fwd = 100.0 * np.exp(0.02 * tt)
        ql_inputs.append(
            (
                ql.PlainVanillaPayoff(ql.Option.Call, kk),
                fwd,
                0.2 * np.sqrt(tt),
                np.exp(-0.03 * tt),
                tt,
            )
        )

    def ql_greeks():
        for payoff, fwd, std, disc, tt in ql_inputs:
            c = ql.BlackCalculator(payoff, fwd, std, disc)
            c.value(), c.delta(100.0), c.gamma(100.0), c.vega(tt)
            c.theta(100.0, tt), c.rho(tt), c.dividendRho(tt)

    theirs = n_ql / best_of(ql_greeks, repeat=1)
    row("BS price + all Greeks", "options/s", ours, theirs)

    # --- implied vol ------------------------------------------------------------
    vols = rng.uniform(0.1, 0.6, n)
    prices = sf.bs_price(100.0, k, t, 0.03, jnp.asarray(vols, dtype), 0.01)
    iv = jax.jit(lambda p, k, t: sf.implied_vol(p, 100.0, k, t, 0.03, 0.01))
    ours = n / best_of(lambda: iv(prices, k, t))
    pk = []
    for i in range(n_ql):  # double-precision quotes for QuantLib's solver
        kk, tt = float(k[i]), float(t[i])
        fwd = 100.0 * np.exp(0.02 * tt)
        std = vols[i] * np.sqrt(tt)
        pk.append((ql.blackFormula(ql.Option.Call, kk, fwd, std), kk, fwd))

    def ql_iv():
        for p, kk, fwd in pk:
            ql.blackFormulaImpliedStdDev(ql.Option.Call, kk, fwd, p, 1.0)

    theirs = n_ql / best_of(ql_iv, repeat=1)
    row("implied vol", "options/s", ours, theirs)

    # --- Heston analytic ---------------------------------------------------------
    n_h = 100_000
    hk, ht = k[:n_h], t[:n_h]
    heston = jax.jit(
        lambda k, t: sf.heston_price(
            100.0, k, t, 0.03, 0.01, 0.04, 1.5, 0.06, 0.5, -0.7
        )
    )
    ours = n_h / best_of(lambda: heston(hk, ht))
    # A surface: 100 maturities x 1000 strikes. The characteristic function
    # depends on maturity (not strike), so it is evaluated 100 x 128 times.
    sk = jnp.asarray(100 * np.exp(np.linspace(-0.5, 0.5, 1000)), dtype)[:, None]
    st = jnp.asarray(np.linspace(0.1, 3.0, 100), dtype)
    ours_surface = sk.size * st.size / best_of(lambda: heston(sk, st))
    hproc = ql.HestonProcess(
        flat(0.03), flat(0.01), ql.QuoteHandle(spot), 0.04, 1.5, 0.06, 0.5, -0.7
    )
    # QuantLib's default: adaptive Gauss-Lobatto at 1e-8, comparable accuracy.
    engine = ql.AnalyticHestonEngine(ql.HestonModel(hproc))
    hopts = [
        (
            ql.PlainVanillaPayoff(ql.Option.Call, float(hk[i])),
            ql.EuropeanExercise(today + int(365 * float(ht[i])) + 1),
        )
        for i in range(2000)
    ]

    def ql_heston():
        for payoff, exercise in hopts:  # a fresh instrument: no cached NPV
            o = ql.VanillaOption(payoff, exercise)
            o.setPricingEngine(engine)
            o.NPV()

    theirs = len(hopts) / best_of(ql_heston, repeat=1)
    row("Heston analytic, random (K, T) pairs", "options/s", ours, theirs)
    row("Heston analytic, 1000 K x 100 T surface", "options/s", ours_surface, theirs)

    gk, gt = hk[:20_000], ht[:20_000]  # reverse mode stores residuals: keep small

    def heston_total(v0, kappa, theta, sigma, rho):
        return jnp.sum(
            sf.heston_price(100.0, gk, gt, 0.03, 0.01, v0, kappa, theta, sigma, rho)
        )

    hp = tuple(jnp.asarray(a, dtype) for a in (0.04, 1.5, 0.06, 0.5, -0.7))
    h_grad = jax.jit(jax.value_and_grad(heston_total, argnums=(0, 1, 2, 3, 4)))
    h_price = jax.jit(heston_total)
    ratio_h = ratio_of(lambda: h_grad(*hp), lambda: h_price(*hp), repeat=5)
    row("Heston: 5 model-param gradients / price", "cost ratio", ratio_h, 1 + 2 * 5)

    # --- MC European GBM and Heston: 100k paths x 252 steps ---------------------
    n_paths, n_steps = 100_000, 252
    gbm = sf.GBM(jnp.asarray(100.0, dtype), 0.03, 0.2, 0.01)
    hes = sf.Heston(jnp.asarray(100.0, dtype), 0.03, 0.01, 0.04, 1.5, 0.06, 0.5, -0.7)
    pay = sf.European(100.0, 1.0)
    mc = jax.jit(
        lambda m, key: sf.mc_price(m, pay, n_paths=n_paths, n_steps=n_steps, key=key)
    )
    key = jr.key(0)
    ours_gbm = n_paths * n_steps / best_of(lambda: mc(gbm, key), repeat=2)
    ours_hes = n_paths * n_steps / best_of(lambda: mc(hes, key), repeat=2)
    euro = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call, 100.0), ql.EuropeanExercise(today + 365)
    )
    ql_paths = 10_000 if QUICK else 20_000

    def ql_mc(engine):
        euro.setPricingEngine(engine)
        euro.recalculate()
        return euro.NPV()

    eng = ql.MCEuropeanEngine(
        bsm, "pseudorandom", timeSteps=n_steps, requiredSamples=ql_paths, seed=42
    )
    theirs = ql_paths * n_steps / best_of(lambda: ql_mc(eng), repeat=1)
    row("MC European GBM 100k x 252", "path-steps/s", ours_gbm, theirs)
    eng = ql.MCEuropeanHestonEngine(
        hproc, "pseudorandom", timeSteps=n_steps, requiredSamples=ql_paths, seed=42
    )
    theirs = ql_paths * n_steps / best_of(lambda: ql_mc(eng), repeat=1)
    row("MC European Heston 100k x 252", "path-steps/s", ours_hes, theirs)

    # --- all first-order Greeks vs one price -----------------------------------
    def bs_total(s, kk, tt, r, v, q):
        return jnp.sum(sf.bs_price(s, kk, tt, r, v, q))

    args = (
        jnp.full(n, 100.0, dtype),
        k,
        t,
        jnp.full(n, 0.03, dtype),
        jnp.full(n, 0.2, dtype),
        jnp.full(n, 0.01, dtype),
    )
    price_only = jax.jit(lambda *a: sf.bs_price(*a))
    all_first = jax.jit(jax.value_and_grad(bs_total, argnums=(0, 1, 2, 3, 4, 5)))
    ratio_bs = ratio_of(lambda: all_first(*args), lambda: price_only(*args))
    bumps = 1 + 2 * 6  # central differences over 6 inputs
    row("BS: all 1st-order Greeks / price", "cost ratio", ratio_bs, bumps)

    def mc_price_of(s, v, r, q):
        return sf.mc_price(
            sf.GBM(s, r, v, q), pay, n_paths=n_paths, n_steps=n_steps, key=key
        ).price

    f_price = jax.jit(mc_price_of)
    f_greeks = jax.jit(jax.value_and_grad(mc_price_of, argnums=(0, 1, 2, 3)))
    mc_args = tuple(jnp.asarray(a, dtype) for a in (100.0, 0.2, 0.03, 0.01))
    ratio_mc = ratio_of(lambda: f_greeks(*mc_args), lambda: f_price(*mc_args), 3)
    row("MC GBM: 4 Greeks reverse / price", "cost ratio", ratio_mc, 1 + 2 * 4)
    f_fwd = jax.jit(jax.jacfwd(mc_price_of, argnums=(0, 1, 2, 3)))
    ratio_fwd = ratio_of(lambda: f_fwd(*mc_args), lambda: f_price(*mc_args), 3)
    row("MC GBM: 4 Greeks forward / price", "cost ratio", ratio_fwd, 1 + 2 * 4)

    print(
        "\n| benchmark | unit | sciad | QuantLib | sciad/QuantLib |"
        "\n|---|---|---|---|---|"
    )
    for name, unit, o, th, ra in ROWS:
        print(f"| {name} | {unit} | {o:.4g} | {th:.4g} | {ra:.2f} |")


if __name__ == "__main__":
    main()

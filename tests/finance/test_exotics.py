import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sciad
import sciad.finance as sf

from .quantlib_oracle import bsm_process

STRIKES = jnp.array([90.0, 100.0, 110.0])
# Haug (2007), Table 4-13: S=100, T=0.5, r=0.08, b=0.04 (q=0.04), rebate 3, vol 0.25.
HAUG = [
    ("down-and-out", 95.0, True, [9.0246, 6.7924, 4.8759]),
    ("down-and-out", 100.0, True, [3.0000, 3.0000, 3.0000]),
    ("up-and-out", 105.0, True, [2.6789, 2.3580, 2.3453]),
    ("down-and-in", 95.0, True, [7.7627, 4.0109, 2.0576]),
    ("down-and-in", 100.0, True, [13.8333, 7.8494, 3.9795]),
    ("up-and-in", 105.0, True, [14.1112, 8.4482, 4.5910]),
    ("down-and-out", 95.0, False, [2.2798, 2.2947, 2.6252]),
    ("up-and-out", 105.0, False, [3.7760, 5.4932, 7.5187]),
    ("down-and-in", 95.0, False, [2.9586, 6.5677, 11.9752]),
    ("up-and-in", 105.0, False, [1.4653, 3.3721, 7.0846]),
]
barrier = jax.jit(sf.barrier_price, static_argnames=("call", "kind"))


@pytest.mark.parametrize("kind,level,call,want", HAUG)
def test_haug_table(kind, level, call, want):
    got = barrier(
        100.0, STRIKES, level, 0.5, 0.08, 0.25, 0.04, call=call, kind=kind, rebate=3.0
    )
    np.testing.assert_allclose(got, want, atol=5e-5)  # table printed to 4 decimals


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize("direction,level", [("down", 90.0), ("up", 115.0)])
def test_in_out_parity(call, direction, level):
    args = (100.0, STRIKES, level, 0.7, 0.03, 0.3, 0.01)
    out = barrier(*args, call=call, kind=f"{direction}-and-out")
    knock_in = barrier(*args, call=call, kind=f"{direction}-and-in")
    vanilla = sf.bs_price(100.0, STRIKES, 0.7, 0.03, 0.3, 0.01, call=call)
    np.testing.assert_allclose(out + knock_in, vanilla, rtol=1e-12)


def test_barrier_grads_and_wrong_side():
    f = lambda s, k, h, v: barrier(
        s, k, h, 0.5, 0.03, v, 0.0, call=True, kind="down-and-out"
    )
    sciad.check_grads(f, (100.0, 100.0, 90.0, 0.25), order=1)
    with pytest.raises(ValueError, match="barrier"):
        sf.barrier_price(100.0, 100.0, 110.0, 1.0, 0.0, 0.2, kind="down-and-out")
    with pytest.raises(ValueError, match="kind"):
        sf.barrier_price(100.0, 100.0, 90.0, 1.0, 0.0, 0.2, kind="sideways")


def test_asian_geometric_limits_and_grads():
    # One fixing at expiry: a vanilla European.
    one = sf.asian_geometric_price(100.0, 95.0, jnp.array([1.0]), 0.05, 0.2, 0.01)
    np.testing.assert_allclose(
        one, sf.bs_price(100.0, 95.0, 1.0, 0.05, 0.2, 0.01), rtol=1e-12
    )
    # Continuous-average limit (Kemna–Vorst): BS with vol/sqrt(3) and
    # cost of carry b = (r - q - vol^2/6)/2.
    times = jnp.linspace(0.0, 1.0, 20001)[1:]
    got = sf.asian_geometric_price(100.0, 100.0, times, 0.05, 0.3, 0.0)
    b = 0.5 * (0.05 - 0.3**2 / 6)
    want = sf.bs_price(100.0, 100.0, 1.0, 0.05, 0.3 / np.sqrt(3), 0.05 - b)
    np.testing.assert_allclose(got, want, rtol=1e-4)  # O(1/n) discretisation, n=2e4
    f = jax.jit(
        lambda s, k, v: sf.asian_geometric_price(
            s, k, jnp.array([0.25, 0.5, 1.0]), 0.02, v
        )
    )
    sciad.check_grads(f, (100.0, 100.0, 0.25), order=1)
    with pytest.raises(ValueError, match="fixing_times"):
        sf.asian_geometric_price(100.0, 100.0, jnp.array([0.5, 0.2]), 0.0, 0.2)


def test_quantlib_barrier_oracle():
    ql, today, proc = bsm_process(100.0, rate=0.04, dividend=0.01, vol=0.3)
    opt = ql.BarrierOption(
        ql.Barrier.UpOut,
        120.0,
        1.5,
        ql.PlainVanillaPayoff(ql.Option.Call, 95.0),
        ql.EuropeanExercise(today + 365),
    )
    opt.setPricingEngine(ql.AnalyticBarrierEngine(proc))
    got = barrier(
        100.0,
        95.0,
        120.0,
        1.0,
        0.04,
        0.3,
        0.01,
        call=True,
        kind="up-and-out",
        rebate=1.5,
    )
    np.testing.assert_allclose(got, opt.NPV(), rtol=1e-10)

"""Bound: the pair loop's Gram fused with its un-applies, chunk by chunk (scratch).

n = 20 HEA ring step, complex64. Per pair of ring steps (ms per gate = per pair / 2):

* ``cur``   -- the current `_backward._back_pairs` body (8x8 Gram GEMM on the carry,
  then two un-applies of both states);
* ``c1/B``  -- the carry split into ``2**B`` chunks along carry positions 3..3+B-1:
  per chunk the partial 8x8 Gram and the *first* un-apply of both states, written
  with `dynamic_update_slice` into a scratch carry; the second un-apply whole;
* ``c2/B``  -- per chunk the Gram and *both* un-applies (ping-pong carries, two pairs
  per iteration);
* ``una``   -- the two un-applies alone (no Gram): the floor.

Run pinned: ``taskset -c 1 python benchmarks/quantum/chunk_bound.py [n] [B,B,..]
[rounds]``; ``VARIANTS=c2,c2n,c2g,c2s,c1`` picks the variants (``c2n``: the chunked
un-applies without a Gram; ``c2g``: unchunked Gram + chunked un-applies; ``c2s``:
the chunk Gram as a real GEMM on re/im planes). Result (session 5): one core,
``c2/7`` saves ~0.7 ms per gate; two cores, every ``B`` is slower than ``cur``
(see RESULTS.md).
"""

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from sciad.quantum import _kernels
from sciad.quantum._backward import _after, _unapply_both
from sciad.quantum._kernels import Step

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PAIRS = 20
VARIANTS = os.environ.get("VARIANTS", "c2,c2n").split(",")
STEP = Step("dense", 2, tuple(range(1, N)) + (0,), True)


def reduce_step(step, removed):
    """``step`` with the (contiguous) output positions ``removed`` dropped."""
    ins = [step.out_pos[j] for j in removed]
    p0, b = ins[0], len(ins)
    assert ins == list(range(p0, p0 + b)) and p0 >= step.k
    out = tuple(
        q if q < p0 else q - b for j, q in enumerate(step.out_pos) if j not in removed
    )
    return step._replace(out_pos=out), p0


def chunk_of(y, c0, b, i):
    v = y.reshape(2**c0, 2**b, -1)
    return jax.lax.dynamic_slice_in_dim(v, i, 1, 1).reshape(-1)


def put(out, c0, b, i, x):
    v = out.reshape(2**c0, 2**b, -1)
    x = x.reshape(2**c0, 1, -1)
    return jax.lax.dynamic_update_slice_in_dim(v, x, i, 1).reshape(-1)


def body_cur(carry, u2):
    p_, m_ = carry
    g = _kernels.gram(3, m_, p_)
    for v in (_after(g, u2[1]), u2[0]):
        p_, m_ = _unapply_both(STEP, v, p_, m_)
    return (p_, m_), g


def body_una(carry, u2):
    p_, m_ = carry
    for v in (u2[1], u2[0]):
        p_, m_ = _unapply_both(STEP, v, p_, m_)
    return (p_, m_), None


def make_c1(b):
    red, p0 = reduce_step(STEP, tuple(range(3, 3 + b)))

    def body(carry, u2):
        p_, m_, sp, sm = carry

        def chunk(i, c):
            sp, sm, g = c
            cp, cm = chunk_of(p_, 3, b, i), chunk_of(m_, 3, b, i)
            g = g + _kernels.gram(3, cm, cp)
            cp, cm = _unapply_both(red, u2[1], cp, cm)
            return put(sp, p0, b, i, cp), put(sm, p0, b, i, cm), g

        g0 = jnp.zeros((8, 8), p_.dtype)
        sp, sm, g = jax.lax.fori_loop(0, 2**b, chunk, (sp, sm, g0))
        p_, m_ = _unapply_both(STEP, _after(g, u2[0]), sp, sm)
        return (p_, m_, sp, sm), g

    return body


def zero_gram(k, m, p):
    return jnp.zeros((2**k, 2**k), m.dtype)


def gram_planes(k, m, p):
    m, p = m.reshape(2**k, -1), p.reshape(2**k, -1)
    a = jnp.concatenate([m.real, m.imag], 1)
    bb = jnp.concatenate(
        [jnp.concatenate([p.real, -p.imag], 1), jnp.concatenate([p.imag, p.real], 1)]
    )
    g = a @ bb.T
    return jax.lax.complex(g[:, : 2**k], g[:, 2**k :])


def make_c2(b, gram=_kernels.gram, outside=False):
    red1, p1 = reduce_step(STEP, tuple(range(3, 3 + b)))
    red2, p2 = reduce_step(STEP, tuple(range(p1, p1 + b)))

    def pair(src, dst, u2):
        p_, m_ = src

        def chunk(i, c):
            dp, dm, g = c
            cp, cm = chunk_of(p_, 3, b, i), chunk_of(m_, 3, b, i)
            g = g + gram(3, cm, cp)
            cp, cm = _unapply_both(red1, u2[1], cp, cm)
            cp, cm = _unapply_both(red2, u2[0], cp, cm)
            return put(dp, p2, b, i, cp), put(dm, p2, b, i, cm), g

        g0 = _kernels.gram(3, m_, p_) if outside else jnp.zeros((8, 8), p_.dtype)
        dp, dm, g = jax.lax.fori_loop(0, 2**b, chunk, (*dst, g0))
        return (dp, dm), g

    def body(carry, u4):
        a, s = carry[:2], carry[2:]
        s, g1 = pair(a, s, u4[1])
        a, g0 = pair(s, a, u4[0])
        return (*a, *s), jnp.stack([g0, g1])

    return body


def busy():
    """(all CPUs' busy seconds, this process's CPU seconds): other load = difference."""
    f = open("/proc/stat").readline().split()[1:]
    ticks = [int(x) for x in f]
    t = os.times()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), t[0] + t[1]


def unitaries(k, key):
    z = jax.random.normal(key, (k, 4, 4, 2))
    q, _ = jnp.linalg.qr(z[..., 0] + 1j * z[..., 1])
    return q.astype(jnp.complex64)


def main():
    key = jax.random.PRNGKey(0)
    k1, k2, k3 = jax.random.split(key, 3)
    dim = 2**N
    psi = (jax.random.normal(k1, (dim,)) + 1j * jax.random.normal(k2, (dim,))).astype(
        jnp.complex64
    )
    mu = jnp.conj(psi[::-1])
    us = unitaries(2 * PAIRS, k3).reshape(PAIRS, 2, 4, 4)

    def scan2(body):
        return jax.jit(lambda p, m, u: jax.lax.scan(body, (p, m), u, reverse=True))

    def scan4(body, extra=2):
        z = jnp.zeros_like(psi)

        def f(p, m, u):
            init = (p, m) + (z, z)
            u = u.reshape(-1, extra, *u.shape[1:])
            return jax.lax.scan(body, init, u, reverse=True)

        return jax.jit(f)

    def scan2c1(body):
        z = jnp.zeros_like(psi)
        return jax.jit(
            lambda p, m, u: jax.lax.scan(body, (p, m, z, z), u, reverse=True)
        )

    variants = {"cur": scan2(body_cur), "una": scan2(body_una)}
    for b in map(int, (sys.argv[2] if len(sys.argv) > 2 else "3,4,5,6").split(",")):
        makers = {
            "c2": lambda b: scan4(make_c2(b)),
            "c2n": lambda b: scan4(make_c2(b, zero_gram)),
            "c2g": lambda b: scan4(make_c2(b, zero_gram, outside=True)),
            "c2s": lambda b: scan4(make_c2(b, gram_planes)),
            "c1": lambda b: scan2c1(make_c1(b)),
        }
        for v in VARIANTS:
            variants[f"{v}/{b}"] = makers[v](b)
    ref = None
    for name, f in variants.items():
        out = jax.block_until_ready(f(psi, mu, us))
        hlo = f.lower(psi, mu, us).compile().as_text()
        copies = len(
            [ln for ln in hlo.splitlines() if f"c64[{dim}]" in ln and " copy(" in ln]
        )
        st = out[0][0]
        if name == "cur":
            ref = (st, out[1])
        elif name != "una":
            err = float(jnp.max(jnp.abs(st - ref[0])))
            gs = out[1].reshape(ref[1].shape)
            gerr = float(jnp.max(jnp.abs(gs - ref[1])))
            print(f"{name}: state err {err:.2e} gram err {gerr:.2e}", end="  ")
        print(f"{name}: state copies in HLO: {copies}")
    times = {k: [] for k in variants}
    b0 = busy()
    t_start = time.perf_counter()
    for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 9):
        for name, f in variants.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(psi, mu, us))
            times[name].append(time.perf_counter() - t0)
    b1 = busy()
    wall = time.perf_counter() - t_start
    other = (b1[0] - b0[0]) - (b1[1] - b0[1])
    print(f"wall {wall:.1f} s, other processes' CPU {other:.1f} s")
    for name, ts in times.items():
        ms = np.asarray(ts) * 1e3 / (2 * PAIRS)
        print(f"{name:6s} ms/gate median {np.median(ms):.3f} min {ms.min():.3f}")


if __name__ == "__main__":
    main()

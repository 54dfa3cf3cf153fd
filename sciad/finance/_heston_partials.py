r"""Hand-written partials of the Heston Lewis integral (the rule of `_heston._lewis`).

Why: forward-mode AD of the quadrature batched over the live tangents cost
~1.1 prices per tangent (the integrand splits into ~50 loop fusions at its
divides, square roots, exponentials and logs, and each tangent re-emits that
chain). Everything in the integrand enters through a few per-node "core"
quantities: $\xi = \kappa - \sigma\rho iz$ (complex, $z = u - i/2$),
$s = \sigma^2$, $a = u^2 + 1/4$, $T$, linearly $v_0$ and $\kappa\theta$, the
control variate's $w$ and $e^{iux}$. The characteristic-function core
$(\xi, s, a, T) \mapsto (\hat C, D)$, $\ln\psi_H = \kappa\theta\hat C + v_0 D$,
is holomorphic in $\xi$ (one complex derivative), homogeneous of degree $-1$
under $(s, a) \to (\lambda s, a/\lambda)$ (so $\partial_a = (s\partial_s +
1)/a$), and $\partial_T \hat C = D$, $\partial_T D = \mathrm{inv}\,d\,e^{-dT}
(1-g)/(1-ge^{-dT})^2$. So two hand-written tangent chains ($\xi$ and $s$) in
real arithmetic, sharing the primal's intermediates and its denominators
(one reciprocal each), give every partial. They are chained to the
arguments, including the motion of the nodes with the parameters (the
nodes' positions and weights depend on $u_1$ and $u_{max}$), so the result is
the exact derivative of the discrete quadrature, like plain AD's; higher
orders differentiate this (plain JAX) code. The price and the node sums are
computed in few vectorised multi-output loop fusions (`fused_sums`).

Measured (20k random (K, T) options, one core): value and 5-parameter
gradient 112 ms f32 / 422 ms f64, 2.0x / 1.6x a price (forward AD of the
quadrature: 546 / 1998 ms); see benchmarks/finance/RESULTS.md.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ._blocking import fused_sums
from ._fastmath import sincos
from ._heston_cf import (
    _N_BODY,
    _N_TAIL,
    _legendre_nodes,
    _mul,
    _sincos_once,
    cf_parts,
    node_grid,
    node_scalars,
)

_X, _T, _V0, _KAPPA, _THETA, _SIGMA, _RHO = range(7)


def _recip(z):
    den = z[0] * z[0] + z[1] * z[1]
    return z[0] / den, -z[1] / den


def _add(a, b):
    return a[0] + b[0], a[1] + b[1]


def _sub(a, b):
    return a[0] - b[0], a[1] - b[1]


def _scale(r, z):
    return r * z[0], r * z[1]


def _neg(z):
    return -z[0], -z[1]


def _core_partials(p, t, v0, kt, sigma):
    r"""$\partial_\xi, \partial_s, \partial_a, \partial_T$ of $\ln\psi_H$ (real pairs).

    ``p``: `cf_parts` at the nodes. Forward tangents written by hand: for a
    direction with $\delta\xi, \delta s$ (and $\delta a = \delta T = 0$),
    $\delta d = (\xi\delta\xi + a\delta s/2)/d$ and the quotient rule through
    the primal's denominators $\xi + d$, $1 - g$, $1 - ge^{-dT}$ and $h$.
    """
    a, xi, d, q, inv, inv2, g = p.a, p.xi, p.d, p.xpd, p.inv, p.inv2, p.g
    e, m, omg, mo, hs = p.e_dt, p.m, p.one_minus_g, p.m_over, p.h_over_s2
    rd = _recip(d)
    romg = _recip(omg)
    rp = _recip(p.one_minus_ge)
    # d(log1p(h)/h)/dh = (1/(1+h) - R)/h with 1/(1+h) = (1-g)/(1-ge^{-dT});
    # the series branch 1 - h/2 has derivative -1/2.
    r_h = _recip(p.hs)
    dratio = _mul(_sub(_mul(omg, rp), p.ratio), r_h)
    half = -0.5 + 0 * a
    dratio = (
        jnp.where(p.small, half, dratio[0]),
        jnp.where(p.small, 0 * a, dratio[1]),
    )
    k_h = _mul(dratio, hs)  # dC_hat = dinv T - 2 (k_h dh + R dhs)

    def direction(dinv, dinv2, dg, de):
        dm = _neg(de)
        dmo = _mul(_add(dm, _mul(mo, dg)), romg)
        dh = _add(_mul(dg, mo), _mul(g, dmo))
        dhs = _add(_mul(dinv2, mo), _mul(inv2, dmo))
        dlt = _add(_mul(k_h, dh), _mul(p.ratio, dhs))
        dc_hat = _sub(_scale(t, dinv), _scale(2.0, dlt))
        dp = _neg(_add(_mul(dg, e), _mul(g, de)))
        dd = _mul(
            _sub(_add(_mul(dinv, m), _mul(inv, dm)), _mul(p.dd, dp)),
            rp,
        )
        return _add(_scale(kt, dc_hat), _scale(v0, dd))

    # xi direction (holomorphic): dd/dxi = xi/d.
    xi_rd = _mul(xi, rd)
    l_xi = direction(
        _scale(-1.0, _mul(inv, rd)),
        _scale(-2.0, _mul(inv2, rd)),
        _scale(-2.0, _mul(g, rd)),
        _scale(-t, _mul(e, xi_rd)),
    )
    # s = sigma^2 direction: dd/ds = a/(2d).
    a_2d = _scale(0.5 * a, rd)
    rq = _recip(q)
    l_s = direction(
        _neg(_mul(inv2, a_2d)),
        _scale(-2.0, _mul(_mul(inv2, a_2d), rq)),
        _mul(inv2, xi_rd),
        _scale(-t, _mul(e, a_2d)),
    )
    # a direction by homogeneity; T direction in closed form.
    l_a = _scale(1.0 / a, _add(_scale(sigma * sigma, l_s), p.log_psi))
    d_t = _mul(_mul(_mul(inv, d), _mul(e, omg)), _mul(rp, rp))
    l_t = _add(_scale(kt, p.dd), _scale(v0, d_t))
    return l_xi, l_s, l_a, l_t


def _node_fractions(dtype):
    """Per node: Gauss–Legendre weight and position fraction, body | tail (zeros)."""
    bt, bw = _legendre_nodes(_N_BODY)
    tt, tw = _legendre_nodes(_N_TAIL)
    zb, zt = np.zeros(_N_BODY), np.zeros(_N_TAIL)
    return tuple(
        jnp.asarray(np.concatenate(pair), dtype)
        for pair in ((bw, zt), (bt, zt), (zb, tw), (zb, tt))
    )


def _x_sums(x, u, wy, zs, yz):
    """``{name: sum over nodes of Re[e^{iux} (Z + x Z')]}`` (see `lewis_partials`).

    ``zs[name] = (Z, Z')`` (``Z'`` or None), ``yz[name] = l`` for ``Z = wy l``.
    When ``x`` has the model's shape (blocks of options) every term is
    elementwise and summed by `fused_sums`. When strikes share the model's
    nodes (``x`` broadcasts to a larger shape), the per-node coefficients stay
    at the model's shape and the sums are one contraction of
    ``[cos(ux), sin(ux)]`` with them (`jnp.einsum`).
    """
    model = u.shape[:-1]
    if jnp.broadcast_shapes(x.shape, model) == model:
        sin_ux, cos_ux = _sincos_once(u * x[..., None])
        eiux = (cos_ux, sin_ux)
        ewy = _mul(eiux, wy)
        xn = x[..., None]
        terms = {}
        for name, (z, zx) in zs.items():
            if zx is not None:
                z = _add(z, _scale(xn, zx))
            terms[name] = cos_ux * z[0] - sin_ux * z[1]
        for name, lz in yz.items():
            terms[name] = ewy[0] * lz[0] - ewy[1] * lz[1]
        return dict(zip(terms, fused_sums(list(terms.values())), strict=True))
    sin_ux, cos_ux = sincos(u * x[..., None])
    cols, index = [], {}
    for name, (z, zx) in zs.items():
        index[name] = (len(cols), None if zx is None else len(cols) + 1)
        cols += [z] + ([] if zx is None else [zx])
    for name, lz in yz.items():
        index[name] = (len(cols), None)
        cols.append(_mul(wy, lz))
    coef = jnp.stack([jnp.concatenate([z[0], -z[1]], -1) for z in cols], -1)
    trig = jnp.concatenate([cos_ux, sin_ux], -1)
    res = jnp.einsum("...n,...nk->...k", trig, coef)
    return {
        name: res[..., i] if j is None else res[..., i] + x * res[..., j]
        for name, (i, j) in index.items()
    }


def lewis_partials(live, x, t, v0, kappa, theta, sigma, rho):
    """``(w, I)`` of `_heston_cf._lewis_integral` and its partials in ``live`` args.

    Arguments in the order ``(x, t, v0, kappa, theta, sigma, rho)``; returns
    ``((w, I), ([dw/d arg_i], [dI/d arg_i]))`` for ``i`` in ``live``.
    """
    t, v0, kappa, theta, sigma, rho = jnp.broadcast_arrays(
        t, v0, kappa, theta, sigma, rho
    )
    model = (t, v0, kappa, theta, sigma, rho)
    live = list(live)
    live_model = [i for i in live if i != _X]
    # Per option (cheap): w, u_1, u_max and their partials by forward AD.
    if live_model:

        def scalars(*live_args):
            full = list(model)
            for i, a in zip(live_model, live_args, strict=True):
                full[i - 1] = a
            return node_scalars(*full)

        live_args = [model[i - 1] for i in live_model]
        eye = jnp.eye(len(live_model), dtype=t.dtype)
        basis = [
            jnp.broadcast_to(
                eye[j].reshape((-1,) + (1,) * a.ndim), (len(live_model),) + a.shape
            )
            for j, a in enumerate(live_args)
        ]
        jvp = lambda *e: jax.jvp(scalars, live_args, list(e))  # noqa: E731
        (w, u_1, u_max), scalar_partials = jax.vmap(jvp, out_axes=(None, 0))(*basis)
    else:
        w, u_1, u_max = node_scalars(*model)
    u, weight = node_grid(u_1, u_max)
    nod = lambda a: a[..., None]  # noqa: E731
    tn, v0n, kn, thn, sn, rn, wn = (nod(a) for a in (*model, w))
    p = cf_parts(u, tn, v0n, kn, thn, sn, rn)
    ra = 1.0 / p.a
    amp = jnp.exp(p.log_psi[0])
    sin_p, cos_p = _sincos_once(p.log_psi[1])
    y = (amp * cos_p * ra, amp * sin_p * ra)  # psi_H / a
    e_bs = jnp.exp(-0.5 * wn * p.a)
    b = e_bs * ra  # psi_BS / a
    yf = (y[0] - b, y[1])  # (psi_H - psi_BS) / a
    # Every term is a sum over the nodes of Re[e^{iux} (Z + x Z')] with Z, Z'
    # independent of x: `zs[name] = (Z, Z')` (Z' may be None); `yz[name] = l`
    # stands for Z = weight psi_H/a l (computed by `_x_sums`).
    zs, yz = {"I": (_scale(weight, yf), None)}, {}
    if _X in live:
        zs["x"] = (_scale(weight * u, (-yf[1], yf[0])), None)  # i u weight yf
    if live_model:
        kt = kn * thn
        l_xi, l_s, l_a, l_t = _core_partials(p, tn, v0n, kt, sn)
        # d/du of (psi_H - psi_BS)/a at fixed parameters (e^{iux} adds i x).
        sr = sn * rn
        dlog = (2.0 * u * l_a[0] + sr * l_xi[1], 2.0 * u * l_a[1] - sr * l_xi[0])
        y_u = _sub(_mul(y, dlog), _scale(2.0 * u * ra, y))
        yf_u = (y_u[0] + b * u * (wn + 2.0 * ra), y_u[1])
        i_yf = (-yf[1], yf[0])
        # Node motion: u_i = u_1 b_i, weight_i = u_1 bw_i (body);
        # u_i = u_1 + (u_max - u_1) t_i, weight_i = (u_max - u_1) tw_i (tail).
        bw, bt, tw, tt = _node_fractions(u.dtype)
        f1 = weight * (bt + (tw > 0) - tt)
        f2 = weight * tt
        zs["u1"] = (_add(_scale(bw - tw, yf), _scale(f1, yf_u)), _scale(f1, i_yf))
        zs["umax"] = (_add(_scale(tw, yf), _scale(f2, yf_u)), _scale(f2, i_yf))
        if {_T, _V0, _KAPPA, _THETA} & set(live):
            zs["w"] = ((0.5 * weight * e_bs, 0.0 * u), None)
        if _T in live:
            yz["T"] = l_t
        if _V0 in live:
            yz["v0"] = p.dd
        if {_KAPPA, _THETA} & set(live):
            yz["kt"] = p.c_hat
        if {_KAPPA, _SIGMA, _RHO} & set(live):
            yz["qr"] = l_xi
        if {_SIGMA, _RHO} & set(live):
            yz["qi"] = _scale(-u, (-l_xi[1], l_xi[0]))  # -i u l_xi
        if _SIGMA in live:
            yz["s"] = l_s
    sums = _x_sums(x, u, _scale(weight, y), zs, yz)
    dw, di = [], []
    for i in live:
        if i == _X:
            dw.append(jnp.zeros_like(w))
            di.append(sums["x"])
            continue
        dw_i, du1_i, dum_i = (s[live_model.index(i)] for s in scalar_partials)
        total = sums["u1"] * du1_i + sums["umax"] * dum_i
        if i in (_T, _V0, _KAPPA, _THETA):
            total = total + sums["w"] * dw_i
        if i == _T:
            total = total + sums["T"]
        elif i == _V0:
            total = total + sums["v0"]
        elif i == _KAPPA:
            total = total + theta * sums["kt"] + sums["qr"]
        elif i == _THETA:
            total = total + kappa * sums["kt"]
        elif i == _SIGMA:
            total = (
                total + 2.0 * sigma * sums["s"] + rho * (sums["qi"] - 0.5 * sums["qr"])
            )
        elif i == _RHO:
            total = total + sigma * (sums["qi"] - 0.5 * sums["qr"])
        dw.append(dw_i)
        di.append(total)
    return (w, sums["I"]), (dw, di)

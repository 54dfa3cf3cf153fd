"""Monte Carlo models: GBM, Heston and local volatility, in log-spot form.

The one abstraction: a model maps a state and a normal draw to the next state,
reporting the log-spot increment as ``x_next = x_prev + mean + std * z[0]``
(`LogStep`). Payoffs only ever see `LogStep`s, which is what lets the barrier
payoff apply a Brownian-bridge correction and the digital payoff integrate the
last step analytically, for any model. Methods act on ONE path; the engine vmaps.

Every model also exposes ``drift(t, y, args)`` and ``diffusion(t, y, args)`` in
the diffrax convention (``y`` the state vector documented per model; diffusion a
matrix to be contracted with a Brownian motion of ``n_factors`` independent
components), so it can be simulated with `diffrax.diffeqsolve` and a
`diffrax.ControlTerm`.
"""

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr
from jaxtyping import Array, ArrayLike, Float

Scalar = float | Float[ArrayLike, ""]


class LogStep(NamedTuple):
    """One step of log-spot: ``x_next = x_prev + mean + std * z``."""

    x_prev: Array
    mean: Array
    std: Array


def _static_check(value, name: str, ok, expected: str) -> None:
    if not isinstance(value, jax.core.Tracer) and not bool(
        np.all(ok(np.asarray(value)))
    ):
        raise ValueError(f"`{name}` must be {expected}; got {value!r}.")


def _as_float(x):
    return jnp.asarray(x, dtype=jnp.result_type(x, 0.0))


def _positive(value, name):
    _static_check(value, name, lambda a: a > 0, "> 0")


class AbstractModel(eqx.Module):
    """Risk-neutral model for `mc_price`; see the module docstring."""

    n_factors: ClassVar[int]

    def init(self):
        """Initial state of one path."""
        raise NotImplementedError

    def step(self, t, dt, state, z) -> tuple:
        """Advance one path by ``dt`` with normals ``z`` (shape (n_factors,))."""
        raise NotImplementedError

    def log_spot(self, state) -> Array:
        raise NotImplementedError

    def discount(self, maturity) -> Array:
        return jnp.exp(-self.rate * maturity)  # type: ignore[attr-defined]


class GBM(AbstractModel):
    r"""Geometric Brownian motion $dS = (r - q)S\,dt + \sigma S\,dW$, stepped exactly
    in log space. diffrax state: ``y = [ln S]`` (shape (1,)), one factor."""

    spot: Scalar
    rate: Scalar
    vol: Scalar
    dividend: Scalar = 0.0
    n_factors: ClassVar[int] = 1

    def __check_init__(self):
        _positive(self.spot, "spot")
        _positive(self.vol, "vol")

    def init(self):
        return jnp.log(_as_float(self.spot))

    def step(self, t, dt, state, z):
        mean = (self.rate - self.dividend - 0.5 * self.vol**2) * dt
        std = self.vol * jnp.sqrt(dt) * jnp.ones_like(state)
        return state + mean + std * z[0], LogStep(state, mean + 0 * state, std)

    def log_spot(self, state):
        return state

    def drift(self, t, y, args):
        return jnp.full_like(y, self.rate - self.dividend - 0.5 * self.vol**2)

    def diffusion(self, t, y, args):
        return jnp.full(y.shape + (1,), self.vol, dtype=y.dtype)


class Heston(AbstractModel):
    r"""Heston model: full-truncation Euler or Andersen's QE scheme.

    $$dS = (r-q)S\,dt + \sqrt v S\,dW_1,\quad dv = \kappa(\theta - v)dt
      + \sigma\sqrt v\,dW_2,\quad d\langle W_1, W_2\rangle = \rho\,dt.$$
    Full truncation uses $v^+ = \max(v, 0)$ in drift and diffusion but lets $v$
    itself go negative, which has the smallest bias among Euler fixes.

    ``scheme="qe"``: Andersen's quadratic-exponential scheme. The variance
    step matches the exact conditional mean $m$ and variance $s^2$ of
    $v_{t+\Delta}$: for $\psi = s^2/m^2 \le 1.5$, $v' = a(b + Z_v)^2$;
    otherwise a point mass at 0 (probability $p = (\psi-1)/(\psi+1)$) plus
    an exponential tail, sampled by inverting $U = N(Z_v)$. Log spot uses the
    exact $\int v\,dW_2$ substitution with trapezoidal $\int v\,dt$
    ($\gamma_1 = \gamma_2 = 1/2$; no martingale correction). Much smaller
    bias per step than full truncation (a few steps per year suffice), needs
    $\sigma > 0$. Pathwise Greeks differentiate the smooth branches only
    (the point mass's probability $p$ moves with the parameters), so prefer
    full truncation for AD Greeks in the $\psi > 1.5$ regime (high
    vol-of-vol, coarse steps).

    MC state: ``(ln S, v)``; diffrax state ``y = [ln S, v]`` (shape (2,)), two
    independent factors with diffusion matrix
    $\sqrt{v^+}\begin{pmatrix}1 & 0\\ \sigma\rho & \sigma\sqrt{1-\rho^2}\end{pmatrix}$.

    References:
        Lord, R., Koekkoek, R. and van Dijk, D. (2010), "A comparison of biased
        simulation schemes for stochastic volatility models", Quantitative
        Finance 10(2). doi:10.1080/14697680802392496.
        Andersen, L. (2008), "Simple and efficient simulation of the Heston
        stochastic volatility model", J. Computational Finance 11(3).
        doi:10.21314/JCF.2008.189.
    """

    spot: Scalar
    rate: Scalar
    dividend: Scalar
    v0: Scalar
    kappa: Scalar
    theta: Scalar
    sigma: Scalar
    rho: Scalar
    scheme: str = eqx.field(static=True, default="full_truncation")
    n_factors: ClassVar[int] = 2

    def __check_init__(self):
        if self.scheme not in ("full_truncation", "qe"):
            raise ValueError(
                "`scheme` must be one of ('full_truncation', 'qe'); "
                f"got {self.scheme!r}."
            )
        if self.scheme == "qe":
            _positive(self.sigma, "sigma")
        _positive(self.spot, "spot")
        _static_check(self.v0, "v0", lambda a: a >= 0, ">= 0")
        _positive(self.kappa, "kappa")
        _static_check(self.theta, "theta", lambda a: a >= 0, ">= 0")
        _static_check(self.sigma, "sigma", lambda a: a >= 0, ">= 0")
        _static_check(self.rho, "rho", lambda a: (a > -1) & (a < 1), "in (-1, 1)")

    def init(self):
        x0 = jnp.log(_as_float(self.spot))
        return x0, jnp.asarray(self.v0, dtype=x0.dtype) + 0 * x0

    def step(self, t, dt, state, z):
        if self.scheme == "qe":
            return self._qe_step(dt, state, z)
        x, v = state
        vp = jnp.maximum(v, 0.0)
        sq = jnp.sqrt(vp * dt)
        mean = (self.rate - self.dividend - 0.5 * vp) * dt
        z2 = self.rho * z[0] + jnp.sqrt(1.0 - self.rho**2) * z[1]
        v_next = v + self.kappa * (self.theta - vp) * dt + self.sigma * sq * z2
        return (x + mean + sq * z[0], v_next), LogStep(x, mean, sq)

    def _qe_step(self, dt, state, z):
        x, v = state
        kappa, theta, sigma, rho = self.kappa, self.theta, self.sigma, self.rho
        e = jnp.exp(-kappa * dt)
        m = theta + (v - theta) * e
        s2 = sigma**2 * (1.0 - e) / kappa * (v * e + 0.5 * theta * (1.0 - e))
        psi = s2 / jnp.maximum(m * m, jnp.finfo(m.dtype).tiny)
        # Quadratic branch (psi <= 1.5): v' = a (b + Z)^2.
        inv = 2.0 / jnp.clip(psi, 1e-8, 1.5)
        b2 = inv - 1.0 + jnp.sqrt(inv * (inv - 1.0))
        v_quad = m / (1.0 + b2) * (jnp.sqrt(b2) + z[1]) ** 2
        # Exponential branch: mass p at 0, exponential tail with rate beta.
        p = (psi - 1.0) / (psi + 1.0)
        p_safe = jnp.clip(p, 0.0, 1.0 - 1e-7)
        beta = (1.0 - p_safe) / m
        u = ndtr(z[1])
        tail = jnp.log((1.0 - p_safe) / jnp.maximum(1.0 - u, 1e-30)) / beta
        v_exp = jnp.where(u <= p_safe, 0.0, tail)
        v_next = jnp.where(psi <= 1.5, v_quad, v_exp)
        # Log spot: int v dW2 from the variance step, trapezoidal int v dt.
        k0 = -rho * kappa * theta * dt / sigma
        k1 = 0.5 * dt * (kappa * rho / sigma - 0.5) - rho / sigma
        k2 = 0.5 * dt * (kappa * rho / sigma - 0.5) + rho / sigma
        var = 0.5 * dt * (1.0 - rho**2) * (v + v_next)
        mean = (self.rate - self.dividend) * dt + k0 + k1 * v + k2 * v_next
        std = jnp.sqrt(var)
        return (x + mean + std * z[0], v_next), LogStep(x, mean, std)

    def log_spot(self, state):
        return state[0]

    def drift(self, t, y, args):
        vp = jnp.maximum(y[1], 0.0)
        return jnp.stack(
            [self.rate - self.dividend - 0.5 * vp, self.kappa * (self.theta - vp)]
        )

    def diffusion(self, t, y, args):
        sq = jnp.sqrt(jnp.maximum(y[1], 0.0))
        zero = jnp.zeros_like(sq)
        row2 = [self.sigma * self.rho * sq, self.sigma * jnp.sqrt(1 - self.rho**2) * sq]
        return jnp.stack([jnp.stack([sq, zero]), jnp.stack(row2)])


class LocalVol(AbstractModel):
    r"""Local volatility $dS = (r - q)S\,dt + \sigma(t, S) S\,dW$ on a grid.

    $\sigma(t, S)$ is bilinear in $(t, \ln S)$ on ``vols[i, j]`` at
    ``(times[i], spots[j])``, flat outside the grid; every grid vol is a
    differentiable parameter. The log spot is stepped with the vol frozen at
    the start of each step. diffrax state: ``y = [ln S]``, one factor.
    """

    spot: Scalar
    rate: Scalar
    dividend: Scalar
    times: Float[Array, " nt"]
    spots: Float[Array, " ns"]
    vols: Float[Array, "nt ns"]
    n_factors: ClassVar[int] = 1

    def __check_init__(self):
        _positive(self.spot, "spot")
        _positive(self.vols, "vols")
        if self.vols.shape != (self.times.shape[0], self.spots.shape[0]):
            raise ValueError(
                "`vols` must have shape (len(times), len(spots)); got "
                f"{self.vols.shape} for {self.times.shape[0]} times and "
                f"{self.spots.shape[0]} spots."
            )

    def local_vol(self, t, x):
        """$\\sigma(t, e^x)$ by bilinear interpolation."""
        log_grid = jnp.log(self.spots)
        along_s = jax.vmap(lambda row: jnp.interp(x, log_grid, row))(self.vols)
        return jnp.interp(t, self.times, along_s)

    def init(self):
        return jnp.log(_as_float(self.spot))

    def step(self, t, dt, state, z):
        vol = self.local_vol(t, state)
        mean = (self.rate - self.dividend - 0.5 * vol**2) * dt
        std = vol * jnp.sqrt(dt)
        return state + mean + std * z[0], LogStep(state, mean, std)

    def log_spot(self, state):
        return state

    def drift(self, t, y, args):
        vol = self.local_vol(t, y[0])
        return jnp.reshape(self.rate - self.dividend - 0.5 * vol**2, (1,))

    def diffusion(self, t, y, args):
        return jnp.reshape(self.local_vol(t, y[0]), (1, 1))

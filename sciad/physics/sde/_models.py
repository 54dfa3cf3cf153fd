"""Parametric SDE models with closed-form or well-known transition laws.

Parameters are scalars or arrays broadcastable against the state, so one model
instance describes `d` independent copies when `y0` has shape `(d,)`. All fields
are differentiable leaves.
"""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._base import AbstractSDE, as_float_array, check_positive

_Param = Float[Array, "*p"]
_ParamLike = float | Float[ArrayLike, "*p"]
_Time = float | Float[ArrayLike, ""]


class OrnsteinUhlenbeck(AbstractSDE):
    r"""Ornstein-Uhlenbeck process, mean-reverting with additive noise.

    $$\mathrm dY_t = \theta(\mu - Y_t)\,\mathrm dt + \sigma\,\mathrm dW_t.$$

    Transition: $Y_{t+\Delta} \mid Y_t \sim \mathcal N\big(\mu + (Y_t-\mu)
    e^{-\theta\Delta},\ \tfrac{\sigma^2}{2\theta}(1-e^{-2\theta\Delta})\big)$;
    stationary law $\mathcal N(\mu, \sigma^2/2\theta)$.

    Args:
        theta: mean-reversion rate, > 0 (1/time).
        mu: long-run mean (state units).
        sigma: volatility, > 0 (state units / sqrt(time)).
    """

    theta: _Param = eqx.field(converter=as_float_array)
    mu: _Param = eqx.field(converter=as_float_array)
    sigma: _Param = eqx.field(converter=as_float_array)
    additive_noise: ClassVar[bool] = True

    def __check_init__(self):
        check_positive("theta", self.theta)
        check_positive("sigma", self.sigma)

    def drift(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return self.theta * (self.mu - y)

    def diffusion(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return jnp.broadcast_to(self.sigma, y.shape).astype(y.dtype)


class GeometricBrownianMotion(AbstractSDE):
    r"""Geometric Brownian motion (Black-Scholes asset dynamics).

    $$\mathrm dY_t = \mu Y_t\,\mathrm dt + \sigma Y_t\,\mathrm dW_t,\qquad
    Y_t = Y_0 \exp\big((\mu - \sigma^2/2)t + \sigma W_t\big).$$

    Args:
        mu: drift rate (1/time).
        sigma: volatility, > 0 (1/sqrt(time)).
    """

    mu: _Param = eqx.field(converter=as_float_array)
    sigma: _Param = eqx.field(converter=as_float_array)

    def __check_init__(self):
        check_positive("sigma", self.sigma)

    def drift(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return self.mu * y

    def diffusion(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return self.sigma * y


class CIR(AbstractSDE):
    r"""Cox-Ingersoll-Ross square-root diffusion.

    $$\mathrm dY_t = \kappa(\theta - Y_t)\,\mathrm dt
    + \sigma\sqrt{Y_t}\,\mathrm dW_t.$$

    The transition law is a scaled noncentral chi-square (see
    `cir_transition_log_prob`). Stays positive when $2\kappa\theta \ge \sigma^2$
    (Feller); discretisations can step below zero, so the diffusion uses
    $\sqrt{\max(Y, 0)}$ (full truncation).

    Args:
        kappa: mean-reversion rate, > 0.
        theta: long-run mean, > 0.
        sigma: volatility of volatility, > 0.
    """

    kappa: _Param = eqx.field(converter=as_float_array)
    theta: _Param = eqx.field(converter=as_float_array)
    sigma: _Param = eqx.field(converter=as_float_array)

    def __check_init__(self):
        check_positive("kappa", self.kappa)
        check_positive("theta", self.theta)
        check_positive("sigma", self.sigma)

    def drift(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return self.kappa * (self.theta - y)

    def diffusion(self, t: _Time, y: Float[Array, " d"], args) -> Float[Array, " d"]:
        return self.sigma * jnp.sqrt(jnp.maximum(y, 0.0))


class StochasticLotkaVolterra(AbstractSDE):
    r"""Predator-prey dynamics with multiplicative (diagonal) noise.

    State $y = (x, z)$ = (prey, predator):
    $$\mathrm dx = (\alpha x - \beta x z)\,\mathrm dt + \sigma_x x\,\mathrm dW^1,
    \qquad
    \mathrm dz = (\delta x z - \gamma z)\,\mathrm dt + \sigma_z z\,\mathrm dW^2.$$

    Args:
        alpha: prey growth rate, > 0.
        beta: predation rate, > 0.
        delta: predator growth per prey, > 0.
        gamma: predator death rate, > 0.
        sigma: noise levels `(sigma_x, sigma_z)` or one scalar for both, >= 0.
    """

    alpha: _Param = eqx.field(converter=as_float_array)
    beta: _Param = eqx.field(converter=as_float_array)
    delta: _Param = eqx.field(converter=as_float_array)
    gamma: _Param = eqx.field(converter=as_float_array)
    sigma: _Param = eqx.field(converter=as_float_array)

    def __init__(
        self,
        alpha: _ParamLike = 1.0,
        beta: _ParamLike = 0.5,
        delta: _ParamLike = 0.25,
        gamma: _ParamLike = 0.75,
        sigma: _ParamLike = 0.1,
    ):
        self.alpha, self.beta, self.delta = alpha, beta, delta
        self.gamma, self.sigma = gamma, sigma

    def __check_init__(self):
        for name in ("alpha", "beta", "delta", "gamma"):
            check_positive(name, getattr(self, name))
        check_positive("sigma", self.sigma, allow_zero=True)
        if self.sigma.ndim > 1 or self.sigma.size not in (1, 2):
            raise ValueError(
                f"`sigma` must be a scalar or have shape (2,); got {self.sigma.shape}."
            )

    def drift(self, t: _Time, y: Float[Array, " 2"], args) -> Float[Array, " 2"]:
        x, z = y[0], y[1]
        return jnp.stack(
            [self.alpha * x - self.beta * x * z, self.delta * x * z - self.gamma * z]
        )

    def diffusion(self, t: _Time, y: Float[Array, " 2"], args) -> Float[Array, " 2"]:
        return self.sigma * y

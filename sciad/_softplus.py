"""A softplus whose gradient is cheap on CPU."""

import jax
import jax.numpy as jnp


@jax.custom_jvp
def softplus(x):
    r"""$\log(1 + e^x)$, computed stably as $\max(x, 0) + \log(1 + e^{-|x|})$.

    Same values as `jax.nn.softplus`. Why a custom rule: `jax.nn.softplus`
    differentiates through `logaddexp`, whose float32 gradient XLA:CPU runs
    ~2.3x slower than the `logistic` primitive this rule uses for the
    derivative $\sigma(x)$ (a 50,000-term Bernoulli-logits likelihood: value
    and gradient 198 against 85 µs on an Intel Xeon). The spelled-out
    $[x \ge 0 \;?\; 1 : e^{-|x|}] / (1 + e^{-|x|})$, which reuses the primal's
    exponential, is no faster (153 µs). `logistic` keeps full relative
    accuracy in both tails, and the second derivative
    $\sigma(x)\sigma(-x)$ does too (JAX's $\sigma(1 - \sigma)$ cancels for
    large $x$); it is smooth at 0, so Hessians are right everywhere, unlike
    differentiating the max/abs form.
    """
    return jnp.maximum(x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


@jax.custom_jvp
def _sigmoid(x):
    return jax.nn.sigmoid(x)


@_sigmoid.defjvp
def _sigmoid_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    s = jax.nn.sigmoid(x)
    return s, s * jax.nn.sigmoid(-x) * dx


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return softplus(x), _sigmoid(x) * dx

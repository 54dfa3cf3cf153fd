r"""Linear-Gaussian state paths (NumPyro's `GaussianStateSpace`) and the relaxed
Bernoulli (NumPyro's `RelaxedBernoulli`)."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..._custom_types import Array, ArrayLike, Float, PRNGKeyArray
from . import constraints
from ._base import Distribution, promote_dtype
from ._continuous_real import Logistic
from ._multivariate import MultivariateNormal, scale_tril_from
from ._transformed import TransformedDistribution
from .transforms import SigmoidTransform

__all__ = ["GaussianStateSpace", "RelaxedBernoulli", "RelaxedBernoulliLogits"]


class GaussianStateSpace(Distribution):
    r"""$z_t = A z_{t-1} + \epsilon_t$, $\epsilon_t \sim \mathcal N(0, \Sigma)$,
    $t = 1..T$, from $z_0$ (``initial_value``, default 0): event shape ``(T, D)``.

    The density is that of the innovations, $\log p(z) = \sum_t \log \mathcal
    N(z_t - A z_{t-1}; 0, \Sigma)$ (the map from innovations to states has unit
    Jacobian). Draws run the recursion in a `lax.scan` and are reparametrised.
    ``mean`` is $A^t z_0$ and ``variance`` the diagonal of
    $\sum_{k<t} A^k \Sigma A^{k\top}$. Give one of ``covariance_matrix``,
    ``precision_matrix``, ``scale_tril``. As NumPyro's ``GaussianStateSpace``.
    """

    transition_matrix: Array
    scale_tril: Array
    initial_value: Array
    num_steps: int = eqx.field(static=True)
    arg_constraints = {
        "transition_matrix": constraints.real_matrix,
        "scale_tril": constraints.lower_cholesky,
        "initial_value": constraints.real_vector,
    }
    support = constraints.real_matrix
    reparametrized_params = ["transition_matrix", "scale_tril", "initial_value"]

    def __init__(
        self,
        num_steps: int,
        transition_matrix: ArrayLike,
        covariance_matrix: ArrayLike | None = None,
        precision_matrix: ArrayLike | None = None,
        scale_tril: ArrayLike | None = None,
        initial_value: ArrayLike | None = None,
        *,
        validate_args: bool | None = None,
    ):
        if not isinstance(num_steps, int | np.integer) or num_steps < 1:
            raise ValueError(
                f"GaussianStateSpace: `num_steps` must be an int >= 1; got "
                f"{num_steps!r}."
            )
        tril = scale_tril_from(
            "GaussianStateSpace",
            covariance_matrix=covariance_matrix,
            precision_matrix=precision_matrix,
            scale_tril=scale_tril,
        )
        (a,) = promote_dtype(transition_matrix)
        d = tril.shape[-1]
        if a.ndim < 2 or a.shape[-2:] != (d, d):
            raise ValueError(
                f"GaussianStateSpace: `transition_matrix` must be ({d}, {d}) like the "
                f"noise covariance; got shape {a.shape}."
            )
        z0 = jnp.zeros(d, a.dtype) if initial_value is None else initial_value
        a, tril, z0 = promote_dtype(a, tril, z0, broadcast=False)
        self.transition_matrix, self.scale_tril, self.initial_value = a, tril, z0
        self.num_steps = int(num_steps)
        self._finish_init(validate_args)

    @property
    def event_shape(self) -> tuple:
        return (self.num_steps, self.scale_tril.shape[-1])

    def _apply(self, z):
        """$A z$ for states ``z`` of shape ``(..., D)`` (batched like A)."""
        return jnp.einsum("...ij,...j->...i", self.transition_matrix, z)

    def sample(self, key: PRNGKeyArray, sample_shape: Sequence[int] = ()) -> Array:
        batch = tuple(sample_shape) + self.batch_shape
        eps = jr.normal(key, (self.num_steps, *batch, self.event_shape[-1]))
        eps = jnp.einsum("...ij,...j->...i", self.scale_tril, eps.astype(self.dtype))

        def step(z, e):
            z = self._apply(z) + e
            return z, z

        z0 = jnp.broadcast_to(self.initial_value, (*batch, self.event_shape[-1]))
        _, path = jax.lax.scan(step, z0, eps)
        return jnp.moveaxis(path, 0, -2)

    @property
    def dtype(self):
        return self.scale_tril.dtype

    def log_prob(self, value: ArrayLike) -> Float[Array, "..."]:
        z = jnp.asarray(value)
        z0 = jnp.broadcast_to(self.initial_value, z.shape[:-2] + z.shape[-1:])
        previous = jnp.concatenate([z0[..., None, :], z[..., :-1, :]], axis=-2)
        a = self.transition_matrix[..., None, :, :]
        innovations = z - jnp.einsum("...ij,...j->...i", a, previous)
        tril = self.scale_tril[..., None, :, :]
        zero = jnp.zeros(tril.shape[-1], tril.dtype)
        # checked in __init__: no second (deferred) check of the same factor here
        innovations_dist = MultivariateNormal(
            zero, scale_tril=tril, validate_args=False
        )
        lp = innovations_dist.log_prob(innovations)
        return jnp.sum(lp, axis=-1)

    @property
    def mean(self) -> Array:
        def step(z, _):
            z = self._apply(z)
            return z, z

        z0 = jnp.broadcast_to(
            self.initial_value, self.batch_shape + self.event_shape[1:]
        )
        _, means = jax.lax.scan(step, z0, None, length=self.num_steps)
        return jnp.moveaxis(means, 0, -2)

    @property
    def variance(self) -> Array:
        # Var z_t = sum_{k < t} A^k Sigma A^k^T: propagate the scale factor A^k L
        tril = jnp.broadcast_to(
            self.scale_tril, self.batch_shape + self.scale_tril.shape[-2:]
        )

        def step(factor, _):
            return self.transition_matrix @ factor, factor

        _, factors = jax.lax.scan(step, tril, None, length=self.num_steps)
        per_k = jnp.sum(factors**2, axis=-1)  # diag(A^k L L^T A^k^T)
        return jnp.moveaxis(jnp.cumsum(per_k, axis=0), 0, -2)

    @property
    def batch_shape(self) -> tuple:
        return tuple(
            jnp.broadcast_shapes(
                self.transition_matrix.shape[:-2],
                self.scale_tril.shape[:-2],
                jnp.shape(self.initial_value)[:-1],
            )
        )


class RelaxedBernoulliLogits(TransformedDistribution):
    r"""The Concrete / Gumbel-softmax relaxation of a Bernoulli on $(0, 1)$:
    $\sigma(L)$ with $L \sim \text{Logistic}(\ell/\tau, 1/\tau)$ (Maddison et al.
    2017; Jang et al. 2017). As $\tau \to 0$ draws approach Bernoulli($\sigma(\ell)$)
    draws; reparametrised in ``logits`` and ``temperature``. As NumPyro's.
    """

    temperature: Array
    logits: Array
    arg_constraints = {"temperature": constraints.positive, "logits": constraints.real}
    support = constraints.unit_interval
    reparametrized_params = ["temperature", "logits"]

    def __init__(
        self,
        temperature: ArrayLike,
        logits: ArrayLike,
        *,
        validate_args: bool | None = None,
    ):
        self.temperature, self.logits = promote_dtype(temperature, logits)
        base = Logistic(
            self.logits / self.temperature,
            1 / self.temperature,
            validate_args=validate_args,
        )
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    @property
    def batch_shape(self) -> tuple:
        return tuple(jnp.broadcast_shapes(self.temperature.shape, self.logits.shape))

    @property
    def event_shape(self) -> tuple:
        return ()


def RelaxedBernoulli(
    temperature: ArrayLike,
    probs: ArrayLike | None = None,
    logits: ArrayLike | None = None,
    *,
    validate_args: bool | None = None,
) -> RelaxedBernoulliLogits:
    """`RelaxedBernoulliLogits` from ``probs`` or ``logits`` (exactly one)."""
    if (probs is None) == (logits is None):
        raise ValueError("RelaxedBernoulli: give exactly one of `probs` or `logits`.")
    if probs is not None:
        (probs,) = promote_dtype(probs)
        logits = jnp.log(probs) - jnp.log1p(-probs)
    return RelaxedBernoulliLogits(temperature, logits, validate_args=validate_args)

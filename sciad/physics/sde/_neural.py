"""Neural SDE: MLP drift and diffusion (Kidger et al. 2021 style)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._base import AbstractSDE


def lipswish(x: Array) -> Array:
    """LipSwish `0.909 * x * sigmoid(x)`: smooth with Lipschitz constant <= 1.

    Keeping the vector fields 1-Lipschitz per layer keeps SDE solutions well
    behaved during training (Chen et al. 2019, "Residual Flows").
    """
    return 0.909 * jax.nn.silu(x)


class NeuralSDE(AbstractSDE):
    r"""Itô SDE with equinox-MLP drift and diffusion.

    $$\mathrm dY_t = f_\phi(t, Y_t)\,\mathrm dt + g_\psi(t, Y_t)\,\mathrm dW_t$$

    `f` is an MLP `(d [+1]) -> d` with LipSwish activations. With
    `noise="diagonal"`, `g` maps to `d` values made positive by a softplus and
    each state component has its own Brownian motion; with `noise="general"`,
    `g` maps to an unconstrained `(d, noise_dim)` matrix.

    Args:
        state_dim: `d`.
        width: hidden width of both MLPs.
        depth: number of hidden layers of both MLPs.
        noise: `"diagonal"` or `"general"`.
        noise_dim: Brownian dimension `m` for general noise (default `d`).
        time_input: feed `t` to both networks (non-autonomous SDE).
        key: PRNG key for the initialisation.

    References:
        Kidger, Foster, Li, Lyons, "Efficient and Accurate Gradients for Neural
        SDEs", NeurIPS 2021, arXiv:2105.13493.
    """

    drift_mlp: eqx.nn.MLP
    diffusion_mlp: eqx.nn.MLP
    state_dim: int = eqx.field(static=True)
    noise_dim: int = eqx.field(static=True)
    noise: str = eqx.field(static=True)
    time_input: bool = eqx.field(static=True)

    def __init__(
        self,
        state_dim: int,
        *,
        width: int = 32,
        depth: int = 2,
        noise: str = "diagonal",
        noise_dim: int | None = None,
        time_input: bool = False,
        key: PRNGKeyArray,
    ):
        if not isinstance(state_dim, int) or state_dim < 1:
            raise ValueError(f"`state_dim` must be a positive int; got {state_dim!r}.")
        if width < 1 or depth < 0:
            raise ValueError(
                f"`width` must be >= 1 and `depth` >= 0; got {width=}, {depth=}."
            )
        if noise not in ("diagonal", "general"):
            raise ValueError(f"`noise` must be 'diagonal' or 'general'; got {noise!r}.")
        if noise == "diagonal" and noise_dim not in (None, state_dim):
            raise ValueError(
                "`noise_dim` must equal `state_dim` for diagonal noise; "
                f"got {noise_dim=}, {state_dim=}."
            )
        m = state_dim if noise_dim is None else int(noise_dim)
        d_in = state_dim + int(time_input)
        kf, kg = jr.split(key)
        self.drift_mlp = eqx.nn.MLP(
            d_in, state_dim, width, depth, activation=lipswish, key=kf
        )
        d_out = state_dim if noise == "diagonal" else state_dim * m
        self.diffusion_mlp = eqx.nn.MLP(
            d_in, d_out, width, depth, activation=lipswish, key=kg
        )
        self.state_dim, self.noise_dim, self.noise = state_dim, m, noise
        self.time_input = time_input

    def _input(self, t, y):
        if self.time_input:
            return jnp.concatenate([jnp.asarray(t, y.dtype)[None], y])
        return y

    def drift(
        self, t: float | Float[ArrayLike, ""], y: Float[Array, " d"], args
    ) -> Float[Array, " d"]:
        return self.drift_mlp(self._input(t, y))

    def diffusion(
        self, t: float | Float[ArrayLike, ""], y: Float[Array, " d"], args
    ) -> Float[Array, " d"] | Float[Array, "d m"]:
        out = self.diffusion_mlp(self._input(t, y))
        if self.noise == "diagonal":
            return jax.nn.softplus(out)
        return out.reshape(self.state_dim, self.noise_dim)

"""`simulate`: batched SDE paths through `diffrax.diffeqsolve` on a fixed grid."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._base import as_float_array
from ._brownian import FixedGridBrownianPath


def default_solver(model) -> diffrax.AbstractSolver:
    """Solver `simulate` uses when `solver=None`.

    * additive noise (`model.additive_noise` true, e.g. OU): `diffrax.ShARK`,
      a stochastic Runge-Kutta method of strong order 1.5 for additive noise
      (Itô and Stratonovich coincide there);
    * otherwise (diagonal or general multiplicative noise): Euler-Maruyama
      (`diffrax.Euler`), strong order 0.5 / weak order 1, the cheapest
      consistent Itô scheme. Heun or Milstein converge to the Stratonovich
      solution or need commutative noise; pass them explicitly if wanted.
    """
    if getattr(model, "additive_noise", False):
        return diffrax.ShARK()
    return diffrax.Euler()


MAX_CHECKPOINTS = 1024


def default_adjoint(n_steps: int) -> diffrax.RecursiveCheckpointAdjoint:
    """`RecursiveCheckpointAdjoint` with `min(n_steps, 1024)` checkpoints.

    Up to 1024 steps every step is checkpointed (no recomputation: measured 3-9x
    faster than `ceil(sqrt(n))` checkpoints at 100 steps); beyond that memory
    stays constant (one solver state per checkpoint, ~kB each) and the backward
    pass recomputes each step O(log) times (Stumm-Walther online treeverse).
    """
    return diffrax.RecursiveCheckpointAdjoint(
        checkpoints=max(1, min(n_steps, MAX_CHECKPOINTS))
    )


def noise_shape(model, y: jax.ShapeDtypeStruct) -> tuple[bool, int]:
    """(is_general, brownian_dim) from the shape of `model.diffusion` at `y`."""
    out = jax.eval_shape(lambda y: model.diffusion(0.0, y, None), y)
    (d,) = y.shape
    if out.shape == (d,):
        return False, d
    if len(out.shape) == 2 and out.shape[0] == d:
        return True, out.shape[1]
    raise ValueError(
        f"`model.diffusion` must return shape ({d},) (diagonal noise) or "
        f"({d}, m) (general noise) for a state of shape ({d},); got {out.shape}."
    )


def _levy_area(solver) -> type:
    need = getattr(solver, "minimal_levy_area", diffrax.AbstractBrownianIncrement)
    if issubclass(diffrax.SpaceTimeTimeLevyArea, need) and not issubclass(
        diffrax.SpaceTimeLevyArea, need
    ):
        return diffrax.SpaceTimeTimeLevyArea
    if issubclass(diffrax.SpaceTimeLevyArea, need) and not issubclass(
        diffrax.BrownianIncrement, need
    ):
        return diffrax.SpaceTimeLevyArea
    return diffrax.BrownianIncrement


def solver_grid(ts, dt0: float | None):
    """The step grid: each gap of `ts` cut into `ceil(gap / dt0)` equal steps.

    With `dt0=None` the solver steps exactly from one `ts` point to the next;
    `ts` may then be traced (e.g. built with `jnp.linspace` inside `jit`).
    Otherwise `ts` must be concrete, since the grid fixes the number of steps.
    Returns a NumPy array when `ts` is concrete, else `ts` itself.
    """
    if isinstance(ts, jax.core.Tracer):
        if ts.ndim != 1 or ts.shape[0] < 2:
            raise ValueError(f"`ts` must be 1-D with >= 2 points; got {ts.shape}.")
        if dt0 is not None:
            raise TypeError(
                "`ts` is traced (e.g. created or passed inside `jit`) but `dt0` is "
                "set: the number of solver steps must be static. Build `ts` with "
                "NumPy / close over a concrete array, or use `dt0=None`."
            )
        return ts
    ts = np.asarray(ts)
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise ValueError(f"`ts` must be 1-D with >= 2 points; got shape {ts.shape}.")
    gaps = np.diff(ts)
    if not np.all(gaps > 0) or not np.all(np.isfinite(ts)):
        raise ValueError("`ts` must be finite and strictly increasing.")
    if dt0 is None:
        return ts
    if not (isinstance(dt0, int | float) and dt0 > 0):
        raise ValueError(f"`dt0` must be a positive float or None; got {dt0!r}.")
    n_sub = np.maximum(1, np.ceil(gaps / dt0 - 1e-9).astype(int))
    pieces = [
        ts[i] + gaps[i] * np.arange(n_sub[i]) / n_sub[i] for i in range(len(gaps))
    ]
    return np.concatenate([*pieces, ts[-1:]])


class _BatchedDiffusion(diffrax.AbstractTerm):
    """`g(t, y) dW` for a batch of states `(n_paths, d)`, model passed as args."""

    brownian: diffrax.AbstractBrownianPath
    general: bool = eqx.field(static=True)

    def vf(self, t, y, args):
        return jax.vmap(args.diffusion, (None, 0, None))(t, y, None).astype(y.dtype)

    def contr(self, t0, t1, **kwargs):
        return self.brownian.evaluate(t0, t1, **kwargs)

    def prod(self, vf, control):
        if self.general:
            return jnp.einsum("pdm,pm->pd", vf, control)
        return vf * control


def _batched_drift(t, y, model):
    # Cast: float64 parameters must not silently promote a float32 state.
    return jax.vmap(model.drift, (None, 0, None))(t, y, None).astype(y.dtype)


def simulate(
    model,
    y0: Float[ArrayLike, "*batch d"],
    ts: Float[ArrayLike, " times"],
    *,
    key: PRNGKeyArray,
    n_paths: int = 1,
    solver: diffrax.AbstractSolver | None = None,
    dt0: float | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    brownian: diffrax.AbstractBrownianPath | None = None,
) -> Float[Array, "n_paths times d"]:
    r"""Sample `n_paths` solutions of the Itô SDE `model`, saved at `ts`.

    Solves $\mathrm dY = \mu(t, Y)\,\mathrm dt + \sigma(t, Y)\,\mathrm dW$,
    $Y_{t_0} = y_0$, for all paths at once with `diffrax.diffeqsolve` on the
    fixed grid `solver_grid(ts, dt0)` (`diffrax.StepTo`). The Brownian motion is
    a `FixedGridBrownianPath` keyed by `key`: same key, same paths, and the
    checkpointed backward pass replays exactly the forward noise.

    Differentiable (reverse mode by default) with respect to the model's array
    leaves and `y0`. Not with respect to `ts`.

    Args:
        model: SDE model with `drift(t, y, args)` / `diffusion(t, y, args)`
            acting on one state of shape `(d,)`; see `AbstractSDE`.
        y0: initial state `(d,)` (shared by all paths) or `(n_paths, d)`.
        ts: save times, strictly increasing; `ts[0]` is the start. Must be
            concrete when `dt0` is set (see `solver_grid`).
        key: PRNG key of the Brownian motion.
        n_paths: number of independent paths.
        solver: diffrax SDE solver; default `default_solver(model)`.
        dt0: maximal step; each gap of `ts` is split evenly. Default: one step
            per gap of `ts`.
        adjoint: diffrax adjoint; default `default_adjoint(n_steps)`, a
            `RecursiveCheckpointAdjoint` with `min(n_steps, 1024)` checkpoints
            (memory bounded in the number of steps).
        brownian: optional Brownian path of shape `(n_paths, m)` replacing the
            key-generated one (e.g. to share one fine path between step sizes).

    Returns:
        Paths of shape `(n_paths, len(ts), d)`.

    Raises:
        ValueError: bad `ts`, `dt0`, `n_paths`, `y0` or diffusion shape.
        TypeError: traced `ts` together with `dt0`.
        EquinoxRuntimeError: non-finite paths (set `EQX_ON_ERROR=nan` to get
            NaNs instead).
    """
    if not isinstance(n_paths, int) or n_paths < 1:
        raise ValueError(f"`n_paths` must be a positive int; got {n_paths!r}.")
    grid = solver_grid(ts, dt0)
    y0 = as_float_array(y0)
    if y0.ndim == 1:
        y0 = jnp.broadcast_to(y0, (n_paths, y0.shape[0]))
    elif y0.ndim != 2 or y0.shape[0] != n_paths:
        raise ValueError(
            f"`y0` must have shape (d,) or (n_paths={n_paths}, d); got {y0.shape}."
        )
    dtype = y0.dtype
    general, m = noise_shape(model, jax.ShapeDtypeStruct(y0.shape[1:], dtype))
    solver = default_solver(model) if solver is None else solver
    if brownian is None:
        brownian = FixedGridBrownianPath(
            (n_paths, m), key, grid, _levy_area(solver), dtype
        )
    n_steps = grid.shape[0] - 1
    adjoint = default_adjoint(n_steps) if adjoint is None else adjoint
    terms = diffrax.MultiTerm(
        diffrax.ODETerm(_batched_drift), _BatchedDiffusion(brownian, general)
    )
    grid_j = jnp.asarray(grid, dtype)
    # Saving every step is cheaper (no interpolation search per step, less to
    # compile) and costs no extra memory when the grid is `ts` itself.
    if grid.shape[0] == np.shape(ts)[0]:
        saveat = diffrax.SaveAt(t0=True, steps=True)
    else:
        saveat = diffrax.SaveAt(ts=jnp.asarray(ts, dtype))
    sol = diffrax.diffeqsolve(
        terms,
        solver,
        grid_j[0],
        grid_j[-1],
        None,
        y0,
        args=model,
        saveat=saveat,
        stepsize_controller=diffrax.StepTo(grid_j),
        adjoint=adjoint,
        max_steps=n_steps,
        # StepTo on a static grid cannot run out of steps or reject one: there
        # is no failure for `throw` to report, and the check costs compile time.
        throw=False,
    )
    ys = jnp.swapaxes(sol.ys, 0, 1)
    return eqx.error_if(
        ys,
        ~jnp.all(jnp.isfinite(ys)),
        "simulate produced non-finite values: the model's drift/diffusion "
        "overflowed or left its domain (try a smaller dt0).",
    )

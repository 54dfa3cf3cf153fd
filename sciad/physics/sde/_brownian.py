"""A Brownian path defined on a fixed time grid, generated from the key by index.

Why not `diffrax.VirtualBrownianTree`: the tree answers any query `[s, u]`
consistently, but each query walks ~log2(1/tol) levels of Brownian bridges. For
fixed-step training that walk dominates the cost (diffrax issue #517). When
every solver step is a grid cell, the increment of cell `i` can instead be drawn
directly from `fold_in(key, i)`: O(1) per step, bit-identical whenever it is
recomputed (so `RecursiveCheckpointAdjoint` replays exactly the noise of the
forward pass), and no memory proportional to the number of steps.
"""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._base import as_float_array

_LEVY_TYPES = (
    diffrax.BrownianIncrement,
    diffrax.SpaceTimeLevyArea,
    diffrax.SpaceTimeTimeLevyArea,
)


class FixedGridBrownianPath(diffrax.AbstractBrownianPath):
    r"""Brownian motion sampled exactly on a fixed grid `ts`, reproducible by index.

    The increment over grid cell $[t_i, t_{i+1}]$ is
    $\Delta W_i = \sqrt{t_{i+1}-t_i}\,\xi_i$ with
    $\xi_i \sim \mathcal N(0, I)$ drawn from `jr.fold_in(key, i)`. Queries
    `evaluate(s, u)` whose end points lie on the grid return the exact sum of the
    cell increments (a loop over the cells, one iteration for a single step), so
    a coarse solver step and a fine one see the same Brownian motion.
    Space-time (and space-time-time) Lévy areas $H_i, K_i$ are drawn
    independently per cell, which is exact for single-cell queries; these are the
    only Lévy-area queries a fixed-step SRK solver makes.

    Restriction (as for `diffrax.UnsafeBrownianPath`): the solver must step on
    the grid (`diffrax.StepTo(ts)` or a constant step equal to the grid
    spacing). Off-grid query points are snapped to the nearest grid point.
    Unlike `UnsafeBrownianPath` this path is deterministic in `key` and safe to
    backpropagate through.

    Args:
        shape: shape of one increment, e.g. `(n_paths, noise_dim)`.
        key: PRNG key.
        ts: the grid, strictly increasing, shape `(n_steps + 1,)`.
        levy_area: `diffrax.BrownianIncrement` (default),
            `diffrax.SpaceTimeLevyArea` or `diffrax.SpaceTimeTimeLevyArea`.
        dtype: dtype of the increments (default: dtype of `ts`).
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    levy_area: type = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)
    uniform: bool = eqx.field(static=True)
    key: PRNGKeyArray
    ts: Float[Array, " grid"]

    def __init__(self, shape, key, ts, levy_area=diffrax.BrownianIncrement, dtype=None):
        ts_np = None if isinstance(ts, jax.core.Tracer) else np.asarray(ts)
        self.ts = as_float_array(ts) if dtype is None else jnp.asarray(ts, dtype)
        if self.ts.ndim != 1 or self.ts.shape[0] < 2:
            raise ValueError(
                f"`ts` must be 1-D with at least 2 points; got shape {self.ts.shape}."
            )
        if levy_area not in _LEVY_TYPES:
            raise ValueError(
                f"`levy_area` must be one of {[t.__name__ for t in _LEVY_TYPES]}; "
                f"got {levy_area!r}."
            )
        self.shape = tuple(int(s) for s in shape)
        self.key = key
        self.levy_area = levy_area
        self.dtype = jnp.dtype(self.ts.dtype if dtype is None else dtype)
        if ts_np is None:
            self.uniform = False
        else:
            gaps = ts_np[1:] - ts_np[:-1]
            if not (gaps > 0).all():
                raise ValueError("`ts` must be strictly increasing.")
            self.uniform = bool(math.isclose(gaps.min(), gaps.max(), rel_tol=1e-9))

    @property
    def t0(self):
        return self.ts[0]

    @property
    def t1(self):
        return self.ts[-1]

    def _nearest(self, t):
        # searchsorted gives the insertion point; pick the nearer neighbour so a
        # query that is off the grid by rounding error lands on the right point.
        t = jax.lax.stop_gradient(t)
        if self.uniform:
            h = self.ts[1] - self.ts[0]
            return jnp.round((t - self.ts[0]) / h).astype(jnp.int32)
        n = self.ts.shape[0]
        # compare_all is loop-free (cheap to compile inside the checkpointed
        # solver loop); a binary search only pays off on long grids.
        method = "compare_all" if n <= 1024 else "scan"
        i = jnp.clip(jnp.searchsorted(self.ts, t, method=method), 1, n - 1)
        left = jnp.abs(t - self.ts[i - 1]) <= jnp.abs(self.ts[i] - t)
        return jnp.where(left, i - 1, i).astype(jnp.int32)

    def _normals(self, i, n):
        return jr.normal(jr.fold_in(self.key, i), (n, *self.shape), self.dtype)

    def _cell(self, i):
        """W, H, K increments of grid cell `i` (H, K unscaled if unused)."""
        h = (self.ts[i + 1] - self.ts[i]).astype(self.dtype)
        n = {
            diffrax.BrownianIncrement: 1,
            diffrax.SpaceTimeLevyArea: 2,
            diffrax.SpaceTimeTimeLevyArea: 3,
        }[self.levy_area]
        xi = self._normals(i, n) * jnp.sqrt(h)
        return h, xi

    def evaluate(self, t0, t1=None, left=True, use_levy=False):
        """Brownian increment `W(t1) - W(t0)` (or `W(t0) - W(grid[0])`)."""
        del left
        if t1 is None:
            i, j = jnp.zeros((), jnp.int32), self._nearest(t0)
        else:
            i, j = self._nearest(t0), self._nearest(t1)
        dt_query = (
            jnp.asarray(0.0, self.dtype)
            if t1 is None
            else jnp.asarray(t1 - t0, self.dtype)
        )
        if use_levy and self.levy_area is not diffrax.BrownianIncrement:
            # Lévy areas only compose over single cells; fixed-step SRK solvers
            # only ask for those.
            h, xi = self._cell(i)
            w = xi[0]
            hh = xi[1] / math.sqrt(12)
            if self.levy_area is diffrax.SpaceTimeLevyArea:
                return diffrax.SpaceTimeLevyArea(dt=h, W=w, H=hh)
            kk = xi[2] / math.sqrt(720)
            return diffrax.SpaceTimeTimeLevyArea(dt=h, W=w, H=hh, K=kk)
        w = jax.lax.fori_loop(
            i,
            j,
            lambda k, acc: acc + self._cell(k)[1][0],
            jnp.zeros(self.shape, self.dtype),
        )
        w = jax.lax.stop_gradient(w)
        if use_levy:
            return diffrax.BrownianIncrement(dt=dt_query, W=w)
        return w

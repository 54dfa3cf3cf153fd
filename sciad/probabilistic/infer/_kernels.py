"""`HMC` and `NUTS`: configured samplers for the `MCMC` driver (NumPyro API).

A kernel object holds configuration only. `setup` turns a model (or a raw
potential) plus the run's arguments into a `Problem`: functions that build the
potential, the postprocessing and the initial position *from traced
arguments*, so that the driver compiles one program per model and argument
shapes and reuses it for new data.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import numpy as np

from . import _hmc, _nuts
from ._forward_mode import forward_mode_potential
from ._init_strategies import init_to_uniform
from ._warmup import check_heuristic_step_size


class Problem(NamedTuple):
    """Traceable ingredients of a run; `args` are the model's (args, kwargs)."""

    potential_fn: Callable  # (args, kwargs) -> potential_fn(z)
    postprocess_fn: Callable | None  # (args, kwargs) -> fn(z) -> constrained dict
    init_fn: Callable | None  # (key, args, kwargs) -> (z, pe, grad), traceable
    prototype_z: Any  # the initial position, or its shapes (ShapeDtypeStructs)
    model: Callable | None = None  # None for a raw `potential_fn`


def _as_dense_mass(value):
    """`True`/`False`, or NumPyro's blocks: a list of tuples of site names."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    blocks = tuple(value) if isinstance(value, list | tuple) else None
    if (
        not blocks
        or not all(isinstance(b, list | tuple) and b for b in blocks)
        or not all(isinstance(n, str) for b in blocks for n in b)
    ):
        raise TypeError(
            "`dense_mass` must be True, False or a non-empty list of non-empty "
            f"tuples of site names (NumPyro's blocks); got {value!r}."
        )
    return tuple(tuple(b) for b in blocks)


def _as_mass_matrix(value):
    """None, an array (a vector: diagonal; a matrix: dense) or NumPyro's blocks.

    NumPyro's block form is a dict from tuples of site names to each block's
    inverse mass matrix (a vector or a square matrix over the block's
    flattened sites, in the tuple's order).
    """
    if value is None:
        return None
    if isinstance(value, dict):
        blocks = {}
        for key, block in value.items():
            names = (key,) if isinstance(key, str) else key
            if (
                not isinstance(names, tuple)
                or not names
                or not all(isinstance(n, str) for n in names)
            ):
                raise TypeError(
                    "`inverse_mass_matrix` as a dict needs tuples of site names as "
                    f"keys (NumPyro's blocks); got the key {key!r}."
                )
            blocks[names] = _positive_definite(block, f"inverse_mass_matrix[{key!r}]")
        return blocks
    return _positive_definite(value, "inverse_mass_matrix")


def _positive_definite(value, name: str) -> np.ndarray:
    a = np.asarray(value)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"`{name}` must be real numbers; got dtype {a.dtype}.")
    a = a.astype(np.result_type(a.dtype, np.float32))
    if a.ndim == 1:
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(
                f"`{name}` (a diagonal) must be finite and positive; got {a}."
            )
        return a
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(
            f"`{name}` must be a vector (diagonal) or a square matrix; got shape "
            f"{a.shape}."
        )
    tol = 1e-6 * np.max(np.abs(a), initial=1.0)
    if not np.all(np.isfinite(a)) or not np.allclose(a, a.T, rtol=0, atol=tol):
        raise ValueError(f"`{name}` must be a finite symmetric matrix.")
    try:
        np.linalg.cholesky(a.astype(np.float64))
    except np.linalg.LinAlgError:
        raise ValueError(f"`{name}` must be positive definite.") from None
    return a


def _site_slices(prototype_z, what: str) -> dict[str, tuple[int, int]]:
    """`{site: (offset, size)}` in the flat position (`ravel_pytree` order)."""
    if not isinstance(prototype_z, dict):
        raise ValueError(
            f"{what} needs a model, or a dict position for `potential_fn`; got a "
            f"{type(prototype_z).__name__}."
        )
    # `ravel_pytree` lays a dict's leaves out in sorted key order
    sizes = {
        k: int(np.prod(getattr(v, "shape", np.shape(v))))
        for k, v in sorted(prototype_z.items())
    }
    offsets = np.cumsum([0, *sizes.values()])
    return {k: (int(o), n) for (k, n), o in zip(sizes.items(), offsets, strict=False)}


def _block_indices(slices: dict, blocks, what: str) -> list[list[int]]:
    """Flat indices of each block of site names; each site in one block at most."""
    seen: dict = {}
    out = []
    for block in blocks:
        idx = []
        for name in block:
            if name not in slices:
                raise ValueError(
                    f"{what} names site {name!r}, which is not a latent site; the "
                    f"latent sites are {sorted(slices)}."
                )
            if name in seen:
                raise ValueError(
                    f"{what}: site {name!r} is in two blocks, {seen[name]} and {block}."
                )
            seen[name] = block
            start, size = slices[name]
            idx.extend(range(start, start + size))
        out.append(idx)
    return out


class AbstractHMCKernel(eqx.Module):
    """Shared configuration of the gradient-based kernels."""

    model: Callable | None = eqx.field(static=True, default=None)
    potential_fn: Callable | None = eqx.field(static=True, default=None)
    step_size: float = eqx.field(static=True, default=1.0)
    adapt_step_size: bool = eqx.field(static=True, default=True)
    adapt_mass_matrix: bool = eqx.field(static=True, default=True)
    dense_mass: bool | tuple[tuple[str, ...], ...] = eqx.field(
        static=True, default=False, converter=_as_dense_mass
    )
    target_accept_prob: float = eqx.field(static=True, default=0.8)
    init_strategy: Callable = eqx.field(static=True, default=init_to_uniform)
    inverse_mass_matrix: Any = eqx.field(default=None, converter=_as_mass_matrix)
    find_heuristic_step_size: bool | None = eqx.field(static=True, default=None)
    forward_mode_differentiation: bool = eqx.field(static=True, default=False)
    regularize_mass_matrix: bool = eqx.field(static=True, default=True)

    # NumPyro's `MCMCKernel.sample_field`: the state field holding the position
    sample_field = "z"

    def __check_init__(self):
        if (self.model is None) == (self.potential_fn is None):
            raise ValueError("Give exactly one of `model` and `potential_fn`.")
        for name in ("model", "potential_fn", "init_strategy"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"`{name}` must be callable; got {type(value).__name__}."
                )
        if not self.step_size > 0:
            raise ValueError(f"`step_size` must be positive; got {self.step_size}.")
        if not 0 < self.target_accept_prob < 1:
            got = self.target_accept_prob
            raise ValueError(f"`target_accept_prob` must be in (0, 1); got {got}.")
        for name in ("forward_mode_differentiation", "regularize_mass_matrix"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                got = getattr(self, name)
                raise TypeError(f"`{name}` must be True or False; got {got!r}.")
        check_heuristic_step_size(self.find_heuristic_step_size)
        if isinstance(self.inverse_mass_matrix, np.ndarray):
            if self.inverse_mass_matrix.ndim == 2 and self.dense_mass is False:
                raise ValueError(
                    "A 2-d `inverse_mass_matrix` is a dense metric: pass "
                    "`dense_mass=True` (or give its diagonal as a vector)."
                )

    def build_kernel(self, potential_fn: Callable) -> Callable:
        raise NotImplementedError

    def mass_matrix_mask(self, prototype_z) -> np.ndarray | None:
        """The block structure of a `dense_mass` given as site-name tuples.

        Returns None for `dense_mass=True`/`False`, else a boolean `(d, d)`
        matrix over the flat position (sites in `ravel_pytree` order): True
        within each block and on the diagonal. The adapted inverse mass matrix
        is zero elsewhere, so each block is dense and every other site diagonal.
        """
        if isinstance(self.dense_mass, bool):
            return None
        what = "`dense_mass` as site-name tuples"
        slices = _site_slices(prototype_z, what)
        mask = np.eye(sum(n for _, n in slices.values()), dtype=bool)
        for idx in _block_indices(slices, self.dense_mass, "`dense_mass`"):
            mask[np.ix_(idx, idx)] = True
        return mask

    def initial_inverse_mass_matrix(self, prototype_z) -> np.ndarray | None:
        """The given `inverse_mass_matrix` over the flat position (None: identity).

        A vector for a diagonal metric, a `(d, d)` matrix for `dense_mass`. In
        NumPyro's dict form every site not named keeps the identity; with
        `dense_mass` blocks, entries outside the blocks must be zero.
        """
        given = self.inverse_mass_matrix
        if given is None:
            return None
        dense = bool(self.dense_mass)
        if isinstance(given, dict):
            slices = _site_slices(
                prototype_z, "`inverse_mass_matrix` as a dict of site-name tuples"
            )
            d = sum(n for _, n in slices.values())
            out = np.eye(d) if dense else np.ones(d)
            indices = _block_indices(slices, given, "`inverse_mass_matrix`")
            for (names, block), idx in zip(given.items(), indices, strict=True):
                k = len(idx)
                if block.shape == (k, k) and dense:
                    out[np.ix_(idx, idx)] = block
                elif block.shape == (k,) and dense:
                    out[idx, idx] = block  # the block's diagonal entries
                elif block.shape == (k,):
                    out[idx] = block
                else:
                    need = f"({k},) or ({k}, {k})" if dense else f"({k},)"
                    hint = "" if dense else " (a matrix block needs `dense_mass`)"
                    raise ValueError(
                        f"`inverse_mass_matrix[{names!r}]` has shape {block.shape}; "
                        f"the block's {k} unconstrained coordinates need {need}"
                        f"{hint}."
                    )
        else:
            d = sum(
                math.prod(getattr(x, "shape", np.shape(x)))
                for x in jax.tree.leaves(prototype_z)
            )
            if given.shape not in ((d,), (d, d)):
                raise ValueError(
                    f"`inverse_mass_matrix` has shape {given.shape}; the position "
                    f"has {d} unconstrained coordinates, so it must be ({d},) or "
                    f"({d}, {d})."
                )
            out = np.diag(given) if dense and given.ndim == 1 else given
        mask = self.mass_matrix_mask(prototype_z)
        if mask is not None and np.any(out[~mask] != 0):
            raise ValueError(
                "`inverse_mass_matrix` has non-zero entries outside the "
                f"`dense_mass` blocks {self.dense_mass}."
            )
        return out

    def _differentiable(self, potential_fn: Callable) -> Callable:
        if self.forward_mode_differentiation:
            return forward_mode_potential(potential_fn)
        return potential_fn

    def setup(self, rng_key, args: tuple, kwargs: dict, init_params=None) -> Problem:
        """Eager, once per model and argument shapes: build the `Problem`."""
        if self.potential_fn is not None:
            if init_params is None:
                raise ValueError(
                    "A kernel built from `potential_fn` needs `init_params` in "
                    "`MCMC.run(..., init_params=...)`."
                )
            pot = self._differentiable(self.potential_fn)
            return Problem(lambda a, k: pot, None, None, init_params)
        from functools import partial

        from . import _init_uniform, util  # the modelling layer (issue 3)

        strategy = self.init_strategy
        model = self.model
        forward = self.forward_mode_differentiation
        proto = _init_uniform.uniform_prototype(rng_key, model, strategy, args, kwargs)
        if proto is not None:
            radius = _init_uniform.uniform_radius(strategy)

            def init_fn(key, a, k):
                found = _init_uniform.find_valid_uniform_params
                info, _ = found(key, model, proto, radius, a, k, forward)
                return info

            prototype = proto
        else:

            def init_fn(key, a, k):
                # a lax.while_loop over init attempts; under jit a failure
                # raises an error naming the offending site
                info, _ = util.find_valid_initial_params(
                    key,
                    model,
                    init_strategy=strategy,
                    model_args=a,
                    model_kwargs=k,
                    forward_mode_differentiation=forward,
                )
                return info  # ParamInfo(z, potential_energy, z_grad)

            # tracing only (no compilation): the shapes of the latent position
            shapes = jax.eval_shape(lambda key: init_fn(key, args, kwargs), rng_key)
            prototype = shapes.z
        return Problem(
            lambda a, k: self._differentiable(
                partial(util.potential_energy, model, a, k)
            ),
            lambda a, k: partial(
                util.constrain_fn, model, a, k, return_deterministic=True
            ),
            init_fn,
            prototype,
            model,
        )


class HMC(AbstractHMCKernel):
    r"""Hamiltonian Monte Carlo with a fixed trajectory length.

    Args:
        model: a model function (`sample` statements), or None.
        potential_fn: negative log density of an unconstrained position pytree,
            used instead of `model`.
        step_size: initial leapfrog step size.
        trajectory_length: integration time $L\epsilon$.
        num_steps: a fixed number of leapfrog steps $L$ instead (as NumPyro's
            `num_steps`; `trajectory_length` is then ignored).
        adapt_step_size: dual-averaging step size adaptation during warmup.
        adapt_mass_matrix: Welford mass-matrix adaptation during warmup.
        dense_mass: dense rather than diagonal mass matrix; or, as in NumPyro,
            a list of tuples of site names, e.g. `[("a", "b"), ("c",)]`: each
            tuple's sites share one dense block, every other site is diagonal.
            (The blocks are held in one masked `d x d` matrix, so a step costs
            what `dense_mass=True` costs.)
        target_accept_prob: target mean acceptance probability.
        init_strategy: initialisation strategy (default `init_to_uniform`).
        inverse_mass_matrix: the initial inverse mass matrix (identity when
            None), kept throughout when `adapt_mass_matrix=False`. A vector
            (the diagonal) or, with `dense_mass`, a `d x d` matrix over the
            flattened unconstrained position (sites in sorted order, as
            `jax.flatten_util.ravel_pytree` lays out a dict); or, as in
            NumPyro, a dict from tuples of site names to blocks, e.g.
            `{("a", "b"): m_ab, ("c",): v_c}`, each a vector or (with
            `dense_mass`) a matrix over the block's coordinates in the tuple's
            order. Sites not named keep the identity.
        find_heuristic_step_size: None (default) searches for a reasonable
            step size once, before the first warmup transition, and restarts
            dual averaging after every slow window from that window's averaged
            step size. True searches again after every slow window (NumPyro's
            `True`); False never searches, dual averaging starting from
            `step_size` (NumPyro's default).
        forward_mode_differentiation: differentiate the potential in forward
            mode (one `vmap`-batched `jvp` per gradient): needed when the
            model's log density runs a `lax.while_loop` (Newton iterations,
            root finders, adaptive solvers without a checkpointed adjoint),
            and it can be faster for a few parameters and a long computation.
            First derivatives only.
        regularize_mass_matrix: shrink each window's Welford estimate towards
            $10^{-3} I$ as Stan does (default); False uses the raw estimate.

    Not supported from NumPyro's signature: `kinetic_fn` (the kinetic energy
    is always Euclidean, $p^\top M^{-1} p / 2$).

    References:
        Neal (2011), arXiv:1206.1901.
    """

    trajectory_length: float = eqx.field(static=True, default=2 * math.pi)
    num_steps: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if not 0 < self.trajectory_length < math.inf:
            raise ValueError(
                "`trajectory_length` must be positive and finite; got "
                f"{self.trajectory_length}."
            )
        _hmc.check_num_steps(self.num_steps)

    def build_kernel(self, potential_fn):
        return _hmc.build_hmc_kernel(
            potential_fn, self.trajectory_length, num_steps=self.num_steps
        )


def _as_depth(value):
    return tuple(value) if isinstance(value, list) else value


class NUTS(AbstractHMCKernel):
    r"""The No-U-Turn Sampler (iterative, multinomial, generalised U-turn).

    Same arguments as `HMC` without `trajectory_length`, plus `max_tree_depth`:
    a trajectory has at most `2**max_tree_depth - 1` leapfrog steps. As in
    NumPyro it may be a pair `(warmup_depth, sampling_depth)`, e.g. `(6, 10)`
    to cap the cost of the early warmup, whose identity metric can make
    trajectories very long.

    References:
        Hoffman & Gelman (2014), arXiv:1111.4246; Betancourt (2017),
        arXiv:1701.02434; Phan et al. (2019), arXiv:1912.11554.
    """

    max_tree_depth: int | tuple[int, int] = eqx.field(
        static=True, default=10, converter=_as_depth
    )

    def __check_init__(self):
        _nuts.check_max_tree_depth(self.max_tree_depth)

    def build_kernel(self, potential_fn):
        return _nuts.build_nuts_kernel(potential_fn, self.max_tree_depth)

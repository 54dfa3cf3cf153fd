"""Saving, loading and checkpointing `MCMC` runs as `.npz` (never pickle).

Pytrees are stored leaf by leaf under keys `"<group>|<path>"`, the path being
the JSON list of `(kind, key)` steps (`"d"` dict key, `"s"` sequence index,
`"a"` attribute); typed PRNG keys are stored as their raw key data plus the
implementation name. Every write goes to a temporary file that is then
`os.replace`d over the target, so a run killed at any moment leaves either the
previous or the new complete file.
"""

import json
import os

import jax
import numpy as np
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from ._adaptation import DualAveragingState, WelfordState
from ._chain import MCMCState
from ._warmup import WindowAdaptationState

FORMAT_VERSION = 2  # 2: the state holds `mean_accept_prob`
READABLE_VERSIONS = (1, 2)


def _encode(group: str, tree, out: dict) -> None:
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        steps = []
        for p in path:
            if isinstance(p, DictKey):
                steps.append(["d", p.key])
            elif isinstance(p, SequenceKey):
                steps.append(["s", p.idx])
            elif isinstance(p, GetAttrKey):
                steps.append(["a", p.name])
            else:
                raise TypeError(f"cannot save pytree node {p!r} in {group}")
        out[f"{group}|{json.dumps(steps)}"] = np.asarray(leaf)


def _decode(group: str, data) -> object:
    root: dict = {}
    prefix = group + "|"
    for name in data.files:
        if not name.startswith(prefix):
            continue
        steps = json.loads(name[len(prefix) :])
        value = np.asarray(data[name])
        if not steps:
            return value
        node = root
        for _, key in steps[:-1]:
            node = node.setdefault(key, {})
        node[steps[-1][1]] = value
    return _lists(root) if root else None


def _lists(node):
    """Dicts keyed 0..n-1 by sequence steps become lists (tuples are not kept)."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(isinstance(k, int) for k in node):
        return [node[i] for i in range(len(node))]
    return node


def save(mcmc, path, draws_done: int | None = None) -> None:
    """Atomically write `mcmc`'s samples, extra fields and last state."""
    state = mcmc._last_state
    if state is None:
        raise RuntimeError("Nothing to save: call `run` or `warmup` first.")
    arrays: dict = {}
    _encode("state", state, arrays)  # its rng_key is already raw key data
    if mcmc._samples is not None:
        _encode("samples", mcmc._samples, arrays)
        _encode("extra", mcmc._extra_fields, arrays)
    meta = {
        "version": FORMAT_VERSION,
        "num_warmup": mcmc.num_warmup,
        "num_samples": mcmc.num_samples,
        "num_chains": mcmc.num_chains,
        "thinning": mcmc.thinning,
        "draws_done": draws_done if draws_done is not None else _num_draws(mcmc),
        "key_impl": mcmc._key_impl,
        "kernel": type(mcmc.sampler).__name__,
    }
    arrays["meta"] = np.asarray(json.dumps(meta))
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(mcmc, path) -> dict:
    """Restore a `save`d run into `mcmc`; returns the metadata."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        raw = _decode("state", data)
        samples = _decode("samples", data)
        extra = _decode("extra", data)
    _check_compatible(mcmc, meta, raw, path)
    adapt = raw["adapt_state"]
    adapt_state = WindowAdaptationState(
        **{
            **adapt,
            "dual_averaging": DualAveragingState(**adapt["dual_averaging"]),
            "welford": WelfordState(**adapt["welford"]),
        }
    )
    mcmc._key_impl = meta["key_impl"]
    # version 1 kept no running mean: it resumes from zero, so the first
    # continued run's `mean_accept_prob` is diluted (nothing else depends on it)
    mean_accept = raw.get("mean_accept_prob", np.zeros_like(raw["potential_energy"]))
    mcmc._last_state = MCMCState(
        raw["z"],
        raw["potential_energy"],
        raw["z_grad"],
        adapt_state,
        raw["rng_key"],
        mean_accept,
    )
    mcmc._samples = samples
    mcmc._extra_fields = extra
    return meta


def _check_compatible(mcmc, meta, raw, path) -> None:
    """A saved state must fit `mcmc`, or `run` would fail deep in the program."""
    if meta.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{os.fspath(path)!r} has format version {meta.get('version')}; this "
            f"sciad reads versions {READABLE_VERSIONS}."
        )
    iteration = np.asarray(raw["adapt_state"]["iteration"])
    chains = iteration.shape[0] if iteration.ndim else 1
    if chains != mcmc.num_chains:
        raise ValueError(
            f"{os.fspath(path)!r} holds {chains} chain(s), but this MCMC has "
            f"num_chains={mcmc.num_chains}: load it into an MCMC with the same "
            "number of chains."
        )
    inv_mass = np.asarray(raw["adapt_state"]["inverse_mass_matrix"])
    saved_dense = inv_mass.ndim - iteration.ndim == 2
    if saved_dense != bool(mcmc.sampler.dense_mass):
        kind = "dense" if saved_dense else "diagonal"
        raise ValueError(
            f"{os.fspath(path)!r} holds a {kind} mass matrix, but this MCMC's "
            f"kernel has dense_mass={mcmc.sampler.dense_mass}."
        )


def _num_draws(mcmc) -> int:
    if mcmc._samples is None:
        return 0
    return int(jax.tree.leaves(mcmc._samples)[0].shape[1])


def run_with_checkpoints(
    mcmc, rng_key, args, kwargs, extra_fields, init_params, path, every
) -> None:
    """Warm up, then sample in segments of `every` kept draws, saving after each.

    Resumes from `path` if it exists. Segments continue the carried key stream,
    so a resumed run produces the same draws as an uninterrupted one.
    """
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"`checkpoint_every` must be an int >= 1; got {every!r}.")
    expected = {
        k: getattr(mcmc, k)
        for k in ("num_warmup", "num_samples", "num_chains", "thinning")
    }
    if os.path.exists(path):
        meta = load(mcmc, path)
        found = {k: meta[k] for k in expected}
        if found != expected:
            raise ValueError(
                f"Checkpoint {path!r} was written by a run with {found}, but this "
                f"MCMC has {expected}; delete it or use another path."
            )
        done = meta["draws_done"]
    else:
        state, _, _ = mcmc._execute(
            rng_key,
            args,
            kwargs,
            init_params,
            extra_fields,
            0,
            every,
            start=mcmc.post_warmup_state,
        )
        mcmc._store(state, None, None)
        save(mcmc, path, draws_done=0)
        done = 0
    while done < mcmc._num_kept:
        n = min(every, mcmc._num_kept - done)
        state, samples, extras = mcmc._execute(
            rng_key,
            args,
            kwargs,
            init_params,
            extra_fields,
            n,
            every,
            start=mcmc._last_state,
            # as `run`: the remainder is discarded before the first draw
            n_skip=mcmc.num_samples % mcmc.thinning if done == 0 else 0,
        )
        if mcmc._samples is not None:
            samples = jax.tree.map(
                lambda a, b: np.concatenate([a, b], 1), mcmc._samples, samples
            )
            extras = {
                k: np.concatenate([mcmc._extra_fields[k], v], 1)
                for k, v in extras.items()
            }
        mcmc._store(state, samples, extras)
        done += n
        save(mcmc, path, draws_done=done)
    mcmc._warn(args, kwargs)


_STATS_NAMES = {
    "diverging": "diverging",
    "energy": "energy",
    "accept_prob": "acceptance_rate",
    "num_steps": "n_steps",
    "tree_depth": "tree_depth",
    "adapt_state.step_size": "step_size",
    "step_size": "step_size",
}


def to_arviz(mcmc):
    """`arviz.InferenceData` with the posterior and sampler statistics."""
    import arviz as az

    from ._run_checks import sites as _sites

    posterior = {
        k: np.asarray(v)
        for k, v in _sites(mcmc.get_samples(group_by_chain=True)).items()
    }
    stats = {}
    for name, value in mcmc.get_extra_fields(group_by_chain=True).items():
        if name == "potential_energy":
            stats["lp"] = -np.asarray(value)
        else:
            stats[_STATS_NAMES.get(name, name)] = np.asarray(value)
    return az.from_dict(posterior=posterior, sample_stats=stats)

"""Numerical core of `sciad.probabilistic.diagnostics` (numpy, host side).

Every helper takes draws shaped `(chains, draws, *sample)` and works on all
trailing elements at once; Stan's scalar loops (Geyer's initial sequences) are
rewritten as cumulative minima and masked sums so that a 500-dimensional site
costs one FFT, not 500 Python loops.
"""

import numpy as np
from scipy.special import ndtri


def as_draws(x, name="x", min_draws=4):
    """Return `x` as a float64 numpy array shaped `(chains, draws, ...)`."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(
            f"`{name}` must be shaped (chains, draws, *sample); got shape {x.shape}."
        )
    if x.shape[1] < min_draws:
        raise ValueError(
            f"`{name}` needs at least {min_draws} draws per chain (axis 1); "
            f"got shape {x.shape}."
        )
    return x.astype(np.float64)


def autocovariance(x, axis, bias):
    """Autocovariance at every lag along `axis` by zero-padded FFT."""
    n = x.shape[axis]
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    x = x - x.mean(axis=-1, keepdims=True)
    # padding to >= 2n makes the circular correlation equal the linear one
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, n=m, axis=-1)
    acov = np.fft.irfft(f * np.conjugate(f), n=m, axis=-1)[..., :n]
    acov = acov / (n if bias else np.arange(n, 0, -1))
    return np.moveaxis(acov, -1, axis)


def chain_variances(x):
    """Within-chain variance W and the pooled estimate var+ of Gelman et al."""
    return pooled_variances(x.mean(axis=1), x.var(axis=1, ddof=1), x.shape[1])


def pooled_variances(means, variances, n):
    """W and var+ from each chain's mean and variance (chains first, n draws)."""
    within = variances.mean(axis=0)
    var_plus = within * (n - 1) / n
    if means.shape[0] > 1:
        var_plus = var_plus + means.var(axis=0, ddof=1)
    return within, var_plus


def split_chains(x):
    """Split every chain in two halves (dropping the middle draw if odd)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def average_ranks(rows):
    """1-based ranks along the last axis, ties sharing their average rank.

    `scipy.stats.rankdata(method="average")`, but one `argsort` over all rows
    at once (~20x faster on many sites; NUTS often repeats a draw, so ties are
    common).
    """
    total = rows.shape[-1]
    order = np.argsort(rows, axis=-1)
    ordered = np.take_along_axis(rows, order, -1)
    idx = np.broadcast_to(np.arange(total), rows.shape)
    starts = np.ones(rows.shape, bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(rows.shape, bool)
    ends[..., :-1] = starts[..., 1:]
    # a run of ties [first, last] shares the average rank (first+last)/2 + 1
    first = np.maximum.accumulate(np.where(starts, idx, 0), axis=-1)
    last = np.flip(
        np.minimum.accumulate(np.flip(np.where(ends, idx, total), -1), axis=-1), -1
    )
    ranks = np.empty(rows.shape)
    np.put_along_axis(ranks, order, 0.5 * (first + last) + 1, -1)
    return ranks


def rank_scores(rows):
    """Rank-normal scores of every row (draws last), and every row's median.

    Tie-averaged 1-based ranks r through Blom's normal quantile,
    ``ndtri((r - 3/8) / (S + 1/4))``. After one `argsort`, each run of ties
    in the sorted rows gets its score with one `repeat`, and the scores come
    from a table of the quantiles of the $2S + 1$ half-integer ranks, so `ndtri`
    runs on $2S$ values, not on all (~4x faster than ranking first). The
    median of a row is read off its sorted values. Rows with a non-finite draw
    take `average_ranks` and `np.median`.
    """
    if not np.all(np.isfinite(rows)):
        s = rows.shape[-1]
        scores = ndtri((average_ranks(rows) - 0.375) / (s + 0.25))
        return scores, np.median(rows, axis=-1)
    k, s = rows.shape
    order = np.argsort(rows, axis=-1)
    ordered = np.take_along_axis(rows, order, -1)
    new = np.ones(rows.shape, bool)
    new[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    starts = np.flatnonzero(new)  # tie runs never cross rows: new[:, 0] is set
    lengths = np.diff(np.append(starts, k * s))
    # a run at sorted columns c..c+L-1 shares the 1-based rank c + (L + 1) / 2;
    # twice that is an integer in [2, 2s]
    twice = 2 * (starts % s) + lengths + 1
    table = ndtri((0.5 * np.arange(2 * s + 1) - 0.375) / (s + 0.25))
    scores = np.empty(k * s)
    scores[(order + s * np.arange(k)[:, None]).ravel()] = np.repeat(
        table[twice], lengths
    )
    median = 0.5 * (ordered[:, (s - 1) // 2] + ordered[:, s // 2])
    return scores.reshape(k, s), median


def rank_normalize(x):
    """Pooled ranks mapped through the normal quantile (Blom offset 3/8)."""
    total = x.shape[0] * x.shape[1]
    rows = x.reshape(total, -1).T  # draws last: contiguous sorts
    return rank_scores(rows)[0].T.reshape(x.shape)


def ess_geyer(x):
    """ESS of draws `(chains, draws, ...)` with Geyer's initial monotone sequence.

    Follows Stan's `ess` (and arviz's `_ess`) term by term, including the
    treatment of the last pair and the lower bound tau >= 1/log10(S).
    """
    chains, n = x.shape[:2]
    total = chains * n
    within, var_plus = chain_variances(x)
    mean_acov = autocovariance(x, axis=1, bias=True).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (within - mean_acov) / var_plus
    rho[0] = 1.0
    # pairs (rho[2k], rho[2k+1]) Stan inspects: k < (n - 2) / 2, and pair 0
    num_pairs = max((n - 1) // 2, 1)
    pairs = rho[0 : 2 * num_pairs : 2] + rho[1 : 2 * num_pairs : 2]
    stop_mask = ~(pairs > 0)  # NaN stops too
    any_stop = stop_mask.any(axis=0)
    k_stop = np.where(any_stop, stop_mask.argmax(axis=0), num_pairs - 1)
    k_stop = k_stop[None]
    # initial monotone sequence: running minimum of the positive pair sums
    monotone = np.minimum.accumulate(pairs, axis=0)
    csum = np.concatenate([np.zeros_like(monotone[:1]), np.cumsum(monotone, 0)])
    head = np.take_along_axis(csum, k_stop, axis=0)[0]
    last_pair = np.take_along_axis(pairs, k_stop, axis=0)[0]
    last_even = np.take_along_axis(rho[0::2], k_stop, axis=0)[0]
    tail = np.where(last_pair >= 0, last_even, np.maximum(last_even, 0.0))
    tau = -1.0 + 2.0 * head + tail
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = total / tau
    constant = (
        np.ptp(x.reshape((total,) + x.shape[2:]), axis=0)
        < np.finfo(np.float64).resolution
    )
    ess = np.where(constant, float(total), ess)
    return np.where(np.isnan(x).any(axis=(0, 1)), np.nan, ess)


def rhat_basic(x):
    """Classical potential scale reduction sqrt(var+ / W) (no split, no ranks)."""
    within, var_plus = chain_variances(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(var_plus / within)


def _nan_where_nan(draws, values):
    """NaN for every element with a NaN draw (as arviz): ranks would hide it."""
    return np.where(np.isnan(draws).any(axis=(0, 1)), np.nan, values)


def ess(draws, kind):
    """Split-chain ESS of `draws`: rank-normalised ("bulk"), tail or "basic"."""
    if kind == "bulk":
        return _nan_where_nan(draws, ess_geyer(rank_normalize(split_chains(draws))))
    if kind == "basic":
        return ess_geyer(split_chains(draws))
    if kind == "tail":
        flat = draws.reshape((-1,) + draws.shape[2:])
        q = np.quantile(flat, [0.05, 0.95], axis=0)
        lower = ess_geyer(split_chains(1.0 * (draws <= q[0])))
        upper = ess_geyer(split_chains(1.0 * (draws <= q[1])))
        return _nan_where_nan(draws, np.minimum(lower, upper))
    raise ValueError(f"`kind` must be 'bulk', 'tail' or 'basic'; got {kind!r}.")


def rhat_rank(draws):
    """max(bulk, folded) rank-normalised split R-hat (NaN where a draw is NaN)."""
    return _nan_where_nan(draws, _rhat_rank(draws))


def _rhat_rank(draws):
    split = split_chains(draws)
    if np.all(np.isfinite(split)):
        return _rhat_rank_finite(split)
    bulk = rhat_basic(rank_normalize(split))
    flat = split.reshape((-1,) + split.shape[2:])
    folded = np.abs(split - np.median(flat, axis=0))
    return np.maximum(bulk, rhat_basic(rank_normalize(folded)))


def _rhat_rank_finite(split):
    """`rhat_rank` of finite split chains, from each chain's score moments.

    R-hat needs only each chain's sum of rank-normal scores and of their
    squares, so the scores are never put back in draw order: in sorted order
    the untied rank $j + 1$ has the same score in every row, tie runs are
    patched where they occur, and the chains' sums are one `bincount` over the
    sorted positions. ~2.5x faster than ranking in draw order (500 elements x 1000
    draws: 29 vs 72 ms), which matters because `MCMC.run` checks R-hat after
    every run.
    """
    chains, n = split.shape[:2]
    shape = split.shape[2:]
    columns = split.reshape(chains * n, -1)
    s = columns.shape[0]
    table = ndtri((0.5 * np.arange(2 * s + 1) - 0.375) / (s + 0.25))
    out = np.empty(columns.shape[1])
    # blocks of ~512 KiB of draws stay in cache: ~2x faster than all at once
    block = max(1, 65536 // s)
    for i in range(0, columns.shape[1], block):
        rows = columns[:, i : i + block].T.copy()
        bulk, ordered = _rhat_of_ranks(rows, chains, table)
        median = 0.5 * (ordered[:, (s - 1) // 2] + ordered[:, s // 2])
        folded, _ = _rhat_of_ranks(np.abs(rows - median[:, None]), chains, table)
        # fmax, as arviz's max(bulk, tail): chains each stuck at +-a fold to
        # one constant (tail NaN) while their bulk R-hat is infinite
        out[i : i + block] = np.fmax(bulk, folded)
    return out.reshape(shape)


def _rhat_of_ranks(rows, chains, table):
    """Classical R-hat of each row's rank-normal scores, and the sorted rows.

    `rows` holds `chains` equal-length chains one after the other; `table`
    the normal quantiles of the half-integer ranks (see `rank_scores`).
    """
    k, s = rows.shape
    n = s // chains
    order = np.argsort(rows, axis=-1)
    ordered = np.sort(rows, axis=-1)  # faster than gathering by `order`
    untied = table[2 * np.arange(s) + 2]
    row, col = np.nonzero(ordered[:, 1:] == ordered[:, :-1])
    if row.size:
        # tied pairs (col, col + 1) chain into runs over the sorted positions
        # [first, last], which share the 1-based rank (first + last) / 2 + 1:
        # table index first + last + 2
        starts = np.ones(row.size, bool)
        starts[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1] + 1)
        ends = np.append(starts[1:], True)
        run = np.cumsum(starts) - 1
        tied = table[col[starts][run] + col[ends][run] + 3]
        scores = np.tile(untied, (k, 1))
        scores[row, col] = scores[row, col + 1] = tied
    else:
        scores = np.broadcast_to(untied, rows.shape)
    # chain c's sums, from a sum over the sorted positions holding its draws
    cell = (order // n + chains * np.arange(k)[:, None]).ravel()
    sums = np.stack(
        [
            np.bincount(cell, weights=w.ravel(), minlength=k * chains)
            for w in (scores, scores * scores)
        ]
    ).reshape(2, k, chains)
    mean = sums[0] / n
    var = (sums[1] - n * mean * mean) / (n - 1)
    within, var_plus = pooled_variances(mean.T, var.T, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(var_plus / within), ordered

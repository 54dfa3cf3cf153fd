"""Progress bar fed from inside the compiled sampling loop.

The loop calls `jax.debug.callback(update, ...)` only on about 1% of its
iterations (and on the last), so the host round trip never shows up in the
sampling time. The callback is a module-level function looking up the bars of
the run in progress, so the compiled program does not depend on the bar object
and a second `run()` reuses it unchanged.
"""

import sys

import numpy as np

_ACTIVE: dict[int, object] = {}
NUM_UPDATES = 100


def enabled(progress_bar: bool) -> bool:
    """Bars are drawn only when asked for, tqdm is importable and stdout is a TTY."""
    if not progress_bar:
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


class Bars:
    """Context manager owning one tqdm bar per chain for the duration of a run."""

    def __init__(self, num_chains: int, total: int, desc: str = "sample"):
        self.num_chains, self.total, self.desc = num_chains, total, desc

    def __enter__(self):
        from tqdm.auto import tqdm

        for c in range(self.num_chains):
            _ACTIVE[c] = tqdm(
                total=self.total, position=c, desc=f"chain {c}", leave=True
            )
        return self

    def __exit__(self, *exc):
        for c in list(_ACTIVE):
            _ACTIVE.pop(c).close()
        return False


def update(iteration, total, num_warmup_left, step_size, divergences, chain_id):
    """Host side of the in-loop callback (arguments may carry a chain axis)."""
    ids = np.atleast_1d(np.asarray(chain_id))
    steps = np.broadcast_to(np.asarray(step_size), ids.shape)
    divs = np.broadcast_to(np.asarray(divergences), ids.shape)
    done = int(np.max(iteration)) + 1
    phase = "warmup" if done <= int(np.max(num_warmup_left)) else "sample"
    for c, eps, div in zip(ids, steps, divs, strict=True):
        bar = _ACTIVE.get(int(c))
        if bar is None:
            continue
        bar.set_description(f"chain {int(c)} {phase}", refresh=False)
        bar.set_postfix_str(
            f"step size {float(eps):.2e}, {int(div)} divergences", refresh=False
        )
        bar.update(min(done, int(np.max(total))) - bar.n)

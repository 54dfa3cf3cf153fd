"""The one place sciad touches ``equinox.internal``.

``equinox.internal.while_loop(kind="checkpointed")`` implements the online
binomial ("treeverse") checkpointing schedule that diffrax's
``RecursiveCheckpointAdjoint`` is built on. It is not covered by equinox's
stability guarantees, so it is wrapped here behind one function: if its signature
changes, only this file changes.
"""

from collections.abc import Callable
from typing import Any

import equinox.internal as eqxi


def checkpointed_while_loop(
    cond_fun: Callable[[Any], Any],
    body_fun: Callable[[Any], Any],
    init_val: Any,
    *,
    max_steps: int,
    buffers: Callable[[Any], Any],
    checkpoints: int,
) -> Any:
    """A while loop whose reverse-mode AD stores at most ``checkpoints`` carries.

    ``buffers`` selects write-only output arrays (written once per index).
    Forward-mode differentiation is not supported by this loop kind.
    """
    return eqxi.while_loop(
        cond_fun,
        body_fun,
        init_val,
        max_steps=max_steps,
        buffers=buffers,
        kind="checkpointed",
        checkpoints=checkpoints,
    )

"""Optimisers for SVI, under NumPyro's names, as optax transformations.

``SVI`` takes any ``optax.GradientTransformation``; these constructors only
spare a NumPyro user the lookup (``numpyro.optim.Adam(1e-2)`` becomes
``sciad.probabilistic.optim.Adam(1e-2)``). Each returns the optax object, so
optax's combinators (``optax.chain``, schedules for ``step_size``,
``optax.contrib``) compose with them. Where NumPyro's update rule (from
``jax.example_libraries.optimizers``) differs from optax's default, the optax
options are set to reproduce it.
"""

from collections.abc import Callable

import optax

StepSize = float | Callable[[int], float]

__all__ = ["Adagrad", "Adam", "ClippedAdam", "Momentum", "RMSProp", "SGD"]


def _check(name: str, step_size):
    if not callable(step_size) and not step_size > 0:
        raise ValueError(
            f"{name}: `step_size` must be positive (or a schedule); got {step_size!r}"
        )


def Adam(
    step_size: StepSize, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    """Adam (Kingma & Ba 2015)."""
    _check("Adam", step_size)
    return optax.adam(step_size, b1=b1, b2=b2, eps=eps)


def ClippedAdam(
    step_size: StepSize,
    clip_norm: float = 10.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Adam on gradients clipped elementwise to ``[-clip_norm, clip_norm]``.

    As NumPyro's ``ClippedAdam`` (without its learning-rate decay; pass an
    ``optax`` schedule as ``step_size`` for that).
    """
    _check("ClippedAdam", step_size)
    if not clip_norm > 0:
        raise ValueError(f"ClippedAdam: `clip_norm` must be positive; got {clip_norm}")
    return optax.chain(optax.clip(clip_norm), optax.adam(step_size, b1, b2, eps))


def SGD(step_size: StepSize) -> optax.GradientTransformation:
    """Plain gradient descent."""
    _check("SGD", step_size)
    return optax.sgd(step_size)


def Momentum(step_size: StepSize, mass: float) -> optax.GradientTransformation:
    """Heavy-ball momentum: $v \\leftarrow m v + g$, $x \\leftarrow x - \\eta v$."""
    _check("Momentum", step_size)
    return optax.sgd(step_size, momentum=mass)


def RMSProp(
    step_size: StepSize, gamma: float = 0.9, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""RMSProp, NumPyro's rule.

    $x \leftarrow x - \eta g / \sqrt{\overline{g^2} + \epsilon}$.
    """
    _check("RMSProp", step_size)
    return optax.rmsprop(step_size, decay=gamma, eps=eps, eps_in_sqrt=True)


def Adagrad(step_size: StepSize, eps: float = 1e-7) -> optax.GradientTransformation:
    """Adagrad as in optax (NumPyro's version adds momentum 0.9 on top)."""
    _check("Adagrad", step_size)
    return optax.adagrad(step_size, eps=eps)

r"""``sciad.calibrate``: Bayesian calibration of any differentiable simulator.

Given a simulator $f(\theta, x)$, priors $p(\theta)$ and data $(x, y)$, the model is

.. math::
    \theta \sim p(\theta), \qquad \sigma \sim p(\sigma) \text{ (or fixed)}, \qquad
    y \mid \theta, \sigma \sim \mathcal{L}\big(f(\theta, x), \sigma\big),

with $\mathcal{L}$ Gaussian unless ``likelihood=`` says otherwise. ``calibrate``
writes that model with ``sciad.probabilistic.sample``, finds the MAP by L-BFGS on
the unconstrained potential (the negative log joint of
``sciad.probabilistic.infer.initialize_model``), and, for ``method="nuts"``, runs
NUTS chains started near the MAP. Everything it uses is public
(``sample``, ``plate``, ``deterministic``, ``initialize_model``, ``NUTS``, ``MCMC``,
``Predictive``, ``diagnostics``), so ``result.model`` can be taken one level down.
"""

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import optax

from ._calibration_result import CalibrationResult

_FAMILIES = ("normal", "student_t", "laplace", "poisson")


def _likelihood_fn(likelihood: str | Callable | None) -> Callable:
    from .probabilistic import distributions as dist

    if callable(likelihood):
        return likelihood
    if likelihood is None or likelihood == "normal":
        return lambda mean, scale: dist.Normal(mean, scale)
    if likelihood == "student_t":
        return lambda mean, scale: dist.StudentT(4.0, mean, scale)
    if likelihood == "laplace":
        return lambda mean, scale: dist.Laplace(mean, scale)
    if likelihood == "poisson":
        return lambda mean, scale: dist.Poisson(mean)
    raise ValueError(
        f"calibrate: `likelihood` must be one of {_FAMILIES} or a callable "
        f"(prediction, noise) -> distribution; got {likelihood!r}."
    )


def calibration_model(
    simulator: Callable[[dict, Any], Any],
    priors: Mapping[str, Any],
    *,
    noise: Any,
    likelihood: str | Callable | None = None,
) -> Callable:
    """The probabilistic model ``calibrate`` samples, as a plain sciad model.

    Returns ``model(inputs, observations=None)`` with one sample site per prior,
    a ``"noise"`` site when ``noise`` is a distribution, a deterministic site
    ``"prediction"`` holding ``simulator(params, inputs)``, and an observed site
    ``"obs"`` whose batch dimensions are one ``plate`` per prediction axis.
    """
    from . import probabilistic as spp
    from .probabilistic import distributions as dist

    if not priors:
        raise ValueError("calibrate: `priors` must name at least one parameter.")
    for name, prior in priors.items():
        if not isinstance(prior, dist.Distribution):
            raise TypeError(
                f"calibrate: prior for {name!r} must be a sciad distribution; "
                f"got {type(prior).__name__}."
            )
    if "noise" in priors:
        raise ValueError("calibrate: 'noise' is reserved for the noise site.")
    learn_noise = isinstance(noise, dist.Distribution)
    if not learn_noise:
        if not isinstance(noise, int | float) or noise <= 0:
            raise ValueError(
                f"calibrate: `noise` must be a positive float (known noise standard "
                f"deviation) or a distribution (its prior); got {noise!r}."
            )
    family = _likelihood_fn(likelihood)

    def model(inputs, observations=None):
        params = {name: spp.sample(name, prior) for name, prior in priors.items()}
        scale = spp.sample("noise", noise) if learn_noise else noise
        try:
            out = simulator(params, inputs)
        except KeyError as err:
            name = err.args[0] if err.args else None
            if isinstance(name, str) and name not in params:
                raise KeyError(
                    f"calibrate: the simulator reads parameter {name!r}, which has "
                    f"no prior; `priors` defines {', '.join(map(repr, params))}."
                ) from err
            raise
        prediction = spp.deterministic("prediction", out)
        if observations is not None and jnp.shape(observations) != jnp.shape(
            prediction
        ):
            raise ValueError(
                f"calibrate: simulator output has shape {jnp.shape(prediction)} but "
                f"observations have shape {jnp.shape(observations)}."
            )
        obs_dist = family(prediction, scale)
        if jnp.ndim(prediction) > 0:
            obs_dist = obs_dist.to_event(jnp.ndim(prediction))
        spp.sample("obs", obs_dist, obs=observations)

    return model


def _map_estimate(key, model, args, steps: int, forward_mode: bool = False):
    """MAP in unconstrained space: Adam, then L-BFGS, from the prior median.

    Adam's steps are bounded by its learning rate, so the first phase cannot jump
    to absurd parameter values (L-BFGS's first line search may, e.g. exp(-200)
    underflowing to 0 in float32); L-BFGS then converges fast near the optimum.
    """
    from .probabilistic.infer import init_to_median, initialize_model
    from .probabilistic.infer._forward_mode import forward_mode_potential

    info = initialize_model(
        key,
        model,
        init_strategy=init_to_median,
        model_args=args,
        forward_mode_differentiation=forward_mode,
    )
    potential = info.potential_fn
    if forward_mode:
        potential = forward_mode_potential(potential)
    adam = optax.adam(0.05)
    lbfgs = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(potential)

    def adam_step(carry, _):
        z, state = carry
        value, grad = jax.value_and_grad(potential)(z)
        updates, state = adam.update(grad, state, z)
        return (optax.apply_updates(z, updates), state), value

    def lbfgs_step(carry, _):
        z, state = carry
        value, grad = value_and_grad(z, state=state)
        updates, state = lbfgs.update(
            grad, state, z, value=value, grad=grad, value_fn=potential
        )
        return (optax.apply_updates(z, updates), state), value

    @jax.jit
    def run(z0):
        n_adam = steps - steps // 4
        (z, _), h1 = jax.lax.scan(adam_step, (z0, adam.init(z0)), length=n_adam)
        (z, _), h2 = jax.lax.scan(lbfgs_step, (z, lbfgs.init(z)), length=steps // 4)
        return z, jnp.concatenate([h1, h2])

    z, history = run(info.param_info.z)
    return z, info.postprocess_fn, history


def calibrate(
    simulator: Callable[[dict, Any], Any],
    priors: Mapping[str, Any],
    data: tuple[Any, Any],
    *,
    noise: Any,
    method: str = "nuts",
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 2,
    key: jax.Array,
    likelihood: str | Callable | None = None,
    truth: Mapping[str, Any] | None = None,
    map_steps: int = 200,
    init_jitter: float = 0.1,
    chain_method: str = "vectorized",
    progress_bar: bool = True,
    dense_mass: bool = False,
    target_accept_prob: float = 0.8,
    forward_mode_differentiation: bool = False,
) -> CalibrationResult:
    r"""Calibrate a simulator's parameters from data: MAP, then NUTS posterior.

    Args:
        simulator: ``simulator(params, inputs) -> predictions``, any JAX function
            of a dict of parameters (one entry per prior) and the inputs.
        priors: parameter name -> ``sciad.probabilistic.distributions`` prior.
        data: ``(inputs, observations)``; observations have the simulator's
            output shape.
        noise: known Gaussian noise standard deviation (a positive float), or a
            distribution: the prior of an unknown noise scale (site ``"noise"``).
        method: ``"nuts"`` (posterior samples) or ``"map"`` (MAP estimate only).
        num_warmup, num_samples, num_chains: NUTS settings.
        key: PRNG key; same key, same result.
        likelihood: ``"normal"`` (default), ``"student_t"`` (4 degrees of
            freedom), ``"laplace"``, ``"poisson"`` (rate = prediction, ``noise``
            unused: pass ``1.0``), or a callable ``(prediction, noise) ->
            distribution``.
        truth: optional true parameter values, shown by ``summary`` and ``plot``.
        map_steps: optimiser iterations for the MAP (3/4 Adam, then 1/4
            L-BFGS, in unconstrained space).
        init_jitter: chains start at the MAP plus Gaussian noise of this standard
            deviation in unconstrained space, so R-hat can detect non-mixing.
        chain_method: as ``MCMC``: ``"vectorized"``, ``"sequential"`` or
            ``"parallel"`` (chains spread over ``jax.devices()``).
        progress_bar, dense_mass, target_accept_prob: passed to ``MCMC``/``NUTS``.
        forward_mode_differentiation: differentiate the model in forward mode,
            for the MAP and for NUTS (see ``NUTS``). For a few parameters and
            a long simulation it can be much cheaper than reverse mode: the
            Lotka-Volterra example's 7-parameter gradient through an adaptive
            diffrax solve takes ~160 µs with ``adjoint=diffrax.ForwardMode()``
            against ~650 µs in reverse mode (``docs/inference.md``). The
            simulator must then be forward-differentiable: a diffrax solve
            needs ``adjoint=diffrax.ForwardMode()`` (its default adjoint is
            reverse-only).

    Returns:
        A :class:`CalibrationResult` (samples, MAP, summary, predictive,
        diagnostics, plot).

    Raises:
        ValueError: unknown ``method``/``likelihood``, bad ``noise``, shape
            mismatch between simulator output and observations.

    Note:
        A sampler explores extreme parameter values (early warmup, divergent
        trajectories). Simulators that validate traced inputs with
        ``eqx.error_if`` would then raise and stop the run. Call sciad's pricers
        with ``validate=False`` inside the simulator (invalid inputs give NaN),
        or set ``EQX_ON_ERROR=nan`` in the environment, so such proposals give
        a NaN potential, which NUTS counts as a divergence and rejects.
    """
    from .probabilistic.infer import MCMC, NUTS
    from .probabilistic.infer._forward_mode import explain_differentiation_errors

    if method not in ("nuts", "map"):
        raise ValueError(
            f"calibrate: `method` must be 'nuts' or 'map'; got {method!r}."
        )
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError("calibrate: `data` must be a pair (inputs, observations).")
    inputs, observations = data
    observations = jnp.asarray(observations)
    model = calibration_model(simulator, priors, noise=noise, likelihood=likelihood)
    map_key, init_key, mcmc_key = jr.split(key, 3)
    with explain_differentiation_errors():
        z_map, postprocess, history = _map_estimate(
            map_key,
            model,
            (inputs, observations),
            map_steps,
            forward_mode_differentiation,
        )
    map_estimate = postprocess(z_map)
    mcmc = None
    if method == "nuts":
        kernel = NUTS(
            model,
            dense_mass=dense_mass,
            target_accept_prob=target_accept_prob,
            forward_mode_differentiation=forward_mode_differentiation,
        )
        mcmc = MCMC(
            kernel,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method=chain_method,
            progress_bar=progress_bar,
        )
        leaves, treedef = jax.tree.flatten(z_map)
        keys = jr.split(init_key, len(leaves))
        init = [
            leaf
            + init_jitter * jr.normal(k, (num_chains, *jnp.shape(leaf)), leaf.dtype)
            for leaf, k in zip(leaves, keys, strict=True)
        ]
        init = jax.tree.unflatten(treedef, init)
        if num_chains == 1:
            init = jax.tree.map(lambda a: a[0], init)
        mcmc.run(mcmc_key, inputs, observations, init_params=init)
    return CalibrationResult(
        model=model,
        priors=dict(priors),
        data=(inputs, observations),
        map_estimate={k: v for k, v in map_estimate.items() if k != "prediction"},
        map_loss_history=history,
        mcmc=mcmc,
        truth=None if truth is None else dict(truth),
    )

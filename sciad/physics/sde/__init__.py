"""Stochastic differential equations on diffrax: models, simulation, losses, fitting.

The core abstraction is an SDE *model*: an `eqx.Module` with
`drift(t, y, args)` and `diffusion(t, y, args)` on one state `y` of shape
`(d,)` (see `AbstractSDE`). `simulate` turns a model into paths of shape
`(n_paths, len(ts), d)` with `diffrax.diffeqsolve` and a fixed-grid Brownian
path that is reproducible under checkpointed adjoints.

`Heston` is `sciad.finance.Heston` (state `[log S, v]`, two-factor general
noise), re-exported so stochastic-volatility dynamics simulate like any model.
"""

from sciad.finance import Heston as Heston

from ._base import AbstractSDE as AbstractSDE
from ._bessel import log_bessel_iv as log_bessel_iv, ncx2_log_prob as ncx2_log_prob
from ._brownian import FixedGridBrownianPath as FixedGridBrownianPath
from ._fit import fit as fit
from ._latent import LatentSDE as LatentSDE
from ._likelihood import (
    cir_transition_log_prob as cir_transition_log_prob,
    gbm_transition_log_prob as gbm_transition_log_prob,
    ou_transition_log_prob as ou_transition_log_prob,
    transition_log_likelihood as transition_log_likelihood,
)
from ._losses import (
    energy_distance as energy_distance,
    marginal_moment_loss as marginal_moment_loss,
)
from ._models import (
    CIR as CIR,
    GeometricBrownianMotion as GeometricBrownianMotion,
    OrnsteinUhlenbeck as OrnsteinUhlenbeck,
    StochasticLotkaVolterra as StochasticLotkaVolterra,
)
from ._neural import NeuralSDE as NeuralSDE, lipswish as lipswish
from ._simulate import (
    default_adjoint as default_adjoint,
    default_solver as default_solver,
    simulate as simulate,
    solver_grid as solver_grid,
)

__all__ = [
    "AbstractSDE",
    "CIR",
    "FixedGridBrownianPath",
    "cir_transition_log_prob",
    "energy_distance",
    "fit",
    "gbm_transition_log_prob",
    "log_bessel_iv",
    "marginal_moment_loss",
    "ncx2_log_prob",
    "ou_transition_log_prob",
    "transition_log_likelihood",
    "GeometricBrownianMotion",
    "Heston",
    "LatentSDE",
    "NeuralSDE",
    "OrnsteinUhlenbeck",
    "StochasticLotkaVolterra",
    "default_adjoint",
    "default_solver",
    "lipswish",
    "simulate",
    "solver_grid",
]

"""Inference: model utilities, Predictive, HMC/NUTS and the MCMC driver.

Two helpers edit this file concurrently: keep to your own block and edit it in
place (never rewrite the whole file).
"""

# --- model utilities and Predictive (issue 3) -------------------------------
from .._enum import config_enumerate as config_enumerate, markov as markov
from . import reparam as reparam
from ._infer_discrete import infer_discrete as infer_discrete
from ._init_strategies import (
    init_to_feasible as init_to_feasible,
    init_to_mean as init_to_mean,
    init_to_median as init_to_median,
    init_to_sample as init_to_sample,
    init_to_uniform as init_to_uniform,
    init_to_value as init_to_value,
)
from ._predictive import Predictive as Predictive, log_likelihood as log_likelihood
from .util import (
    ModelInfo as ModelInfo,
    ParamInfo as ParamInfo,
    constrain_fn as constrain_fn,
    initialize_model as initialize_model,
    log_density as log_density,
    potential_energy as potential_energy,
    transform_fn as transform_fn,
    unconstrain_fn as unconstrain_fn,
)

# --- end issue 3 block -------------------------------------------------------

# --- HMC / NUTS / MCMC (issue 4) ---------------------------------------------
# isort: split
from ._adaptation import (
    adaptation_schedule as adaptation_schedule,
    dual_averaging as dual_averaging,
    find_reasonable_step_size as find_reasonable_step_size,
    welford_covariance as welford_covariance,
)
from ._chain import MCMCState as MCMCState
from ._hmc import (
    HMCInfo as HMCInfo,
    HMCState as HMCState,
    SamplingAlgorithm as SamplingAlgorithm,
    build_hmc_kernel as build_hmc_kernel,
    hmc_kernel as hmc_kernel,
)
from ._hoisted_transposes import hoist_data_transposes as hoist_data_transposes
from ._integrators import (
    euclidean_metric as euclidean_metric,
    make_integrator as make_integrator,
    velocity_verlet as velocity_verlet,
)
from ._kernels import HMC as HMC, NUTS as NUTS
from ._mcmc import MCMC as MCMC
from ._mcmc_io import to_arviz as to_arviz
from ._nuts import (
    NUTSInfo as NUTSInfo,
    build_nuts_kernel as build_nuts_kernel,
    nuts_kernel as nuts_kernel,
)
from ._run_checks import SamplingWarning as SamplingWarning
from ._warmup import (
    WarmupState as WarmupState,
    WindowAdaptationState as WindowAdaptationState,
    padded_schedule as padded_schedule,
    window_adaptation as window_adaptation,
)

# --- end issue 4 block -------------------------------------------------------

# --- SVI (session 14) --------------------------------------------------------
# isort: split
from ._elbo import (
    ELBO as ELBO,
    RenyiELBO as RenyiELBO,
    Trace_ELBO as Trace_ELBO,
    TraceEnum_ELBO as TraceEnum_ELBO,
    TraceMeanField_ELBO as TraceMeanField_ELBO,
)
from ._svi import SVI as SVI, SVIRunResult as SVIRunResult, SVIState as SVIState

# --- end SVI block -----------------------------------------------------------

# --- autoguides (session 14) -------------------------------------------------
# isort: split
from .autoguide import (
    AutoContinuous as AutoContinuous,
    AutoDelta as AutoDelta,
    AutoDiagonalNormal as AutoDiagonalNormal,
    AutoGuide as AutoGuide,
    AutoGuideList as AutoGuideList,
    AutoLaplaceApproximation as AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal as AutoLowRankMultivariateNormal,
    AutoMultivariateNormal as AutoMultivariateNormal,
    AutoNormal as AutoNormal,
)

# --- end autoguides block ----------------------------------------------------

"""Probability distributions, constraints and transforms (NumPyro-compatible names).

Import as ``import sciad.probabilistic.distributions as dist``. Every distribution
is an ``eqx.Module`` (a pytree of its parameters), so it passes through ``jit``
and ``vmap``; see :class:`Distribution` for the shared interface.
"""

from . import constraints as constraints, transforms as transforms
from ._base import (
    Distribution as Distribution,
    ExpandedDistribution as ExpandedDistribution,
    Independent as Independent,
    MaskedDistribution as MaskedDistribution,
    enable_validation as enable_validation,
    validation_enabled as validation_enabled,
)
from ._bounded import (
    Beta as Beta,
    Kumaraswamy as Kumaraswamy,
    TruncatedNormal as TruncatedNormal,
    Uniform as Uniform,
)
from ._compound import (
    BetaBinomial as BetaBinomial,
    DirichletMultinomial as DirichletMultinomial,
    ZeroInflatedPoisson as ZeroInflatedPoisson,
)
from ._continuous_real import (
    AsymmetricLaplace as AsymmetricLaplace,
    Cauchy as Cauchy,
    Gumbel as Gumbel,
    Laplace as Laplace,
    Logistic as Logistic,
    Normal as Normal,
    StudentT as StudentT,
)
from ._discrete import (
    Bernoulli as Bernoulli,
    Binomial as Binomial,
    Categorical as Categorical,
    DiscreteUniform as DiscreteUniform,
    Multinomial as Multinomial,
    OrderedLogistic as OrderedLogistic,
    Poisson as Poisson,
)
from ._lkj import LKJCholesky as LKJCholesky
from ._mixture import MixtureSameFamily as MixtureSameFamily
from ._multivariate import (
    Dirichlet as Dirichlet,
    GaussianRandomWalk as GaussianRandomWalk,
    LowRankMultivariateNormal as LowRankMultivariateNormal,
    MultivariateNormal as MultivariateNormal,
)
from ._negative_binomial import (
    GammaPoisson as GammaPoisson,
    NegativeBinomial as NegativeBinomial,
    NegativeBinomial2 as NegativeBinomial2,
)
from ._positive import (
    Chi2 as Chi2,
    Exponential as Exponential,
    Gamma as Gamma,
    HalfCauchy as HalfCauchy,
    HalfNormal as HalfNormal,
    InverseGamma as InverseGamma,
    LogNormal as LogNormal,
    Pareto as Pareto,
    Weibull as Weibull,
)
from ._special import Delta as Delta, ImproperUniform as ImproperUniform, Unit as Unit
from ._transformed import TransformedDistribution as TransformedDistribution
from .transforms import biject_to as biject_to

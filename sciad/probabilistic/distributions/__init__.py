"""Probability distributions, constraints and transforms (NumPyro-compatible names).

Import as ``import sciad.probabilistic.distributions as dist``. Every distribution
is an ``eqx.Module`` (a pytree of its parameters), so it passes through ``jit``
and ``vmap``; see :class:`Distribution` for the shared interface.
"""

from . import (
    _kl_families,  # noqa: F401  (registers the closed forms with `register_kl`)
    constraints as constraints,
    transforms as transforms,
)
from ._aliases import (
    BernoulliLogits as BernoulliLogits,
    BernoulliProbs as BernoulliProbs,
    BinomialLogits as BinomialLogits,
    BinomialProbs as BinomialProbs,
    CategoricalLogits as CategoricalLogits,
    CategoricalProbs as CategoricalProbs,
    GeometricLogits as GeometricLogits,
    GeometricProbs as GeometricProbs,
    MultinomialLogits as MultinomialLogits,
    MultinomialProbs as MultinomialProbs,
    NegativeBinomialLogits as NegativeBinomialLogits,
    NegativeBinomialProbs as NegativeBinomialProbs,
)
from ._base import (
    Distribution as Distribution,
    ExpandedDistribution as ExpandedDistribution,
    Independent as Independent,
    MaskedDistribution as MaskedDistribution,
    enable_validation as enable_validation,
    validation_enabled as validation_enabled,
)
from ._beta_negative_binomial import BetaNegativeBinomial as BetaNegativeBinomial
from ._bounded import (
    Beta as Beta,
    BetaProportion as BetaProportion,
    Kumaraswamy as Kumaraswamy,
    LogUniform as LogUniform,
    TruncatedNormal as TruncatedNormal,
    Uniform as Uniform,
)
from ._censored import (
    LeftCensoredDistribution as LeftCensoredDistribution,
    RightCensoredDistribution as RightCensoredDistribution,
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
from ._directional import VonMises as VonMises
from ._discrete import (
    Bernoulli as Bernoulli,
    Binomial as Binomial,
    Categorical as Categorical,
    DiscreteUniform as DiscreteUniform,
    Geometric as Geometric,
    Multinomial as Multinomial,
    OrderedLogistic as OrderedLogistic,
    Poisson as Poisson,
)
from ._euler_maruyama import EulerMaruyama as EulerMaruyama
from ._folded import FoldedDistribution as FoldedDistribution
from ._gated import (
    HurdleDistribution as HurdleDistribution,
    HurdleGamma as HurdleGamma,
    HurdleLogits as HurdleLogits,
    HurdleLogNormal as HurdleLogNormal,
    HurdleNegativeBinomial2 as HurdleNegativeBinomial2,
    HurdlePoisson as HurdlePoisson,
    HurdleProbs as HurdleProbs,
    ZeroInflatedDistribution as ZeroInflatedDistribution,
    ZeroInflatedLogits as ZeroInflatedLogits,
    ZeroInflatedNegativeBinomial2 as ZeroInflatedNegativeBinomial2,
    ZeroInflatedProbs as ZeroInflatedProbs,
)
from ._gompertz import Gompertz as Gompertz
from ._inverse_wishart import (
    InverseWishart as InverseWishart,
    InverseWishartCholesky as InverseWishartCholesky,
)
from ._kl import kl_divergence as kl_divergence, register_kl as register_kl
from ._laplace_variants import (
    AsymmetricLaplaceQuantile as AsymmetricLaplaceQuantile,
    SoftLaplace as SoftLaplace,
)
from ._levy import Levy as Levy
from ._lkj import LKJ as LKJ, LKJCholesky as LKJCholesky
from ._mixture import (
    Mixture as Mixture,
    MixtureGeneral as MixtureGeneral,
    MixtureSameFamily as MixtureSameFamily,
)
from ._multivariate import (
    Dirichlet as Dirichlet,
    GaussianRandomWalk as GaussianRandomWalk,
    LowRankMultivariateNormal as LowRankMultivariateNormal,
    MultivariateNormal as MultivariateNormal,
)
from ._multivariate_t import MultivariateStudentT as MultivariateStudentT
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
from ._stacked import (
    StackedDistribution as StackedDistribution,
    StackedTransform as StackedTransform,
)
from ._state_space import (
    GaussianStateSpace as GaussianStateSpace,
    RelaxedBernoulli as RelaxedBernoulli,
    RelaxedBernoulliLogits as RelaxedBernoulliLogits,
)
from ._transformed import TransformedDistribution as TransformedDistribution
from ._truncated import (
    LeftTruncatedDistribution as LeftTruncatedDistribution,
    RightTruncatedDistribution as RightTruncatedDistribution,
    TruncatedCauchy as TruncatedCauchy,
    TruncatedDistribution as TruncatedDistribution,
    TwoSidedTruncatedDistribution as TwoSidedTruncatedDistribution,
)
from ._wishart import Wishart as Wishart, WishartCholesky as WishartCholesky
from ._zero_sum import ZeroSumNormal as ZeroSumNormal
from .transforms import biject_to as biject_to

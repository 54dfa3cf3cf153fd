"""sciad: differentiable scientific simulation on JAX.

The core AD toolkit lives at the top level; domains live in subpackages:
``sciad.physics`` (ray tracing, SDEs), ``sciad.quantum``, ``sciad.finance`` and
``sciad.probabilistic`` (effect handlers, distributions, NUTS).
"""

from ._ad import hvp as hvp, jacobian as jacobian, wirtinger_grad as wirtinger_grad
from ._calibrate import calibrate as calibrate, calibration_model as calibration_model
from ._calibration_result import (
    CalibrationResult as CalibrationResult,
    CalibrationWarning as CalibrationWarning,
)
from ._checkpoint import checkpointed_scan as checkpointed_scan
from ._gradcheck import check_grads as check_grads

__version__ = "0.1.0"

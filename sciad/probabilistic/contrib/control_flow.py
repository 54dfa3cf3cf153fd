"""Control flow with sample sites inside (NumPyro's `numpyro.contrib.control_flow`)."""

from .._cond import cond as cond
from .._scan import scan as scan

__all__ = ["cond", "scan"]

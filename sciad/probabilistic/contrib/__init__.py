"""NumPyro's `contrib` paths (`contrib.control_flow.scan`)."""

from . import control_flow as control_flow

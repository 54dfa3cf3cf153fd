"""sciad: differentiable scientific simulation on JAX."""

__version__ = "0.1.0"

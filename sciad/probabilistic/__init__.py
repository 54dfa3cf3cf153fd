"""Probabilistic programming on JAX (NumPyro-compatible)."""

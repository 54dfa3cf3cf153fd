"""Differentiable option pricing."""

"""Differentiable quantum circuits."""

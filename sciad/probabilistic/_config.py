"""Process-level JAX settings under NumPyro's names, so ported scripts run unchanged."""

import os

import jax

__all__ = ["enable_x64", "set_host_device_count", "set_platform"]


def enable_x64(use_x64: bool = True) -> None:
    """Turn float64 on (or off) for JAX."""
    jax.config.update("jax_enable_x64", bool(use_x64))


def set_platform(platform: str | None = None) -> None:
    """Choose the JAX backend (``"cpu"``, ``"gpu"``, ``"tpu"``); default CPU."""
    jax.config.update("jax_platform_name", platform or "cpu")


def set_host_device_count(n: int) -> None:
    """Expose ``n`` virtual CPU devices; only effective before JAX initialises."""
    flags = os.environ.get("XLA_FLAGS", "")
    flags = " ".join(
        f for f in flags.split() if "xla_force_host_platform_device_count" not in f
    )
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_force_host_platform_device_count={int(n)}".strip()
    )

"""Test configuration shared by the whole suite.

* Four virtual CPU devices, so sharded code paths (`chain_method="parallel"`,
  sharded Monte Carlo, tiled rendering) are exercised on one CPU. The flag must
  be set before JAX initialises its backend, hence at import time here.
* float64 everywhere: finite-difference oracles need it. float32 behaviour is
  checked by tests that pass explicit float32 inputs.
"""

import os

os.environ.setdefault("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " --xla_force_host_platform_device_count=4"
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def getkey():
    """Return a function producing fresh, deterministic PRNG keys for one test."""
    key = jr.key(0)

    def _getkey():
        nonlocal key
        key, sub = jr.split(key)
        return sub

    return _getkey

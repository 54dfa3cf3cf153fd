"""Cheap derived PRNG keys for the compiled chain program.

Every `jax.random.split`/`fold_in` call site compiles to its own threefry
loop on CPU, about 0.05-0.1 s of XLA compile time each, which is a sizeable
part of a small model's first call. Where a program only needs *another*
key that differs from one it already has, it XORs the key data with a
constant instead (an integer op): threefry is a keyed pseudo-random function,
so streams under keys that differ in known bits are as unrelated as under
split keys.
"""

import jax
import jax.numpy as jnp
import jax.random as jr


def derived_key(key, salt):
    """A key that differs from `key` in every word, one per `salt`.

    `key` is a typed key (`jax.random.key`) or raw `uint32` key data
    (`jax.random.PRNGKey`); `salt` may be traced. The key data are XORed with
    a bijective hash of the salt, so derivations compose by XOR:
    `derived_key(derived_key(k, a), a) == k`. A program deriving in two
    stages therefore uses disjoint salts per stage.
    """
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    data = jr.key_data(key) if typed else key
    # one hash word per key word (so the words are not all shifted alike)
    n = data.shape[-1]
    x = jnp.asarray(salt, jnp.uint32) * jnp.uint32(n) + jnp.arange(n, dtype=jnp.uint32)
    x = (x ^ (x >> 16)) * jnp.uint32(0x7FEB352D)  # lowbias32: a bijection
    x = (x ^ (x >> 15)) * jnp.uint32(0x846CA68B)
    data = data ^ (x ^ (x >> 16))
    return jr.wrap_key_data(data, impl=jr.key_impl(key)) if typed else data

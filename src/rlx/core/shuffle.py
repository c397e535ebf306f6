"""Random permutations for minibatch shuffling."""

from __future__ import annotations

import jax
import jax.numpy as jnp

PACKED_MAX_BITS = 12  # up to 4096 items, the key keeps at least 20 random bits


def permutations(key: jax.Array, num: int, n: int) -> jax.Array:
    """``num`` independent random permutations of ``0..n-1``: ``[num, n]`` int32.

    The order of i.i.d. uniform keys is a uniform permutation. For ``n ≤ 4096``
    each item's index is packed into the low ``b = ⌈log₂ n⌉`` bits of its 32-bit
    key, so one single-operand sort gives the permutation (``key & (2ᵇ − 1)``):
    on XLA's CPU backend about 3× faster than ``argsort``'s key-value sort (PPO's
    4 × 2048 shuffles: 0.5 ms against 1.5 ms). Items whose ``32 − b ≥ 20`` random
    bits tie keep their index order, a negligible bias (about one tied pair per
    permutation of 2048). Larger ``n`` use ``argsort``.
    """
    if num < 1 or n < 1:
        raise ValueError(f"permutations needs num >= 1 and n >= 1, got num={num}, n={n}")
    bits = jax.random.bits(key, (num, n))
    b = max(1, (n - 1).bit_length())
    if b > PACKED_MAX_BITS:
        return jnp.argsort(bits, axis=-1).astype(jnp.int32)
    mask = jnp.uint32((1 << b) - 1)
    packed = (bits & ~mask) | jnp.arange(n, dtype=jnp.uint32)
    return (jax.lax.sort(packed, dimension=1, is_stable=False) & mask).astype(jnp.int32)

"""Observation and action spaces: shape, dtype, bounds, number of actions."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Discrete(NamedTuple):
    """Integer actions ``0 .. n-1``."""

    n: int
    shape: tuple = ()
    dtype: object = jnp.int32

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, self.shape, 0, self.n, dtype=self.dtype)

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all((x >= 0) & (x < self.n)))


class Box(NamedTuple):
    """A box ``low <= x <= high`` (bounds broadcast to ``shape``; may be ±inf)."""

    low: np.ndarray
    high: np.ndarray
    shape: tuple
    dtype: object = jnp.float32

    def sample(self, key: jax.Array) -> jax.Array:
        low = np.broadcast_to(np.asarray(self.low, np.float32), self.shape)
        high = np.broadcast_to(np.asarray(self.high, np.float32), self.shape)
        low = np.where(np.isfinite(low), low, -1.0)
        high = np.where(np.isfinite(high), high, 1.0)
        if jnp.issubdtype(self.dtype, jnp.integer):  # e.g. uint8 pixels: both bounds included
            return jax.random.randint(key, self.shape, low.astype(np.int64), high.astype(np.int64) + 1, self.dtype)
        return jax.random.uniform(key, self.shape, self.dtype, low, high)

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all((x >= self.low) & (x <= self.high)))


Space = Discrete | Box


def box(low, high, shape=None, dtype=jnp.float32) -> Box:
    low, high = np.asarray(low, np.float32), np.asarray(high, np.float32)
    shape = tuple(shape) if shape is not None else np.broadcast_shapes(low.shape, high.shape)
    return Box(np.broadcast_to(low, shape), np.broadcast_to(high, shape), shape, dtype)

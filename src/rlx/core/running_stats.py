"""Running mean and variance (Chan et al. parallel update), for observation normalisation."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class RunningStats(NamedTuple):
    mean: jax.Array
    var: jax.Array
    count: jax.Array


def init(shape) -> RunningStats:
    return RunningStats(jnp.zeros(shape), jnp.ones(shape), jnp.asarray(1e-4))


def update(stats: RunningStats, batch: jax.Array) -> RunningStats:
    """Merge a batch ``[N, *shape]`` (see ``update_moments``)."""
    batch = batch.reshape((-1,) + stats.mean.shape)
    return update_moments(stats, batch.shape[0], jnp.mean(batch, 0), jnp.var(batch, 0))


def update_moments(stats: RunningStats, n_b, mean_b, var_b) -> RunningStats:
    """Merge ``n_b`` samples of mean ``mean_b`` and variance ``var_b``: with δ = m_b − m,
    n = n_a + n_b, m' = m + δ n_b / n and M2' = v n_a + v_b n_b + δ² n_a n_b / n."""
    n = stats.count + n_b
    delta = mean_b - stats.mean
    mean = stats.mean + delta * n_b / n
    m2 = stats.var * stats.count + var_b * n_b + delta**2 * stats.count * n_b / n
    return RunningStats(mean, m2 / n, n)


def normalize(stats: RunningStats, x: jax.Array, clip: float = 10.0) -> jax.Array:
    """(x - mean) / sqrt(var + 1e-8), clipped to ±clip."""
    return jnp.clip((x - stats.mean) / jnp.sqrt(stats.var + 1e-8), -clip, clip)

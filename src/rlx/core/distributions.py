"""Action distributions as small pure functions over their parameters.

Categorical over logits and diagonal Gaussian over (mean, log_std). The
Gaussian's samples are pre-squash; ``squash`` maps them into the action box
(clip or tanh). PPO stores the pre-squash sample, so its likelihood ratio is
exact (the tanh Jacobian cancels in the ratio).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LOG_2PI = math.log(2 * math.pi)


def categorical_log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
    """log π(a) = logits_a - logsumexp(logits)."""
    logp = jax.nn.log_softmax(logits)
    return jnp.take_along_axis(logp, action[..., None].astype(jnp.int32), axis=-1)[..., 0]


def categorical_entropy(logits: jax.Array) -> jax.Array:
    """H = -Σ_a π(a) log π(a)."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


def categorical_sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    return jax.random.categorical(key, logits).astype(jnp.int32)


def categorical_sample_gumbel(logits: jax.Array, gumbel: jax.Array) -> jax.Array:
    """Gumbel-max: ``argmax(logits + g)`` with ``g ~ Gumbel(0, 1)`` i.i.d. (same shape as
    ``logits``) is a sample of ``softmax(logits)``. Lets a rollout draw its noise up front."""
    return jnp.argmax(logits + gumbel, axis=-1).astype(jnp.int32)


def categorical_mode(logits: jax.Array) -> jax.Array:
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def gaussian_log_prob(mean: jax.Array, log_std: jax.Array, x: jax.Array) -> jax.Array:
    """log N(x; μ, diag σ²) = -½ Σ_i [((x_i-μ_i)/σ_i)² + 2 log σ_i + log 2π]."""
    z = (x - mean) * jnp.exp(-log_std)
    return -0.5 * jnp.sum(z**2 + 2 * log_std + LOG_2PI, axis=-1)


def gaussian_entropy(log_std: jax.Array) -> jax.Array:
    """H = Σ_i (log σ_i + ½ log 2πe)."""
    return jnp.sum(log_std + 0.5 * (LOG_2PI + 1.0), axis=-1)


def gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    return gaussian_sample_noise(mean, log_std, jax.random.normal(key, mean.shape, mean.dtype))


def gaussian_sample_noise(mean: jax.Array, log_std: jax.Array, eps: jax.Array) -> jax.Array:
    """``μ + σ ε`` for standard normal ``ε`` drawn beforehand."""
    return mean + jnp.exp(log_std) * eps


def squash(x: jax.Array, low: jax.Array, high: jax.Array, kind: str) -> jax.Array:
    """Map a pre-squash Gaussian sample into [low, high]: ``clip`` or ``tanh`` (rescaled)."""
    if kind == "clip":
        return jnp.clip(x, low, high)
    if kind == "tanh":
        return low + (jnp.tanh(x) + 1.0) * 0.5 * (high - low)
    raise ValueError(f"unknown squash {kind!r}: use 'clip' or 'tanh'")

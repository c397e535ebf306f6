"""Policy-gradient and value losses (means over the batch)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def policy_gradient_loss(logp: jax.Array, advantages: jax.Array) -> jax.Array:
    """Score-function surrogate: -E[log π(a|s) · A] (A treated as a constant)."""
    chex.assert_equal_shape([logp, advantages])
    return -jnp.mean(logp * jax.lax.stop_gradient(advantages))


def ppo_clip_loss(
    logp: jax.Array, old_logp: jax.Array, advantages: jax.Array, eps: float | jax.Array
) -> tuple[jax.Array, jax.Array]:
    """PPO's clipped surrogate -E[min(ρA, clip(ρ, 1-ε, 1+ε)A)], ρ = exp(log π - log π_old).
    Returns (loss, fraction of samples with |ρ - 1| > ε)."""
    chex.assert_equal_shape([logp, old_logp, advantages])
    ratio = jnp.exp(logp - old_logp)
    clipped = jnp.clip(ratio, 1.0 - eps, 1.0 + eps)
    loss = -jnp.mean(jnp.minimum(ratio * advantages, clipped * advantages))
    return loss, jnp.mean((jnp.abs(ratio - 1.0) > eps).astype(jnp.float32))


def value_loss(
    values: jax.Array, targets: jax.Array, old_values: jax.Array | None = None,
    clip: float | jax.Array | None = None,
) -> jax.Array:
    """½ E[(V - target)²]; with ``clip``, PPO's pessimistic
    ½ E[max((V - target)², (V_old + clip(V - V_old, ±clip) - target)²)]."""
    chex.assert_equal_shape([values, targets])
    loss = jnp.square(values - targets)
    if clip is not None:
        v_clip = old_values + jnp.clip(values - old_values, -clip, clip)
        loss = jnp.maximum(loss, jnp.square(v_clip - targets))
    return 0.5 * jnp.mean(loss)


def normalize_advantages(adv: jax.Array) -> jax.Array:
    """(A - mean A) / (std A + 1e-8)."""
    return (adv - adv.mean()) / (adv.std() + 1e-8)

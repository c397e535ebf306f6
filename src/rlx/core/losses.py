"""Policy-gradient, value and distributional-TD losses."""

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


def categorical_projection(probs: jax.Array, reward: jax.Array, discount: jax.Array,
                           support: jax.Array) -> jax.Array:
    """C51's target (Bellemare et al. 2017): the distribution of ``r + d·Z``, ``Z`` with masses
    ``probs [B, K]`` on ``support [K]`` (evenly spaced), projected back onto the support.
    Atom ``j`` lands at ``b_j = (clip(r + d z_j, z_0, z_{K−1}) − z_0) / Δz`` and is split
    between its two neighbours in proportion to closeness: ``m_i = Σ_j p_j max(0, 1 − |b_j − i|)``
    (scatter-added to ``⌊b_j⌋`` and ``⌊b_j⌋ + 1``: O(B·K))."""
    chex.assert_rank([probs, reward, discount, support], [2, 1, 1, 1])
    k = support.shape[0]
    v_min, v_max = support[0], support[-1]
    tz = jnp.clip(reward[:, None] + discount[:, None] * support[None, :], v_min, v_max)
    b = (tz - v_min) / ((v_max - v_min) / (k - 1))  # [B, K]
    lower = jnp.clip(jnp.floor(b), 0, k - 1)
    w_upper = b - lower  # in [0, 1); the lower neighbour gets 1 − w_upper (all of it when b is an atom)
    rows = jnp.arange(b.shape[0])[:, None]
    lo, hi = lower.astype(jnp.int32), jnp.minimum(lower + 1, k - 1).astype(jnp.int32)
    m = jnp.zeros_like(probs).at[rows, lo].add(probs * (1.0 - w_upper))
    return m.at[rows, hi].add(probs * w_upper)

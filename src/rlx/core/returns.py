"""Returns and advantages over time-major trajectories ``[T, ...]``.

Conventions: ``discounts[t] = γ·(1 - terminated[t])`` (zero past a true
terminal state) and ``dones[t] = terminated[t] | truncated[t]`` (the episode
ended at step t, so nothing after it flows back). ``next_values[t]`` is
``V(s_{t+1})`` of the *same* episode: at a truncation it is the value of the
final observation, which is what makes time limits bootstrap correctly.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    discounts: jax.Array,
    dones: jax.Array,
    lam: float | jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation (Schulman et al., 2016).

    δ_t = r_t + discounts_t · V'_t - V_t;  A_t = δ_t + discounts_t · λ · (1 - dones_t) · A_{t+1}.
    Returns ``(advantages, value_targets = advantages + values)``. λ=1 gives
    Monte Carlo reward-to-go minus V; λ=0 the one-step TD error.
    """
    chex.assert_equal_shape([rewards, values, next_values, discounts, dones])
    deltas = rewards + discounts * next_values - values
    carry_on = discounts * lam * (1.0 - dones.astype(rewards.dtype))

    def body(acc, x):
        delta, c = x
        acc = delta + c * acc
        return acc, acc

    _, adv = jax.lax.scan(body, jnp.zeros_like(rewards[0]), (deltas, carry_on), reverse=True)
    return adv, adv + values


def discounted_returns(
    rewards: jax.Array, discounts: jax.Array, dones: jax.Array, bootstrap: jax.Array
) -> jax.Array:
    """Reward-to-go G_t = r_t + discounts_t · G_{t+1}, restarting where ``dones``;
    ``bootstrap`` is the value after the last step (``G_T``)."""
    chex.assert_equal_shape([rewards, discounts, dones])
    carry_on = discounts * (1.0 - dones.astype(rewards.dtype))

    def body(g, x):
        r, c = x
        g = r + c * g
        return g, g

    _, out = jax.lax.scan(body, bootstrap, (rewards, carry_on), reverse=True)
    return out

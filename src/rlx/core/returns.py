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
    adv = reverse_linear_recurrence(deltas, carry_on, jnp.zeros_like(rewards[0]))
    return adv, adv + values


def discounted_returns(
    rewards: jax.Array, discounts: jax.Array, dones: jax.Array, bootstrap: jax.Array
) -> jax.Array:
    """Reward-to-go G_t = r_t + discounts_t · G_{t+1}, restarting where ``dones``;
    ``bootstrap`` is the value after the last step (``G_T``)."""
    chex.assert_equal_shape([rewards, discounts, dones])
    carry_on = discounts * (1.0 - dones.astype(rewards.dtype))
    return reverse_linear_recurrence(rewards, carry_on, bootstrap)


def reverse_linear_recurrence(a: jax.Array, c: jax.Array, last: jax.Array) -> jax.Array:
    """``y_t = a_t + c_t · y_{t+1}`` for ``t = T-1 … 0`` with ``y_T = last``, over the
    leading axis of ``a, c [T, ...]``.

    Each step is the affine map ``f_t(y) = a_t + c_t y``; their compositions
    ``f_t ∘ … ∘ f_{T-1} = (A_t, C_t)`` come from ``lax.associative_scan`` in
    ``log₂ T`` vectorised rounds (``(a, c) ∘ (a', c') = (a + c a', c c')``), and
    ``y_t = A_t + C_t · last``. On the CPU a sequential scan runs several small
    kernels per step; this runs a few per round.
    """
    chex.assert_equal_shape([a, c])

    def compose(later, earlier):  # associative_scan(reverse=True) folds from the end
        c_l, a_l = later
        c_e, a_e = earlier
        return c_e * c_l, a_e + c_e * a_l

    C, A = jax.lax.associative_scan(compose, (c, a), reverse=True)
    return A + C * last

"""A circular replay buffer in pure JAX that stores every observation once.

Vectorised environments write one time slot per step: slot ``t`` holds, for each
of the ``num_envs`` streams, the observation ``o_t`` the agent acted on and the
transition's action, reward and ``terminated``/``truncated`` flags. The next
observation of slot ``t`` is the observation stored in slot ``t + 1`` of the
same stream (modulo the capacity), so observations are not duplicated:
``capacity × num_envs`` transitions cost one copy of their observations (uint8
frames stay uint8).

Where an episode ended at ``t`` the next slot holds the first observation of the
next episode. For a termination that is harmless (no bootstrap). For a
truncation the true final observation is not stored, so ``sample`` marks those
transitions invalid (``valid = False``; weight them out of the loss), as it does
the newest slot, whose successor is not written yet.

The buffer is a pytree: it lives in the train state, is updated functionally and
donated through the runner's compiled chunks, so it is never copied.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Replay(NamedTuple):
    obs: jax.Array  # [capacity, num_envs, *obs_shape]
    action: jax.Array  # [capacity, num_envs, *action_shape]
    reward: jax.Array  # [capacity, num_envs]
    terminated: jax.Array  # [capacity, num_envs] bool
    truncated: jax.Array  # [capacity, num_envs] bool
    ptr: jax.Array  # the next slot to write
    size: jax.Array  # filled slots (≤ capacity)


class Sample(NamedTuple):
    obs: jax.Array
    action: jax.Array
    reward: jax.Array  # n-step return Σ_{k<m} γ^k r_{t+k} (m ≤ n steps, fewer where the episode ended)
    terminated: jax.Array  # the episode terminated within those m steps
    discount: jax.Array  # γ^m, or 0 where it terminated: the target is reward + discount · V(next_obs)
    next_obs: jax.Array  # the observation m steps on
    valid: jax.Array  # False where the next observation is unknown (truncation, not written yet)
    index: jax.Array  # [batch, 2] (slot, stream)


def init(capacity: int, num_envs: int, obs_example: jax.Array, action_example: jax.Array) -> Replay:
    """An empty buffer of ``capacity`` time slots for ``num_envs`` streams, with the
    dtypes and per-step shapes of the examples (one environment's obs and action)."""
    if capacity < 2:
        raise ValueError(f"a replay buffer needs at least 2 time slots, got capacity={capacity}")
    obs_example, action_example = jnp.asarray(obs_example), jnp.asarray(action_example)
    return Replay(
        obs=jnp.zeros((capacity, num_envs) + obs_example.shape, obs_example.dtype),
        action=jnp.zeros((capacity, num_envs) + action_example.shape, action_example.dtype),
        reward=jnp.zeros((capacity, num_envs), jnp.float32),
        terminated=jnp.zeros((capacity, num_envs), bool),
        truncated=jnp.zeros((capacity, num_envs), bool),
        ptr=jnp.zeros((), jnp.int32),
        size=jnp.zeros((), jnp.int32),
    )


def add(buf: Replay, obs, action, reward, terminated, truncated) -> Replay:
    """Write one time slot: ``obs [num_envs, ...]`` is what the agent acted on."""
    t = buf.ptr
    capacity = buf.obs.shape[0]
    return Replay(
        obs=buf.obs.at[t].set(obs.astype(buf.obs.dtype)),
        action=buf.action.at[t].set(action.astype(buf.action.dtype)),
        reward=buf.reward.at[t].set(reward.astype(jnp.float32)),
        terminated=buf.terminated.at[t].set(terminated),
        truncated=buf.truncated.at[t].set(truncated),
        ptr=(t + 1) % capacity,
        size=jnp.minimum(buf.size + 1, capacity),
    )


def draw_uniform(buf: Replay, key, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """(slots, streams) of ``batch_size`` transitions drawn uniformly, with replacement,
    from the filled slots and all streams."""
    capacity, num_envs = buf.obs.shape[:2]
    k_t, k_e = jax.random.split(key)
    oldest = jnp.where(buf.size == capacity, buf.ptr, 0)
    t = (oldest + jax.random.randint(k_t, (batch_size,), 0, jnp.maximum(buf.size, 1))) % capacity
    return t, jax.random.randint(k_e, (batch_size,), 0, num_envs)


def gather(buf: Replay, t: jax.Array, e: jax.Array, n: int = 1, gamma=1.0) -> Sample:
    """The ``n``-step transitions starting at slots ``t`` of streams ``e``.

    Rewards are summed over ``m = n`` slots, or up to and including the slot where
    the episode ended; the next observation is slot ``t + m``'s. A truncation
    inside the window, or a window that runs past the newest slot, makes the
    transition invalid (its next observation is not stored / not written yet).
    """
    capacity = buf.obs.shape[0]
    oldest = jnp.where(buf.size == capacity, buf.ptr, 0)
    age = (t - oldest) % capacity  # 0 = oldest, size − 1 = newest
    k = jnp.arange(n)
    slots = (t[:, None] + k) % capacity  # [B, n]
    known = age[:, None] + k <= buf.size - 1
    term = buf.terminated[slots, e[:, None]] & known
    trunc = buf.truncated[slots, e[:, None]] & known
    ended = term | trunc
    alive = jnp.cumsum(ended, axis=1) - ended == 0  # no end before step k
    reward = jnp.sum(jnp.where(alive & known, gamma ** k * buf.reward[slots, e[:, None]], 0.0), axis=1)
    m = jnp.where(ended.any(axis=1), jnp.argmax(ended, axis=1) + 1, n)
    terminal = jnp.any(alive & term, axis=1)
    truncated = jnp.any(alive & trunc & ~term, axis=1)
    valid = (buf.size > 1) & ~truncated & (terminal | (age + m <= buf.size - 1))
    discount = jnp.where(terminal, 0.0, gamma ** m.astype(jnp.float32))
    return Sample(buf.obs[t, e], buf.action[t, e], reward, terminal, discount, buf.obs[(t + m) % capacity, e],
                  valid, jnp.stack([t, e], axis=1))


def sample(buf: Replay, key, batch_size: int, n: int = 1, gamma=1.0) -> Sample:
    """``batch_size`` uniformly drawn ``n``-step transitions (``draw_uniform`` + ``gather``)."""
    t, e = draw_uniform(buf, key, batch_size)
    return gather(buf, t, e, n, gamma)

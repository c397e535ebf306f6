"""Trajectories of discrete-time systems ``x_{t+1} = f(x_t, u_t, t)`` and their cost.

The conventions every planner in ``rlx.control`` shares:

* ``dynamics(x [n], u [m], t) -> x' [n]`` and ``cost(x [n], u [m], t) -> scalar`` are
  plain JAX functions of one state, one control and the integer step ``t``.
* A horizon-``T`` plan is ``U [T, m]``; its trajectory is ``X [T + 1, n]`` with
  ``X[0] = x0``; its objective is ``J = Σ_{t<T} cost(X[t], U[t], t) + cost(X[T], 0, T)``
  (the terminal cost is the stage cost called with zero control at ``t = T``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def rollout(dynamics, x0: jax.Array, U: jax.Array) -> jax.Array:
    """``X [T + 1, n]`` with ``X[0] = x0`` and ``X[t + 1] = dynamics(X[t], U[t], t)``."""
    def step(x, tu):
        t, u = tu
        x_next = dynamics(x, u, t)
        return x_next, x_next

    T = U.shape[0]
    _, xs = jax.lax.scan(step, x0, (jnp.arange(T), U))
    return jnp.concatenate([x0[None], xs], axis=0)


def trajectory_cost(cost, X: jax.Array, U: jax.Array) -> jax.Array:
    """``J = Σ_{t<T} cost(X[t], U[t], t) + cost(X[T], 0, T)``."""
    T = U.shape[0]
    stage = jax.vmap(cost)(X[:-1], U, jnp.arange(T))
    return stage.sum() + cost(X[-1], jnp.zeros_like(U[0]), T)

"""Policy evaluation: vmapped full episodes, inside one compiled program."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rlx.envs import TimeLimit


def episode_limit(env) -> int:
    """The time limit of a ``TimeLimit``-wrapped environment (as ``rlx.make`` builds them)."""
    e = env
    while e is not None:
        if isinstance(e, TimeLimit):
            return e.max_steps
        e = getattr(e, "env", None)
    raise ValueError(f"{env!r} has no TimeLimit: wrap it with rlx.envs.TimeLimit to evaluate it")


def evaluate(act, policy_params, env, env_params, key, episodes: int, deterministic: bool = True):
    """Undiscounted returns ``[episodes]`` of ``act`` run to each episode's end.

    ``act(policy_params, obs, key, deterministic)`` acts on one observation. Every
    episode runs for the environment's time limit; rewards after an episode ends
    are masked out.
    """
    max_steps = episode_limit(env)

    def one_episode(k):
        k_reset, k_run = jax.random.split(k)
        state, ts = env.reset(k_reset, env_params)

        def body(carry, k_t):
            state, obs, ret, alive = carry
            k_act, k_env = jax.random.split(k_t)
            action = act(policy_params, obs, k_act, deterministic)
            state, ts = env.step(k_env, state, action, env_params)
            ret = ret + jnp.where(alive, ts.reward, 0.0)
            alive = alive & ~ts.done
            return (state, ts.obs, ret, alive), None

        init = (state, ts.obs, jnp.zeros((), jnp.float32), jnp.ones((), bool))
        (_, _, ret, _), _ = jax.lax.scan(body, init, jax.random.split(k_run, max_steps))
        return ret

    return jax.vmap(one_episode)(jax.random.split(key, episodes))

"""The functional environment API.

    env, params = rlx.make("CartPole-v1")
    state, ts = env.reset(key, params)
    state, ts = env.step(key, state, action, params)

``params`` is a pytree of physics constants (vmappable); ``state`` is a pytree;
every method is a pure function, so environments ``jit``, ``vmap`` and ``scan``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rlx.envs.spaces import Space


class TimeStep(NamedTuple):
    """What a step returns. ``terminated``: a true terminal state (no bootstrap);
    ``truncated``: cut by a time limit (bootstrap from the final observation)."""

    obs: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict

    @property
    def done(self) -> jax.Array:
        return jnp.logical_or(self.terminated, self.truncated)


class Environment:
    """Base class. Subclasses implement ``default_params``, ``reset``, ``step``
    and the two spaces. Instances hold only static configuration."""

    name: str = "Environment"

    def default_params(self) -> Any:
        raise NotImplementedError

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, TimeStep]:
        raise NotImplementedError

    def step(self, key: jax.Array, state: Any, action: Any, params: Any) -> tuple[Any, TimeStep]:
        raise NotImplementedError

    def observation_space(self, params: Any) -> Space:
        raise NotImplementedError

    def action_space(self, params: Any) -> Space:
        raise NotImplementedError

    def reward_from_obs(self, obs, action, next_obs, params) -> tuple[jax.Array, jax.Array]:
        """``(reward, terminated)`` of the transition ``obs --action--> next_obs`` read off the
        observations alone: what a planner on a learned model (``rlx.algos.mbrl``) scores
        predicted transitions with. Tasks whose reward is a function of their observations
        define it; the others raise ``NotImplementedError``."""
        raise NotImplementedError(f"{self.name} does not define reward_from_obs")

    @property
    def unwrapped(self) -> "Environment":
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


def _initial_timestep(obs) -> TimeStep:
    false = jnp.zeros((), bool)
    return TimeStep(obs, jnp.zeros((), jnp.float32), false, false, {})


class Wrapper(Environment):
    """Forwards everything to ``env``; subclasses override what they change."""

    def __init__(self, env: Environment):
        self.env = env

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.env.name

    def default_params(self):
        return self.env.default_params()

    def reset(self, key, params):
        return self.env.reset(key, params)

    def step(self, key, state, action, params):
        return self.env.step(key, state, action, params)

    def observation_space(self, params):
        return self.env.observation_space(params)

    def action_space(self, params):
        return self.env.action_space(params)

    @property
    def unwrapped(self) -> Environment:
        return self.env.unwrapped

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.env!r}>"


class TimeLimitState(NamedTuple):
    env_state: Any
    t: jax.Array


class TimeLimit(Wrapper):
    """``truncated = t >= max_steps`` (as gymnasium's TimeLimit: independent of
    ``terminated``, so both may be true on the same step)."""

    def __init__(self, env: Environment, max_steps: int):
        super().__init__(env)
        if max_steps <= 0:
            raise ValueError(f"max_steps must be positive, got {max_steps}")
        self.max_steps = int(max_steps)

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        return TimeLimitState(state, jnp.zeros((), jnp.int32)), ts

    def step(self, key, state, action, params):
        env_state, ts = self.env.step(key, state.env_state, action, params)
        t = state.t + 1
        truncated = jnp.logical_or(ts.truncated, t >= self.max_steps)
        return TimeLimitState(env_state, t), ts._replace(truncated=truncated)


class AutoReset(Wrapper):
    """Resets an ended episode within the same step.

    The returned ``obs`` is the first observation of the new episode; the last
    observation of the ended one is in ``info["final_obs"]`` (equal to ``obs``
    when the episode did not end), for bootstrapping on truncation. ``reward``,
    ``terminated`` and ``truncated`` are those of the step taken.
    """

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        return state, ts._replace(info={**ts.info, "final_obs": ts.obs})

    def step(self, key, state, action, params):
        # = split(key) (with JAX's default partitionable Threefry, split(key)[i] is
        # fold_in(key, i)), written as two fold-ins so that a step that ignores its key
        # (most tasks) leaves its hash dead and XLA drops it
        key_step, key_reset = jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)
        state_step, ts = self.env.step(key_step, state, action, params)
        state_reset, ts_reset = self.env.reset(key_reset, params)
        done = ts.done
        pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(done, x, y), a, b)
        state = pick(state_reset, state_step)
        obs = pick(ts_reset.obs, ts.obs)
        return state, ts._replace(obs=obs, info={**ts.info, "final_obs": ts.obs})


class EpisodeStatsState(NamedTuple):
    env_state: Any
    episode_return: jax.Array  # running return of the current episode
    episode_length: jax.Array
    last_return: jax.Array  # return of the most recently completed episode
    last_length: jax.Array
    episodes: jax.Array  # number of completed episodes


class EpisodeStats(Wrapper):
    """Undiscounted return and length of completed episodes, in ``info``:
    ``episode_return``/``episode_length`` (latest completed episode),
    ``episodes`` (count so far) and ``episode_done`` (this step ended one).
    The return sums ``info["raw_reward"]`` when a wrapper inside set it (``ClipReward``:
    the unclipped reward), else ``reward``."""

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        zero_f, zero_i = jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32)
        stats = EpisodeStatsState(state, zero_f, zero_i, zero_f, zero_i, zero_i)
        return stats, ts._replace(info={**ts.info, **self._info(stats, jnp.zeros((), bool))})

    def step(self, key, state, action, params):
        env_state, ts = self.env.step(key, state.env_state, action, params)
        done = ts.done
        ret = state.episode_return + jnp.asarray(ts.info.get("raw_reward", ts.reward), jnp.float32)
        length = state.episode_length + 1
        state = EpisodeStatsState(
            env_state,
            jnp.where(done, 0.0, ret),
            jnp.where(done, 0, length),
            jnp.where(done, ret, state.last_return),
            jnp.where(done, length, state.last_length),
            state.episodes + done.astype(jnp.int32),
        )
        return state, ts._replace(info={**ts.info, **self._info(state, done)})

    @staticmethod
    def _info(s: EpisodeStatsState, done) -> dict:
        return {
            "episode_return": s.last_return,
            "episode_length": s.last_length,
            "episodes": s.episodes,
            "episode_done": done,
        }


class DRState(NamedTuple):
    env_state: Any
    params: Any  # this episode's parameters


class DomainRandomization(Wrapper):
    """Every episode runs on parameters ``sample(key, params)`` drawn at its reset and kept in the
    state, so each of a batch of environments has its own (``params`` is the nominal centre).
    Put ``AutoReset`` outside it (as ``for_training`` does) so that every episode draws anew; the
    spaces are those of the nominal ``params``.
    Samplers: ``scale_fields`` for dataclass parameters (classic control),
    ``rlx.envs.mujoco_tasks.physics_sampler`` for MJX physics."""

    def __init__(self, env: Environment, sample):
        super().__init__(env)
        self.sample = sample

    def reset(self, key, params):
        k_params, k_env = jax.random.split(key)
        episode_params = self.sample(k_params, params)
        state, ts = self.env.reset(k_env, episode_params)
        return DRState(state, episode_params), ts

    def step(self, key, state, action, params):
        env_state, ts = self.env.step(key, state.env_state, action, state.params)
        return DRState(env_state, state.params), ts


def scale_fields(**ranges: float):
    """A ``DomainRandomization`` sampler for dataclass parameters: each named field ``f`` is
    multiplied by ``U(1 − r, 1 + r)`` (``scale_fields(m=0.5, l=0.2)`` for Pendulum's mass and length)."""
    for name, r in ranges.items():
        if not 0 <= r < 1:
            raise ValueError(f"scale_fields({name}={r}): the relative range must lie in [0, 1)")

    def sample(key, params):
        missing = [n for n in ranges if not hasattr(params, n)]
        if missing:
            raise ValueError(f"{type(params).__name__} has no field {missing[0]!r} to randomise")
        keys = jax.random.split(key, max(len(ranges), 1))
        new = {n: getattr(params, n) * jax.random.uniform(k, (), jnp.float32, 1 - r, 1 + r)
               for k, (n, r) in zip(keys, ranges.items())}
        return dataclasses.replace(params, **new)

    return sample


def episode_metrics(stats: EpisodeStatsState) -> dict:
    """Mean return and length of each batch env's latest completed episode (envs that
    have not finished one yet are left out; 0 when none has)."""
    finished = stats.episodes > 0
    n_finished = jnp.maximum(finished.sum(), 1)
    return dict(episode_return=jnp.sum(jnp.where(finished, stats.last_return, 0.0)) / n_finished,
                episode_length=jnp.sum(jnp.where(finished, stats.last_length, 0)) / n_finished)


def for_training(env: Environment) -> Environment:
    """The wrappers every learner uses: auto-reset inside, episode statistics outside."""
    return EpisodeStats(AutoReset(env))

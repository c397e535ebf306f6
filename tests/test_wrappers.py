"""The wrappers in ``rlx.envs.core`` and the registry's error for unknown names."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.core import AutoReset, Environment, EpisodeStats, TimeLimit, TimeStep, for_training
from rlx.envs.registry import UnknownEnvironmentError

KEY = jax.random.key(0)


@pytree_dataclass
class CounterParams:
    terminate_at: int = 3  # the counter value at which the episode terminates


class Counter(Environment):
    """state = steps taken; reward = the action; terminates when state == terminate_at."""

    name = "Counter"

    def default_params(self):
        return CounterParams()

    def reset(self, key, params):
        state = jnp.zeros((), jnp.int32)
        false = jnp.zeros((), bool)
        return state, TimeStep(state, jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, state, action, params):
        state = state + 1
        ts = TimeStep(
            state,
            jnp.asarray(action, jnp.float32),
            state == params.terminate_at,
            jnp.zeros((), bool),
            {},
        )
        return state, ts

    def observation_space(self, params):
        return spaces.box(0, np.inf, ())

    def action_space(self, params):
        return spaces.Discrete(2)


def _rollout(env, params, actions, key=KEY):
    """Run ``env`` from reset over ``actions`` (jitted step); returns the list of
    (state, timestep) pairs after each step (on the host)."""
    key, k = jax.random.split(key)
    state, _ = env.reset(k, params)
    step = jax.jit(env.step)
    out = []
    for a in actions:
        key, k = jax.random.split(key)
        state, ts = step(k, state, jnp.asarray(a), params)
        out.append(jax.device_get((state, ts)))
    return out


# ----------------------------------------------------------------------------- TimeLimit


def test_time_limit_truncates_exactly_at_max_steps():
    env = TimeLimit(Counter(), max_steps=4)
    out = _rollout(env, CounterParams(terminate_at=100), [0] * 6)
    truncated = [bool(ts.truncated) for _, ts in out]
    # TimeLimit does not reset: past the limit it keeps reporting truncation
    assert truncated == [False, False, False, True, True, True]
    assert [int(s.t) for s, _ in out] == [1, 2, 3, 4, 5, 6]
    assert not any(bool(ts.terminated) for _, ts in out)


@pytest.mark.parametrize("terminate_at", [2, 4])
def test_time_limit_terminated_and_truncated_are_independent(terminate_at):
    env = TimeLimit(Counter(), max_steps=4)
    out = _rollout(env, CounterParams(terminate_at=terminate_at), [0] * 4)
    terminated = [bool(ts.terminated) for _, ts in out]
    truncated = [bool(ts.truncated) for _, ts in out]
    assert terminated == [i + 1 == terminate_at for i in range(4)]
    assert truncated == [False, False, False, True]  # both true at step 4 when terminate_at == 4
    if terminate_at == 4:
        assert bool(out[-1][1].terminated) and bool(out[-1][1].truncated)
        assert bool(out[-1][1].done)


def test_time_limit_keeps_inner_truncation_and_rejects_bad_limits():
    class Truncating(Counter):
        def step(self, key, state, action, params):
            state, ts = super().step(key, state, action, params)
            return state, ts._replace(truncated=state == 2)

    out = _rollout(TimeLimit(Truncating(), 10), CounterParams(terminate_at=100), [0] * 3)
    assert [bool(ts.truncated) for _, ts in out] == [False, True, False]
    for bad in [0, -1]:
        with pytest.raises(ValueError):
            TimeLimit(Counter(), bad)


def test_make_applies_the_time_limit():
    env, params = rlx.make("CartPole-v1")
    assert isinstance(env, TimeLimit) and env.max_steps == 500
    state, _ = env.reset(KEY, params)
    step = jax.jit(env.step)
    state = state._replace(t=jnp.int32(498))
    state, ts = step(KEY, state, jnp.int32(0), params)
    assert not bool(ts.truncated)
    state, ts = step(KEY, state, jnp.int32(1), params)
    assert bool(ts.truncated) and int(state.t) == 500


# ----------------------------------------------------------------------------- AutoReset


def test_auto_reset_final_obs_is_terminal_obs_and_obs_is_a_reset_obs():
    env, params = rlx.make("CartPole-v1")
    wrapped = AutoReset(env)
    key = jax.random.key(3)
    state, ts = wrapped.reset(key, params)
    np.testing.assert_array_equal(ts.info["final_obs"], ts.obs)
    step = jax.jit(wrapped.step)
    inner_step = jax.jit(env.step)
    ends = 0
    for i in range(200):
        key, k = jax.random.split(key)
        action = jnp.int32(1)  # always push right: the pole falls in a few dozen steps
        # what the inner environment does from the same state (CartPole ignores the key)
        _, inner = inner_step(k, state, action, params)
        state, ts = step(k, state, action, params)
        np.testing.assert_array_equal(ts.info["final_obs"], inner.obs)
        assert bool(ts.terminated) == bool(inner.terminated)
        assert float(ts.reward) == float(inner.reward) == 1.0
        if bool(ts.done):
            ends += 1
            assert bool(ts.terminated) and not bool(ts.truncated)
            # final_obs: the terminal observation, outside the termination bounds
            final = np.asarray(ts.info["final_obs"])
            assert abs(final[0]) > 2.4 or abs(final[2]) > 12 * 2 * np.pi / 360
            # obs: a fresh episode's first observation, and the state restarted with it
            obs = np.asarray(ts.obs)
            assert np.all(np.abs(obs) <= 0.05)
            np.testing.assert_array_equal(np.asarray(state.env_state), obs)
            assert int(state.t) == 0
        else:
            np.testing.assert_array_equal(ts.obs, ts.info["final_obs"])
    assert ends >= 3


def test_auto_reset_on_truncation_keeps_final_obs():
    env = AutoReset(TimeLimit(Counter(), max_steps=3))
    out = _rollout(env, CounterParams(terminate_at=100), [1] * 7)
    final = [int(ts.info["final_obs"]) for _, ts in out]
    obs = [int(ts.obs) for _, ts in out]
    assert final == [1, 2, 3, 1, 2, 3, 1]
    assert obs == [1, 2, 0, 1, 2, 0, 1]
    assert [bool(ts.truncated) for _, ts in out] == [False, False, True] * 2 + [False]


# ----------------------------------------------------------------------------- EpisodeStats


def _cartpole_steps_to_fall(state, action=1) -> int:
    """Hand computation (float64 numpy, the textbook Euler equations): steps of a
    constant action until CartPole terminates."""
    x, x_dot, theta, theta_dot = np.asarray(state, np.float64)
    g, mc, mp, half_len, tau = 9.8, 1.0, 0.1, 0.5, 0.02
    force = 10.0 if action == 1 else -10.0
    for n in range(1, 1000):
        temp = (force + mp * half_len * theta_dot**2 * np.sin(theta)) / (mc + mp)
        theta_acc = (g * np.sin(theta) - np.cos(theta) * temp) / (
            half_len * (4 / 3 - mp * np.cos(theta) ** 2 / (mc + mp))
        )
        x_acc = temp - mp * half_len * theta_acc * np.cos(theta) / (mc + mp)
        x, x_dot = x + tau * x_dot, x_dot + tau * x_acc
        theta, theta_dot = theta + tau * theta_dot, theta_dot + tau * theta_acc
        if abs(x) > 2.4 or abs(theta) > 12 * 2 * np.pi / 360:
            return n
    raise AssertionError("never fell")


def test_episode_stats_cartpole_fixed_actions():
    """Always pushing right: each episode lasts until the pole falls; reward is 1 per
    step including the terminal one, so return == length. The expected lengths are
    hand-computed from each episode's start state."""
    env, params = rlx.make("CartPole-v1")
    wrapped = for_training(env)  # EpisodeStats(AutoReset(TimeLimit(CartPole)))
    key = jax.random.key(7)
    state, ts = wrapped.reset(key, params)
    assert int(ts.info["episodes"]) == 0 and not bool(ts.info["episode_done"])
    step = jax.jit(wrapped.step)
    expected = [_cartpole_steps_to_fall(state.env_state.env_state)]
    completed, steps = 0, 0
    while completed < 4:
        key, k = jax.random.split(key)
        state, ts = step(k, state, jnp.int32(1), params)
        steps += 1
        if bool(ts.done):
            completed += 1
            assert steps == expected[-1]
            assert bool(ts.info["episode_done"])
            assert int(ts.info["episode_length"]) == expected[-1]
            assert float(ts.info["episode_return"]) == float(expected[-1])
            assert int(ts.info["episodes"]) == completed
            expected.append(_cartpole_steps_to_fall(state.env_state.env_state))  # the new episode
            steps = 0
        else:
            # between episode ends: the latest completed episode, and the running totals
            assert not bool(ts.info["episode_done"])
            last = expected[-2] if completed else 0
            assert int(ts.info["episode_length"]) == last
            assert float(ts.info["episode_return"]) == float(last)
            assert int(state.episode_length) == steps and float(state.episode_return) == steps
        assert steps < 100
    assert all(5 <= n <= 15 for n in expected), expected  # pushed over in ~10 steps


def test_episode_stats_time_limit_hand_computed():
    """Counter env with reward = action and a 5-step limit: returns are sums of actions."""
    actions = [1, 0, 1, 1, 0] + [1, 1, 1, 1, 1] + [0, 1]
    env = EpisodeStats(AutoReset(TimeLimit(Counter(), max_steps=5)))
    out = _rollout(env, CounterParams(terminate_at=100), actions)
    info = [ts.info for _, ts in out]
    done = [False] * 4 + [True] + [False] * 4 + [True] + [False] * 2
    assert [bool(i["episode_done"]) for i in info] == done
    assert [int(i["episodes"]) for i in info] == [0] * 4 + [1] * 5 + [2] * 3
    assert float(info[4]["episode_return"]) == 3.0 and int(info[4]["episode_length"]) == 5
    assert float(info[9]["episode_return"]) == 5.0 and int(info[9]["episode_length"]) == 5
    assert float(info[11]["episode_return"]) == 5.0  # still the latest completed one
    state = out[-1][0]
    assert float(state.episode_return) == 1.0 and int(state.episode_length) == 2


def test_episode_stats_terminations_with_float_rewards():
    """Pendulum (float rewards) with a 3-step limit: the return is the sum of the rewards."""
    env, params = rlx.make("Pendulum-v1")
    wrapped = EpisodeStats(AutoReset(TimeLimit(env.unwrapped, 3)))
    out = _rollout(wrapped, params, [np.array([0.5], np.float32)] * 6)
    rewards = [float(ts.reward) for _, ts in out]
    for end in (2, 5):
        info = out[end][1].info
        assert bool(info["episode_done"]) and int(info["episode_length"]) == 3
        expected = sum(rewards[end - 2 : end + 1])
        np.testing.assert_allclose(float(info["episode_return"]), expected, rtol=1e-6)


def test_episode_stats_vmaps():
    env, params = rlx.make("CartPole-v1")
    wrapped = for_training(env)
    keys = jax.random.split(KEY, 8)
    state, _ = jax.vmap(wrapped.reset, in_axes=(0, None))(keys, params)
    step = jax.jit(jax.vmap(wrapped.step, in_axes=(0, 0, 0, None)))
    for _ in range(40):
        state, ts = step(keys, state, jnp.ones(8, jnp.int32), params)
    assert ts.info["episodes"].shape == (8,)
    assert (np.asarray(ts.info["episodes"]) >= 2).all()


# ----------------------------------------------------------------------------- registry


def test_unknown_environment_suggests_close_names():
    with pytest.raises(UnknownEnvironmentError, match="CartPole-v1"):
        rlx.make("CartPol")
    assert issubclass(UnknownEnvironmentError, ValueError)
    with pytest.raises(UnknownEnvironmentError):
        rlx.make("NoSuchThing-v0")


def test_all_classic_control_tasks_registered():
    names = rlx.envs.registered()
    for name in [
        "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"
    ]:
        assert name in names
    limits = {n: rlx.envs.spec(n).max_steps for n in names}
    assert limits["Acrobot-v1"] == 500 and limits["MountainCar-v0"] == 200
    assert limits["MountainCarContinuous-v0"] == 999 and limits["Pendulum-v1"] == 200

"""rlx's classic-control tasks against gymnasium 1.x, step for step.

For every task gymnasium is driven over several episodes (alternating random
actions and a simple controller, so that the recorded steps include
terminations *and* time-limit truncations), and rlx is driven over the same
actions from the same start states: ``rlx.make(name)`` (so rlx's own
``TimeLimit``) stepped inside one jitted ``lax.scan``. Each step's
observation (within 1e-4), reward, ``terminated`` and ``truncated`` must equal
gymnasium's.

rlx computes in float32, gymnasium in float64, so two comparisons are made:

* one-step (``test_one_step_matches_gymnasium``): before every step rlx's
  environment state is re-synchronised from gymnasium's internal state
  (``env.unwrapped.state``, cast to float32), over the whole long sequence.
  rlx's time-limit counter is never copied: it is reset with the episode and
  counts by itself.
* free-running (``test_trajectory_matches_gymnasium``): rlx carries its own
  state; it is set from gymnasium's only at each episode start and, for the
  tasks where float32 rounding is amplified by the dynamics, every
  ``resync_every`` steps:

  ======================== ============ ===============================================
  task                     resync_every why
  ======================== ============ ===============================================
  CartPole-v1              50           the balanced pole is an unstable equilibrium:
                                        float32 error grows ~e^(0.1 t): 1e-4 after ~140
  Acrobot-v1               20           chaotic once swinging up (1e-4 after ~1700
                                        steps here, but with no margin)
  MountainCar-v0           never        stable: whole episodes stay within ~5e-7
  MountainCarContinuous-v0 never        stable: whole episodes stay within ~5e-6
  Pendulum-v1              10           unstable upright equilibrium (e-folds every ~5
                                        steps); 1e-4 after ~110 steps
  ======================== ============ ===============================================

The largest observation errors seen: one-step ~1e-6 (Pendulum ~6e-6: θ is
never wrapped, so a spinning pendulum reaches |θ| ~ 80 where float32 spacing
is ~8e-6), free-running ~4e-5.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.core.pytree import replace
from rlx.envs import spaces
from rlx.envs.core import TimeLimitState

gym = pytest.importorskip("gymnasium")

OBS_ATOL = 1e-4


# ----------------------------------------------------------------------------- tasks


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    random_action: Callable  # rng -> action
    controller: Callable  # (obs, rng) -> action
    episodes: int  # alternating random, controller, random, ...
    resync_every: int | None  # free-running comparison; None: only at episode starts
    terminates: bool  # whether some recorded episode must end by termination
    gravity_field: str  # a params field to vmap over
    reset_low: tuple  # gymnasium's reset distribution: U(low, high) per state component
    reset_high: tuple


def _cartpole_controller(obs, rng):
    if rng.random() < 0.1:  # some noise, still balances for 500 steps
        return int(rng.integers(2))
    x, x_dot, theta, theta_dot = obs
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.05 * x_dot > 0)


def _acrobot_controller(obs, rng):
    # torque along the second joint's velocity pumps energy: reaches the goal in ~100 steps
    return 2 if obs[5] > 0 else 0


def _mountain_car_controller(obs, rng):
    return 2 if obs[1] >= 0 else 0  # push along the velocity


def _mountain_car_continuous_controller(obs, rng):
    # magnitudes up to 1.5: out-of-bounds actions exercise the clip (and the raw-action cost)
    return (np.sign(obs[1] + 1e-9) * rng.uniform(0.5, 1.5, (1,))).astype(np.float32)


def _pendulum_controller(obs, rng):
    return np.array([2.5 * np.sign(obs[2] + 1e-9)], np.float32)  # spins up (clipped to 2)


TASKS = {
    t.name: t
    for t in [
        Task(
            "CartPole-v1",
            lambda rng: int(rng.integers(2)),
            _cartpole_controller,
            episodes=8,
            resync_every=50,
            terminates=True,
            gravity_field="gravity",
            reset_low=(-0.05,) * 4,
            reset_high=(0.05,) * 4,
        ),
        Task(
            "Acrobot-v1",
            lambda rng: int(rng.integers(3)),
            _acrobot_controller,
            episodes=6,
            resync_every=20,
            terminates=True,
            gravity_field="gravity",
            reset_low=(-0.1,) * 4,
            reset_high=(0.1,) * 4,
        ),
        Task(
            "MountainCar-v0",
            lambda rng: int(rng.integers(3)),
            _mountain_car_controller,
            episodes=10,
            resync_every=None,
            terminates=True,
            gravity_field="gravity",
            reset_low=(-0.6, 0.0),
            reset_high=(-0.4, 0.0),
        ),
        Task(
            "MountainCarContinuous-v0",
            lambda rng: rng.uniform(-1.5, 1.5, (1,)).astype(np.float32),
            _mountain_car_continuous_controller,
            episodes=6,
            resync_every=None,
            terminates=True,
            gravity_field="gravity",
            reset_low=(-0.6, 0.0),
            reset_high=(-0.4, 0.0),
        ),
        Task(
            "Pendulum-v1",
            lambda rng: rng.uniform(-3.0, 3.0, (1,)).astype(np.float32),
            _pendulum_controller,
            episodes=10,
            resync_every=10,
            terminates=False,
            gravity_field="g",
            reset_low=(-np.pi, -1.0),
            reset_high=(np.pi, 1.0),
        ),
    ]
}
NAMES = list(TASKS)


def _gym_state(env) -> np.ndarray:
    return np.asarray(env.unwrapped.state, np.float64).astype(np.float32)


@dataclasses.dataclass
class Rollout:
    """gymnasium's side: for step i, the state and time before it, its action,
    and what gymnasium returned."""

    state: np.ndarray
    next_state: np.ndarray  # gymnasium's internal state after step i
    t: np.ndarray
    first: np.ndarray  # step i is the first of an episode
    action: np.ndarray
    obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    max_steps: int


@functools.cache
def gym_rollout(name: str) -> Rollout:
    task = TASKS[name]
    env = gym.make(name)
    rng = np.random.default_rng(0)
    keys = ["state", "next_state", "t", "first", "action", "obs", "reward", "term", "trunc"]
    rec = {k: [] for k in keys}
    for episode in range(task.episodes):
        obs, _ = env.reset(seed=1000 + episode)
        t, done = 0, False
        while not done:
            if episode % 2 == 0:
                action = task.random_action(rng)
            else:
                action = task.controller(obs, rng)
            rec["state"].append(_gym_state(env))
            rec["t"].append(t)
            rec["first"].append(t == 0)
            rec["action"].append(action)
            obs, reward, terminated, truncated, _ = env.step(action)
            rec["next_state"].append(_gym_state(env))
            t += 1
            assert env._elapsed_steps == t  # gymnasium's TimeLimit is the outer wrapper
            rec["obs"].append(obs)
            rec["reward"].append(reward)
            rec["term"].append(terminated)
            rec["trunc"].append(truncated)
            done = terminated or truncated
    env.close()
    return Rollout(
        np.stack(rec["state"]),
        np.stack(rec["next_state"]),
        np.asarray(rec["t"], np.int32),
        np.asarray(rec["first"]),
        np.asarray(rec["action"]),
        np.stack(rec["obs"]),
        np.asarray(rec["reward"], np.float64),
        np.asarray(rec["term"]),
        np.asarray(rec["trunc"]),
        env.spec.max_episode_steps,
    )


@functools.cache
def rlx_runner(name: str):
    """One jitted scan of ``rlx.make(name)``'s step (time limit included) per task.

    Before step i: the environment state is replaced by gymnasium's where
    ``resync[i]``; the time-limit counter restarts at 0 where ``first[i]``."""
    env, params = rlx.make(name)
    key = jax.random.key(0)  # the tasks are deterministic

    @jax.jit
    def run(gym_states, first, resync, actions):
        def body(state, x):
            gym_state, first_i, resync_i, action = x
            state = TimeLimitState(
                jnp.where(resync_i, gym_state, state.env_state), jnp.where(first_i, 0, state.t)
            )
            state, ts = env.step(key, state, action, params)
            return state, (state.env_state, ts.obs, ts.reward, ts.terminated, ts.truncated)

        init = TimeLimitState(gym_states[0], jnp.zeros((), jnp.int32))
        _, out = jax.lax.scan(body, init, (gym_states, first, resync, actions))
        return out

    return run


def _compare(name: str, resync: np.ndarray) -> float:
    ro = gym_rollout(name)
    state, obs, reward, terminated, truncated = jax.device_get(
        rlx_runner(name)(ro.state, ro.first, resync, ro.action)
    )
    assert obs.dtype == np.float32 and reward.dtype == np.float32
    # rlx's state has gymnasium's layout (so wrapping/clipping of hidden angles is checked too)
    np.testing.assert_allclose(state, ro.next_state, rtol=1e-5, atol=OBS_ATOL, err_msg=name)
    err = np.abs(obs - ro.obs).max(axis=-1)
    bad = np.flatnonzero(err > OBS_ATOL)
    assert bad.size == 0, f"{name}: obs differ first at step {bad[0]} (error {err[bad[0]]:.2e})"
    np.testing.assert_allclose(reward, ro.reward, rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(terminated, ro.terminated, err_msg=name)
    np.testing.assert_array_equal(truncated, ro.truncated, err_msg=name)
    return float(err.max())


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", NAMES)
def test_recorded_rollouts_cover_episode_ends(name):
    """The comparisons below are only meaningful if they include both kinds of episode end."""
    ro = gym_rollout(name)
    task = TASKS[name]
    assert len(ro.t) >= 900
    limit = ro.truncated & (ro.t + 1 == ro.max_steps)
    assert limit.sum() >= 1, "no episode reached the time limit"
    assert np.array_equal(ro.truncated, ro.t + 1 == ro.max_steps)
    if task.terminates:
        assert ro.terminated.sum() >= 1, "no episode terminated"
    else:
        assert not ro.terminated.any()


@pytest.mark.parametrize("name", NAMES)
def test_one_step_matches_gymnasium(name):
    """Every step from gymnasium's own (float32-cast) state: one-step exactness."""
    ro = gym_rollout(name)
    _compare(name, np.ones_like(ro.first))


@pytest.mark.parametrize("name", NAMES)
def test_trajectory_matches_gymnasium(name):
    """rlx runs on its own state from each episode's start (resync_every: see the module doc)."""
    ro = gym_rollout(name)
    every = TASKS[name].resync_every
    resync = ro.first if every is None else ro.first | (ro.t % every == 0)
    _compare(name, resync)


def _uniform(low, high):
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    return lambda rng, n: rng.uniform(low, high, (n, len(low)))


def _mountain_car_states(rng, n):
    s = _uniform([-1.2, -0.07], [0.6, 0.07])(rng, n)
    s[: n // 8, 0] = -1.2  # at the left wall
    s[n // 8 : n // 4, 0] = rng.uniform(0.4, 0.6, n // 8)  # at the goal, either direction
    return s


# Broad state ranges for single steps: they reach what episodes rarely do (velocity
# bounds, the walls, terminal regions, angle wrapping from anywhere).
ANY_STATE = {
    "CartPole-v1": _uniform([-2.4, -3.0, -0.21, -3.0], [2.4, 3.0, 0.21, 3.0]),
    # 3/4 of the velocity bounds: steps still hit both bounds (~200 and ~70 of 2000), while at
    # the very bounds one RK4 step over dt = 0.2 is so ill-conditioned that float32 differs
    # from float64 by up to ~1e-3 in θ̇2 (relative 1e-4); no episode gets there.
    "Acrobot-v1": _uniform(
        [-np.pi, -np.pi, -3 * np.pi, -6.75 * np.pi], [np.pi, np.pi, 3 * np.pi, 6.75 * np.pi]
    ),
    "MountainCar-v0": _mountain_car_states,
    "MountainCarContinuous-v0": _mountain_car_states,
    "Pendulum-v1": _uniform([-20.0, -8.0], [20.0, 8.0]),
}


@pytest.mark.parametrize("name", NAMES)
def test_one_step_from_any_state_matches_gymnasium(name):
    n = 2000
    rng = np.random.default_rng(5)
    states = ANY_STATE[name](rng, n).astype(np.float32)
    actions = np.stack([np.asarray(TASKS[name].random_action(rng)) for _ in range(n)])
    genv = gym.make(name).unwrapped
    genv.reset(seed=0)
    g = {k: [] for k in ["obs", "reward", "term", "state"]}
    for state, action in zip(states, actions):
        genv.state = state.astype(np.float64)
        if hasattr(genv, "steps_beyond_terminated"):  # CartPole: else 0 reward after a termination
            genv.steps_beyond_terminated = None
        action = action[()] if action.ndim == 0 else action  # a numpy scalar for Discrete
        obs, reward, terminated, truncated, _ = genv.step(action)
        assert not truncated
        for k, v in zip(g, [obs, reward, terminated, _gym_state(genv)]):
            g[k].append(v)
    genv.close()
    env, params = rlx.make(name)
    base = env.unwrapped
    step = jax.jit(jax.vmap(base.step, in_axes=(None, 0, 0, None)))
    state, ts = jax.device_get(step(jax.random.key(0), states, actions, params))
    np.testing.assert_allclose(ts.obs, np.stack(g["obs"]), atol=OBS_ATOL, rtol=0)
    np.testing.assert_allclose(state, np.stack(g["state"]), atol=OBS_ATOL, rtol=1e-5)
    np.testing.assert_allclose(ts.reward, np.asarray(g["reward"]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ts.terminated, np.asarray(g["term"]))
    assert not ts.truncated.any()
    if TASKS[name].terminates:
        assert 0 < np.sum(g["term"]) < n


@pytest.mark.parametrize("name", NAMES)
def test_spaces_match_gymnasium(name):
    env, params = rlx.make(name)
    genv = gym.make(name)
    for ours, theirs in [
        (env.observation_space(params), genv.observation_space),
        (env.action_space(params), genv.action_space),
    ]:
        if isinstance(theirs, gym.spaces.Discrete):
            assert isinstance(ours, spaces.Discrete)
            assert ours.n == theirs.n and int(theirs.start) == 0
            assert ours.shape == ()
        else:
            assert isinstance(ours, spaces.Box)
            assert ours.shape == theirs.shape
            assert theirs.dtype == np.float32 and np.dtype(ours.dtype) == np.float32
            np.testing.assert_array_equal(np.asarray(ours.low, np.float32), theirs.low)
            np.testing.assert_array_equal(np.asarray(ours.high, np.float32), theirs.high)
    genv.close()


@pytest.mark.parametrize("name", NAMES)
def test_reset_distribution(name):
    task = TASKS[name]
    env, params = rlx.make(name)
    n = 4096
    keys = jax.random.split(jax.random.key(1), n)
    state, ts = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    s = np.asarray(state.env_state)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(state.t), 0)
    assert ts.obs.dtype == jnp.float32 and ts.obs.shape == (n, *env.observation_space(params).shape)
    assert not np.asarray(ts.terminated).any() and not np.asarray(ts.truncated).any()
    np.testing.assert_array_equal(np.asarray(ts.reward), 0.0)
    assert ts.reward.dtype == jnp.float32
    obs_space = env.observation_space(params)
    assert all(obs_space.contains(o) for o in np.asarray(ts.obs[:64]))

    low, high = np.asarray(task.reset_low), np.asarray(task.reset_high)
    assert s.shape == (n, len(low))
    width = high - low
    assert (s >= low.astype(np.float32)).all() and (s <= high.astype(np.float32)).all()
    np.testing.assert_allclose(s.mean(0), (low + high) / 2, atol=0.03 * width.max())
    np.testing.assert_allclose(s.std(0), width / np.sqrt(12), rtol=0.05, atol=1e-7)
    np.testing.assert_allclose(s.min(0), low, atol=0.01 * width.max())
    np.testing.assert_allclose(s.max(0), high, atol=0.01 * width.max())

    # the table above is gymnasium's distribution: its start states lie in the same bounds
    genv = gym.make(name)
    g = []
    for seed in range(200):
        genv.reset(seed=seed)
        g.append(_gym_state(genv))
    g = np.stack(g)
    assert (g >= low.astype(np.float32)).all() and (g <= high.astype(np.float32)).all()
    np.testing.assert_allclose(g.std(0), width / np.sqrt(12), rtol=0.2, atol=1e-7)
    genv.close()


@pytest.mark.parametrize("name", NAMES)
def test_params_are_vmappable(name):
    field = TASKS[name].gravity_field
    env, params = rlx.make(name)
    other = replace(params, **{field: getattr(params, field) * 1.5})
    batched = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), params, other)
    ro = gym_rollout(name)
    i = int(np.flatnonzero(ro.first)[1]) + 5  # a mid-episode state
    state = TimeLimitState(jnp.asarray(ro.state[i]), jnp.asarray(ro.t[i]))
    action = ro.action[i]
    key = jax.random.key(0)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, None, None, 0)))
    _, ts = step(key, state, action, batched)
    obs = np.asarray(ts.obs)
    assert not np.allclose(obs[0], obs[1]), "gravity had no effect"
    for k, p in enumerate([params, other]):
        _, single = jax.jit(env.step)(key, state, action, p)
        np.testing.assert_allclose(obs[k], np.asarray(single.obs), rtol=1e-6, atol=1e-7)


def test_pendulum_gravity_matches_gymnasium_kwarg():
    """``params.g`` is gymnasium's ``g`` argument (vmapped over two values)."""
    env, params = rlx.make("Pendulum-v1")
    gs = [10.0, 4.0]
    batched = jax.tree_util.tree_map(
        lambda a, b: jnp.stack([a, b]), params, replace(params, g=gs[1])
    )
    step = jax.jit(jax.vmap(env.step, in_axes=(None, None, None, 0)))
    rng = np.random.default_rng(3)
    for g_index, g in enumerate(gs):
        genv = gym.make("Pendulum-v1", g=g)
        genv.reset(seed=7)
        for _ in range(30):
            state = TimeLimitState(jnp.asarray(_gym_state(genv)), jnp.zeros((), jnp.int32))
            action = rng.uniform(-2.0, 2.0, (1,)).astype(np.float32)
            _, ts = step(jax.random.key(0), state, action, batched)
            gobs, greward, *_ = genv.step(action)
            np.testing.assert_allclose(np.asarray(ts.obs[g_index]), gobs, atol=OBS_ATOL)
            np.testing.assert_allclose(float(ts.reward[g_index]), greward, rtol=1e-5)
        genv.close()


@pytest.mark.parametrize("name", NAMES)
def test_unwrapped_step_types(name):
    """Discrete actions are int scalars, continuous ones shape-(1,) float arrays;
    the environment itself never truncates; info is empty."""
    env, params = rlx.make(name)
    base = env.unwrapped
    state, _ = base.reset(jax.random.key(0), params)
    action = base.action_space(params).sample(jax.random.key(1))
    if isinstance(base.action_space(params), spaces.Discrete):
        assert action.shape == () and jnp.issubdtype(action.dtype, jnp.integer)
    else:
        assert action.shape == (1,) and action.dtype == jnp.float32
    _, ts = jax.jit(base.step)(jax.random.key(2), state, action, params)
    assert ts.obs.dtype == jnp.float32
    assert ts.reward.shape == () and ts.reward.dtype == jnp.float32
    assert ts.terminated.shape == () and ts.terminated.dtype == jnp.bool_
    assert ts.truncated.shape == () and not bool(ts.truncated)
    assert ts.info == {}


def test_cartpole_swing_up_shares_cartpole_physics():
    """a = ±1 is CartPole-v1's ±10 N push; the pole starts hanging; reward ½(1 + cos θ);
    only leaving the track terminates; 500 steps."""
    from rlx.envs import registry
    from rlx.envs.classic_control import CartPole, CartPoleParams, CartPoleSwingUp

    swing, balance, p = CartPoleSwingUp(), CartPole(), CartPoleParams()
    key = jax.random.key(0)
    s, ts = swing.reset(key, p)
    assert abs(float(s[2]) - np.pi) <= 0.05 + 1e-6 and float(jnp.abs(s.at[2].set(0)).max()) <= 0.05
    np.testing.assert_allclose(ts.obs, [s[0], s[1], np.cos(s[2]), np.sin(s[2]), s[3]], rtol=1e-6)
    for a, push in ((1.0, 1), (-1.0, 0)):
        s2, ts = swing.step(key, s, jnp.array([a]), p)
        np.testing.assert_array_equal(s2, balance.step(key, s, push, p)[0])
        np.testing.assert_allclose(float(ts.reward), 0.5 * (1 + np.cos(float(s2[2]))), atol=1e-7)
        assert not bool(ts.terminated)  # the hanging pole is far past CartPole-v1's 12°
    _, ts = swing.step(key, jnp.array([2.39, 1.0, np.pi, 0.0]), jnp.array([1.0]), p)
    assert bool(ts.terminated)
    assert registry.spec("CartPoleSwingUp-v0").max_steps == 500

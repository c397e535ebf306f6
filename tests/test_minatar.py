"""MinAtar Breakout and SpaceInvaders against the reference ``minatar`` package: from the
same state and actions, the boards, rewards and terminations agree step for step;
sticky actions; DQN on the boards."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.envs.minatar import (Asterix, AsterixParams, Breakout, BreakoutState, Freeway, FreewayState, SpaceInvaders, SpaceInvadersParams,
                               SpaceInvadersState)
from rlx.envs.pixels import StickyActions

minatar_breakout = pytest.importorskip("minatar.environments.breakout")
minatar_invaders = pytest.importorskip("minatar.environments.space_invaders")
minatar_freeway = pytest.importorskip("minatar.environments.freeway")
minatar_asterix = pytest.importorskip("minatar.environments.asterix")

FULL_ACTIONS = (0, 1, 3)  # rlx's no-op, left, right in MinAtar's full action set


def from_reference(ref) -> BreakoutState:
    i = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    return BreakoutState(i(ref.ball_x), i(ref.ball_y), i(ref.ball_dir), i(ref.pos), i(ref.last_x),
                         i(ref.last_y), jnp.asarray(ref.brick_map == 1), jnp.asarray(ref.strike))


def landing_column(ref) -> int:
    """Where the ball would reach the bottom row if nothing but the walls deflected it
    (a wall repeats the edge cell: the path folds with period 20)."""
    dx = 1 if ref.ball_dir in (1, 2) else -1
    steps = 9 - ref.ball_y if ref.ball_dir in (2, 3) else ref.ball_y + 9
    p = (ref.ball_x + dx * steps) % 20
    return p if p < 10 else 19 - p


def test_breakout_matches_the_reference_step_for_step():
    env = Breakout()
    step = jax.jit(lambda s, a: env.step(jax.random.key(0), s, a, None))
    rng = np.random.default_rng(0)
    steps = rewards = episodes = refills = 0
    for seed in range(16):
        ref = minatar_breakout.Env()
        ref.random = np.random.RandomState(seed)
        ref.reset()
        if seed % 2:  # a few bricks left, so that clearing them (and the refill) happens
            ref.brick_map[1:4, :] = rng.random((3, 10)) < 0.1
        s = from_reference(ref)
        for t in range(1000):
            target = landing_column(ref) if rng.random() < 0.9 else int(rng.integers(10))
            a = 1 if target < ref.pos else 2 if target > ref.pos else 0  # rlx: 0 no-op, 1 left, 2 right
            before = ref.brick_map.sum()
            r_ref, done_ref = ref.act(FULL_ACTIONS[a])
            s, ts = step(s, a)
            np.testing.assert_array_equal(np.asarray(ts.obs, bool), ref.state(), err_msg=f"seed {seed} step {t}")
            assert float(ts.reward) == r_ref and bool(ts.terminated) == done_ref
            steps, rewards, refills = steps + 1, rewards + r_ref, refills + int(ref.brick_map.sum() > before)
            if done_ref:
                episodes += 1
                break
    # measured: 2098 steps, 34 bricks, 15 episodes, 2 refills: every rule was exercised
    assert steps > 1500 and rewards > 20 and episodes >= 3 and refills >= 1, (steps, rewards, episodes, refills)


def invaders_from_reference(ref) -> SpaceInvadersState:
    i = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    b = lambda m: jnp.asarray(m == 1)  # noqa: E731
    return SpaceInvadersState(i(ref.pos), b(ref.alien_map), b(ref.f_bullet_map), b(ref.e_bullet_map),
                              i(ref.alien_dir), i(ref.enemy_move_interval), i(ref.alien_move_timer),
                              i(ref.alien_shot_timer), i(ref.shot_timer), i(ref.ramp_index))


def test_space_invaders_matches_the_reference_step_for_step():
    env, params = SpaceInvaders(), SpaceInvadersParams()
    step = jax.jit(lambda s, a: env.step(jax.random.key(0), s, a, params))
    s0, ts0 = env.reset(jax.random.key(0), params)
    ref = minatar_invaders.Env()
    np.testing.assert_array_equal(np.asarray(ts0.obs, bool), ref.state())  # the reset is deterministic
    rng = np.random.default_rng(1)
    steps = rewards = episodes = waves = 0
    for episode in range(10):
        ref = minatar_invaders.Env()
        if episode % 2:  # a thin wave, so that clearing it (new wave, speed-up) happens
            ref.alien_map[0:4, 2:8] = rng.random((4, 6)) < 0.15
            ref.alien_map[0, 2] = 1
        s = invaders_from_reference(ref)
        for t in range(1500):
            a = int(rng.choice(4, p=[0.1, 0.25, 0.25, 0.4]))  # rlx: no-op, left, right, fire
            r_ref, done_ref = ref.act((0, 1, 3, 5)[a])
            s, ts = step(s, a)
            np.testing.assert_array_equal(np.asarray(ts.obs, bool), ref.state(), err_msg=f"episode {episode} step {t}")
            assert float(ts.reward) == r_ref and bool(ts.terminated) == done_ref, (episode, t)
            assert int(s.move_interval) == ref.enemy_move_interval and int(s.ramp) == ref.ramp_index
            steps, rewards = steps + 1, rewards + r_ref
            if done_ref:
                episodes += 1
                break
        waves += ref.ramp_index
    # measured: 735 steps, 50 aliens hit, 10 episodes, one wave cleared (with its speed-up)
    assert steps > 500 and rewards > 30 and episodes >= 5 and waves >= 1, (steps, rewards, episodes, waves)


def test_freeway_matches_the_reference_step_for_step():
    """Car speeds are redrawn at random on each crossing: after a crossing the reference's
    draw is copied in (rlx draws its own); everything else must agree as it is."""
    env = Freeway()
    step = jax.jit(lambda s, a, k: env.step(k, s, a, None))
    rng = np.random.default_rng(2)
    steps = crossings = hits = 0
    for seed in range(3):
        ref = minatar_freeway.Env()
        ref.random = np.random.RandomState(seed)
        ref.reset()
        cars = np.array(ref.cars)
        s = FreewayState(jnp.asarray(ref.pos), jnp.asarray(cars[:, 0]), jnp.asarray(cars[:, 2]), jnp.asarray(cars[:, 3]),
                         jnp.asarray(ref.move_timer), jnp.asarray(ref.terminate_timer))
        np.testing.assert_array_equal(np.asarray(env.observe(s), bool), ref.state())
        for t in range(2600):
            a = int(rng.choice(3, p=[0.2, 0.7, 0.1]))  # rlx: no-op, up, down
            pos_before = ref.pos
            r_ref, done_ref = ref.act((0, 2, 4)[a])
            s, ts = step(s, a, jax.random.key(t))
            obs, want = np.asarray(ts.obs, bool), ref.state()
            if r_ref:  # copy the reference's redrawn speeds, then compare the whole board
                cars = np.array(ref.cars)
                s = s._replace(car_speed=jnp.asarray(cars[:, 3]), car_timer=jnp.asarray(cars[:, 2]))
                obs = np.asarray(env.observe(s), bool)
                crossings += 1
            np.testing.assert_array_equal(obs, want, err_msg=f"seed {seed} step {t}")
            assert float(ts.reward) == r_ref and bool(ts.done) == done_ref and not bool(ts.terminated)
            hits += int(ref.pos == 9 and pos_before not in (9, 1) and not r_ref)
            steps += 1
            if done_ref:
                break
    assert steps == 3 * 2501 and crossings > 10 and hits > 10, (steps, crossings, hits)


def test_asterix_matches_the_reference_step_for_step():
    """Spawns are random: the reference's next spawn is read off a copy of its generator and
    placed with ``Asterix.place``; the rest of each step (``Asterix.advance``) must agree."""
    env, params = Asterix(), AsterixParams()
    advance = jax.jit(lambda s, a: env.advance(s, a, params))
    place = jax.jit(Asterix.place)
    rng = np.random.default_rng(3)
    steps = rewards = episodes = ramps = 0
    for seed in range(8):
        ref = minatar_asterix.Env()
        ref.random = np.random.RandomState(seed)
        ref.reset()
        s, ts = env.reset(jax.random.key(0), params)
        np.testing.assert_array_equal(np.asarray(ts.obs, bool), ref.state())
        for t in range(1500):
            a = int(rng.integers(5))  # rlx: no-op, left, up, right, down
            if ref.spawn_timer == 0:
                twin = np.random.RandomState()
                twin.set_state(ref.random.get_state())
                right, gold = twin.rand() < 0.5, twin.rand() < 1 / 3
                free = [i for i in range(8) if ref.entities[i] is None]
                if free:
                    s = place(s, free[twin.randint(len(free))], right, gold)
                s = s._replace(spawn_timer=s.spawn_speed)
            r_ref, done_ref = ref.act((0, 1, 2, 3, 4)[a])
            s, ts = advance(s, a)
            np.testing.assert_array_equal(np.asarray(ts.obs, bool), ref.state(), err_msg=f"seed {seed} step {t}")
            assert float(ts.reward) == r_ref and bool(ts.terminated) == done_ref, (seed, t)
            assert int(s.spawn_speed) == ref.spawn_speed and int(s.move_speed) == ref.move_speed
            steps, rewards, ramps = steps + 1, rewards + r_ref, max(ramps, ref.ramp_index)
            if done_ref:
                episodes += 1
                break
    # measured: 636 steps, 9 treasures, 8 episodes, the difficulty ramp reached
    assert steps > 500 and rewards > 5 and episodes >= 5 and ramps >= 1, (steps, rewards, episodes, ramps)


def test_reset_starts_in_either_corner_and_registered_env_is_sticky():
    env, params = rlx.make("Breakout-MinAtar")
    states, ts = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(jax.random.key(0), 200), params)
    inner = states.env_state.env_state  # TimeLimit(StickyActions(Breakout))
    xs = np.asarray(inner.ball_x)
    assert set(xs.tolist()) == {0, 9} and 60 < (xs == 9).sum() < 140
    assert ts.obs.shape == (200, 10, 10, 4) and ts.obs.dtype == jnp.uint8
    assert np.asarray(ts.obs[..., 3]).sum(axis=(1, 2)).tolist() == [30] * 200  # three rows of bricks


def test_sticky_actions_repeat_the_previous_action_with_probability_p():
    env = StickyActions(Breakout(), 0.25)
    s, _ = env.reset(jax.random.key(0), None)
    s, _ = env.step(jax.random.key(1), s._replace(last_action=jnp.asarray(2)), 1, None)
    keys = jax.random.split(jax.random.key(2), 20_000)
    stuck = jax.vmap(lambda k: env.step(k, s._replace(last_action=jnp.asarray(2)), 1, None)[0].last_action)(keys)
    assert abs(float(jnp.mean(stuck == 2)) - 0.25) < 0.015  # ~5σ
    never = StickyActions(Breakout(), 0.0)
    s0, _ = never.reset(jax.random.key(0), None)
    assert int(never.step(jax.random.key(3), s0._replace(last_action=jnp.asarray(2)), 1, None)[0].last_action) == 1


def test_dqn_on_minatar_frames_with_each_torso():
    """Breakout's uint8 boards go into the buffer as they are; the MinAtar CNN, the MLP on
    the flattened board and the Nature CNN's shapes."""
    from rlx.nets import NatureCNN, QNetwork

    for torso in ("minatar", "mlp"):
        r = rlx.train("dqn", "Breakout-MinAtar", total_steps=2000, eval_episodes=1, chunks=1, show_progress=False,
                      overrides=dict(torso=torso, learning_starts=500, buffer_size=4000))
        assert r.state.buffer.obs.dtype == jnp.uint8 and r.state.buffer.obs.shape[-3:] == (10, 10, 4)
        assert np.isfinite(r.metrics["loss"]).all() and r.metrics["loss"][-1, 0] > 0
    frames = jnp.zeros((2, 84, 84, 4), jnp.uint8)
    params = NatureCNN().init(jax.random.key(0), frames)
    assert NatureCNN().apply(params, frames).shape == (2, 512)
    q = QNetwork(6, torso="nature", dueling=True, atoms=51)
    assert q.apply(q.init(jax.random.key(0), frames), frames).shape == (2, 6, 51)


@pytest.mark.parametrize("name, channels, actions", [
    ("Breakout-MinAtar", 4, 3), ("SpaceInvaders-MinAtar", 6, 4), ("Freeway-MinAtar", 7, 3), ("Asterix-MinAtar", 4, 5)])
def test_registered_games_run_vmapped_with_random_actions(name, channels, actions):
    env, params = rlx.make(name)
    assert env.action_space(params).n == actions
    env = rlx.envs.for_training(env)
    keys = jax.random.split(jax.random.key(0), 16)
    state, ts = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

    def body(carry, k):
        state = carry
        a = jax.random.randint(k, (16,), 0, actions)
        state, ts = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(k, 16), state, a, params)
        return state, (ts.reward, ts.obs.sum(axis=(1, 2)))

    state, (rewards, counts) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.key(1), 300)))(state)
    assert ts.obs.shape == (16, 10, 10, channels) and ts.obs.dtype == jnp.uint8
    assert np.all(np.asarray(counts[..., 0]) == 1)  # exactly one player / cannon / chicken cell
    assert np.all(np.asarray(rewards) >= 0)

"""Pixel preprocessing wrappers and the pixel environments (``rlx.envs.pixels``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import rlx
from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.classic_control import CartPole, CartPoleParams
from rlx.envs.core import AutoReset, Environment, EpisodeStats, TimeLimit, TimeStep, for_training
from rlx.envs.pixels import (
    ActionRepeat,
    Catch,
    ClipReward,
    FrameStack,
    Grayscale,
    NoopReset,
    PixelCartPole,
    Resize,
    area_weights,
    atari_preprocessing,
    cartpole_geometry,
    luminance,
    render_cartpole,
    resize_area,
    resize_bilinear,
)
from rlx.envs.render import draw_cartpole

KEY = jax.random.key(0)


# ----------------------------------------------------------------------------- a test env


@pytree_dataclass
class TickerParams:
    terminate_at: int = 3


class Ticker(Environment):
    """state (t, offset); obs: uint8 [2, 3] filled with ``offset + t``, where ``offset``
    ∈ [100, 200) is drawn at reset (so episodes are told apart by their pixels);
    reward ``REWARDS[t] · action`` (``t`` after the step: 1, 2, ...); terminates
    when t == terminate_at."""

    name = "Ticker"
    REWARDS = jnp.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])

    def default_params(self):
        return TickerParams()

    def obs(self, state):
        t, offset = state
        return jnp.full((2, 3), offset + t, jnp.uint8)

    def reset(self, key, params):
        state = (jnp.zeros((), jnp.int32), jax.random.randint(key, (), 100, 200, jnp.int32))
        false = jnp.zeros((), bool)
        return state, TimeStep(self.obs(state), jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, state, action, params):
        state = (state[0] + 1, state[1])
        reward = self.REWARDS[state[0]] * jnp.asarray(action, jnp.float32)
        return state, TimeStep(self.obs(state), reward, state[0] == params.terminate_at,
                               jnp.zeros((), bool), {})

    def observation_space(self, params):
        return spaces.box(0, 255, (2, 3), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(2)


def _run(env, params, actions, key=KEY):
    """Reset then step over ``actions`` (jitted); [(state, ts)] on the host, reset first."""
    key, k = jax.random.split(key)
    state, ts = jax.jit(env.reset)(k, params)
    out = [jax.device_get((state, ts))]
    step = jax.jit(env.step)
    for a in actions:
        key, k = jax.random.split(key)
        state, ts = step(k, state, jnp.asarray(a), params)
        out.append(jax.device_get((state, ts)))
    return out


def _value(obs):
    """The Ticker's frames as their (uniform) pixel values, stacked axis last."""
    obs = np.asarray(obs)
    return obs[0, 0]


# ----------------------------------------------------------------------------- luminance


@pytest.mark.parametrize("rgb, y", [
    ((0, 0, 0), 0),
    ((255, 255, 255), 255),           # weights sum to exactly 1
    ((255, 0, 0), 76),                # 76.245
    ((0, 255, 0), 150),               # 149.685
    ((0, 0, 255), 29),                # 29.07
    ((100, 150, 200), 141),           # 29.9 + 88.05 + 22.8 = 140.75
    ((1, 0, 0), 0),                   # 0.299
    ((2, 0, 0), 1),                   # 0.598
    ((0, 0, 250), 29),                # 28.5 exactly: halves round up
    ((0, 50, 0), 29),                 # 29.35
    ((10, 0, 5), 4),                  # 2.99 + 0.57 = 3.56
    ((0, 0, 125), 14),                # 14.25
    ((0, 150, 250), 117),             # 88.05 + 28.5 = 116.55
    ((50, 0, 0), 15),                 # 14.95
    ((0, 0, 5), 1),                   # 0.57
])
def test_luminance_hand_computed(rgb, y):
    out = luminance(jnp.asarray(rgb, jnp.uint8))
    assert out.dtype == jnp.uint8 and out.shape == ()
    assert int(out) == y


def test_luminance_rounds_exact_halves_up():
    # every pixel whose exact luma is k + 1/2: 299 R + 587 G + 114 B ≡ 500 (mod 1000)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (200_000, 3))
    exact = 299 * rgb[:, 0] + 587 * rgb[:, 1] + 114 * rgb[:, 2]
    ties = rgb[exact % 1000 == 500]
    assert len(ties) > 50
    got = np.asarray(luminance(jnp.asarray(ties, jnp.uint8)))
    want = (299 * ties[:, 0] + 587 * ties[:, 1] + 114 * ties[:, 2] - 500) // 1000 + 1
    np.testing.assert_array_equal(got, want)
    # and everything else is within 1/2 of the exact value
    got = np.asarray(luminance(jnp.asarray(rgb, jnp.uint8))).astype(np.int64)
    assert np.all(np.abs(got * 1000 - exact) <= 500)


def test_luminance_shapes_and_types():
    img = jnp.zeros((4, 5, 3), jnp.uint8)
    assert luminance(img).shape == (4, 5)
    assert luminance(img, keep_dim=True).shape == (4, 5, 1)
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        luminance(jnp.zeros((4, 5, 4), jnp.uint8))
    with pytest.raises(TypeError, match="uint8"):
        luminance(jnp.zeros((4, 5, 3), jnp.float32))


# ----------------------------------------------------------------------------- resizing


def test_resize_area_4x4_to_2x2_by_hand():
    img = jnp.arange(16, dtype=jnp.uint8).reshape(4, 4)
    # block means 2.5, 4.5, 10.5, 12.5: all halves, rounded up
    np.testing.assert_array_equal(resize_area(img, (2, 2)), [[3, 5], [11, 13]])
    img = jnp.asarray([[10, 20, 200, 201], [30, 40, 202, 203], [0, 0, 255, 255], [0, 1, 255, 255]],
                      jnp.uint8)
    # 25, 201.5 -> 202, 0.25 -> 0, 255
    out = resize_area(img, (2, 2))
    assert out.dtype == jnp.uint8
    np.testing.assert_array_equal(out, [[25, 202], [0, 255]])
    # channels are averaged separately
    rgb = jnp.stack([img, 255 - img, jnp.zeros_like(img)], axis=-1)
    # 255 - img: 230, 53.5 -> 54, 254.75 -> 255, 0
    np.testing.assert_array_equal(resize_area(rgb, (2, 2))[..., 1], [[230, 54], [255, 0]])


def test_area_weights_fractional_overlaps():
    np.testing.assert_allclose(area_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    np.testing.assert_allclose(area_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_allclose(area_weights(5, 3).sum(1), 1.0)
    with pytest.raises(ValueError, match="bilinear"):
        area_weights(2, 3)
    # 3x3 -> 2x2 by hand: out[0, 0] = (4·a + 2·b + 2·d + e) / 9
    img = jnp.asarray([[90, 0, 0], [0, 0, 0], [0, 0, 9]], jnp.uint8)
    np.testing.assert_array_equal(resize_area(img, (2, 2)), [[40, 0], [0, 4]])


def test_resize_area_equals_exact_area_average_on_atari_sizes():
    """210×160 → 84×84 (the Atari shape, non-integer factors 2.5 and 1.905): the exact
    area average is the block mean of the picture repeated to a common multiple of
    both sizes (each pixel 2× down, 21× across; blocks of 5 × 40)."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (210, 160), dtype=np.uint8)
    ours = np.asarray(jax.jit(resize_area, static_argnums=1)(img, (84, 84))).astype(float)
    fine = np.repeat(np.repeat(img.astype(np.float64), 2, axis=0), 21, axis=1)  # [420, 3360]
    exact = fine.reshape(84, 5, 84, 40).mean(axis=(1, 3))
    assert np.abs(ours - exact).max() <= 0.5 + 1e-3
    away = np.abs(exact % 1 - 0.5) > 1e-3  # not within float error of a tie
    np.testing.assert_array_equal(ours[away], np.floor(exact[away] + 0.5))
    # RGB: each channel separately
    rgb = rng.integers(0, 256, (210, 160, 3), dtype=np.uint8)
    out = np.asarray(resize_area(rgb, (84, 84)))
    assert out.shape == (84, 84, 3) and out.dtype == np.uint8
    fine = np.repeat(np.repeat(rgb[..., 2].astype(np.float64), 2, axis=0), 21, axis=1)
    assert np.abs(out[..., 2] - fine.reshape(84, 5, 84, 40).mean(axis=(1, 3))).max() <= 0.5 + 1e-3


def test_resize_bilinear_matches_pil_and_enlarges():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    for size in [(40, 50), (84, 84), (128, 192)]:
        ours = np.asarray(resize_bilinear(img, size)).astype(int)
        assert ours.shape == size + (3,)
        pil = np.asarray(Image.fromarray(img).resize(size[::-1], Image.Resampling.BILINEAR)).astype(int)
        assert np.abs(ours - pil).max() <= 1, size
    # a constant picture stays constant
    np.testing.assert_array_equal(resize_bilinear(np.full((7, 9), 77, np.uint8), (5, 4)), 77)


# ----------------------------------------------------------------------------- wrappers: spaces


def test_observation_spaces_shape_dtype_bounds():
    env, p = rlx.make("PixelCartPole-v1")
    cases = [
        (env, (64, 96, 3)),
        (Grayscale(env), (64, 96)),
        (Grayscale(env, keep_dim=True), (64, 96, 1)),
        (Resize(Grayscale(env), (32, 48)), (32, 48)),
        (Resize(env, (84, 84), "bilinear"), (84, 84, 3)),
        (FrameStack(Resize(Grayscale(env), (32, 48)), 4), (32, 48, 4)),
        (FrameStack(env, 2), (64, 96, 3, 2)),
        (ClipReward(ActionRepeat(env, 4, max_pool=True)), (64, 96, 3)),
        (atari_preprocessing(env, size=(32, 48)), (32, 48, 4)),
    ]
    key = jax.random.key(3)
    for e, shape in cases:
        space = e.observation_space(p)
        assert isinstance(space, spaces.Box)
        assert space.shape == shape and space.dtype == jnp.uint8, e
        assert np.all(space.low == 0) and np.all(space.high == 255)
        _, ts = jax.jit(e.reset)(key, p)
        assert ts.obs.shape == shape and ts.obs.dtype == jnp.uint8
        assert space.contains(ts.obs)
        sample = space.sample(key)
        assert sample.dtype == jnp.uint8 and space.contains(sample)
    assert env.action_space(p) == spaces.Discrete(2)
    with pytest.raises(ValueError, match="shrinks"):
        Resize(env, (84, 84)).observation_space(p)  # area averaging cannot enlarge 64 rows
    with pytest.raises(ValueError, match="RGB"):
        Grayscale(Grayscale(env)).observation_space(p)
    with pytest.raises(ValueError, match="image"):
        Grayscale(CartPole()).observation_space(CartPoleParams())


def test_grayscale_and_resize_wrappers_map_final_obs():
    env, p = rlx.make("PixelCartPole-v1")
    inner = AutoReset(env)
    wrapped = AutoReset(env)
    wrapped = Resize(Grayscale(wrapped), (32, 48))
    key = jax.random.key(4)
    s_in, _ = jax.jit(inner.reset)(key, p)
    s_wr, _ = jax.jit(wrapped.reset)(key, p)
    _, ts_in = jax.jit(inner.step)(key, s_in, 1, p)
    _, ts = jax.jit(wrapped.step)(key, s_wr, 1, p)
    np.testing.assert_array_equal(ts.obs, resize_area(luminance(ts_in.obs), (32, 48)))
    np.testing.assert_array_equal(ts.info["final_obs"],
                                  resize_area(luminance(ts_in.info["final_obs"]), (32, 48)))


# ----------------------------------------------------------------------------- FrameStack


def test_frame_stack_reset_and_steps():
    env, p = FrameStack(Ticker(), 3), TickerParams(terminate_at=100)
    out = _run(env, p, [1, 1, 1, 1])
    (state0, ts0) = out[0]
    off = int(state0.env_state[1])
    assert ts0.obs.shape == (2, 3, 3) and ts0.obs.dtype == np.uint8
    # every slot holds the first frame; then frames shift in, oldest first
    want = [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4]]
    for (_, ts), w in zip(out, want):
        np.testing.assert_array_equal(ts.obs, np.broadcast_to(np.add(w, off), (2, 3, 3)))


@pytest.mark.parametrize("order", ["stack_outside", "stack_inside"])
def test_frame_stack_does_not_leak_across_auto_resets(order):
    """terminate_at=3: the third step ends the episode; the next obs must be the new
    episode's first frame in every slot, and final_obs the old stack plus the final
    frame — with AutoReset inside FrameStack or outside it."""
    k, p = 4, TickerParams(terminate_at=3)
    if order == "stack_outside":
        env = FrameStack(AutoReset(Ticker()), k)
    else:
        env = AutoReset(FrameStack(Ticker(), k))
    out = _run(env, p, [1] * 5)
    inner = lambda s: s.env_state  # (t, offset): AutoReset adds no state layer
    off0 = int(inner(out[0][0])[1])
    for t, (_, ts) in enumerate(out[1:3], start=1):  # steps 1, 2: same episode
        assert not bool(ts.done)
        want = np.add([max(0, t - 3 + i) for i in range(k)], off0)
        np.testing.assert_array_equal(_value(ts.obs), want)
        np.testing.assert_array_equal(ts.info["final_obs"], ts.obs)
    state3, ts3 = out[3]
    assert bool(ts3.terminated)
    off1 = int(inner(state3)[1])
    assert off1 != off0  # the new episode's frames differ
    np.testing.assert_array_equal(_value(ts3.obs), [off1] * k)  # nothing of episode 0
    np.testing.assert_array_equal(_value(ts3.info["final_obs"]), np.add([0, 1, 2, 3], off0))
    # the next steps continue the new episode only
    np.testing.assert_array_equal(_value(out[4][1].obs), np.add([0, 0, 0, 1], off1))
    np.testing.assert_array_equal(_value(out[5][1].obs), np.add([0, 0, 1, 2], off1))
    assert out[3][1].obs.dtype == np.uint8 and out[3][1].info["final_obs"].dtype == np.uint8


def test_frame_stack_under_vmap_resets_each_env_separately():
    env, p = FrameStack(AutoReset(Ticker()), 2), TickerParams(terminate_at=2)
    keys = jax.random.split(KEY, 3)
    state, ts = jax.vmap(env.reset, (0, None))(keys, p)
    step = jax.jit(jax.vmap(env.step, (0, 0, 0, None)))
    offsets = np.asarray(state.env_state[1])
    assert len(set(offsets.tolist())) == 3
    state, ts = step(keys, state, jnp.array([1, 1, 1]), p)
    state, ts = step(jax.random.split(keys[0], 3), state, jnp.array([1, 1, 1]), p)  # all end (t = 2)
    assert np.all(np.asarray(ts.done))
    new_offsets = np.asarray(state.env_state[1])
    for i in range(3):
        np.testing.assert_array_equal(_value(ts.obs[i]), [new_offsets[i]] * 2)
        np.testing.assert_array_equal(_value(ts.info["final_obs"][i]), [offsets[i] + 1, offsets[i] + 2])


# ----------------------------------------------------------------------------- ClipReward


def test_clip_reward_is_the_sign_and_keeps_the_raw_reward():
    class Rewards(Ticker):
        REWARDS = jnp.array([0.0, -2.5, 0.0, 0.3, 7.0, -0.01])

    env, p = ClipReward(Rewards()), TickerParams(terminate_at=5)
    out = _run(env, p, [1] * 5)
    assert [float(ts.reward) for _, ts in out[1:]] == [-1.0, 0.0, 1.0, 1.0, -1.0]
    np.testing.assert_allclose([float(ts.info["raw_reward"]) for _, ts in out[1:]],
                               [-2.5, 0.0, 0.3, 7.0, -0.01], rtol=1e-6)
    assert float(out[0][1].info["raw_reward"]) == 0.0
    # the learner's wrappers sum the raw reward: the episode's game score
    stats = for_training(env)
    out = _run(stats, p, [1] * 5)
    _, last = out[-1]
    assert bool(last.info["episode_done"])
    assert float(last.reward) == -1.0
    np.testing.assert_allclose(float(last.info["episode_return"]), -2.5 + 0.3 + 7.0 - 0.01, rtol=1e-6)
    # without a clip EpisodeStats sums the reward as before
    _, last = _run(EpisodeStats(AutoReset(Rewards())), p, [1] * 5)[-1]
    np.testing.assert_allclose(float(last.info["episode_return"]), 4.79, rtol=1e-6)


# ----------------------------------------------------------------------------- ActionRepeat


def test_action_repeat_sums_rewards_and_stops_early_on_done():
    env, p = ActionRepeat(Ticker(), 4), TickerParams(terminate_at=6)
    out = _run(env, p, [1, 1])
    (s1, ts1), (s2, ts2) = out[1], out[2]
    assert int(s1[0]) == 4 and float(ts1.reward) == 1 + 2 + 3 + 4 and not bool(ts1.done)
    # the second repeat ends the episode after 2 inner steps: no step past the terminal
    assert int(s2[0]) == 6 and float(ts2.reward) == 5 + 6 and bool(ts2.terminated)
    assert _value(ts2.obs) == int(s2[1]) + 6
    # truncation stops it too
    env = ActionRepeat(TimeLimit(Ticker(), 3), 4)
    (s, ts) = _run(env, TickerParams(terminate_at=100), [1])[1]
    assert int(s.t) == 3 and float(ts.reward) == 6 and bool(ts.truncated) and not bool(ts.terminated)
    # k = 1 is the plain environment
    (s, ts) = _run(ActionRepeat(Ticker(), 1), p, [1])[1]
    assert int(s[0]) == 1 and float(ts.reward) == 1


def test_action_repeat_max_pool_and_raw_rewards():
    class Flicker(Ticker):
        """frames alternate between bright (odd t) and dark (even t) pictures."""

        def obs(self, state):
            t = state[0]
            return jnp.where(t % 2 == 1, jnp.full((2, 3), 200 + t, jnp.uint8),
                             jnp.arange(6, dtype=jnp.uint8).reshape(2, 3) + 10 * t)

    p = TickerParams(terminate_at=100)
    flick = Flicker()
    f = lambda t: np.asarray(flick.obs((jnp.int32(t), jnp.int32(0))))
    (_, ts) = _run(ActionRepeat(flick, 4, max_pool=True), p, [1])[1]
    np.testing.assert_array_equal(ts.obs, np.maximum(f(3), f(4)))
    (_, ts) = _run(ActionRepeat(flick, 4), p, [1])[1]
    np.testing.assert_array_equal(ts.obs, f(4))
    # a repeat stopped after one inner step pools nothing
    (_, ts) = _run(ActionRepeat(flick, 4, max_pool=True), TickerParams(terminate_at=5), [1, 1])[2]
    assert bool(ts.terminated)
    np.testing.assert_array_equal(ts.obs, f(5))
    # with AutoReset inside: the pooled frame of the ended episode is final_obs, obs is the new one
    env = ActionRepeat(AutoReset(flick), 4, max_pool=True)
    out = _run(env, TickerParams(terminate_at=6), [1, 1])
    (s, ts) = out[2]
    assert bool(ts.terminated) and int(s[0]) == 0
    np.testing.assert_array_equal(ts.info["final_obs"], np.maximum(f(5), f(6)))
    np.testing.assert_array_equal(ts.obs, f(0))
    # raw rewards are summed alongside clipped ones
    (_, ts) = _run(ActionRepeat(ClipReward(Ticker()), 3), p, [1])[1]
    assert float(ts.reward) == 3 and float(ts.info["raw_reward"]) == 1 + 2 + 3


# ----------------------------------------------------------------------------- NoopReset


def test_noop_reset_takes_one_to_noop_max_noops():
    env, p = NoopReset(Ticker(), noop_max=5, noop_action=1), TickerParams(terminate_at=100)
    reset = jax.jit(jax.vmap(env.reset, (0, None)))
    state, ts = reset(jax.random.split(KEY, 400), p)
    t = np.asarray(state[0])
    assert set(t.tolist()) == {1, 2, 3, 4, 5}
    np.testing.assert_array_equal(np.asarray(ts.obs)[:, 0, 0], np.asarray(state[1]) + t)
    assert not np.any(np.asarray(ts.done)) and np.all(np.asarray(ts.reward) == 0)
    # an episode that ends during the no-ops is reset again
    state, _ = reset(jax.random.split(KEY, 400), TickerParams(terminate_at=2))
    assert set(np.asarray(state[0]).tolist()) <= {0, 1}
    state, _ = NoopReset(Ticker(), noop_max=0).reset(KEY, p)
    assert int(state[0]) == 0


# ----------------------------------------------------------------------------- PixelCartPole


def test_pixel_cartpole_frames_are_uint8_rgb():
    env, p = rlx.make("PixelCartPole-v1")
    assert rlx.envs.spec("PixelCartPole-v1").max_steps == 500
    _, ts = env.reset(KEY, p)
    assert ts.obs.shape == (64, 96, 3) and ts.obs.dtype == jnp.uint8
    colours = {tuple(c) for c in np.asarray(ts.obs).reshape(-1, 3)}
    assert {(255, 255, 255), (0, 0, 0), (202, 152, 101)} <= colours
    big = PixelCartPole(height=128, width=192)
    _, ts = big.reset(KEY, p)
    assert ts.obs.shape == (128, 192, 3) and big.observation_space(p).shape == (128, 192, 3)


@pytest.mark.parametrize("x", [0.0, 0.013, -0.5, 1.0, 1.2371, -2.2, 2.39])
def test_pixel_cartpole_cart_column_follows_x(x):
    """Row y = 15 px (above the bottom edge) crosses the cart only: pixel j is the cart's
    black blended over white by the overlap of [j - ½, j + ½] with the cart's
    [cartx - 4, cartx + 4], cartx = x·20 + 48 (gymnasium's x·scale + width/2 at
    width 96: 20 px per metre, the cart 50·0.16 = 8 px wide)."""
    p = CartPoleParams()
    state = jnp.array([x, 0.3, 0.05, -0.1], jnp.float32)
    frame = np.asarray(jax.jit(render_cartpole)(state, p)).astype(int)
    g = cartpole_geometry(p, 96)
    assert g["world"] == 20.0 and g["carty"] == 16.0 and g["cart_half_w"] == 4.0
    cartx = float(np.float32(x)) * 20.0 + 48.0
    row = frame[64 - 1 - 15]
    j = np.arange(96)
    coverage = np.clip(np.minimum(j + 0.5, cartx + 4) - np.maximum(j - 0.5, cartx - 4), 0, 1)
    for c in range(3):
        assert np.abs(row[:, c] - 255 * (1 - coverage)).max() <= 0.5 + 1e-3
    if 4 <= cartx <= 92:  # the whole cart is in the picture: its centre column is cartx
        black = np.flatnonzero(row[:, 0] == 0)
        assert len(black) >= 7 and abs(black.mean() - cartx) <= 0.5
        dark = 255 - row[:, 0]
        assert abs((dark * j).sum() / dark.sum() - cartx) <= 0.01
    # the track line: one black row at y = 16 across the picture
    assert np.all(frame[64 - 1 - 16] == 0)


def test_pixel_cartpole_pole_leans_with_theta_and_matches_gymnasium_picture():
    p = CartPoleParams()
    pole = np.array([202, 152, 101])
    for theta in [-0.2, 0.0, 0.2]:
        s = np.array([0.4, 0.0, theta, 0.0])
        frame = np.asarray(render_cartpole(jnp.asarray(s, jnp.float32), p)).astype(int)
        ys, xs = np.nonzero(np.all(frame == pole, axis=-1))
        top = ys < ys.min() + 4  # the upper end of the pole
        lean = xs[top].mean() - (0.4 * 20 + 48)
        assert lean > 2 if theta > 0 else (lean < -2 if theta < 0 else abs(lean) < 1)
        # gymnasium's 600x400 scene (rlx.envs.render) box-filtered to 96x64: the same
        # picture up to anti-aliasing; the 1-px track is kept black here, not thinned to grey
        ref = np.asarray(Image.fromarray(draw_cartpole(s, p)).resize((96, 64), Image.Resampling.BOX))
        diff = np.abs(frame - ref.astype(int))
        diff[64 - 1 - 16] = 0
        assert diff.mean() < 1.0, theta


def test_pixel_cartpole_dynamics_equal_cartpole():
    pix, p = rlx.make("PixelCartPole-v1")
    ref, _ = rlx.make("CartPole-v1")
    rng = np.random.default_rng(5)
    key = jax.random.key(6)
    s_pix, ts_pix = pix.reset(key, p)
    s_ref, ts_ref = ref.reset(key, p)
    step_pix, step_ref = jax.jit(pix.step), jax.jit(ref.step)
    np.testing.assert_array_equal(s_pix.env_state, s_ref.env_state)
    for t in range(60):
        a = jnp.int32(rng.integers(2))
        key, k = jax.random.split(key)
        s_pix, ts_pix = step_pix(k, s_pix, a, p)
        s_ref, ts_ref = step_ref(k, s_ref, a, p)
        np.testing.assert_array_equal(s_pix.env_state, s_ref.env_state)
        assert float(ts_pix.reward) == float(ts_ref.reward)
        assert bool(ts_pix.terminated) == bool(ts_ref.terminated)
        assert bool(ts_pix.truncated) == bool(ts_ref.truncated)
        np.testing.assert_array_equal(ts_pix.obs, render_cartpole(s_ref.env_state, p))
        if bool(ts_ref.terminated):
            break
    assert t > 5


# ----------------------------------------------------------------------------- Catch


def test_catch_rules_and_frames():
    env, p = rlx.make("Catch-v0")
    assert env.observation_space(p).shape == (80, 40, 3) and env.action_space(p) == spaces.Discrete(3)
    step = jax.jit(env.step)
    for seed in range(4):
        for follow in [True, False]:
            state, ts = env.reset(jax.random.key(seed), p)
            assert int(state.ball_y) == 0 and int(state.paddle_x) == 2
            total, steps = 0.0, 0
            while True:
                ball = int(state.ball_x)
                # follow the ball, or run to the wall away from it (always a miss)
                away = 0 if ball >= 2 else 2
                a = int(1 + np.sign(ball - int(state.paddle_x))) if follow else away
                state, ts = step(jax.random.key(0), state, jnp.int32(a), p)
                steps += 1
                frame = np.asarray(ts.obs)
                assert frame.dtype == np.uint8
                by, bx = int(state.ball_y), int(state.ball_x)
                np.testing.assert_array_equal(frame[by * 8:(by + 1) * 8, bx * 8:(bx + 1) * 8], 255)
                if by < 9:
                    px = int(state.paddle_x)
                    np.testing.assert_array_equal(frame[72:80, px * 8:(px + 1) * 8], [[Catch.PADDLE] * 8] * 8)
                    assert int((frame.sum(-1) > 0).sum()) == 2 * 64  # ball and paddle only
                total += float(ts.reward)
                if bool(ts.terminated):
                    break
                assert float(ts.reward) == 0.0
            assert steps == 9
            assert total == (1.0 if follow else -1.0)
            assert (int(state.paddle_x) == int(state.ball_x)) == follow


# ----------------------------------------------------------------------------- jit + vmap


@pytest.mark.parametrize("name", ["PixelCartPole-v1", "Catch-v0"])
def test_pipeline_jits_vmaps_and_scans_in_uint8(name):
    base, p = rlx.make(name)
    catch = name == "Catch-v0"
    env = for_training(atari_preprocessing(base, action_repeat=2, size=(10, 5) if catch else (16, 24),
                                           frame_stack=3, noop_max=3, noop_action=1 if catch else 0))
    n = 4
    shape = env.observation_space(p).shape
    num_actions = env.action_space(p).n

    @jax.jit
    def run(key):
        state, ts = jax.vmap(env.reset, (0, None))(jax.random.split(key, n), p)

        def body(carry, k):
            state, _ = carry
            ka, ks = jax.random.split(k)
            a = jax.random.randint(ka, (n,), 0, num_actions)
            state, ts = jax.vmap(env.step, (0, 0, 0, None))(jax.random.split(ks, n), state, a, p)
            return (state, ts.obs), (ts.obs, ts.reward, ts.info["episode_done"], ts.info["episode_return"])

        (_, _), out = jax.lax.scan(body, (state, ts.obs), jax.random.split(key, 40))
        return ts.obs, out

    obs0, (obs, reward, done, ret) = run(KEY)
    assert obs0.shape == (n,) + shape and obs0.dtype == jnp.uint8
    assert obs.shape == (40, n) + shape and obs.dtype == jnp.uint8
    assert set(np.unique(np.asarray(reward)).tolist()) <= {-1.0, 0.0, 1.0}
    assert np.asarray(done).any()
    if name == "PixelCartPole-v1":  # game score = repeats × inner steps, unclipped
        finished = np.asarray(ret)[np.asarray(done)]
        assert np.all(finished >= 1) and finished.max() > 2

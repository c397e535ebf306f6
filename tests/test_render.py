"""Frames of the classic-control tasks: geometry as a function of the state, gymnasium's
scene layout, rollouts and animation files."""

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import rlx
from rlx.envs import AutoReset, EpisodeStats, TimeLimit
from rlx.envs.classic_control import CartPoleParams, Pendulum
from rlx.envs.render import (
    mountain_height,
    physics_state,
    render_frame,
    rollout_frames,
    rollout_states,
    save_animation,
)

SIZES = {"CartPole-v1": (400, 600), "Acrobot-v1": (500, 500), "MountainCar-v0": (400, 600),
         "MountainCarContinuous-v0": (400, 600), "Pendulum-v1": (500, 500)}
STATES = {"CartPole-v1": [0.7, 0.0, 0.2, 0.0], "Acrobot-v1": [0.8, -1.2, 0.0, 0.0],
          "MountainCar-v0": [-0.5, 0.0], "MountainCarContinuous-v0": [0.3, 0.0],
          "Pendulum-v1": [2.0, 0.0]}


def near(frame, color, tol=40):
    """Mask of the pixels within ``tol`` of ``color`` in every channel."""
    return (np.abs(frame.astype(int) - np.array(color)) <= tol).all(-1)


def centroid(mask):
    rows, cols = np.nonzero(mask)
    return rows.mean(), cols.mean()


def draw(name, state, params=None, action=None):
    return render_frame(name, np.array(state, np.float32), params or rlx.make(name)[1], action)


@pytest.mark.parametrize("name", list(SIZES))
def test_frames_are_uint8_images_of_gymnasium_size(name):
    frame = draw(name, STATES[name])
    assert frame.dtype == np.uint8 and frame.shape == (*SIZES[name], 3)
    assert (frame == 255).all(-1).mean() > 0.8  # white background, something drawn
    assert not (frame == 255).all()


@pytest.mark.parametrize("x", [-2.0, -0.5, 0.0, 1.0, 2.0])
@pytest.mark.parametrize("x_threshold", [2.4, 4.8])
def test_cartpole_cart_column_follows_gymnasium_scale(x, x_threshold):
    """gymnasium: ``cartx = x · 600 / (2 · x_threshold) + 300``; the cart is 50 px wide,
    centred on row y = 100 from the bottom (row 10 px below its centre sampled)."""
    params = CartPoleParams(x_threshold=x_threshold)
    frame = draw("CartPole-v1", [x, 0.0, 0.0, 0.0], params)
    row = frame[400 - 1 - 90]
    cols = np.flatnonzero(near(row, (0, 0, 0), 60))
    expected = x * 600 / (2 * x_threshold) + 300
    assert abs(cols.mean() - expected) <= 1.0
    assert 49 <= len(cols) <= 52


@pytest.mark.parametrize("theta", [0.2, -0.2, 0.0])
def test_cartpole_pole_tilts_to_the_side_of_theta(theta):
    """Positive θ leans right. The pole (10 px wide) pivots 7.5 px above the cart's
    centre (300, 100) and reaches 125 - 5 px along its axis (-θ from vertical); the axle
    disc (radius 5) hides its first 5 px, so the visible part is centred 62.5 px along."""
    frame = draw("CartPole-v1", [0.0, 0.0, theta, 0.0])
    row, col = centroid(near(frame, (202, 152, 101)))
    assert abs(col - (300 + 62.5 * math.sin(theta))) < 1.5
    assert abs((399 - row) - (107.5 + 62.5 * math.cos(theta))) < 1.5


@pytest.mark.parametrize("theta, direction", [(0.0, (0, 1)), (math.pi / 2, (-1, 0)),
                                              (math.pi, (0, -1)), (-math.pi / 2, (1, 0))])
def test_pendulum_rod_points_up_at_zero_and_turns_counter_clockwise(theta, direction):
    """The rod's red pixels are centred about half a rod length (113.6 px / 2) from the
    axle at pixel (250, 249), along (-sin θ, cos θ) (y up)."""
    frame = draw("Pendulum-v1", [theta, 0.0])
    row, col = centroid(near(frame, (204, 77, 77)))
    dx, dy = col - 250, (499 - row) - 250
    assert abs(dx - direction[0] * 56.8) < 4 and abs(dy - direction[1] * 56.8) < 4


@pytest.mark.parametrize("pos", [-1.0, -0.5, 0.0, 0.4])
def test_mountain_car_sits_on_the_track(pos):
    """gymnasium: the car's base is at ``((x + 1.2) · scale, 10 + height(x) · scale)``
    with ``scale = 600 / 1.8`` and ``height(x) = 0.55 + 0.45 sin 3x``, tilted by
    ``cos 3x`` rad; its two grey wheels (radius 8) are centred 10 px either side of
    the base, so their pixels average to the base; the body lies on the upper side."""
    scale, tilt = 600 / 1.8, math.cos(3 * pos)
    base = np.array([(pos + 1.2) * scale, 10 + float(mountain_height(pos)) * scale])
    frame = draw("MountainCar-v0", [pos, 0.0])
    rows, cols = np.nonzero(near(frame, (128, 128, 128), 20))
    xy = np.stack([cols, 399 - rows], 1)
    wheels = xy[np.abs(xy - base).max(1) < 25]
    assert 350 < len(wheels) < 600  # two discs of 2·8 + 1 px across, plus soft edges
    assert np.abs(wheels.mean(0) - base).max() < 1.5
    elsewhere = draw("MountainCar-v0", [pos - 0.6 if pos > -0.5 else pos + 0.6, 0.0])
    rows, cols = np.nonzero((frame < 200).any(-1) & (elsewhere == 255).all(-1))  # the car
    up = np.array([-math.sin(tilt), math.cos(tilt)])  # the car's "up" after tilting
    assert (np.stack([cols, 399 - rows], 1) - base).mean(0) @ up > 5


def test_acrobot_links_hang_down_at_rest_and_follow_theta1():
    """θ = 0: both links hang straight down from the centre, 2 · 113.6 px long."""
    frame = draw("Acrobot-v1", [0.0, 0.0, 0.0, 0.0])
    rows, cols = np.nonzero(near(frame, (0, 204, 204)) | near(frame, (204, 204, 0)))
    assert abs(cols.mean() - 250) < 1.5
    assert abs((499 - rows.min()) - 250) <= 13  # the top joint's disc
    assert abs((499 - rows.max()) - (250 - 2 * 500 / 4.4)) <= 13
    frame = draw("Acrobot-v1", [math.pi / 2, 0.0, 0.0, 0.0])  # both links point right
    row, col = centroid(near(frame, (0, 204, 204)) | near(frame, (204, 204, 0)))
    assert abs(col - (250 + 500 / 4.4)) < 5 and abs(row - 249) < 1.5
    frame = draw("Acrobot-v1", [0.0, math.pi / 2, 0.0, 0.0])  # link 2 points right
    row, col = centroid(near(frame, (0, 204, 204)))
    assert col > 250 + 20 and (499 - row) < 250 - 60


@pytest.mark.parametrize("name", list(SIZES))
def test_matches_gymnasium_renderer(name, monkeypatch):
    """Against gymnasium's own pygame drawing (when pygame is around): the pictures
    differ only along anti-aliased edges."""
    pytest.importorskip("pygame")
    gym = pytest.importorskip("gymnasium")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    g = gym.make(name, render_mode="rgb_array")
    g.reset(seed=0)
    g.unwrapped.state = np.array(STATES[name], np.float64)
    action = None
    if name == "Pendulum-v1":
        g.unwrapped.last_u = action = -1.5
    reference = g.render()
    g.close()
    ours = draw(name, STATES[name], action=None if action is None else [action])
    diff = np.abs(reference.astype(int) - ours.astype(int)).max(-1)
    assert (diff > 64).mean() < 0.01 and diff.mean() < 2.0


def test_wrapped_states_are_unwrapped():
    env, params = rlx.make("CartPole-v1")
    wrapped = EpisodeStats(AutoReset(env))
    state, _ = wrapped.reset(jax.random.key(0), params)
    inner = physics_state(state)
    assert np.asarray(inner).shape == (4,)
    np.testing.assert_array_equal(render_frame("CartPole-v1", state, params),
                                  render_frame("CartPole-v1", inner, params))


def test_bad_requests_are_errors():
    params = rlx.make("CartPole-v1")[1]
    with pytest.raises(ValueError, match="cannot render 'Pong'"):
        render_frame("Pong", np.zeros(4), params)
    with pytest.raises(ValueError, match="one state"):
        render_frame("CartPole-v1", np.zeros((2, 4)), params)


def test_rollout_stops_at_termination_with_the_terminal_state():
    env, params = rlx.make("CartPole-v1")
    push_right = lambda obs, key: jnp.int32(1)
    states, actions = rollout_states(env, params, push_right, jax.random.key(3), 500)
    limit = (np.abs(states[:, 0]) > 2.4) | (np.abs(states[:, 2]) > 12 * 2 * math.pi / 360)
    assert limit[-1] and not limit[:-1].any() and len(actions) == len(states) - 1 < 100
    frames = rollout_frames(env, params, "CartPole-v1", push_right, jax.random.key(3), 500)
    assert frames.shape == (len(states), 400, 600, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames[-1], render_frame("CartPole-v1", states[-1], params))


def test_rollout_stops_at_truncation_or_max_steps():
    env = TimeLimit(Pendulum(), 3)
    params = env.default_params()
    torque = lambda obs, key: jnp.array([1.0])
    frames = rollout_frames(env, params, "Pendulum-v1", torque, jax.random.key(0), 10)
    assert frames.shape == (4, 500, 500, 3)
    states, actions = rollout_states(rlx.make("Pendulum-v1")[0], params, torque, jax.random.key(0), 5)
    assert states.shape == (6, 2) and actions.shape == (5, 1)


def test_gif_round_trips(tmp_path):
    params = rlx.make("CartPole-v1")[1]
    frames = np.stack([draw("CartPole-v1", [x, 0.0, 0.1 * x, 0.0], params) for x in (-1, 0, 1, 2)])
    path = save_animation(frames, tmp_path / "cartpole.gif", fps=25)
    with Image.open(path) as im:
        assert im.n_frames == 4 and im.size == (600, 400)
        assert im.info["duration"] == 40
        im.seek(2)
        decoded = np.asarray(im.convert("RGB"))
    assert np.abs(decoded.astype(int) - frames[2]).mean() < 3


def test_mp4_without_imageio_ffmpeg_suggests_gif(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(RuntimeError, match=r"imageio-ffmpeg.*\.gif"):
        save_animation(frames, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="use .gif or .mp4"):
        save_animation(frames, tmp_path / "a.avi")


def test_mujoco_task_frames(tmp_path):
    pytest.importorskip("mujoco.mjx")
    pytest.importorskip("gymnasium")
    env, params = rlx.make("Hopper-v5")
    frames = rollout_frames(env, params, "Hopper-v5", lambda obs, key: jnp.zeros(3), jax.random.key(0), max_steps=3)
    assert frames.shape == (4, 480, 480, 3) and frames.dtype == np.uint8
    assert frames.std() > 10  # a scene, not a blank image
    upright = render_frame("Hopper-v5", env.unwrapped.init_qpos, params)
    tilted = render_frame("Hopper-v5", env.unwrapped.init_qpos + np.array([0, 0, 0.6, 0, 0, 0]), params)
    assert np.abs(upright.astype(int) - tilted).mean() > 1  # the pose shows
    path = save_animation(frames, tmp_path / "hopper.gif", fps=25)
    assert Image.open(path).n_frames >= 2

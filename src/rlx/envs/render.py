"""Frames of the classic-control tasks, drawn like gymnasium's pygame renderers, and of
the MuJoCo tasks, drawn by MuJoCo's own renderer (headless: ``MUJOCO_GL=egl``).

    frame = render_frame("CartPole-v1", state, params)           # uint8 [H, W, 3]
    frames = rollout_frames(env, params, "CartPole-v1", policy, key, max_steps=500)
    save_animation(frames, "cartpole.gif", fps=50)

Each drawer reproduces gymnasium 1.x's scene: the same canvas size, world-to-pixel
scale, shapes, colours and drawing order. Shapes are given in gymnasium's pygame
coordinates, where y points up once the canvas is flipped at the end (gymnasium
draws, then flips the surface vertically). Rasterisation is PIL's ``ImageDraw``
at ``SUPERSAMPLE``× the resolution, box-filtered down: anti-aliased edges
without pygame.
"""

from __future__ import annotations

import atexit
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 2
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


class Canvas:
    """A ``width × height`` white canvas addressed in pygame coordinates
    (x right, y up after the final flip), drawn ``SUPERSAMPLE``× larger."""

    def __init__(self, width: int, height: int, ss: int = SUPERSAMPLE):
        self.width, self.height, self.ss = width, height, ss
        self.image = Image.new("RGB", (width * ss, height * ss), WHITE)
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, points) -> list[tuple[float, float]]:
        s = self.ss
        return [(float(x) * s + (s - 1) / 2, float(y) * s + (s - 1) / 2) for x, y in points]

    def polygon(self, points, color) -> None:
        self.draw.polygon(self._xy(points), fill=color)

    def circle(self, center, radius: float, color) -> None:
        # pygame's disc of radius r covers 2r + 1 pixels across
        (x, y), r = self._xy([center])[0], (radius + 0.5) * self.ss - 0.5
        self.draw.ellipse([x - r, y - r, x + r, y + r], fill=color)

    def line(self, points, color, width: float = 1.0) -> None:
        self.draw.line(self._xy(points), fill=color, width=max(1, round(width * self.ss)))

    def frame(self) -> np.ndarray:
        """The picture as uint8 ``[height, width, 3]``, flipped so that y points up."""
        small = self.image.reduce(self.ss) if self.ss > 1 else self.image
        return np.ascontiguousarray(np.asarray(small, np.uint8)[::-1])


def rotate(points, angle: float, origin=(0.0, 0.0)) -> list[tuple[float, float]]:
    """Rotate ``points`` counter-clockwise by ``angle`` (pygame's ``rotate_rad``), then
    translate by ``origin``: ``(x cos a - y sin a, x sin a + y cos a) + origin``."""
    c, s = math.cos(angle), math.sin(angle)
    return [(x * c - y * s + origin[0], x * s + y * c + origin[1]) for x, y in points]


def _box(l, r, t, b):
    return [(l, b), (l, t), (r, t), (r, b)]


# --------------------------------------------------------------------------- the scenes


def draw_cartpole(state, params, action=None) -> np.ndarray:
    """600×400. ``scale = 600 / (2·x_threshold)`` pixels per metre; the cart (50×30,
    black) is centred at ``(x·scale + 300, 100)``; the pole (10 px wide, ``2·length·scale``
    long, brown) pivots at the axle 7.5 px above the cart's centre, rotated by ``-θ``
    (positive θ leans right); a black track line at y = 100."""
    x, theta = float(state[0]), float(state[2])
    width, height = 600, 400
    scale = width / (2 * float(params.x_threshold))
    polewidth, polelen = 10.0, scale * 2 * float(params.length)
    cartwidth, cartheight = 50.0, 30.0
    cartx, carty, axle = x * scale + width / 2.0, 100.0, cartheight / 4.0

    cv = Canvas(width, height)
    cart = _box(-cartwidth / 2, cartwidth / 2, cartheight / 2, -cartheight / 2)
    cv.polygon([(px + cartx, py + carty) for px, py in cart], BLACK)
    pole = _box(-polewidth / 2, polewidth / 2, polelen - polewidth / 2, -polewidth / 2)
    cv.polygon(rotate(pole, -theta, (cartx, carty + axle)), (202, 152, 101))
    cv.circle((int(cartx), int(carty + axle)), int(polewidth / 2), (129, 132, 203))
    cv.line([(0, carty), (width, carty)], BLACK)
    return cv.frame()


def draw_acrobot(state, params, action=None) -> np.ndarray:
    """500×500, origin at the centre, ``scale = 500 / (2·(l1 + l2 + 0.2))``. Link 1 hangs
    from the origin at angle ``θ1`` from straight down, link 2 from its end at
    ``θ1 + θ2``; links are cyan bars 0.2 wide, joints yellow discs; the black line at
    height +1 is the goal height."""
    th1, th2 = float(state[0]), float(state[1])
    l1, l2 = float(params.link_length_1), 1.0  # gymnasium's LINK_LENGTH_2
    dim = 500
    scale, offset = dim / (2 * (l1 + l2 + 0.2)), dim / 2

    cv = Canvas(dim, dim)
    goal_y = int(scale + offset)  # pygame.draw.line draws on whole pixels
    cv.line([(int(-2.2 * scale + offset), goal_y), (int(2.2 * scale + offset), goal_y)], BLACK)
    joints = [(0.0, 0.0), (l1 * math.sin(th1) * scale, -l1 * math.cos(th1) * scale)]
    for (jx, jy), angle, length in zip(joints, [th1 - math.pi / 2, th1 + th2 - math.pi / 2],
                                       [l1 * scale, l2 * scale]):
        jx, jy = jx + offset, jy + offset
        bar = _box(0, length, 0.1 * scale, -0.1 * scale)
        cv.polygon(rotate(bar, angle, (jx, jy)), (0, 204, 204))
        cv.circle((int(jx), int(jy)), int(0.1 * scale), (204, 204, 0))
    return cv.frame()


def mountain_height(x):
    """The valley's profile, ``0.55 + 0.45·sin(3x)``."""
    return np.sin(3 * x) * 0.45 + 0.55


def draw_mountain_car(state, params, action=None) -> np.ndarray:
    """600×400, ``scale = 600 / (max_position - min_position)``; the track is
    ``((x - min)·scale, height(x)·scale)``; the car (40×20, black, two grey wheels) sits
    10 px above the track at its position, tilted by ``cos(3x)`` rad; a yellow flag
    marks the goal position."""
    pos = float(state[0])
    lo, hi, goal = float(params.min_position), float(params.max_position), float(params.goal_position)
    width, height = 600, 400
    scale = width / (hi - lo)
    carwidth, carheight, clearance = 40.0, 20.0, 10.0

    cv = Canvas(width, height)
    xs = np.linspace(lo, hi, 100)
    cv.line(list(zip((xs - lo) * scale, mountain_height(xs) * scale)), BLACK)
    base = ((pos - lo) * scale, clearance + float(mountain_height(pos)) * scale)
    tilt = math.cos(3 * pos)
    cv.polygon(rotate(_box(-carwidth / 2, carwidth / 2, carheight, 0), tilt, base), BLACK)
    for wx, wy in rotate([(carwidth / 4, 0), (-carwidth / 4, 0)], tilt, base):
        cv.circle((int(wx), int(wy)), int(carheight / 2.5), (128, 128, 128))
    flagx = int((goal - lo) * scale)
    flagy1 = int(mountain_height(goal) * scale)
    flagy2 = flagy1 + 50
    cv.line([(flagx, flagy1), (flagx, flagy2)], BLACK)
    cv.polygon([(flagx, flagy2), (flagx, flagy2 - 10), (flagx + 25, flagy2 - 5)], (204, 204, 0))
    return cv.frame()


def _torque_arrow(cv: Canvas, center, radius: float, counter_clockwise: bool) -> None:
    """gymnasium's ``clockwise.png``: a 270° arc from 12 to 9 o'clock with an arrowhead
    pointing up at its end; mirrored left-right for a counter-clockwise torque."""
    sx = -1.0 if counter_clockwise else 1.0
    phis = np.linspace(math.pi / 2, -math.pi, 40)  # clockwise: angle decreasing
    arc = [(center[0] + sx * radius * math.cos(p), center[1] + radius * math.sin(p)) for p in phis]
    cv.line(arc, BLACK, width=max(1.0, 0.065 * radius))
    ex, ey = arc[-1]
    head, half = 0.4 * radius, 0.16 * radius
    cv.polygon([(ex, ey + head), (ex - half, ey), (ex + half, ey)], BLACK)


def draw_pendulum(state, params, action=None) -> np.ndarray:
    """500×500, origin at the centre, ``scale = 500 / 4.4``. The rod (length 1, width
    0.2, red, round ends) points at angle ``θ + π/2``, i.e. straight up for θ = 0 and
    counter-clockwise for growing θ; a black axle disc; with ``action`` (the torque
    just applied, clipped to ±max_torque) a curved arrow of radius ∝ |u| shows its
    sense (counter-clockwise for u > 0), as gymnasium's ``last_u``."""
    theta = float(state[0])
    dim = 500
    scale, offset = dim / 4.4, dim // 2
    rod_length, rod_width = 1 * scale, 0.2 * scale
    red = (204, 77, 77)

    cv = Canvas(dim, dim)
    rod = _box(0, rod_length, rod_width / 2, -rod_width / 2)
    cv.polygon(rotate(rod, theta + math.pi / 2, (offset, offset)), red)
    cv.circle((offset, offset), int(rod_width / 2), red)
    (ex, ey), = rotate([(rod_length, 0)], theta + math.pi / 2, (offset, offset))
    cv.circle((int(ex), int(ey)), int(rod_width / 2), red)
    if action is not None:
        limit = float(params.max_torque)
        u = float(np.clip(np.asarray(action, np.float64).reshape(-1)[0], -limit, limit))
        if u != 0:
            # the asset's circle spans ~0.92 of its (scale·|u|/2)-wide image
            _torque_arrow(cv, (offset, offset), 0.23 * scale * abs(u), counter_clockwise=u > 0)
    cv.circle((offset, offset), int(0.05 * scale), BLACK)
    return cv.frame()


DRAWERS: dict[str, Callable[..., np.ndarray]] = {
    "CartPole-v1": draw_cartpole,
    "CartPoleSwingUp-v0": draw_cartpole,  # same state [x, ẋ, θ, θ̇] and geometry
    "PixelCartPole-v1": draw_cartpole,  # CartPole-v1 with pixel observations
    "Acrobot-v1": draw_acrobot,
    "MountainCar-v0": draw_mountain_car,
    "MountainCarContinuous-v0": draw_mountain_car,
    "Pendulum-v1": draw_pendulum,
}


# --------------------------------------------------------------------------- public API


def physics_state(state: Any) -> Any:
    """The innermost environment state: follows ``.env_state`` through the wrapper
    states (``TimeLimitState``, ``EpisodeStatsState``); ``AutoReset`` adds no layer.
    For a MuJoCo task, its ``qpos`` (all a frame needs)."""
    from rlx.envs.mujoco_tasks import MujocoState

    while hasattr(state, "env_state"):
        state = state.env_state
    return state.data.qpos if isinstance(state, MujocoState) else state


class MujocoScene:
    """Draws a MuJoCo task's ``qpos`` with ``mujoco.Renderer`` from the task's camera
    (gymnasium's default camera settings, tracking the body it names)."""

    def __init__(self, task, height: int = 480, width: int = 480):
        import mujoco  # (rlx.envs.mujoco_tasks chose the headless EGL backend on import)

        self.mujoco, self.model = mujoco, task.mj_model
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, height, width)
        atexit.register(self.renderer.close)  # while EGL is still up
        self.camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, self.camera)
        for k, v in task.camera.items():
            if k == "lookat":
                self.camera.lookat[:] = v
            else:
                setattr(self.camera, k, v)
        if task.camera.get("trackbodyid", 0) > 0:
            self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING

    def __call__(self, qpos, params=None, action=None) -> np.ndarray:
        self.data.qpos[:] = qpos
        self.mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera=self.camera)
        return self.renderer.render().copy()


_SCENES: dict[str, MujocoScene] = {}


def _drawer(env_name: str) -> Callable[..., np.ndarray]:
    if env_name in DRAWERS:
        return DRAWERS[env_name]
    from rlx.envs import registry
    from rlx.envs.mujoco_tasks import TASKS

    try:
        factory = registry.spec(env_name).factory
    except registry.UnknownEnvironmentError:
        factory = None
    if factory in TASKS:
        if env_name not in _SCENES:
            _SCENES[env_name] = MujocoScene(factory())
        return _SCENES[env_name]
    names = list(DRAWERS) + [t.name for t in TASKS]
    raise ValueError(f"cannot render {env_name!r}: rendering supports {', '.join(names)}")


def render_frame(env_name: str, state: Any, params: Any, action: Any = None) -> np.ndarray:
    """Draw one (unbatched) state of ``env_name`` as uint8 ``[H, W, 3]``; ``state`` may
    be wrapped (see ``physics_state``). ``action`` is only drawn by Pendulum-v1."""
    draw = _drawer(env_name)
    s = np.asarray(physics_state(state), np.float64)
    if s.ndim != 1:
        raise ValueError(f"render_frame draws one state, got an array of shape {s.shape} "
                         "(index a batched state first)")
    return draw(s, params, action)


def rollout_states(env, env_params, policy, key, max_steps: int):
    """One episode of at most ``max_steps`` steps, as one jitted ``lax.scan``.

    ``policy(obs, key) -> action`` must be traceable by JAX. Returns host arrays
    ``states [T + 1, ...]`` (inner physics states: the reset state, then one per step)
    and ``actions [T, ...]``, cut at the first step whose ``terminated`` or ``truncated``
    is set (that step's state included). Pass ``env`` without ``AutoReset``, whose
    state after the last step is already the next episode's.
    """
    import jax

    def run(key):
        key_reset, key = jax.random.split(key)
        state, ts = env.reset(key_reset, env_params)

        def step(carry, key):
            state, obs = carry
            key_act, key_step = jax.random.split(key)
            action = policy(obs, key_act)
            state, ts = env.step(key_step, state, action, env_params)
            return (state, ts.obs), (physics_state(state), action, ts.done)

        _, (states, actions, done) = jax.lax.scan(step, (state, ts.obs), jax.random.split(key, max_steps))
        return physics_state(state), states, actions, done

    first, states, actions, done = (np.asarray(a) for a in jax.device_get(jax.jit(run)(key)))
    ended = np.flatnonzero(done)
    t = int(ended[0]) + 1 if len(ended) else max_steps
    return np.concatenate([first[None], states[:t]]), actions[:t]


def rollout_frames(env, env_params, env_name: str, policy, key, max_steps: int = 500) -> np.ndarray:
    """Run one episode (``rollout_states``) and draw every state on the host:
    uint8 ``[T + 1, H, W, 3]``; frame ``t + 1`` shows the result of action ``t``."""
    states, actions = rollout_states(env, env_params, policy, key, max_steps)
    return np.stack([render_frame(env_name, s, env_params, None if i == 0 else actions[i - 1])
                     for i, s in enumerate(states)])


def save_animation(frames: np.ndarray, path: str | Path, fps: float = 30) -> Path:
    """Write ``frames [T, H, W, 3]`` (uint8) as ``.gif`` (PIL; frame duration rounded
    to GIF's 10 ms ticks; PIL merges identical consecutive frames) or ``.mp4``
    (needs ``imageio-ffmpeg``). Returns the path."""
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be [T, H, W, 3] with T >= 1, got shape {frames.shape}")
    frames = frames.astype(np.uint8)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        images = [Image.fromarray(f) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=max(10, round(1000 / fps / 10) * 10), loop=0)
    elif suffix == ".mp4":
        try:
            import imageio_ffmpeg
        except ImportError:
            raise RuntimeError("writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
                               "or save as .gif") from None
        height, width = frames.shape[1:3]
        writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps,
                                             macro_block_size=1)
        writer.send(None)
        for f in frames:
            writer.send(np.ascontiguousarray(f))
        writer.close()
    else:
        raise ValueError(f"unsupported animation format {path.suffix!r}: use .gif or .mp4")
    return path

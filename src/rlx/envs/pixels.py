"""Pixel observations: Atari-style preprocessing wrappers and pixel environments in JAX.

    env, params = rlx.make("PixelCartPole-v1")          # uint8 [64, 96, 3] frames, drawn in jit
    env = FrameStack(Resize(Grayscale(ActionRepeat(env, 4)), (32, 48)), 4)   # uint8 [32, 48, 4]
    env = ClipReward(env)                                # sign of the reward; raw in info

Every wrapper is a pure ``reset``/``step`` pair (``jit``, ``vmap``, ``scan``) and every
observation stays ``uint8`` end to end, so replay buffers store one byte per pixel.
Observation wrappers also map ``info["final_obs"]`` (set by ``AutoReset``), so they
may sit on either side of it; ``FrameStack`` restarts its stack on an auto-reset.

Conventions (gymnasium's ``AtariPreprocessing`` and the Nature DQN setup):

- ``luminance``: ITU-R BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B``, computed
  exactly in integers and rounded to nearest, halves up:
  ``(299 R + 587 G + 114 B + 500) // 1000``.
- ``resize_area``: area averaging, OpenCV's ``INTER_AREA`` (which gymnasium's
  ``AtariPreprocessing`` uses for 210×160 → 84×84): each output pixel is the mean of the
  input area it covers, fractional pixels weighted by their overlap. For integer
  factors this is the block mean, computed exactly in integers (rounded half up).
- ``resize_bilinear``: ``jax.image.resize(..., "linear", antialias=True)`` (half-pixel
  centres; when shrinking, the triangle kernel is widened by the factor, as PIL's
  ``BILINEAR``), rounded to nearest.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.classic_control import CartPole, CartPoleParams
from rlx.envs.core import Environment, TimeStep, Wrapper
from rlx.envs.registry import register

# --------------------------------------------------------------------------- image functions

LUMA_BT601 = (299, 587, 114)  # ITU-R BT.601 luma weights, per mille


def _check_uint8_like(x, what: str) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"{what} expects integer pixels in [0, 255] (uint8), got dtype {x.dtype}")
    return x


def luminance(rgb, keep_dim: bool = False) -> jax.Array:
    """ITU-R BT.601 luma of RGB pixels ``[..., 3]`` in [0, 255]:
    ``Y = round(0.299 R + 0.587 G + 0.114 B)``, exactly, halves rounded up
    (``(299 R + 587 G + 114 B + 500) // 1000``). Returns uint8 ``[...]``, or
    ``[..., 1]`` with ``keep_dim``."""
    x = _check_uint8_like(rgb, "luminance")
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(f"luminance expects RGB pixels [..., 3], got shape {x.shape}")
    x = x.astype(jnp.int32)
    r, g, b = LUMA_BT601
    y = ((r * x[..., 0] + g * x[..., 1] + b * x[..., 2] + 500) // 1000).astype(jnp.uint8)
    return y[..., None] if keep_dim else y


def _round_uint8(x) -> jax.Array:
    return jnp.clip(jnp.floor(x + 0.5), 0, 255).astype(jnp.uint8)


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` weights of area averaging along one axis (``n_out <= n_in``):
    output pixel ``i`` covers input interval ``[i·s, (i+1)·s)``, ``s = n_in / n_out``;
    each input pixel ``j`` weighs ``|[j, j+1) ∩ [i·s, (i+1)·s)| / s``. Rows sum to 1."""
    if not 1 <= n_out <= n_in:
        raise ValueError(f"area averaging shrinks: need 1 <= output size <= input size, "
                         f"got {n_in} -> {n_out} (use method='bilinear' to enlarge)")
    s = n_in / n_out
    lo, hi = np.arange(n_out)[:, None] * s, np.arange(1, n_out + 1)[:, None] * s
    j = np.arange(n_in)[None, :]
    return np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None) / s


def resize_area(image, size: tuple[int, int]) -> jax.Array:
    """Shrink ``image [H, W, ...]`` (integer pixels) to ``size = (h, w)`` by area
    averaging (OpenCV's ``INTER_AREA``); uint8. Integer factors ``H/h``, ``W/w``: the
    exact block mean, rounded half up; otherwise overlap-weighted means (float32,
    highest matmul precision), rounded to nearest."""
    x = _check_uint8_like(image, "resize_area")
    (H, W), (h, w) = x.shape[:2], (int(size[0]), int(size[1]))
    if H % h == 0 and W % w == 0:
        fh, fw = H // h, W // w
        blocks = x.astype(jnp.int32).reshape((h, fh, w, fw) + x.shape[2:]).sum(axis=(1, 3))
        n = fh * fw
        return ((blocks + n // 2) // n).astype(jnp.uint8)
    ah = jnp.asarray(area_weights(H, h), jnp.float32)
    aw = jnp.asarray(area_weights(W, w), jnp.float32)
    hp = jax.lax.Precision.HIGHEST
    y = jnp.tensordot(ah, x.astype(jnp.float32), axes=(1, 0), precision=hp)  # [h, W, ...]
    y = jnp.moveaxis(jnp.tensordot(aw, y, axes=(1, 1), precision=hp), 0, 1)  # [h, w, ...]
    return _round_uint8(y)


def resize_bilinear(image, size: tuple[int, int]) -> jax.Array:
    """Resize ``image [H, W, ...]`` to ``size = (h, w)`` with
    ``jax.image.resize(method="linear", antialias=True)``, rounded to nearest; uint8."""
    x = _check_uint8_like(image, "resize_bilinear")
    shape = (int(size[0]), int(size[1])) + x.shape[2:]
    return _round_uint8(jax.image.resize(x.astype(jnp.float32), shape, "linear", antialias=True))


def _uint8_box(shape) -> spaces.Box:
    return spaces.box(0, 255, tuple(shape), jnp.uint8)


def _image_space(env: Environment, params, what: str) -> spaces.Box:
    space = env.observation_space(params)
    if not isinstance(space, spaces.Box) or len(space.shape) < 2:
        raise ValueError(f"{what} needs image observations (a Box [H, W, ...]); "
                         f"{env.name} has {space}")
    return space


# --------------------------------------------------------------------------- wrappers


class ObservationWrapper(Wrapper):
    """Maps every observation through ``observation(obs, params)``: ``ts.obs`` and,
    when an ``AutoReset`` inside set it, ``info["final_obs"]``. Adds no state."""

    def observation(self, obs, params):
        raise NotImplementedError

    def _map(self, ts: TimeStep, params) -> TimeStep:
        info = ts.info
        if "final_obs" in info:
            info = {**info, "final_obs": self.observation(info["final_obs"], params)}
        return ts._replace(obs=self.observation(ts.obs, params), info=info)

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        return state, self._map(ts, params)

    def step(self, key, state, action, params):
        state, ts = self.env.step(key, state, action, params)
        return state, self._map(ts, params)


class Grayscale(ObservationWrapper):
    """RGB ``[H, W, 3]`` → BT.601 luma (``luminance``): uint8 ``[H, W]``, or
    ``[H, W, 1]`` with ``keep_dim`` (gymnasium's ``GrayscaleObservation`` default is
    ``keep_dim=False`` too, though it uses BT.709 weights and truncates)."""

    def __init__(self, env: Environment, keep_dim: bool = False):
        super().__init__(env)
        self.keep_dim = bool(keep_dim)

    def observation(self, obs, params):
        return luminance(obs, self.keep_dim)

    def observation_space(self, params):
        space = _image_space(self.env, params, "Grayscale")
        if space.shape[-1] != 3:
            raise ValueError(f"Grayscale needs RGB observations [H, W, 3]; {self.env.name} has {space.shape}")
        return _uint8_box(space.shape[:-1] + ((1,) if self.keep_dim else ()))


class Resize(ObservationWrapper):
    """Images ``[H, W, ...]`` → ``[h, w, ...]``, uint8. ``method="area"`` (default):
    area averaging as OpenCV's ``INTER_AREA`` in gymnasium's ``AtariPreprocessing``
    (exact block means for integer factors; shrinking only); ``"bilinear"``:
    ``jax.image.resize`` linear with antialiasing (any size)."""

    METHODS = {"area": resize_area, "bilinear": resize_bilinear}

    def __init__(self, env: Environment, size: tuple[int, int], method: str = "area"):
        super().__init__(env)
        if method not in self.METHODS:
            raise ValueError(f"unknown resize method {method!r}: use 'area' or 'bilinear'")
        self.size = (int(size[0]), int(size[1]))
        if min(self.size) < 1:
            raise ValueError(f"resize to a positive size, got {size}")
        self.method = method

    def observation(self, obs, params):
        return self.METHODS[self.method](obs, self.size)

    def observation_space(self, params):
        space = _image_space(self.env, params, "Resize")
        if self.method == "area":  # raises unless both sides shrink (or stay)
            area_weights(space.shape[0], self.size[0])
            area_weights(space.shape[1], self.size[1])
        return _uint8_box(self.size + tuple(space.shape[2:]))


class FrameStackState(NamedTuple):
    env_state: Any
    frames: jax.Array  # [..., k], oldest first


class FrameStack(Wrapper):
    """The last ``k`` observations stacked on a new last axis, oldest first:
    ``[...] → [..., k]`` (e.g. ``[84, 84] → [84, 84, 4]``), dtype kept.

    On ``reset`` every slot holds the first observation. With an ``AutoReset``
    inside, a step that ends an episode restarts the stack from the new episode's
    first observation (nothing of the old episode leaks into it), and
    ``info["final_obs"]`` becomes the old stack with the final observation pushed.
    With ``AutoReset`` outside, its ``reset`` call does the same."""

    def __init__(self, env: Environment, k: int):
        super().__init__(env)
        if int(k) < 1:
            raise ValueError(f"FrameStack needs k >= 1, got {k}")
        self.k = int(k)

    def _fill(self, obs):
        return jnp.broadcast_to(obs[..., None], obs.shape + (self.k,))

    @staticmethod
    def _push(frames, obs):
        return jnp.concatenate([frames[..., 1:], obs[..., None]], axis=-1)

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        frames = self._fill(ts.obs)
        info = ts.info
        if "final_obs" in info:
            info = {**info, "final_obs": self._fill(info["final_obs"])}
        return FrameStackState(state, frames), ts._replace(obs=frames, info=info)

    def step(self, key, state, action, params):
        env_state, ts = self.env.step(key, state.env_state, action, params)
        frames = self._push(state.frames, ts.obs)
        info = ts.info
        if "final_obs" in info:  # AutoReset inside: when done, ts.obs starts a new episode
            info = {**info, "final_obs": self._push(state.frames, info["final_obs"])}
            frames = jnp.where(ts.done, self._fill(ts.obs), frames)
        return FrameStackState(env_state, frames), ts._replace(obs=frames, info=info)

    def observation_space(self, params):
        space = self.env.observation_space(params)
        if not isinstance(space, spaces.Box):
            raise ValueError(f"FrameStack needs Box observations; {self.env.name} has {space}")
        shape = tuple(space.shape) + (self.k,)
        low = np.broadcast_to(np.asarray(space.low)[..., None], shape)
        high = np.broadcast_to(np.asarray(space.high)[..., None], shape)
        return spaces.Box(low, high, shape, space.dtype)


class ClipReward(Wrapper):
    """``reward → sign(reward)`` ∈ {-1, 0, 1}, as in DQN's Atari setup. The unclipped
    reward is kept in ``info["raw_reward"]`` (the innermost one when nested), and
    ``EpisodeStats`` sums ``info["raw_reward"]`` when present: with
    ``for_training(ClipReward(env))`` the learner trains on clipped rewards while
    ``episode_return`` is the game's score."""

    @staticmethod
    def _clip(ts: TimeStep) -> TimeStep:
        raw = ts.info.get("raw_reward", ts.reward)
        return ts._replace(reward=jnp.sign(ts.reward), info={**ts.info, "raw_reward": raw})

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        return state, self._clip(ts)

    def step(self, key, state, action, params):
        state, ts = self.env.step(key, state, action, params)
        return state, self._clip(ts)


class ActionRepeat(Wrapper):
    """Repeat each action ``k`` times (Atari's frame skip): rewards summed (and
    ``info["raw_reward"]`` too, when present), stopping early at the first inner step
    that is terminated or truncated; the returned ``terminated``/``truncated``/``info``
    are those of the last inner step taken. Inner keys: ``jax.random.split(key, k)``.

    ``max_pool``: the observation is the element-wise maximum of the last two frames
    of the repeat (removes Atari's sprite flicker); after a single inner step it is
    that step's frame. With an ``AutoReset`` inside, an episode-ending step's frame is
    ``info["final_obs"]``: the pooled frame goes there and ``obs`` stays the new
    episode's first frame. A ``TimeLimit`` inside (``rlx.make`` adds one) counts
    inner steps: ``ActionRepeat(rlx.make("PixelCartPole-v1")[0], 4)`` truncates after
    500 frames, 125 agent steps."""

    def __init__(self, env: Environment, k: int, max_pool: bool = False):
        super().__init__(env)
        if int(k) < 1:
            raise ValueError(f"ActionRepeat needs k >= 1, got {k}")
        self.k, self.max_pool = int(k), bool(max_pool)

    @staticmethod
    def _frame(ts: TimeStep):
        """The frame a step produced in its own episode (before any auto-reset)."""
        return ts.info.get("final_obs", ts.obs)

    def step(self, key, state, action, params):
        keys = jax.random.split(key, self.k)
        state, ts = self.env.step(keys[0], state, action, params)
        has_raw = "raw_reward" in ts.info
        raw = ts.info["raw_reward"] if has_raw else ts.reward

        def inner(carry, k):
            state, ts, prev, reward, raw, done = carry
            new_state, new_ts = self.env.step(k, state, action, params)
            go = jnp.logical_not(done)
            pick = lambda a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(go, x, y), a, b)
            prev = pick(self._frame(ts), prev)
            reward = reward + jnp.where(go, new_ts.reward, jnp.zeros_like(new_ts.reward))
            if has_raw:
                raw = raw + jnp.where(go, new_ts.info["raw_reward"], 0)
            done = jnp.logical_or(done, jnp.logical_and(go, new_ts.done))
            return (pick(new_state, state), pick(new_ts, ts), prev, reward, raw, done), None

        carry = (state, ts, self._frame(ts), ts.reward, raw, ts.done)
        if self.k > 1:
            carry, _ = jax.lax.scan(inner, carry, keys[1:])
        state, ts, prev, reward, raw, _ = carry
        info = dict(ts.info)
        if has_raw:
            info["raw_reward"] = raw
        obs = ts.obs
        if self.max_pool:
            pooled = jnp.maximum(prev, self._frame(ts))
            if "final_obs" in info:
                info["final_obs"] = pooled
                obs = jnp.where(ts.done, ts.obs, pooled)
            else:
                obs = pooled
        return state, ts._replace(obs=obs, reward=reward, info=info)


class NoopReset(Wrapper):
    """On ``reset``, take a uniform number in ``1..noop_max`` of ``noop_action`` steps
    (gymnasium's ``NoopResetEnv`` / ``AtariPreprocessing(noop_max)``), resetting again
    if an episode ends meanwhile; the returned timestep is the reset's, with the
    observation after the no-ops. ``noop_max = 0`` is a plain reset."""

    def __init__(self, env: Environment, noop_max: int = 30, noop_action: Any = 0):
        super().__init__(env)
        if int(noop_max) < 0:
            raise ValueError(f"noop_max must be >= 0, got {noop_max}")
        self.noop_max, self.noop_action = int(noop_max), noop_action

    def reset(self, key, params):
        key_reset, key_n, key_loop = jax.random.split(key, 3)
        state, ts0 = self.env.reset(key_reset, params)
        if self.noop_max == 0:
            return state, ts0
        n = jax.random.randint(key_n, (), 1, self.noop_max + 1)
        action = jnp.asarray(self.noop_action)

        def noop(carry, xs):
            state, obs = carry
            i, k = xs
            k_step, k_reset = jax.random.split(k)
            s1, ts1 = self.env.step(k_step, state, action, params)
            s2, ts2 = self.env.reset(k_reset, params)
            pick = lambda c, a, b: jax.tree_util.tree_map(lambda x, y: jnp.where(c, x, y), a, b)
            s1, o1 = pick(ts1.done, (s2, ts2.obs), (s1, ts1.obs))
            return pick(i < n, (s1, o1), (state, obs)), None

        steps = (jnp.arange(self.noop_max), jax.random.split(key_loop, self.noop_max))
        (state, obs), _ = jax.lax.scan(noop, (state, ts0.obs), steps)
        info = ts0.info
        if "final_obs" in info:
            info = {**info, "final_obs": obs}
        return state, ts0._replace(obs=obs, info=info)


class StickyActionsState(NamedTuple):
    env_state: Any
    last_action: jax.Array


class StickyActions(Wrapper):
    """With probability ``p`` the environment repeats the previously executed action
    instead of the agent's (Machado et al. 2018: p = 0.25 for the ALE; MinAtar's
    default is 0.1). The first step of an episode follows ``0`` as the previous action."""

    def __init__(self, env: Environment, p: float):
        super().__init__(env)
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"StickyActions needs p in [0, 1], got {p}")
        self.p = float(p)

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        a0 = jnp.zeros(self.env.action_space(params).shape, jnp.int32)
        return StickyActionsState(state, a0), ts

    def step(self, key, state, action, params):
        k_stick, k_env = jax.random.split(key)
        action = jnp.asarray(action, jnp.int32)
        action = jnp.where(jax.random.uniform(k_stick) < self.p, state.last_action, action)
        env_state, ts = self.env.step(k_env, state.env_state, action, params)
        return StickyActionsState(env_state, action), ts


def atari_preprocessing(env: Environment, *, action_repeat: int = 4, max_pool: bool = True,
                        grayscale: bool = True, size: tuple[int, int] | None = None,
                        resize_method: str = "area", frame_stack: int = 4,
                        clip_reward: bool = True, noop_max: int = 0, noop_action: Any = 0,
                        sticky: float = 0.0) -> Environment:
    """The Nature-DQN pipeline, inside out: ``StickyActions`` (per frame) → ``NoopReset`` →
    ``ActionRepeat`` (max-pooled on the raw frames) → ``Grayscale`` → ``Resize`` →
    ``FrameStack`` → ``ClipReward``.
    Each stage is skipped when its option is off (0, ``None`` or ``False``). Pass the
    result to a learner, which adds ``AutoReset`` and ``EpisodeStats`` outside."""
    if sticky:
        env = StickyActions(env, sticky)
    if noop_max:
        env = NoopReset(env, noop_max, noop_action)
    if action_repeat > 1:
        env = ActionRepeat(env, action_repeat, max_pool)
    if grayscale:
        env = Grayscale(env)
    if size is not None:
        env = Resize(env, size, resize_method)
    if frame_stack > 1:
        env = FrameStack(env, frame_stack)
    if clip_reward:
        env = ClipReward(env)
    return env


# --------------------------------------------------------------------------- pixel environments


CARTPOLE_COLOURS = {"background": (255, 255, 255), "cart": (0, 0, 0), "pole": (202, 152, 101),
                    "axle": (129, 132, 203), "track": (0, 0, 0)}


def cartpole_geometry(params: CartPoleParams, width: int) -> dict:
    """gymnasium's CartPole scene (600×400 px) scaled by ``s = width / 600``, in
    pixel units with y up: ``world`` px per metre (``width / (2·x_threshold)``), cart
    ``50s × 30s`` centred at height ``carty = 100s``, pole ``10s`` wide and
    ``2·length·world`` long pivoting ``7.5s`` above the cart's centre, axle disc of
    radius ``5.5s``; the track line at ``carty`` is kept 1 px thick."""
    s = width / 600.0
    world = width / (2.0 * params.x_threshold)
    return dict(world=world, carty=100.0 * s, cart_half_w=25.0 * s, cart_half_h=15.0 * s,
                pole_w=10.0 * s, pole_len=2.0 * params.length * world, axle_dy=7.5 * s, axle_r=5.5 * s)


def _overlap(centres, lo, hi):
    """Length of ``[c - ½, c + ½] ∩ [lo, hi]`` for pixel centres ``c``: exact 1-D coverage."""
    return jnp.clip(jnp.minimum(centres + 0.5, hi) - jnp.maximum(centres - 0.5, lo), 0.0, 1.0)


def _sdf_coverage(sd):
    """Coverage of a pixel whose centre lies at signed distance ``sd`` (px, negative
    inside) from a shape's edge: ``clip(½ - sd, 0, 1)``, exact for a straight edge along
    a pixel axis (the usual signed-distance anti-aliasing)."""
    return jnp.clip(0.5 - sd, 0.0, 1.0)


def render_cartpole(state, params: CartPoleParams, height: int = 64, width: int = 96) -> jax.Array:
    """Draw CartPole's ``state [x, ẋ, θ, θ̇]`` as uint8 RGB ``[height, width, 3]`` in JAX
    (jittable, vmappable): gymnasium's scene scaled down (``cartpole_geometry``), drawn
    in gymnasium's order on white: cart (black), pole (brown, rotated by ``-θ``:
    positive θ leans right), axle (blue disc), track line (black). Anti-aliased by
    coverage: exact pixel-area coverage for the cart and the track, signed-distance
    coverage for the pole and the axle; each shape is blended over the picture by its
    coverage and the result rounded to nearest. Pixel column ``j`` spans
    ``[j - ½, j + ½]`` and the cart's centre is at ``x·world + width/2`` (gymnasium's
    mapping); row 0 is the top of the picture (y = height - 1)."""
    g = cartpole_geometry(params, width)
    xs = jnp.arange(width, dtype=jnp.float32)[None, :]
    ys = jnp.arange(height, dtype=jnp.float32)[::-1, None]  # row 0 is the top: y up
    state = jnp.asarray(state, jnp.float32)
    cartx, carty = state[0] * g["world"] + width / 2.0, g["carty"]
    cart = (_overlap(xs, cartx - g["cart_half_w"], cartx + g["cart_half_w"])
            * _overlap(ys, carty - g["cart_half_h"], carty + g["cart_half_h"]))
    # the pole in its own frame: `along` the pole from the axle, `across` it
    dx, dy = xs - cartx, ys - (carty + g["axle_dy"])
    sin, cos = jnp.sin(state[2]), jnp.cos(state[2])
    half_w, half_len = g["pole_w"] / 2.0, g["pole_len"] / 2.0
    qa = jnp.abs(dx * sin + dy * cos - (half_len - half_w)) - half_len  # box SDF
    qc = jnp.abs(dx * cos - dy * sin) - half_w
    sd = jnp.hypot(jnp.maximum(qa, 0.0), jnp.maximum(qc, 0.0)) + jnp.minimum(jnp.maximum(qa, qc), 0.0)
    layers = [
        (cart, "cart"),
        (_sdf_coverage(sd), "pole"),
        (_sdf_coverage(jnp.hypot(dx, dy) - g["axle_r"]), "axle"),
        (jnp.broadcast_to(_overlap(ys, carty - 0.5, carty + 0.5), (height, width)), "track"),
    ]
    picture = jnp.full((height, width, 3), 255.0, jnp.float32)
    for coverage, name in layers:
        c = coverage[..., None]
        picture = picture * (1.0 - c) + jnp.asarray(CARTPOLE_COLOURS[name], jnp.float32) * c
    return _round_uint8(picture)


class PixelCartPole(Environment):
    """CartPole-v1 seen through pixels: the same state ``[x, ẋ, θ, θ̇]``, dynamics,
    rewards, terminations and resets as ``CartPole`` (it steps a ``CartPole``), but the
    observation is the scene drawn in JAX as uint8 RGB ``[height, width, 3]``
    (``render_cartpole``; default 64×96, gymnasium's 400×600 picture at scale 0.16).
    Velocities are not visible in one frame: stack frames (``FrameStack``)."""

    name = "PixelCartPole-v1"

    def __init__(self, height: int = 64, width: int = 96):
        if min(height, width) < 1:
            raise ValueError(f"height and width must be positive, got {height}, {width}")
        self.height, self.width = int(height), int(width)
        self.physics = CartPole()

    def default_params(self) -> CartPoleParams:
        return CartPoleParams()

    def render(self, state, params) -> jax.Array:
        return render_cartpole(state, params, self.height, self.width)

    def reset(self, key, params):
        state, ts = self.physics.reset(key, params)
        return state, ts._replace(obs=self.render(state, params))

    def step(self, key, state, action, params):
        state, ts = self.physics.step(key, state, action, params)
        return state, ts._replace(obs=self.render(state, params))

    def observation_space(self, params):
        return _uint8_box((self.height, self.width, 3))

    def action_space(self, params):
        return spaces.Discrete(2)


register("PixelCartPole-v1", PixelCartPole, max_steps=500)


@pytree_dataclass
class CatchParams:
    reward_catch: float = 1.0
    reward_miss: float = -1.0


class CatchState(NamedTuple):
    ball_x: jax.Array  # column of the ball
    ball_y: jax.Array  # row of the ball (0 = top)
    paddle_x: jax.Array  # column of the paddle, which lives on the bottom row


class Catch(Environment):
    """bsuite's Catch (Osband et al. 2020) with pixel observations.

    A ``rows × columns`` board (10 × 5): the ball starts in row 0 of a uniformly
    drawn column and falls one row per step; the paddle starts in the middle of the
    bottom row and moves left / stays / right (actions 0, 1, 2; clipped at the
    walls) before the ball's position is checked. When the ball reaches the bottom
    row the episode terminates with reward ``reward_catch`` (+1) if the paddle is
    under it, else ``reward_miss`` (-1); every other step gives 0 (9 steps per
    episode). The observation is uint8 RGB ``[rows·cell, columns·cell, 3]`` (80 × 40):
    black background, white ball, blue paddle, each filling its ``cell × cell``
    square (the ball is drawn over the paddle)."""

    name = "Catch-v0"
    BALL, PADDLE = (255, 255, 255), (0, 160, 255)

    def __init__(self, rows: int = 10, columns: int = 5, cell: int = 8):
        if rows < 2 or columns < 1 or cell < 1:
            raise ValueError(f"Catch needs rows >= 2, columns >= 1, cell >= 1; got {rows}, {columns}, {cell}")
        self.rows, self.columns, self.cell = int(rows), int(columns), int(cell)

    def default_params(self) -> CatchParams:
        return CatchParams()

    def render(self, state: CatchState) -> jax.Array:
        r = (jnp.arange(self.rows * self.cell) // self.cell)[:, None]
        c = (jnp.arange(self.columns * self.cell) // self.cell)[None, :]
        paddle = (r == self.rows - 1) & (c == state.paddle_x)
        ball = (r == state.ball_y) & (c == state.ball_x)
        img = jnp.zeros((self.rows * self.cell, self.columns * self.cell, 3), jnp.uint8)
        img = jnp.where(paddle[..., None], jnp.asarray(self.PADDLE, jnp.uint8), img)
        return jnp.where(ball[..., None], jnp.asarray(self.BALL, jnp.uint8), img)

    def reset(self, key, params):
        i32 = jnp.int32
        state = CatchState(jax.random.randint(key, (), 0, self.columns, i32), jnp.zeros((), i32),
                           jnp.asarray(self.columns // 2, i32))
        false = jnp.zeros((), bool)
        return state, TimeStep(self.render(state), jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, state: CatchState, action, params: CatchParams):
        dx = jnp.asarray(action, jnp.int32).reshape(()) - 1
        paddle_x = jnp.clip(state.paddle_x + dx, 0, self.columns - 1)
        state = CatchState(state.ball_x, state.ball_y + 1, paddle_x)
        terminated = state.ball_y >= self.rows - 1
        reward = jnp.where(terminated, jnp.where(state.ball_x == paddle_x, params.reward_catch,
                                                 params.reward_miss), 0.0).astype(jnp.float32)
        return state, TimeStep(self.render(state), reward, terminated, jnp.zeros((), bool), {})

    def observation_space(self, params):
        return _uint8_box((self.rows * self.cell, self.columns * self.cell, 3))

    def action_space(self, params):
        return spaces.Discrete(3)


register("Catch-v0", Catch)

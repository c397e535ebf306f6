"""MinAtar games (Young & Tian 2019) in JAX: 10 × 10 boards with one channel per object.

``rlx.make("Breakout-MinAtar")`` gives the game with MinAtar's defaults: sticky
actions with probability 0.1 and the minimal action set (no-op, left, right);
``rlx.make("Breakout-MinAtar", sticky=0.0)`` turns stickiness off. Observations are
``uint8 [10, 10, C]`` 0/1 channel maps (one byte per cell in a replay buffer). The
rules follow the reference ``minatar`` package, which the tests step side by side.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.core import Environment, TimeStep
from rlx.envs.pixels import StickyActions
from rlx.envs.registry import register

# ball directions: 0 up-left, 1 up-right, 2 down-right, 3 down-left
_DX = jnp.array([-1, 1, 1, -1])
_DY = jnp.array([-1, -1, 1, 1])
_MIRROR_X = jnp.array([1, 0, 3, 2])  # bounce off a side wall
_MIRROR_Y = jnp.array([3, 2, 1, 0])  # bounce off the top, a brick or the paddle's centre
_PADDLE_EDGE = jnp.array([2, 3, 0, 1])  # caught by the paddle's edge: sent back the way it came


@pytree_dataclass
class BreakoutParams:
    """MinAtar Breakout has no tunable physics; the params exist for the API."""


class BreakoutState(NamedTuple):
    ball_x: jax.Array
    ball_y: jax.Array
    ball_dir: jax.Array
    paddle: jax.Array  # paddle column (row 9)
    last_x: jax.Array  # the ball's previous cell (the "trail" channel)
    last_y: jax.Array
    bricks: jax.Array  # [10, 10] bool
    strike: jax.Array  # a brick was hit on the previous step (no second hit in a row)


class Breakout(Environment):
    """MinAtar Breakout. Channels: paddle, ball, trail, brick. The ball moves one cell
    diagonally per step; side walls and the top reflect it; hitting a brick removes it
    (+1 reward) and reflects the ball vertically; the bottom row is the paddle's: a ball
    arriving above the paddle's column goes back up (straight reflection), one arriving
    diagonally onto it is sent back along its path, else the episode terminates. Three
    rows of bricks (rows 1-3) come back when all are cleared and the ball reaches the
    bottom. Actions: 0 no-op, 1 left, 2 right."""

    name = "Breakout-MinAtar"
    channels = ("paddle", "ball", "trail", "brick")

    def default_params(self) -> BreakoutParams:
        return BreakoutParams()

    @staticmethod
    def full_bricks() -> jax.Array:
        return jnp.zeros((10, 10), bool).at[1:4, :].set(True)

    def observe(self, s: BreakoutState) -> jax.Array:
        obs = jnp.zeros((10, 10, 4), jnp.uint8)
        obs = obs.at[9, s.paddle, 0].set(1).at[s.ball_y, s.ball_x, 1].set(1)
        obs = obs.at[s.last_y, s.last_x, 2].set(1)
        return obs.at[:, :, 3].set(s.bricks.astype(jnp.uint8))

    def reset(self, key, params):
        right = jax.random.bernoulli(key)  # start in the top-left corner moving right, or mirrored
        x = jnp.where(right, 9, 0).astype(jnp.int32)
        i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        s = BreakoutState(x, i32(3), jnp.where(right, 3, 2).astype(jnp.int32), i32(4), x, i32(3),
                          self.full_bricks(), jnp.zeros((), bool))
        false = jnp.zeros((), bool)
        return s, TimeStep(self.observe(s), jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, s: BreakoutState, action, params):
        a = jnp.asarray(action, jnp.int32).reshape(())
        paddle = jnp.clip(s.paddle + jnp.where(a == 1, -1, jnp.where(a == 2, 1, 0)), 0, 9)
        d = s.ball_dir
        x, y = s.ball_x + _DX[d], s.ball_y + _DY[d]
        wall = (x < 0) | (x > 9)
        x, d = jnp.clip(x, 0, 9), jnp.where(wall, _MIRROR_X[d], d)
        top = y < 0
        brick = ~top & s.bricks[jnp.clip(y, 0, 9), x]
        bottom = ~top & ~brick & (y == 9)
        hit = brick & ~s.strike  # a brick right after a hit is passed through
        bricks = jnp.where(hit, s.bricks.at[jnp.clip(y, 0, 9), x].set(False), s.bricks)
        bricks = jnp.where(bottom & ~bricks.any(), self.full_bricks(), bricks)
        centre, edge = bottom & (s.ball_x == paddle), bottom & (s.ball_x != paddle) & (x == paddle)
        d = jnp.where(top | hit | centre, _MIRROR_Y[d], jnp.where(edge, _PADDLE_EDGE[d], d))
        y = jnp.where(top, 0, jnp.where(hit | centre | edge, s.ball_y, y))
        terminated = bottom & ~centre & ~edge
        new = BreakoutState(x, y, d, paddle, s.ball_x, s.ball_y, bricks, brick)
        ts = TimeStep(self.observe(new), hit.astype(jnp.float32), terminated, jnp.zeros((), bool), {})
        return new, ts

    def observation_space(self, params):
        return spaces.box(0, 1, (10, 10, 4), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(3)


def breakout(sticky: float = 0.1) -> Environment:
    """Breakout with MinAtar's sticky actions (``sticky = 0``: none)."""
    return StickyActions(Breakout(), sticky) if sticky else Breakout()


register("Breakout-MinAtar", breakout, max_steps=10_000)

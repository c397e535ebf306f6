"""MinAtar games (Young & Tian 2019) in JAX: 10 × 10 boards with one channel per object.

``rlx.make("Breakout-MinAtar")`` gives the game with MinAtar's defaults: sticky
actions with probability 0.1 and the minimal action set (no-op, left, right);
``rlx.make("Breakout-MinAtar", sticky=0.0)`` turns stickiness off. Breakout,
SpaceInvaders, Freeway and Asterix are here (``-MinAtar`` names). Observations are
``uint8 [10, 10, C]`` 0/1 channel maps (one byte per cell in a replay buffer). The
rules follow the reference ``minatar`` package, which the tests step side by side.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.core import Environment, TimeStep
from rlx.envs.pixels import StickyActions
from rlx.envs.registry import register

# ball directions: 0 up-left, 1 up-right, 2 down-right, 3 down-left
_DX = np.array([-1, 1, 1, -1])
_DY = np.array([-1, -1, 1, 1])
_MIRROR_X = np.array([1, 0, 3, 2])  # bounce off a side wall
_MIRROR_Y = np.array([3, 2, 1, 0])  # bounce off the top, a brick or the paddle's centre
_PADDLE_EDGE = np.array([2, 3, 0, 1])  # caught by the paddle's edge: sent back the way it came


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
        x, y = s.ball_x + jnp.asarray(_DX)[d], s.ball_y + jnp.asarray(_DY)[d]
        wall = (x < 0) | (x > 9)
        x, d = jnp.clip(x, 0, 9), jnp.where(wall, jnp.asarray(_MIRROR_X)[d], d)
        top = y < 0
        brick = ~top & s.bricks[jnp.clip(y, 0, 9), x]
        bottom = ~top & ~brick & (y == 9)
        hit = brick & ~s.strike  # a brick right after a hit is passed through
        bricks = jnp.where(hit, s.bricks.at[jnp.clip(y, 0, 9), x].set(False), s.bricks)
        bricks = jnp.where(bottom & ~bricks.any(), self.full_bricks(), bricks)
        centre, edge = bottom & (s.ball_x == paddle), bottom & (s.ball_x != paddle) & (x == paddle)
        d = jnp.where(top | hit | centre, jnp.asarray(_MIRROR_Y)[d], jnp.where(edge, jnp.asarray(_PADDLE_EDGE)[d], d))
        y = jnp.where(top, 0, jnp.where(hit | centre | edge, s.ball_y, y))
        terminated = bottom & ~centre & ~edge
        new = BreakoutState(x, y, d, paddle, s.ball_x, s.ball_y, bricks, brick)
        ts = TimeStep(self.observe(new), hit.astype(jnp.float32), terminated, jnp.zeros((), bool), {})
        return new, ts

    def observation_space(self, params):
        return spaces.box(0, 1, (10, 10, 4), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(3)


@pytree_dataclass
class SpaceInvadersParams:
    """Whether the aliens speed up after each cleared wave (MinAtar's difficulty ramping)."""

    ramping: bool = True


class SpaceInvadersState(NamedTuple):
    pos: jax.Array  # cannon column (row 9)
    aliens: jax.Array  # [10, 10] bool
    bullets: jax.Array  # [10, 10] bool, the cannon's, moving up
    enemy_bullets: jax.Array  # [10, 10] bool, moving down
    alien_dir: jax.Array  # -1 left, +1 right
    move_interval: jax.Array  # steps between alien moves (12, down to 6 with ramping)
    move_timer: jax.Array
    alien_shot_timer: jax.Array
    cannon_timer: jax.Array  # steps until the cannon may fire again
    ramp: jax.Array  # waves cleared with a speed-up


class SpaceInvaders(Environment):
    """MinAtar Space Invaders. Channels: cannon, alien, alien moving left, alien moving
    right, cannon bullet, alien bullet. A 4 × 6 block of aliens steps sideways every
    ``move_interval`` steps (sooner when few are left), dropping a row and turning at a
    wall; every 10 steps the alien nearest the cannon's column fires from its lowest
    cell. The cannon moves or fires (cool-down 5 steps); each alien hit gives +1. The
    episode terminates when an alien bullet or an alien reaches the cannon, or the
    aliens reach the bottom row at a turn. A cleared wave is replaced, and with
    ``ramping`` the aliens then move one step more often (down to every 6 steps).
    Actions: 0 no-op, 1 left, 2 right, 3 fire."""

    name = "SpaceInvaders-MinAtar"
    channels = ("cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet")

    def default_params(self) -> SpaceInvadersParams:
        return SpaceInvadersParams()

    @staticmethod
    def wave() -> jax.Array:
        return jnp.zeros((10, 10), bool).at[0:4, 2:8].set(True)

    def observe(self, s: SpaceInvadersState) -> jax.Array:
        u8 = lambda m: m.astype(jnp.uint8)  # noqa: E731
        left = s.alien_dir < 0
        cannon = jnp.zeros((10, 10), bool).at[9, s.pos].set(True)
        return jnp.stack([u8(cannon), u8(s.aliens), u8(s.aliens & left), u8(s.aliens & ~left),
                          u8(s.bullets), u8(s.enemy_bullets)], axis=-1)

    def reset(self, key, params):
        i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        empty = jnp.zeros((10, 10), bool)
        s = SpaceInvadersState(i32(5), self.wave(), empty, empty, i32(-1), i32(12), i32(12), i32(10), i32(0),
                               i32(0))
        false = jnp.zeros((), bool)
        return s, TimeStep(self.observe(s), jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, s: SpaceInvadersState, action, params):
        a = jnp.asarray(action, jnp.int32).reshape(())
        fire = (a == 3) & (s.cannon_timer == 0)
        pos = jnp.clip(s.pos + jnp.where(a == 1, -1, jnp.where(a == 2, 1, 0)) * (a != 3), 0, 9)
        bullets = s.bullets.at[9, pos].set(s.bullets[9, pos] | fire)
        cannon_timer = jnp.where(fire, 5, s.cannon_timer)
        bullets = jnp.zeros_like(bullets).at[:9].set(bullets[1:])  # up one row; the top row leaves
        enemy = jnp.zeros_like(s.enemy_bullets).at[1:].set(s.enemy_bullets[:9])  # down one row
        dead = enemy[9, pos] | s.aliens[9, pos]
        # the aliens' move
        aliens, alien_dir, move_timer = s.aliens, s.alien_dir, s.move_timer
        move = move_timer == 0
        at_wall = (aliens[:, 0].any() & (alien_dir < 0)) | (aliens[:, 9].any() & (alien_dir > 0))
        turn = move & at_wall
        dead = dead | (turn & aliens[9].any())
        shifted = jnp.where(turn, jnp.roll(aliens, 1, axis=0), jnp.roll(aliens, alien_dir, axis=1))
        aliens = jnp.where(move, shifted, aliens)
        alien_dir = jnp.where(turn, -alien_dir, alien_dir)
        move_timer = jnp.where(move, jnp.minimum(s.aliens.sum(), s.move_interval), move_timer)
        dead = dead | (move & aliens[9, pos])
        # the nearest alien column (ties: the lower column) fires from its lowest alien
        shoot = s.alien_shot_timer == 0
        cols = jnp.arange(10)
        col = jnp.argmin(jnp.where(aliens.any(axis=0), jnp.abs(cols - pos) * 10 + cols, 1000))
        row = 9 - jnp.argmax(aliens[::-1, col])
        enemy = enemy.at[row, col].set(enemy[row, col] | (shoot & aliens.any()))
        alien_shot_timer = jnp.where(shoot, 10, s.alien_shot_timer)
        kill = aliens & bullets
        aliens, bullets = aliens & ~kill, bullets & ~kill
        # timers, and a new wave when this one is cleared
        cleared = ~aliens.any()
        speed_up = cleared & (s.move_interval > 6) & params.ramping
        new = SpaceInvadersState(
            pos, jnp.where(cleared, self.wave(), aliens), bullets, enemy, alien_dir,
            s.move_interval - speed_up, move_timer - 1, alien_shot_timer - 1,
            cannon_timer - (cannon_timer > 0), s.ramp + speed_up)
        reward = kill.sum().astype(jnp.float32)
        return new, TimeStep(self.observe(new), reward, dead, jnp.zeros((), bool), {})

    def observation_space(self, params):
        return spaces.box(0, 1, (10, 10, 6), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(4)


@pytree_dataclass
class FreewayParams:
    """Freeway has no tunable physics; the params exist for the API."""


class FreewayState(NamedTuple):
    pos: jax.Array  # the chicken's row (column 4); 9 is the start, 0 the far side
    car_x: jax.Array  # [8] column of the car on row i + 1
    car_timer: jax.Array  # [8] steps until the car moves
    car_speed: jax.Array  # [8] signed: ±1..5, a move every |speed| + 1 steps, in its sign's direction
    move_timer: jax.Array  # steps until the chicken may move again
    time_left: jax.Array  # 2500 steps per episode


class Freeway(Environment):
    """MinAtar Freeway. Channels: chicken, car, and five speed-coded car trails. The
    chicken crosses eight lanes (rows 1-8) from row 9 to row 0, moving at most every 3
    steps; reaching row 0 gives +1, sends it back to row 9 and redraws every car's speed
    (1-5) and direction. A car moves one column every ``|speed| + 1`` steps, wrapping
    around; a car on the chicken's cell sends it back to row 9. The episode lasts 2500
    steps (MinAtar's only ending; reported as a truncation, since the clock is not in the
    observation). Actions: 0 no-op, 1 up, 2 down."""

    name = "Freeway-MinAtar"
    channels = ("chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5")
    time_limit = 2500

    def default_params(self) -> FreewayParams:
        return FreewayParams()

    @staticmethod
    def draw_speeds(key) -> jax.Array:
        k_speed, k_dir = jax.random.split(key)
        speed = jax.random.randint(k_speed, (8,), 1, 6)
        return jnp.where(jax.random.bernoulli(k_dir, 0.5, (8,)), speed, -speed).astype(jnp.int32)

    def observe(self, s: FreewayState) -> jax.Array:
        rows = jnp.arange(8) + 1
        back = (s.car_x - jnp.sign(s.car_speed)) % 10
        obs = jnp.zeros((10, 10, 7), jnp.uint8).at[s.pos, 4, 0].set(1).at[rows, s.car_x, 1].set(1)
        return obs.at[rows, back, 1 + jnp.abs(s.car_speed)].set(1)

    def reset(self, key, params):
        speed = self.draw_speeds(key)
        i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        s = FreewayState(i32(9), jnp.zeros((8,), jnp.int32), jnp.abs(speed), speed, i32(3), i32(self.time_limit))
        false = jnp.zeros((), bool)
        return s, TimeStep(self.observe(s), jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, s: FreewayState, action, params):
        a = jnp.asarray(action, jnp.int32).reshape(())
        can = s.move_timer == 0
        moved = can & ((a == 1) | (a == 2))
        pos = jnp.clip(s.pos + jnp.where(moved, jnp.where(a == 1, -1, 1), 0), 0, 9)
        move_timer = jnp.where(moved, 3, s.move_timer)
        crossed = pos == 0
        new_speed = self.draw_speeds(key)
        speed = jnp.where(crossed, new_speed, s.car_speed)
        timer = jnp.where(crossed, jnp.abs(new_speed), s.car_timer)
        pos = jnp.where(crossed, 9, pos)
        lane = jnp.arange(8) + 1 == pos
        go = timer == 0
        x = jnp.where(go, (s.car_x + jnp.sign(speed)) % 10, s.car_x)
        hit = jnp.any(lane & ((s.car_x == 4) | (go & (x == 4))))
        new = FreewayState(jnp.where(hit, 9, pos), x, jnp.where(go, jnp.abs(speed), timer - 1), speed,
                           move_timer - (move_timer > 0), s.time_left - 1)
        return new, TimeStep(self.observe(new), crossed.astype(jnp.float32), jnp.zeros((), bool),
                             new.time_left < 0, {})

    def observation_space(self, params):
        return spaces.box(0, 1, (10, 10, 7), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(3)


@pytree_dataclass
class AsterixParams:
    """Whether spawning and movement speed up every 100 steps (MinAtar's difficulty ramping)."""

    ramping: bool = True


class AsterixState(NamedTuple):
    x: jax.Array  # player column
    y: jax.Array  # player row, 1-8
    present: jax.Array  # [8] an entity on row i + 1
    ent_x: jax.Array  # [8] its column
    right: jax.Array  # [8] moving right (else left)
    gold: jax.Array  # [8] treasure (+1 when touched) or enemy (touching ends the episode)
    spawn_speed: jax.Array  # steps between spawns (10, down to 1 with ramping)
    spawn_timer: jax.Array
    move_speed: jax.Array  # steps between entity moves (5, down to 1 with ramping)
    move_timer: jax.Array
    ramp_timer: jax.Array
    ramp: jax.Array


class Asterix(Environment):
    """MinAtar Asterix. Channels: player, enemy, trail, gold. Every ``spawn_speed`` steps an
    entity (gold with probability 1/3, else an enemy) enters a random free row (1-8) at the
    left edge moving right or at the right edge moving left; every ``move_speed`` steps all
    entities move one column and those leaving the board vanish. Touching gold gives +1
    and removes it; touching an enemy terminates the episode. With ``ramping``, every 100
    steps spawns come one step sooner and, every other time, moves too. Actions: 0 no-op,
    1 left, 2 up, 3 right, 4 down."""

    name = "Asterix-MinAtar"
    channels = ("player", "enemy", "trail", "gold")

    def default_params(self) -> AsterixParams:
        return AsterixParams()

    def observe(self, s: AsterixState) -> jax.Array:
        rows = jnp.arange(8) + 1
        obs = jnp.zeros((10, 10, 4), jnp.uint8).at[s.y, s.x, 0].set(1)
        enemy = obs[..., 1].at[rows, s.ent_x].max((s.present & ~s.gold).astype(jnp.uint8))
        gold = obs[..., 3].at[rows, s.ent_x].max((s.present & s.gold).astype(jnp.uint8))
        back = s.ent_x + jnp.where(s.right, -1, 1)
        on_board = s.present & (back >= 0) & (back <= 9)
        trail = obs[..., 2].at[rows, jnp.clip(back, 0, 9)].max(on_board.astype(jnp.uint8))
        return jnp.stack([obs[..., 0], enemy, trail, gold], axis=-1)

    def reset(self, key, params):
        i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        none = jnp.zeros((8,), bool)
        s = AsterixState(i32(5), i32(5), none, jnp.zeros((8,), jnp.int32), none, none, i32(10), i32(10), i32(5),
                         i32(5), i32(100), i32(0))
        false = jnp.zeros((), bool)
        return s, TimeStep(self.observe(s), jnp.zeros((), jnp.float32), false, false, {})

    @staticmethod
    def place(s: AsterixState, slot, right, gold) -> AsterixState:
        """An entity on row ``slot + 1`` entering from the left (``right``) or the right edge."""
        return s._replace(present=s.present.at[slot].set(True), ent_x=s.ent_x.at[slot].set(jnp.where(right, 0, 9)),
                          right=s.right.at[slot].set(right), gold=s.gold.at[slot].set(gold))

    def spawn(self, key, s: AsterixState) -> AsterixState:
        """A uniformly drawn free row gets a new entity (nothing when all rows are taken)."""
        k_dir, k_gold, k_slot = jax.random.split(key, 3)
        slot = jax.random.choice(k_slot, 8, p=(~s.present) / jnp.maximum((~s.present).sum(), 1))
        placed = self.place(s, slot, jax.random.bernoulli(k_dir), jax.random.bernoulli(k_gold, 1 / 3))
        return jax.tree_util.tree_map(lambda a, b: jnp.where((~s.present).any(), a, b), placed, s)

    def step(self, key, s: AsterixState, action, params):
        due = s.spawn_timer == 0
        s = jax.tree_util.tree_map(lambda a, b: jnp.where(due, a, b), self.spawn(key, s), s)
        return self.advance(s._replace(spawn_timer=jnp.where(due, s.spawn_speed, s.spawn_timer)), action, params)

    def advance(self, s: AsterixState, action, params):
        """Everything in a step after the spawn: player, collisions, moves, timers, ramp."""
        a = jnp.asarray(action, jnp.int32).reshape(())
        x = jnp.clip(s.x + jnp.where(a == 1, -1, jnp.where(a == 3, 1, 0)), 0, 9)
        y = jnp.clip(s.y + jnp.where(a == 2, -1, jnp.where(a == 4, 1, 0)), 1, 8)
        row = jnp.arange(8) + 1 == y
        touch = s.present & row & (s.ent_x == x)
        reward, dead = jnp.sum(touch & s.gold), jnp.any(touch & ~s.gold)
        present = s.present & ~(touch & s.gold)
        move = s.move_timer == 0
        ent_x = jnp.where(move & present, s.ent_x + jnp.where(s.right, 1, -1), s.ent_x)
        present = present & (ent_x >= 0) & (ent_x <= 9)
        touch = move & present & row & (ent_x == x)
        reward, dead = reward + jnp.sum(touch & s.gold), dead | jnp.any(touch & ~s.gold)
        present = present & ~(touch & s.gold)
        # the difficulty ramp
        ramping = params.ramping & ((s.spawn_speed > 1) | (s.move_speed > 1))
        ramp_now = ramping & (s.ramp_timer < 0)
        move_speed = s.move_speed - (ramp_now & (s.move_speed > 1) & (s.ramp % 2 == 1))
        spawn_speed = s.spawn_speed - (ramp_now & (s.spawn_speed > 1))
        ramp_timer = jnp.where(ramp_now, 100, jnp.where(ramping, s.ramp_timer - 1, s.ramp_timer))
        new = AsterixState(x, y, present, ent_x, s.right, s.gold, spawn_speed, s.spawn_timer - 1, move_speed,
                           jnp.where(move, s.move_speed, s.move_timer) - 1, ramp_timer, s.ramp + ramp_now)
        return new, TimeStep(self.observe(new), reward.astype(jnp.float32), dead, jnp.zeros((), bool), {})

    def observation_space(self, params):
        return spaces.box(0, 1, (10, 10, 4), jnp.uint8)

    def action_space(self, params):
        return spaces.Discrete(5)


def _sticky(game):
    def make(sticky: float = 0.1) -> Environment:
        """The game with MinAtar's sticky actions (``sticky = 0``: none)."""
        return StickyActions(game(), sticky) if sticky else game()

    return make


register("Breakout-MinAtar", _sticky(Breakout), max_steps=10_000)
register("SpaceInvaders-MinAtar", _sticky(SpaceInvaders), max_steps=10_000)
register("Freeway-MinAtar", _sticky(Freeway))  # ends itself after 2500 steps
register("Asterix-MinAtar", _sticky(Asterix), max_steps=10_000)

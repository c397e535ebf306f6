"""Classic control tasks in pure JAX, matching gymnasium 1.x step for step.

Each task reproduces gymnasium's dynamics, rewards, terminations and reset
distributions; the time limits are applied by ``rlx.make`` (``TimeLimit``).
Physics constants live in ``params`` so they can be vmapped.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import spaces
from rlx.envs.core import Environment, TimeStep
from rlx.envs.registry import register


def _ts(obs, reward, terminated) -> TimeStep:
    return TimeStep(
        obs, jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool), jnp.zeros((), bool), {}
    )


# --------------------------------------------------------------------------- CartPole


@pytree_dataclass
class CartPoleParams:
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02
    theta_threshold: float = 12 * 2 * np.pi / 360
    x_threshold: float = 2.4


def cartpole_euler(state, force, p: CartPoleParams):
    """One explicit Euler step (``tau``) of the cart-pole ODE (Barto et al. 1983, with
    gymnasium's constants) under a horizontal ``force`` on the cart; ``state`` is
    ``[x, ẋ, θ, θ̇]`` with θ = 0 upright."""
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    total_mass = p.masspole + p.masscart
    polemass_length = p.masspole * p.length
    temp = (force + polemass_length * theta_dot**2 * sin) / total_mass
    thetaacc = (p.gravity * sin - cos * temp) / (p.length * (4.0 / 3.0 - p.masspole * cos**2 / total_mass))
    xacc = temp - polemass_length * thetaacc * cos / total_mass
    return jnp.stack([x + p.tau * x_dot, x_dot + p.tau * xacc,
                      theta + p.tau * theta_dot, theta_dot + p.tau * thetaacc])


class CartPole(Environment):
    """Cart-pole balancing (Barto, Sutton & Anderson 1983), gymnasium's CartPole-v1.

    Euler step of the cart-pole ODE with force ±force_mag; reward 1 every step
    (including the terminal one); terminates when |x| > 2.4 or |θ| > 12°.
    """

    name = "CartPole-v1"

    def default_params(self) -> CartPoleParams:
        return CartPoleParams()

    def reset(self, key, params):
        state = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
        return state, _ts(state, 0.0, False)

    def step(self, key, state, action, params: CartPoleParams):
        p = params
        state = cartpole_euler(state, jnp.where(action == 1, p.force_mag, -p.force_mag), p)
        terminated = (jnp.abs(state[0]) > p.x_threshold) | (jnp.abs(state[2]) > p.theta_threshold)
        return state, _ts(state, 1.0, terminated)

    def observation_space(self, params: CartPoleParams):
        high = np.array(
            [params.x_threshold * 2, np.inf, params.theta_threshold * 2, np.inf], np.float32
        )
        return spaces.box(-high, high)

    def action_space(self, params):
        return spaces.Discrete(2)


register("CartPole-v1", CartPole, max_steps=500)


class CartPoleSwingUp(Environment):
    """Cart-pole swing-up with a continuous force (rlx's own task; gymnasium has none).

    The CartPole-v1 physics (``cartpole_euler``) with force ``force_mag · clip(a, -1, 1)``,
    ``a ∈ [-1, 1]``; the pole starts hanging (θ = π, every state component
    perturbed by U(-0.05, 0.05)); reward ``½(1 + cos θ)`` per step (1 upright, 0
    hanging); terminates only when the cart leaves the track (|x| > 2.4); 500 steps.
    Observation ``[x, ẋ, cos θ, sin θ, θ̇]``.
    """

    name = "CartPoleSwingUp-v0"

    def default_params(self) -> CartPoleParams:
        return CartPoleParams()

    def reset(self, key, params):
        state = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05).at[2].add(jnp.pi)
        return state, _ts(self.observe(state), 0.0, False)

    @staticmethod
    def observe(state):
        return jnp.stack([state[0], state[1], jnp.cos(state[2]), jnp.sin(state[2]), state[3]])

    def step(self, key, state, action, params: CartPoleParams):
        force = params.force_mag * jnp.clip(jnp.reshape(action, ()), -1.0, 1.0)
        state = cartpole_euler(state, force, params)
        reward = 0.5 * (1.0 + jnp.cos(state[2]))
        return state, _ts(self.observe(state), reward, jnp.abs(state[0]) > params.x_threshold)

    def observation_space(self, params: CartPoleParams):
        high = np.array([params.x_threshold * 2, np.inf, 1.0, 1.0, np.inf], np.float32)
        return spaces.box(-high, high)

    def action_space(self, params):
        return spaces.box(-np.ones(1, np.float32), np.ones(1, np.float32))


register("CartPoleSwingUp-v0", CartPoleSwingUp, max_steps=500)


# --------------------------------------------------------------------------- Acrobot


def _wrap(x, low, high):
    """gymnasium's ``wrap``: shift ``x`` by whole periods into ``[low, high]``
    (values already inside are left untouched, endpoints included)."""
    period = high - low
    up = jnp.ceil((low - x) / period)  # periods to add when x < low
    down = jnp.ceil((x - high) / period)  # periods to subtract when x > high
    return jnp.where(x > high, x - down * period, jnp.where(x < low, x + up * period, x))


@pytree_dataclass
class AcrobotParams:
    dt: float = 0.2
    link_length_1: float = 1.0
    link_mass_1: float = 1.0
    link_mass_2: float = 1.0
    link_com_pos_1: float = 0.5
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0  # moment of inertia of both links
    gravity: float = 9.8
    max_vel_1: float = 4 * np.pi
    max_vel_2: float = 9 * np.pi
    book_or_nips: str = static_field("book")


class Acrobot(Environment):
    """Two-link underactuated pendulum (Sutton 1996; book dynamics), gymnasium's Acrobot-v1.

    One RK4 step of length ``dt`` with torque ∈ {-1, 0, 1} on the middle joint, then
    angles wrapped to [-π, π] and velocities clipped; reward -1 per step, 0 on the
    terminal step, which is reached when ``-cos θ1 - cos(θ1 + θ2) > 1``.
    State ``(θ1, θ2, θ̇1, θ̇2)``; observation
    ``(cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2)``.
    """

    name = "Acrobot-v1"

    def default_params(self) -> AcrobotParams:
        return AcrobotParams()

    def reset(self, key, params):
        state = jax.random.uniform(key, (4,), jnp.float32, -0.1, 0.1)
        return state, _ts(self._obs(state), 0.0, False)

    @staticmethod
    def _obs(s):
        return jnp.stack(
            [jnp.cos(s[0]), jnp.sin(s[0]), jnp.cos(s[1]), jnp.sin(s[1]), s[2], s[3]]
        ).astype(jnp.float32)

    @staticmethod
    def _dsdt(p: AcrobotParams, s, torque):
        m1, m2, l1 = p.link_mass_1, p.link_mass_2, p.link_length_1
        lc1, lc2 = p.link_com_pos_1, p.link_com_pos_2
        i1 = i2 = p.link_moi
        g = p.gravity
        theta1, theta2, dtheta1, dtheta2 = s
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * jnp.cos(theta2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * jnp.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * jnp.cos(theta1 + theta2 - jnp.pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2**2 * jnp.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * jnp.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * jnp.cos(theta1 - jnp.pi / 2)
            + phi2
        )
        extra = 0.0 if p.book_or_nips == "nips" else m2 * l1 * lc2 * dtheta1**2 * jnp.sin(theta2)
        ddtheta2 = (torque + d2 / d1 * phi1 - extra - phi2) / (m2 * lc2**2 + i2 - d2**2 / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return jnp.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])

    def step(self, key, state, action, params: AcrobotParams):
        p = params
        torque = jnp.asarray(action, jnp.float32) - 1.0  # actions 0, 1, 2 -> -1, 0, +1
        f = lambda s: self._dsdt(p, s, torque)
        dt = p.dt
        k1 = f(state)
        k2 = f(state + dt / 2.0 * k1)
        k3 = f(state + dt / 2.0 * k2)
        k4 = f(state + dt * k3)
        ns = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        ns = jnp.stack(
            [
                _wrap(ns[0], -jnp.pi, jnp.pi),
                _wrap(ns[1], -jnp.pi, jnp.pi),
                jnp.clip(ns[2], -p.max_vel_1, p.max_vel_1),
                jnp.clip(ns[3], -p.max_vel_2, p.max_vel_2),
            ]
        ).astype(jnp.float32)
        terminated = -jnp.cos(ns[0]) - jnp.cos(ns[1] + ns[0]) > 1.0
        return ns, _ts(self._obs(ns), jnp.where(terminated, 0.0, -1.0), terminated)

    def observation_space(self, params: AcrobotParams):
        high = np.array([1.0, 1.0, 1.0, 1.0, params.max_vel_1, params.max_vel_2], np.float32)
        return spaces.box(-high, high)

    def action_space(self, params):
        return spaces.Discrete(3)


register("Acrobot-v1", Acrobot, max_steps=500)


# --------------------------------------------------------------------------- MountainCar


@pytree_dataclass
class MountainCarParams:
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    force: float = 0.001
    gravity: float = 0.0025


def _mountain_car_reset(key):
    position = jax.random.uniform(key, (), jnp.float32, -0.6, -0.4)
    return jnp.stack([position, jnp.zeros((), jnp.float32)])


def _mountain_car_move(p, state, push):
    """Shared by both MountainCars: velocity clipped, then position clipped, and a
    car at the left wall moving left is stopped."""
    position, velocity = state
    velocity = velocity + (push - p.gravity * jnp.cos(3 * position))
    velocity = jnp.clip(velocity, -p.max_speed, p.max_speed)
    position = jnp.clip(position + velocity, p.min_position, p.max_position)
    velocity = jnp.where((position == p.min_position) & (velocity < 0), 0.0, velocity)
    state = jnp.stack([position, velocity]).astype(jnp.float32)
    terminated = (state[0] >= p.goal_position) & (state[1] >= p.goal_velocity)
    return state, terminated


class MountainCar(Environment):
    """Under-powered car in a valley (Moore 1990), gymnasium's MountainCar-v0.

    ``v += (a - 1)·force - gravity·cos(3x)``, ``x += v`` (both clipped); reward -1
    per step; terminates at ``x >= 0.5`` (with ``v >= goal_velocity``).
    """

    name = "MountainCar-v0"

    def default_params(self) -> MountainCarParams:
        return MountainCarParams()

    def reset(self, key, params):
        state = _mountain_car_reset(key)
        return state, _ts(state, 0.0, False)

    def step(self, key, state, action, params: MountainCarParams):
        push = (jnp.asarray(action, jnp.float32) - 1.0) * params.force
        state, terminated = _mountain_car_move(params, state, push)
        return state, _ts(state, -1.0, terminated)

    def observation_space(self, params: MountainCarParams):
        return spaces.box(
            [params.min_position, -params.max_speed], [params.max_position, params.max_speed]
        )

    def action_space(self, params):
        return spaces.Discrete(3)


register("MountainCar-v0", MountainCar, max_steps=200)


@pytree_dataclass
class MountainCarContinuousParams:
    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0
    power: float = 0.0015
    gravity: float = 0.0025


class MountainCarContinuous(Environment):
    """MountainCar with a continuous force, gymnasium's MountainCarContinuous-v0.

    ``v += clip(a, -1, 1)·power - 0.0025·cos(3x)``, ``x += v``; terminates at
    ``x >= 0.45``; reward ``100·terminated - 0.1·a²`` with the *unclipped* action.
    """

    name = "MountainCarContinuous-v0"

    def default_params(self) -> MountainCarContinuousParams:
        return MountainCarContinuousParams()

    def reset(self, key, params):
        state = _mountain_car_reset(key)
        return state, _ts(state, 0.0, False)

    def step(self, key, state, action, params: MountainCarContinuousParams):
        a = jnp.asarray(action, jnp.float32)[0]
        force = jnp.clip(a, params.min_action, params.max_action)
        state, terminated = _mountain_car_move(params, state, force * params.power)
        reward = jnp.where(terminated, 100.0, 0.0) - a**2 * 0.1
        return state, _ts(state, reward, terminated)

    def observation_space(self, params: MountainCarContinuousParams):
        return spaces.box(
            [params.min_position, -params.max_speed], [params.max_position, params.max_speed]
        )

    def action_space(self, params: MountainCarContinuousParams):
        return spaces.box(params.min_action, params.max_action, (1,))

    def reward_from_obs(self, obs, action, next_obs, params: MountainCarContinuousParams):
        """Exact: the observation is the state ``(x, v)``."""
        terminated = (next_obs[0] >= params.goal_position) & (next_obs[1] >= params.goal_velocity)
        return jnp.where(terminated, 100.0, 0.0) - jnp.asarray(action, jnp.float32)[0] ** 2 * 0.1, terminated


register("MountainCarContinuous-v0", MountainCarContinuous, max_steps=999)


# --------------------------------------------------------------------------- Pendulum


@pytree_dataclass
class PendulumParams:
    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741


def _angle_normalize(x):
    return ((x + jnp.pi) % (2 * jnp.pi)) - jnp.pi


class Pendulum(Environment):
    """Torque-limited pendulum swing-up, gymnasium's Pendulum-v1.

    Semi-implicit Euler: ``θ̇ += (3g/2l·sin θ + 3/(ml²)·u)·dt`` (clipped to ±8), then
    ``θ += θ̇·dt``; reward ``-(norm(θ)² + 0.1·θ̇² + 0.001·u²)`` of the pre-step state
    with ``u`` clipped to ±2; never terminates. State ``(θ, θ̇)`` with θ not wrapped
    (as gymnasium), observation ``(cos θ, sin θ, θ̇)``.
    """

    name = "Pendulum-v1"

    def default_params(self) -> PendulumParams:
        return PendulumParams()

    def reset(self, key, params):
        high = jnp.array([jnp.pi, 1.0], jnp.float32)
        state = jax.random.uniform(key, (2,), jnp.float32, -high, high)
        return state, _ts(self._obs(state), 0.0, False)

    @staticmethod
    def _obs(s):
        return jnp.stack([jnp.cos(s[0]), jnp.sin(s[0]), s[1]]).astype(jnp.float32)

    def step(self, key, state, action, params: PendulumParams):
        p = params
        th, thdot = state
        u = jnp.clip(jnp.asarray(action, jnp.float32)[0], -p.max_torque, p.max_torque)
        costs = _angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * u**2
        newthdot = thdot + (3 * p.g / (2 * p.l) * jnp.sin(th) + 3.0 / (p.m * p.l**2) * u) * p.dt
        newthdot = jnp.clip(newthdot, -p.max_speed, p.max_speed)
        newth = th + newthdot * p.dt
        state = jnp.stack([newth, newthdot]).astype(jnp.float32)
        return state, _ts(self._obs(state), -costs, False)

    def observation_space(self, params: PendulumParams):
        high = np.array([1.0, 1.0, params.max_speed], np.float32)
        return spaces.box(-high, high)

    def action_space(self, params: PendulumParams):
        return spaces.box(-params.max_torque, params.max_torque, (1,))

    def reward_from_obs(self, obs, action, next_obs, params: PendulumParams):
        """Exact: ``θ = atan2(sin θ, cos θ)`` is already normalised to ``[−π, π]``."""
        u = jnp.clip(jnp.asarray(action, jnp.float32)[0], -params.max_torque, params.max_torque)
        theta = jnp.arctan2(obs[1], obs[0])
        return -(theta**2 + 0.1 * obs[2] ** 2 + 0.001 * u**2), jnp.zeros((), bool)


register("Pendulum-v1", Pendulum, max_steps=200)

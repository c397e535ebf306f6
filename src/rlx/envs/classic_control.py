"""Classic control tasks in pure JAX, matching gymnasium 1.x step for step.

Each task reproduces gymnasium's dynamics, rewards, terminations and reset
distributions; the time limits are applied by ``rlx.make`` (``TimeLimit``).
Physics constants live in ``params`` so they can be vmapped.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass
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
        x, x_dot, theta, theta_dot = state
        force = jnp.where(action == 1, p.force_mag, -p.force_mag)
        cos, sin = jnp.cos(theta), jnp.sin(theta)
        total_mass = p.masspole + p.masscart
        polemass_length = p.masspole * p.length
        temp = (force + polemass_length * theta_dot**2 * sin) / total_mass
        thetaacc = (p.gravity * sin - cos * temp) / (
            p.length * (4.0 / 3.0 - p.masspole * cos**2 / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * cos / total_mass
        state = jnp.stack(
            [
                x + p.tau * x_dot,
                x_dot + p.tau * xacc,
                theta + p.tau * theta_dot,
                theta_dot + p.tau * thetaacc,
            ]
        )
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

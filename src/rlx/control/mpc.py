"""Receding-horizon model-predictive control around any planner, as one ``lax.scan``.

At every step the planner optimises a horizon-``T`` plan from the current
observed state, warm-started from the previous plan shifted by one step; the
first control goes to the plant (the model itself, an rlx environment, or
anything with a pure step function); the rest seeds the next solve.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax

from rlx.control.ilqr import ilqr
from rlx.control.planners import shift_plan


class MPCResult(NamedTuple):
    X: jax.Array  # [steps, n] the state each plan started from
    U: jax.Array  # [steps, m] the controls applied
    rewards: jax.Array  # [steps] what the plant returned for each step
    plan_cost: jax.Array  # [steps] the planner's objective for each plan
    iterations: jax.Array  # [steps] the planner's iterations for each plan
    plant_state: object  # the plant's state after the last step


def ilqr_planner(cost, dynamics, **options) -> Callable:
    """``plan(x, U_warm, key) -> (U, cost, iterations)`` by iLQR (``key`` unused)."""
    def plan(x, U, key):
        r = ilqr(cost, dynamics, x, U, **options)
        return r.U, r.cost, r.iterations
    return plan


def sampling_planner(planner: Callable, cost, dynamics, **options) -> Callable:
    """``plan(x, U_warm, key)`` from ``rlx.control.cem`` or ``mppi`` (``planner``), with
    their keyword options; ``iterations`` is the planner's (static) count."""
    def plan(x, U, key):
        r = planner(cost, dynamics, x, U, key, **options)
        return r.U, r.cost, r.history.shape[0]
    return plan


def mpc(plan: Callable, plant_step: Callable, plant_state, U0: jax.Array, steps: int, key,
        observe: Callable = lambda s: s) -> MPCResult:
    """Run ``steps`` steps of receding-horizon control.

    ``plan(x, U_warm, key) -> (U [T, m], cost, iterations)``;
    ``plant_step(plant_state, u, key) -> (plant_state, reward)``;
    ``observe(plant_state) -> x``, the planner's state (default: the plant state itself).
    """
    def step(carry, k):
        s, U = carry
        k_plan, k_plant = jax.random.split(k)
        x = observe(s)
        U_plan, J, iters = plan(x, U, k_plan)
        u = U_plan[0]
        s, reward = plant_step(s, u, k_plant)
        return (s, shift_plan(U_plan)), (x, u, reward, J, iters)

    (s, _), (X, U, rewards, J, iters) = jax.lax.scan(step, (plant_state, U0), jax.random.split(key, steps))
    return MPCResult(X, U, rewards, J, iters, s)


def model_plant(dynamics, cost) -> Callable:
    """The model as its own plant: ``(x, u, key) -> (dynamics(x, u, 0), -cost(x, u, 0))``."""
    def plant_step(x, u, key):
        return dynamics(x, u, 0), -cost(x, u, 0)
    return plant_step

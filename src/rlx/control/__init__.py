"""Optimal control and planning in pure JAX: LQR, iLQR/DDP, MPC, sampling planners.

Shared conventions (``rlx.control.trajectory``): ``dynamics(x, u, t) -> x'`` and
``cost(x, u, t) -> scalar`` on one state and control; plans are ``U [T, m]``;
the terminal cost is ``cost(x_T, 0, T)``.
"""

from rlx.control.ilqr import ILQRResult, ilqr, optimal_controls
from rlx.control.integrators import euler, rk4
from rlx.control.lqr import DAREResult, LQRSolution, dare, lq_cost, lqr, lqr_rollout
from rlx.control.mpc import MPCResult, ilqr_planner, model_plant, mpc, sampling_planner
from rlx.control.planners import PlanResult, cem, mppi, random_shooting, shift_plan
from rlx.control.trajectory import rollout, trajectory_cost

__all__ = ["DAREResult", "ILQRResult", "LQRSolution", "MPCResult", "PlanResult", "cem", "dare",
           "euler", "ilqr", "ilqr_planner", "lq_cost", "lqr", "lqr_rollout", "model_plant", "mpc",
           "mppi", "optimal_controls", "random_shooting", "rk4", "rollout", "sampling_planner", "shift_plan",
           "trajectory_cost"]

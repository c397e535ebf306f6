"""Optimal control and planning: LQR, iLQR/DDP, MPC, sampling planners (pure JAX)."""

from rlx.control.trajectory import rollout, trajectory_cost

__all__ = ["rollout", "trajectory_cost"]

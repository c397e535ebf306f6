"""Tabular dynamic programming in pure JAX (jit-compiled, vmappable over MDPs and γ).

    import rlx.dp as dp
    mdp = dp.frozen_lake("4x4")                    # MDP(P [S, A, S], R [S, A], terminal [S])
    res = dp.value_iteration(mdp, gamma=0.99)      # DPResult(values, q_values, policy, ...)
    dp.value_iteration(P, R, 0.99)                 # the same from the tensors themselves
    dp.policy_iteration(mdp, 0.99, evaluation="iterative", eval_iters=10)
    dp.finite_horizon(mdp, horizon=100)            # non-stationary policy [H, S]
    dp.with_sink_state(mdp, 0.99)                  # discounting as termination
"""

from rlx.dp.mdp import MDP, as_mdp, check_gamma, check_mdp, with_sink_state
from rlx.dp.models import frozen_lake, gridworld, random_mdp, to_tabular
from rlx.dp.solvers import (
    DPResult,
    finite_horizon,
    policy_evaluation,
    policy_iteration,
    q_value_iteration,
    q_values,
    value_iteration,
)

__all__ = [
    "DPResult", "MDP", "as_mdp", "check_gamma", "check_mdp", "finite_horizon", "frozen_lake",
    "gridworld", "policy_evaluation", "policy_iteration", "q_value_iteration", "q_values",
    "random_mdp", "to_tabular", "value_iteration", "with_sink_state",
]

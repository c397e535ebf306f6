"""Built-in tabular MDPs and the exporter from rlx environments.

* ``frozen_lake(map_name, is_slippery)``: gymnasium's FrozenLake transition model,
  exported from rlx's ``FrozenLake-v1`` environment;
* ``gridworld(layout, slip=..., rewards=..., terminal=...)``: a configurable grid;
* ``random_mdp(key, S, A)``: Dirichlet transitions, Gaussian rewards;
* ``to_tabular(env_or_name, params)``: any environment with a tabular model.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rlx.dp.mdp import MDP, is_concrete
from rlx.envs import registry
from rlx.envs.toy_text import check_layout, grid_model, grid_moves, slip_probabilities


def to_tabular(env, params=None, **make_kwargs) -> MDP:
    """The ``MDP`` of a small discrete environment: ``env`` is a registered name
    (built by ``rlx.make(env, **make_kwargs)``) or an environment (wrappers are
    looked through); ``params`` defaults to the environment's.

    The environment must define ``tabular_model(params) -> (P [S, A, S], R [S, A],
    terminal [S])`` over its observation indices (FrozenLake-v1 does). Time
    limits are not part of the model: for a time-limited task, solve
    ``finite_horizon(mdp, max_steps)``.
    """
    if isinstance(env, str):
        env, default = registry.make(env, **make_kwargs)
        params = default if params is None else params
    elif make_kwargs:
        raise ValueError(f"keyword arguments {sorted(make_kwargs)} are for a registered name, not an environment")
    params = env.default_params() if params is None else params
    model = getattr(env.unwrapped, "tabular_model", None)
    if model is None:
        factories = {n: registry.spec(n).factory for n in registry.registered()}
        tabular = [n for n, f in factories.items() if hasattr(getattr(f, "func", f), "tabular_model")]
        raise ValueError(
            f"{env.name} has no tabular model: to_tabular needs an environment with finitely many states "
            f"that defines tabular_model(params) -> (P, R, terminal); these do: {', '.join(tabular)}"
        )
    return MDP(*model(params))


def frozen_lake(map_name: str = "4x4", is_slippery: bool = True, **kwargs) -> MDP:
    """gymnasium's FrozenLake (``map_name`` "4x4" or "8x8"; ``kwargs``: ``desc``,
    ``success_rate``, ``reward_schedule``) as an MDP: 16 or 64 states (row-major
    cells), actions LEFT, DOWN, RIGHT, UP; holes and the goal are terminal;
    reward 1 for entering the goal."""
    return to_tabular("FrozenLake-v1", map_name=map_name, is_slippery=is_slippery, **kwargs)


def gridworld(layout: Sequence[str], *, slip=0.0, rewards: Mapping[str, float] | None = None,
              terminal: str = "G", step_reward=0.0, wall: str = "#") -> MDP:
    """A grid MDP drawn as rows of letters; state ``row * ncols + col``.

    Actions LEFT, DOWN, RIGHT, UP: the intended direction with probability
    ``1 − slip``, each perpendicular one with ``slip/2``; a move off the grid or
    into a ``wall`` cell stays put. Entering a cell with letter ``c`` earns
    ``step_reward + rewards.get(c, 0)`` (default ``{"G": 1}``); cells whose letter is
    in ``terminal`` are terminal. Wall cells are unreachable states marked
    terminal (value 0). ``slip``, ``step_reward`` and the reward values may be
    traced (vmappable). ``slip = 2/3`` on a FrozenLake map is slippery FrozenLake.
    """
    desc = check_layout(layout)
    flat = "".join(desc)
    rewards = {"G": 1.0} if rewards is None else dict(rewards)
    unknown = sorted(set(rewards) - set(flat))
    if unknown:
        raise ValueError(f"rewards name letters {unknown} that are not in the layout {list(desc)}")
    if is_concrete(slip) and not 0.0 <= float(slip) <= 1.0:
        raise ValueError(f"slip must be in [0, 1], got {slip}")
    moves = grid_moves(desc, wall)
    probs = slip_probabilities(True, 1.0 - jnp.asarray(slip, jnp.float32))
    bonus = jnp.stack([jnp.asarray(rewards.get(c, 0.0), jnp.float32) for c in flat])
    P, R = grid_model(moves, probs, step_reward + bonus)
    is_terminal = jnp.asarray(np.array([c in terminal or c in wall for c in flat]))
    return MDP(P, R, is_terminal)


def random_mdp(key: jax.Array, num_states: int, num_actions: int, concentration=1.0) -> MDP:
    """``P[s, a] ~ Dirichlet(concentration·1_S)``, ``R[s, a] ~ N(0, 1)``, no terminal
    state. Vmappable over ``key`` (and ``concentration``)."""
    k_p, k_r = jax.random.split(key)
    alpha = jnp.broadcast_to(jnp.asarray(concentration, jnp.float32), (num_states,))
    P = jax.random.dirichlet(k_p, alpha, (num_states, num_actions))
    R = jax.random.normal(k_r, (num_states, num_actions))
    return MDP(P, R, jnp.zeros(num_states, bool))

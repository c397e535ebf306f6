"""Grid-world toy-text tasks in pure JAX: gymnasium 1.x's FrozenLake.

The state is the cell index ``row * ncols + col`` (an int32 scalar). Besides
``reset``/``step``, a tabular environment exposes its model,
``env.tabular_model(params) -> (P [S, A, S], R [S, A], terminal [S])``, which
``rlx.dp.to_tabular`` turns into an MDP for dynamic programming.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import spaces
from rlx.envs.core import Environment, TimeStep
from rlx.envs.registry import register

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
_STEPS = ((0, -1), (1, 0), (0, 1), (-1, 0))  # (drow, dcol) of LEFT, DOWN, RIGHT, UP

MAPS = {
    "4x4": ("SFFF", "FHFH", "FFFH", "HFFG"),
    "8x8": (
        "SFFFFFFF",
        "FFFFFFFF",
        "FFFHFFFF",
        "FFFFFHFF",
        "FFFHFFFF",
        "FHHFFFHF",
        "FHFFHFHF",
        "FFFHFFFG",
    ),
}


# --------------------------------------------------------------------------- grid helpers


def check_layout(desc: Sequence[str], allowed: str | None = None) -> tuple[str, ...]:
    """``desc`` as a tuple of equal-length rows; one-line ``ValueError`` otherwise."""
    rows = tuple(str(r) for r in desc)
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"a grid layout needs non-empty rows of equal length, got {list(rows)}")
    if allowed is not None:
        bad = sorted(set("".join(rows)) - set(allowed))
        if bad:
            raise ValueError(f"unknown cell letters {bad} in {list(rows)}: use only {allowed!r}")
    return rows


@functools.lru_cache(maxsize=64)
def grid_moves(desc: tuple[str, ...], wall: str = "#") -> np.ndarray:
    """``moves[s, d]``: the cell reached from cell ``s`` in direction ``d``
    (LEFT, DOWN, RIGHT, UP); moving off the grid or into a ``wall`` cell stays."""
    nrow, ncol = len(desc), len(desc[0])
    moves = np.empty((nrow * ncol, 4), np.int32)
    for r in range(nrow):
        for c in range(ncol):
            for d, (dr, dc) in enumerate(_STEPS):
                nr, nc = min(max(r + dr, 0), nrow - 1), min(max(c + dc, 0), ncol - 1)
                if desc[nr][nc] in wall:
                    nr, nc = r, c
                moves[r * ncol + c, d] = nr * ncol + nc
    return moves


def slip_probabilities(slippery, success_rate) -> jax.Array:
    """Probabilities of moving ``[a - 1, a, a + 1]`` (mod 4) for intended action ``a``:
    ``[(1-p)/2, p, (1-p)/2]`` when slippery, ``[0, 1, 0]`` otherwise."""
    p = jnp.asarray(success_rate, jnp.float32)
    fail = (1.0 - p) / 2.0
    return jnp.where(slippery, jnp.stack([fail, p, fail]), jnp.array([0.0, 1.0, 0.0]))


def grid_model(moves: np.ndarray, probs: jax.Array, cell_reward: jax.Array):
    """Transition tensor and expected reward of a slippery grid.

    ``P[s, a, s'] = Σ_k probs[k]·[moves[s, (a+k-1) mod 4] = s']`` and
    ``R[s, a] = Σ_k probs[k]·cell_reward[moves[s, (a+k-1) mod 4]]`` (the reward for
    entering a cell). No terminal handling: callers mask terminal rows.
    """
    num_states = moves.shape[0]
    directions = (np.arange(4)[:, None] + np.arange(3)[None, :] - 1) % 4  # [a, k]
    nxt = moves[:, directions]  # [S, A, 3]
    P = (jax.nn.one_hot(nxt, num_states, dtype=probs.dtype) * probs[:, None]).sum(-2)
    R = (cell_reward[nxt] * probs).sum(-1)
    return P, R


# --------------------------------------------------------------------------- FrozenLake


class _Lake(NamedTuple):
    moves: np.ndarray  # [S, 4]
    kind: np.ndarray  # [S]: 0 goal, 1 hole, 2 frozen or start (reward_schedule's order)
    starts: np.ndarray  # indices of the "S" cells


@functools.lru_cache(maxsize=64)
def _lake(desc: tuple[str, ...]) -> _Lake:
    flat = "".join(desc)
    kind = np.array(["GH".index(ch) if ch in "GH" else 2 for ch in flat], np.int32)
    starts = np.array([i for i, ch in enumerate(flat) if ch == "S"], np.int32)
    return _Lake(grid_moves(desc, wall=""), kind, starts)


@pytree_dataclass
class FrozenLakeParams:
    is_slippery: bool = True
    success_rate: float = 1.0 / 3.0  # P(intended direction) when slippery
    reward_schedule: tuple = (1.0, 0.0, 0.0)  # reward for entering a goal, hole, frozen cell
    map_name: str = static_field("4x4")
    desc: tuple | None = static_field(None)  # a custom map (rows of S, F, H, G); wins over map_name


def _desc(params: FrozenLakeParams) -> tuple[str, ...]:
    return params.desc if params.desc is not None else MAPS[params.map_name]


class FrozenLake(Environment):
    """Crossing a frozen lake from S to G without falling into a hole H,
    gymnasium's FrozenLake-v1 (and FrozenLake8x8-v1).

    Actions LEFT, DOWN, RIGHT, UP (0-3). Slippery: the intended direction with
    probability ``success_rate`` (1/3), each perpendicular one with
    ``(1 - success_rate)/2``; a move off the grid stays. Reward
    ``reward_schedule[goal, hole, frozen]`` for the cell entered ((1, 0, 0));
    entering G or H terminates; a step from G or H stays there with reward 0.
    Observation: the cell index ``row * ncols + col``.
    """

    name = "FrozenLake-v1"

    def __init__(self, map_name: str = "4x4", is_slippery: bool = True, desc: Sequence[str] | None = None,
                 success_rate: float = 1.0 / 3.0, reward_schedule: Sequence[float] = (1.0, 0.0, 0.0)):
        if desc is None and map_name not in MAPS:
            raise ValueError(f"unknown FrozenLake map_name {map_name!r}: use one of {sorted(MAPS)} or desc=[...]")
        if desc is not None:
            desc = check_layout(desc, "SFHG")
            if "S" not in "".join(desc):
                raise ValueError(f"a FrozenLake map needs a start cell 'S', got {list(desc)}")
        if not 0.0 <= success_rate <= 1.0:
            raise ValueError(f"success_rate must be in [0, 1], got {success_rate}")
        if len(reward_schedule) != 3:
            raise ValueError(f"reward_schedule is (goal, hole, frozen), got {tuple(reward_schedule)}")
        self._params = FrozenLakeParams(bool(is_slippery), float(success_rate),
                                        tuple(float(r) for r in reward_schedule), map_name, desc)

    def default_params(self) -> FrozenLakeParams:
        return self._params

    def reset(self, key, params: FrozenLakeParams):
        state = jax.random.choice(key, jnp.asarray(_lake(_desc(params)).starts))
        return state, _ts(state, 0.0, False)

    def step(self, key, state, action, params: FrozenLakeParams):
        lake = _lake(_desc(params))
        probs = slip_probabilities(params.is_slippery, params.success_rate)
        u = jax.random.uniform(key)  # inverse CDF over [a-1, a, a+1], as gymnasium's categorical_sample
        k = (u >= probs[0]).astype(jnp.int32) + (u >= probs[0] + probs[1]).astype(jnp.int32)
        direction = (jnp.asarray(action, jnp.int32) + k - 1) % 4
        kind = jnp.asarray(lake.kind)
        ended = kind[state] < 2  # stepping from G or H: stay, reward 0, still terminated
        nxt = jnp.where(ended, state, jnp.asarray(lake.moves)[state, direction])
        schedule = jnp.asarray(params.reward_schedule, jnp.float32)
        reward = jnp.where(ended, 0.0, schedule[kind[nxt]])
        return nxt, _ts(nxt, reward, kind[nxt] < 2)

    def tabular_model(self, params: FrozenLakeParams):
        """``(P [S, 4, S], R [S, 4], terminal [S])``: gymnasium's ``env.P`` as tensors
        (``R`` is the expected reward of the step; G and H are terminal, their rows
        a self-loop with reward 0, as in gymnasium)."""
        lake = _lake(_desc(params))
        probs = slip_probabilities(params.is_slippery, params.success_rate)
        cell_reward = jnp.asarray(params.reward_schedule, jnp.float32)[lake.kind]
        P, R = grid_model(lake.moves, probs, cell_reward)
        terminal = jnp.asarray(lake.kind < 2)
        stay = jnp.eye(len(lake.kind), dtype=P.dtype)[:, None, :]
        P = jnp.where(terminal[:, None, None], stay, P)
        R = jnp.where(terminal[:, None], 0.0, R)
        return P, R, terminal

    def observation_space(self, params: FrozenLakeParams):
        return spaces.Discrete(len(_lake(_desc(params)).kind))

    def action_space(self, params):
        return spaces.Discrete(4)


def _ts(obs, reward, terminated) -> TimeStep:
    return TimeStep(
        obs, jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool), jnp.zeros((), bool), {}
    )


register("FrozenLake-v1", FrozenLake, max_steps=100)
register("FrozenLake8x8-v1", functools.partial(FrozenLake, map_name="8x8"), max_steps=200)

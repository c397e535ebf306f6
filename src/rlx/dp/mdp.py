"""Tabular MDPs as explicit tensors, their validation, and discounting as a sink state.

An ``MDP(P, R, terminal)`` holds ``P[s, a, s'] = Pr(s' | s, a)``, the expected
reward ``R[s, a]`` and an optional boolean ``terminal[s]``. A terminal state has
value 0 and transitions nowhere: its rows of ``P`` and ``R`` are ignored (and
need not sum to 1). Every solver also accepts a plain ``(P, R)`` or
``(P, R, terminal)`` tuple.

Validation is split so that it never breaks ``jit``/``vmap``:

* shapes are checked whenever an MDP is used (``as_mdp``), at trace time;
* values (probabilities non-negative, rows summing to 1, finite rewards, γ in
  range) are checked by ``check_mdp``, on the host. The solvers call it
  themselves when their inputs are concrete arrays; under ``jit``/``vmap`` the
  inputs are tracers and only shapes are checked, so call ``check_mdp`` on the
  batch beforehand.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class MDP(NamedTuple):
    """``P [S, A, S]``, ``R [S, A]``, ``terminal [S]`` (bool; ``None``: no terminal state)."""

    P: Any
    R: Any
    terminal: Any = None

    @property
    def num_states(self) -> int:
        return self.P.shape[-1]

    @property
    def num_actions(self) -> int:
        return self.P.shape[-2]


def as_mdp(mdp, batched: bool = False) -> MDP:
    """``mdp`` (an ``MDP`` or a ``(P, R[, terminal])`` tuple) as an ``MDP`` of arrays
    with a boolean ``terminal``; a one-line ``ValueError`` on inconsistent shapes.
    ``batched``: allow leading batch axes. Traceable: only shapes are inspected."""
    if not isinstance(mdp, MDP):
        if not isinstance(mdp, (tuple, list)) or len(mdp) not in (2, 3):
            raise ValueError(f"expected an MDP or a (P, R) / (P, R, terminal) tuple, got {type(mdp).__name__}")
        mdp = MDP(*mdp)
    P = jnp.asarray(mdp.P)
    if not jnp.issubdtype(P.dtype, jnp.floating):
        P = P.astype(jnp.result_type(float))
    R = jnp.asarray(mdp.R, P.dtype)
    if P.ndim < 3 or (P.ndim > 3 and not batched) or P.shape[-1] != P.shape[-3]:
        raise ValueError(f"P must have shape [S, A, S] (P[s, a, s'] = Pr(s' | s, a)), got {P.shape}")
    if R.shape != P.shape[:-1]:
        raise ValueError(f"R must have shape [S, A] = {P.shape[:-1]} to match P {P.shape}, got {R.shape}")
    if mdp.terminal is None:
        terminal = jnp.zeros(P.shape[:-2], bool)
    else:
        terminal = jnp.asarray(mdp.terminal)
        if terminal.shape != P.shape[:-2]:
            raise ValueError(f"terminal must have shape [S] = {P.shape[:-2]}, got {terminal.shape}")
        terminal = terminal.astype(bool)
    return MDP(P, R, terminal)


def is_concrete(*xs) -> bool:
    """True when no leaf of ``xs`` is a tracer (so values can be checked on the host)."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(xs))


def check_gamma(gamma, finite_horizon: bool = False) -> None:
    """γ ∈ [0, 1) for an infinite horizon, γ ∈ [0, 1] for a finite one (any shape,
    e.g. a batch of γ to vmap over); a one-line ``ValueError`` naming the fix."""
    g = np.asarray(gamma, np.float64)
    if not np.all(np.isfinite(g)) or np.any(g < 0) or np.any(g > 1):
        raise ValueError(f"gamma must be in [0, 1{']' if finite_horizon else ')'}, got {_show(g)}")
    if not finite_horizon and np.any(g == 1):
        raise ValueError(
            "gamma = 1 with an infinite horizon: the Bellman operator is not a contraction and values "
            "may be infinite; use gamma < 1, or finite_horizon(mdp, horizon) for undiscounted returns"
        )


def check_mdp(mdp, gamma=None, *, finite_horizon: bool = False, atol: float = 1e-5) -> MDP:
    """Check an MDP's values on the host and return it as an ``MDP`` (see ``as_mdp``).

    ``P >= 0`` and every non-terminal row ``P[s, a, :]`` sums to 1 within ``atol``;
    ``R`` finite; ``gamma`` (when given) as in ``check_gamma``. Works on a batch
    (leading axes) too. Raises a one-line ``ValueError``; needs concrete arrays
    (call it outside ``jit``).
    """
    mdp = as_mdp(mdp, batched=True)
    if not is_concrete(mdp, gamma):
        raise ValueError("check_mdp needs concrete arrays: call it outside jit/vmap")
    P, R = np.asarray(mdp.P), np.asarray(mdp.R)
    terminal = np.asarray(mdp.terminal)
    live = ~terminal[..., None]  # [..., S, 1]: rows that matter
    if not np.all(np.isfinite(P) | ~live[..., None]):
        raise ValueError("P has non-finite entries in non-terminal states")
    if np.any((P < -atol) & live[..., None]):
        idx = tuple(int(i) for i in np.argwhere((P < -atol) & live[..., None])[0])
        raise ValueError(f"P has negative probabilities: P{list(idx)} = {P[idx]:.3g}")
    err = np.where(live, np.abs(P.sum(-1) - 1.0), 0.0)
    if np.any(err > atol):
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
        raise ValueError(
            f"rows of P must sum to 1 (within {atol:g}): P{list(idx)}.sum() = {P[idx].sum():.6g}; "
            "normalise them (P / P.sum(-1, keepdims=True)) or mark the state terminal"
        )
    if not np.all(np.isfinite(np.where(live, R, 0.0))):
        raise ValueError("R has non-finite entries in non-terminal states")
    if gamma is not None:
        check_gamma(gamma, finite_horizon)
    return mdp


def prepare(mdp, gamma, finite_horizon: bool = False) -> MDP:
    """What every solver does first: shapes always; values when they are concrete."""
    mdp = as_mdp(mdp)
    if is_concrete(mdp, gamma):
        check_mdp(mdp, gamma, finite_horizon=finite_horizon)
    return mdp


def masked(mdp: MDP) -> tuple[jax.Array, jax.Array]:
    """``(P, R)`` with terminal rows zeroed: a terminal state transitions nowhere and
    earns nothing, so every Bellman backup gives it value 0."""
    t = mdp.terminal
    return jnp.where(t[:, None, None], 0.0, mdp.P), jnp.where(t[:, None], 0.0, mdp.R)


def with_sink_state(mdp, gamma) -> MDP:
    """Discounting as termination: the undiscounted MDP with one extra absorbing,
    zero-reward, terminal state (index ``S``) entered with probability ``1 - γ``
    from every transition.

    ``P'[s, a, s'] = γ·P[s, a, s']`` for ``s' < S`` and ``P'[s, a, S] = 1 - γ``;
    ``R' = R``. Its undiscounted value ``V'(s) = max_a R(s, a) + Σ_s' γ P V'(s')``
    is the discounted value of the original MDP for every policy. Terminal
    states stay terminal. Traceable (vmappable over γ).
    """
    mdp = as_mdp(mdp)
    S, A = mdp.P.shape[:2]
    g = jnp.asarray(gamma, mdp.P.dtype)
    to_sink = jnp.broadcast_to(1.0 - g, (S, A, 1)).astype(mdp.P.dtype)
    top = jnp.concatenate([g * mdp.P, to_sink], axis=-1)  # [S, A, S+1]
    sink = jnp.zeros((1, A, S + 1), mdp.P.dtype).at[..., S].set(1.0)
    P = jnp.concatenate([top, sink], axis=0)
    R = jnp.concatenate([mdp.R, jnp.zeros((1, A), mdp.R.dtype)], axis=0)
    terminal = jnp.concatenate([mdp.terminal, jnp.ones(1, bool)])
    return MDP(P, R, terminal)


def _show(a: np.ndarray) -> str:
    return f"{a.item():g}" if a.size == 1 else np.array2string(a, precision=4, threshold=8)

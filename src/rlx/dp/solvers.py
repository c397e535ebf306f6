"""Exact dynamic programming on tabular MDPs: value iteration, Q-value iteration,
policy iteration (exact or modified) and finite-horizon backward induction.

Notation: ``Q_V(s, a) = R(s, a) + γ Σ_s' P(s' | s, a) V(s')`` is the one-step
backup, ``(T V)(s) = max_a Q_V(s, a)`` the Bellman optimality operator and
``(T_π V)(s) = Q_V(s, π(s))`` the policy's operator; terminal states have value 0.

Stopping rule (Williams & Baird 1993; Puterman 1994, §6.3): ``T`` is a
γ-contraction in ‖·‖∞, so if ``‖T V − V‖∞ < ε(1−γ)/(2γ)`` the greedy policy π of
``V`` satisfies ``‖V^π − V*‖∞ < ε``. Value iteration stops on
``‖V_{k+1} − V_k‖∞ = ‖T V_k − V_k‖∞ < tol·(1−γ)/(2γ)``, so ``converged`` means the
returned policy's value is within ``tol`` of optimal (and ``‖V_{k+1} − V*‖∞ <
tol/2``). Policy iteration stops on the same residual test or, with exact
evaluation, when the policy is stable (then it is optimal).

Floating point: one backup rounds by about ε·‖V‖∞ (ε = 1.2e-7 in float32), and
``tol·(1−γ)/(2γ)`` can be far below that when γ is close to 1. In exact
arithmetic ``‖V_{k+1} − V_k‖∞`` never grows (T is a contraction), so a
difference below the rounding floor ``4ε‖V‖∞`` that has made no new minimum for
100 steps is noise: the loop stops there too (``converged`` True), with the
best guarantee the dtype allows, ``‖V^π − V*‖∞ < 8γε‖V‖∞/(1−γ)`` (1e-4 for
float32, γ = 0.99, ‖V‖∞ = 1). Small MDPs usually reach an exact floating-point
fixed point first. For tighter tolerances enable x64 and pass float64 arrays.

Every solver is a ``lax.while_loop`` (``lax.scan`` for the finite horizon)
inside ``jit``: ``jax.vmap`` over MDPs, γ, ``tol`` or ``max_iters`` works (a
vmapped while_loop runs until every member has stopped; each member's result
is its own). Arithmetic is in ``P``'s dtype (float32 unless x64 is enabled),
with matrix products at full precision.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.dp.mdp import MDP, as_mdp, is_concrete, masked, prepare

_HI = jax.lax.Precision.HIGHEST


class DPResult(NamedTuple):
    """A solver's answer. For ``finite_horizon`` the leading axis is time (below)."""

    values: jax.Array  # V [S]; finite horizon: [H+1, S], values[t] with H - t steps to go
    q_values: jax.Array  # Q [S, A] = R + γ P V of the returned V; finite horizon: [H, S, A]
    policy: jax.Array  # greedy action per state [S] (int32); finite horizon: [H, S]
    iterations: jax.Array  # sweeps (value iteration), improvement steps (policy iteration), H
    residual: jax.Array  # ‖T V − V‖∞ of the returned V (finite horizon: ‖V_0 − V_1‖∞)
    converged: jax.Array  # the stopping rule was met (finite horizon: always True)


def tensors_or_mdp(solver):
    """Let ``solver(mdp, ...)`` also take the tensors themselves, ``solver(P, R, ...)``:
    a first argument that is not an ``MDP`` or a tuple is ``P``, and ``R`` follows it."""
    @functools.wraps(solver)
    def wrapper(mdp, *args, **kwargs):
        if not isinstance(mdp, (MDP, tuple, list)):
            if not args or jnp.ndim(args[0]) == 0:
                raise ValueError(f"{solver.__name__}: expected an MDP or a (P, R) / (P, R, terminal) tuple "
                                 f"first, or the tensors P [S, A, S], R [S, A] as two arguments")
            mdp, args = (mdp, args[0]), args[1:]
        return solver(mdp, *args, **kwargs)
    return wrapper


# --------------------------------------------------------------------------- building blocks


def _backup(P, R, V, gamma):
    return R + gamma * jnp.einsum("sat,t->sa", P, V, precision=_HI)


@tensors_or_mdp
def q_values(mdp, values, gamma) -> jax.Array:
    """``Q(s, a) = R(s, a) + γ Σ_s' P(s' | s, a) V(s')`` (0 in terminal states)."""
    mdp = as_mdp(mdp)
    P, R = masked(mdp)
    return _backup(P, R, jnp.asarray(values, P.dtype), jnp.asarray(gamma, P.dtype))


def _policy_matrices(P, R, policy):
    P_pi = jnp.take_along_axis(P, policy[:, None, None], axis=1)[:, 0]  # [S, S]
    R_pi = jnp.take_along_axis(R, policy[:, None], axis=1)[:, 0]  # [S]
    return P_pi, R_pi


def _solve_policy(P, R, policy, gamma):
    P_pi, R_pi = _policy_matrices(P, R, policy)
    eye = jnp.eye(P.shape[0], dtype=P.dtype)
    return jnp.linalg.solve(eye - gamma * P_pi, R_pi)


@tensors_or_mdp
def policy_evaluation(mdp, policy, gamma) -> jax.Array:
    """Exact ``V^π``: the solution of ``(I − γ P_π) V = R_π`` (γ < 1)."""
    mdp = prepare(mdp, gamma)
    return _policy_evaluation(mdp, jnp.asarray(policy, jnp.int32), gamma)


@jax.jit
def _policy_evaluation(mdp: MDP, policy, gamma):
    P, R = masked(mdp)
    return _solve_policy(P, R, policy, jnp.asarray(gamma, P.dtype))


def _threshold(tol, gamma):
    """``tol·(1−γ)/(2γ)`` (infinite for γ = 0: one backup is exact)."""
    return jnp.where(gamma > 0, tol * (1.0 - gamma) / (2.0 * jnp.maximum(gamma, 1e-30)), jnp.inf)


_PATIENCE = 100  # sweeps without a new smallest difference, below the rounding floor


class _Progress(NamedTuple):
    best: jax.Array  # smallest difference so far
    stale: jax.Array  # steps since it last shrank
    done: jax.Array


def _progress(dtype) -> _Progress:
    return _Progress(jnp.asarray(jnp.inf, dtype), jnp.zeros((), jnp.int32), jnp.zeros((), bool))


def _stop(progress: _Progress, delta, values, threshold) -> _Progress:
    """The stopping test: ``delta < threshold``, or ``delta`` below the rounding floor
    ``4·ε·‖values‖∞`` with no new smallest difference for ``_PATIENCE`` steps
    (see the module docstring)."""
    improved = delta < progress.best
    stale = jnp.where(improved, 0, progress.stale + 1)
    floor = 4 * jnp.finfo(values.dtype).eps * jnp.max(jnp.abs(values), initial=0.0)
    done = (delta < threshold) | ((delta < floor) & (stale >= _PATIENCE))
    return _Progress(jnp.minimum(progress.best, delta), stale, done)


def _result(P, R, V, gamma, iterations, converged, policy=None) -> DPResult:
    Q = _backup(P, R, V, gamma)
    residual = jnp.max(jnp.abs(Q.max(-1) - V), initial=0.0)
    if policy is None:
        policy = jnp.argmax(Q, -1).astype(jnp.int32)
    return DPResult(V, Q, policy, jnp.asarray(iterations, jnp.int32), residual, jnp.asarray(converged))


def _check_loop(tol, max_iters) -> None:
    if is_concrete(tol) and not np.all(np.asarray(tol) > 0):
        raise ValueError(f"tol must be positive, got {tol}")
    if is_concrete(max_iters) and not np.all(np.asarray(max_iters) >= 1):
        raise ValueError(f"max_iters must be at least 1, got {max_iters}")


# --------------------------------------------------------------------------- infinite horizon


@tensors_or_mdp
def value_iteration(mdp, gamma, tol: float = 1e-6, max_iters: int = 100_000) -> DPResult:
    """Value iteration ``V_{k+1} = T V_k`` from ``V_0 = 0``, until
    ``‖V_{k+1} − V_k‖∞ < tol·(1−γ)/(2γ)``: then the greedy policy of the returned
    ``V`` is ``tol``-optimal (see the module docstring). ``mdp``: an ``MDP`` or
    ``(P, R[, terminal])``; 0 <= γ < 1."""
    mdp = prepare(mdp, gamma)
    _check_loop(tol, max_iters)
    return _value_iteration(mdp, gamma, tol, max_iters)


@jax.jit
def _value_iteration(mdp: MDP, gamma, tol, max_iters) -> DPResult:
    P, R = masked(mdp)
    g = jnp.asarray(gamma, P.dtype)
    threshold = _threshold(jnp.asarray(tol, P.dtype), g)

    def cond(c):
        k, _, progress = c
        return ~progress.done & (k < max_iters)

    def body(c):
        k, V, progress = c
        V_new = _backup(P, R, V, g).max(-1)
        delta = jnp.max(jnp.abs(V_new - V), initial=0.0)
        return k + 1, V_new, _stop(progress, delta, V_new, threshold)

    init = (jnp.zeros((), jnp.int32), jnp.zeros(P.shape[0], P.dtype), _progress(P.dtype))
    k, V, progress = jax.lax.while_loop(cond, body, init)
    return _result(P, R, V, g, k, progress.done)


@tensors_or_mdp
def q_value_iteration(mdp, gamma, tol: float = 1e-6, max_iters: int = 100_000) -> DPResult:
    """Q-value iteration ``Q_{k+1}(s, a) = R(s, a) + γ Σ_s' P(s' | s, a) max_a' Q_k(s', a')``
    from ``Q_0 = 0``, until ``‖Q_{k+1} − Q_k‖∞ < tol·(1−γ)/(2γ)``. Returns
    ``V = max_a Q_{k+1}``; since ``‖V_{k+1} − V_k‖∞ <= ‖Q_{k+1} − Q_k‖∞`` value
    iteration's guarantee holds for its greedy policy."""
    mdp = prepare(mdp, gamma)
    _check_loop(tol, max_iters)
    return _q_value_iteration(mdp, gamma, tol, max_iters)


@jax.jit
def _q_value_iteration(mdp: MDP, gamma, tol, max_iters) -> DPResult:
    P, R = masked(mdp)
    g = jnp.asarray(gamma, P.dtype)
    threshold = _threshold(jnp.asarray(tol, P.dtype), g)

    def cond(c):
        k, _, progress = c
        return ~progress.done & (k < max_iters)

    def body(c):
        k, Q, progress = c
        Q_new = _backup(P, R, Q.max(-1), g)
        delta = jnp.max(jnp.abs(Q_new - Q), initial=0.0)
        return k + 1, Q_new, _stop(progress, delta, Q_new, threshold)

    init = (jnp.zeros((), jnp.int32), jnp.zeros(P.shape[:2], P.dtype), _progress(P.dtype))
    k, Q, progress = jax.lax.while_loop(cond, body, init)
    return _result(P, R, Q.max(-1), g, k, progress.done)


@tensors_or_mdp
def policy_iteration(mdp, gamma, evaluation: str = "exact", eval_iters: int = 20, tol: float = 1e-6,
                     max_iters: int = 10_000) -> DPResult:
    """Policy iteration: evaluate π_k, then improve ``π_{k+1}(s) ∈ argmax_a Q_{V_k}(s, a)``
    (keeping π_k(s) when it is among the maximisers), starting from the greedy
    policy of ``V = 0``.

    ``evaluation="exact"``: ``V_k = V^{π_k}``, the solution of ``(I − γ P_π) V = R_π``;
    stops when the policy is stable (it is then optimal) or on the residual test.
    ``evaluation="iterative"`` (modified policy iteration, Puterman §6.5):
    ``V_k = T_{π_k}^m V_{k-1}`` with ``m = eval_iters`` sweeps; stops when
    ``‖T V_k − V_k‖∞ < tol·(1−γ)/(2γ)``, so the greedy policy is ``tol``-optimal.
    ``iterations`` counts improvement steps.
    """
    if evaluation not in ("exact", "iterative"):
        raise ValueError(f"evaluation must be 'exact' or 'iterative', got {evaluation!r}")
    if is_concrete(eval_iters) and not np.all(np.asarray(eval_iters) >= 1):
        raise ValueError(f"eval_iters must be at least 1, got {eval_iters}")
    mdp = prepare(mdp, gamma)
    _check_loop(tol, max_iters)
    return _policy_iteration(mdp, gamma, tol, max_iters, eval_iters, evaluation == "exact")


@functools.partial(jax.jit, static_argnums=5)
def _policy_iteration(mdp: MDP, gamma, tol, max_iters, eval_iters, exact: bool) -> DPResult:
    P, R = masked(mdp)
    g = jnp.asarray(gamma, P.dtype)
    threshold = _threshold(jnp.asarray(tol, P.dtype), g)

    def evaluate(policy, V):
        if exact:
            return _solve_policy(P, R, policy, g)
        P_pi, R_pi = _policy_matrices(P, R, policy)
        sweep = lambda _, v: R_pi + g * jnp.matmul(P_pi, v, precision=_HI)
        return jax.lax.fori_loop(0, eval_iters, sweep, V)

    def cond(c):
        k, _, _, progress = c
        return ~progress.done & (k < max_iters)

    def body(c):
        k, policy, V, progress = c
        V = evaluate(policy, V)
        Q = _backup(P, R, V, g)
        best = Q.max(-1)
        keep = jnp.take_along_axis(Q, policy[:, None], axis=1)[:, 0] >= best
        new = jnp.where(keep, policy, jnp.argmax(Q, -1).astype(jnp.int32))
        residual = jnp.max(jnp.abs(best - V), initial=0.0)
        progress = _stop(progress, residual, V, threshold)
        stable = jnp.all(new == policy) & exact
        return k + 1, new, V, progress._replace(done=progress.done | stable)

    V0 = jnp.zeros(P.shape[0], P.dtype)
    policy0 = jnp.argmax(R, -1).astype(jnp.int32)  # greedy for V = 0
    init = (jnp.zeros((), jnp.int32), policy0, V0, _progress(P.dtype))
    k, policy, V, progress = jax.lax.while_loop(cond, body, init)
    return _result(P, R, V, g, k, progress.done, policy)


# --------------------------------------------------------------------------- finite horizon


@tensors_or_mdp
def finite_horizon(mdp, horizon: int, gamma=1.0) -> DPResult:
    """Backward induction over ``horizon`` steps: ``V_H = 0``,
    ``Q_t = R + γ P V_{t+1}``, ``V_t = max_a Q_t``, ``π_t = argmax_a Q_t``
    (t = H−1, ..., 0). The optimal policy is non-stationary: ``policy[t]`` is the
    action with ``H − t`` steps to go. 0 <= γ <= 1 (γ = 1: undiscounted).
    Returns ``values [H+1, S]``, ``q_values [H, S, A]``, ``policy [H, S]``;
    ``residual = ‖V_0 − V_1‖∞ = ‖T V_1 − V_1‖∞`` (how far a longer horizon would
    still move the values)."""
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be a positive int (it sets the output shapes), got {horizon!r}")
    mdp = prepare(mdp, gamma, finite_horizon=True)
    return _finite_horizon(mdp, int(horizon), gamma)


@functools.partial(jax.jit, static_argnums=1)
def _finite_horizon(mdp: MDP, horizon: int, gamma) -> DPResult:
    P, R = masked(mdp)
    g = jnp.asarray(gamma, P.dtype)

    def step(V_next, _):
        Q = _backup(P, R, V_next, g)
        V = Q.max(-1)
        return V, (V, Q, jnp.argmax(Q, -1).astype(jnp.int32))

    V_end = jnp.zeros(P.shape[0], P.dtype)
    _, (V, Q, policy) = jax.lax.scan(step, V_end, length=horizon, reverse=True)
    values = jnp.concatenate([V, V_end[None]])
    residual = jnp.max(jnp.abs(values[0] - values[1]), initial=0.0)
    return DPResult(values, Q, policy, jnp.asarray(horizon, jnp.int32), residual, jnp.ones((), bool))


__all__ = [
    "DPResult", "finite_horizon", "policy_evaluation", "policy_iteration",
    "q_value_iteration", "q_values", "value_iteration",
]

"""Linear-quadratic regulators: finite-horizon time-varying LQR and the infinite-horizon DARE.

Finite horizon ``T``, affine dynamics and a quadratic cost with cross and linear terms::

    x_{t+1} = A_t x_t + B_t u_t + c_t
    ℓ_t(x, u) = ½ xᵀQ_t x + ½ uᵀR_t u + uᵀS_t x + q_tᵀx + r_tᵀu      (t < T)
    ℓ_T(x)    = ½ xᵀQ_T x + q_Tᵀx

The backward Riccati recursion gives the optimal affine policy ``u_t = K_t x_t + k_t``
and the cost-to-go ``V_t(x) = ½ xᵀP_t x + p_tᵀx + v_t``; from ``V_{t+1}``::

    Q_xx = Q_t + AᵀP A       Q_uu = R_t + BᵀP B       Q_ux = S_t + BᵀP A
    Q_x  = q_t + Aᵀ(p + P c) Q_u  = r_t + Bᵀ(p + P c)
    K = -Q_uu⁻¹Q_ux          k = -Q_uu⁻¹Q_u
    P_t = Q_xx + Q_uxᵀK      p_t = Q_x + Q_uxᵀk      v_t = v_{t+1} + ½cᵀPc + pᵀc + ½Q_uᵀk

Shapes: ``A [T, n, n]``, ``B [T, n, m]``, ``Q [T + 1, n, n]``, ``R [T, m, m]``,
``S [T, m, n]``, ``q [T + 1, n]``, ``r [T, m]``, ``c [T, n]`` (the optional ones
default to zeros). Everything is jittable and vmappable over problems.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class LQRSolution(NamedTuple):
    K: jax.Array  # [T, m, n] feedback gains, u_t = K_t x_t + k_t
    k: jax.Array  # [T, m] feedforward terms
    P: jax.Array  # [T + 1, n, n] value Hessians
    p: jax.Array  # [T + 1, n] value gradients
    v: jax.Array  # [T + 1] value constants: V_t(x) = ½xᵀP_t x + p_tᵀx + v_t
    X: jax.Array | None = None  # [T + 1, n] the optimal trajectory from x0 (given x0)
    U: jax.Array | None = None  # [T, m] its controls


def _sym(M):
    return 0.5 * (M + jnp.swapaxes(M, -1, -2))


def check_lq_shapes(A, B, Q, R, S=None, q=None, r=None, c=None) -> tuple[int, int, int]:
    """``(T, n, m)``; one-line ``ValueError`` naming the first inconsistent array."""
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise ValueError(f"A must be [T, n, n], got {A.shape}")
    T, n = A.shape[0], A.shape[1]
    if B.ndim != 3 or B.shape[:2] != (T, n):
        raise ValueError(f"B must be [T={T}, n={n}, m], got {B.shape}")
    m = B.shape[2]
    expected = dict(Q=(T + 1, n, n), R=(T, m, m), S=(T, m, n), q=(T + 1, n), r=(T, m), c=(T, n))
    for name, x in dict(Q=Q, R=R, S=S, q=q, r=r, c=c).items():
        if x is not None and x.shape != expected[name]:
            raise ValueError(f"{name} must be {list(expected[name])} for T={T}, n={n}, m={m}; "
                             f"got {list(x.shape)}")
    return T, n, m


def lqr(A, B, Q, R, S=None, q=None, r=None, c=None, x0=None) -> LQRSolution:
    """Finite-horizon LQR by the backward Riccati recursion (module docstring); with
    ``x0 [n]`` also the optimal trajectory ``X``, ``U`` (the forward rollout, ``lqr_rollout``)."""
    T, n, m = check_lq_shapes(A, B, Q, R, S, q, r, c)
    dtype = jnp.result_type(A, B, Q, R)
    S = jnp.zeros((T, m, n), dtype) if S is None else S
    q = jnp.zeros((T + 1, n), dtype) if q is None else q
    r = jnp.zeros((T, m), dtype) if r is None else r
    c = jnp.zeros((T, n), dtype) if c is None else c

    def step(carry, inputs):
        P, p, v = carry
        A_t, B_t, Q_t, R_t, S_t, q_t, r_t, c_t = inputs
        pc = p + P @ c_t
        Q_xx = Q_t + A_t.T @ P @ A_t
        Q_uu = _sym(R_t + B_t.T @ P @ B_t)
        Q_ux = S_t + B_t.T @ P @ A_t
        Q_x = q_t + A_t.T @ pc
        Q_u = r_t + B_t.T @ pc
        K = -jnp.linalg.solve(Q_uu, Q_ux)
        k = -jnp.linalg.solve(Q_uu, Q_u)
        P_t = _sym(Q_xx + Q_ux.T @ K)
        p_t = Q_x + Q_ux.T @ k
        v_t = v + 0.5 * c_t @ P @ c_t + p @ c_t + 0.5 * Q_u @ k
        return (P_t, p_t, v_t), (K, k, P_t, p_t, v_t)

    final = (Q[T], q[T], jnp.zeros((), dtype))
    _, (K, k, P, p, v) = jax.lax.scan(step, final, (A, B, Q[:T], R, S, q[:T], r, c), reverse=True)
    sol = LQRSolution(K, k, jnp.concatenate([P, Q[T][None]]), jnp.concatenate([p, q[T][None]]),
                      jnp.concatenate([v, jnp.zeros((1,), dtype)]))
    if x0 is not None:
        if jnp.shape(x0) != (n,):
            raise ValueError(f"x0 must be [n={n}], got {list(jnp.shape(x0))}")
        sol = sol._replace(**dict(zip("XU", lqr_rollout(sol, A, B, x0, c))))
    return sol


def lqr_rollout(sol: LQRSolution, A, B, x0, c=None):
    """Noiseless closed loop ``u_t = K_t x_t + k_t``: ``(X [T + 1, n], U [T, m])``."""
    c = jnp.zeros(A.shape[:2], A.dtype) if c is None else c

    def step(x, inputs):
        K, k, A_t, B_t, c_t = inputs
        u = K @ x + k
        x_next = A_t @ x + B_t @ u + c_t
        return x_next, (x_next, u)

    _, (X, U) = jax.lax.scan(step, x0, (sol.K, sol.k, A, B, c))
    return jnp.concatenate([x0[None], X]), U


def lq_cost(X, U, Q, R, S=None, q=None, r=None):
    """The finite-horizon objective ``Σ_t ℓ_t(x_t, u_t) + ℓ_T(x_T)`` (module docstring)."""
    T = U.shape[0]
    S = jnp.zeros((T, U.shape[1], X.shape[1])) if S is None else S
    q = jnp.zeros(X.shape) if q is None else q
    r = jnp.zeros(U.shape) if r is None else r
    stage = (0.5 * jnp.einsum("ti,tij,tj->", X[:T], Q[:T], X[:T]) + 0.5 * jnp.einsum("ti,tij,tj->", U, R, U)
             + jnp.einsum("ti,tij,tj->", U, S, X[:T]) + jnp.sum(q[:T] * X[:T]) + jnp.sum(r * U))
    return stage + 0.5 * X[T] @ Q[T] @ X[T] + q[T] @ X[T]


class DAREResult(NamedTuple):
    P: jax.Array  # [n, n] stabilising solution of the discrete algebraic Riccati equation
    K: jax.Array  # [m, n] optimal stationary gain, u = K x
    iterations: jax.Array
    residual: jax.Array  # max |DARE(P)| after convergence
    converged: jax.Array


def dare_residual(A, B, Q, R, P, S=None):
    """``AᵀPA − P − (AᵀPB + Sᵀ)(R + BᵀPB)⁻¹(BᵀPA + S) + Q`` (zero at the solution)."""
    S = jnp.zeros((B.shape[1], A.shape[0]), A.dtype) if S is None else S
    G = B.T @ P @ A + S
    return A.T @ P @ A - P - G.T @ jnp.linalg.solve(R + B.T @ P @ B, G) + Q


def dare(A, B, Q, R, S=None, *, tol: float | None = None, max_iters: int = 100) -> DAREResult:
    """Infinite-horizon LQR: minimise ``Σ_t xᵀQx + uᵀRu + 2uᵀSx`` subject to
    ``x_{t+1} = Ax + Bu``; the value is ``x₀ᵀP x₀`` and ``u = Kx`` with
    ``K = −(R + BᵀPB)⁻¹(BᵀPA + S)``.

    Solved by the structure-preserving doubling algorithm (Chu et al., 2004) on
    the cross-term-free form ``Ā = A − BR⁻¹S``, ``Q̄ = Q − SᵀR⁻¹S``::

        W = I + G_j H_j,  A_{j+1} = A_j W⁻¹A_j,  G_{j+1} = G_j + A_j W⁻¹G_j A_jᵀ,
        H_{j+1} = H_j + A_jᵀ H_j W⁻¹ A_j,   from A_0 = Ā, G_0 = BR⁻¹Bᵀ, H_0 = Q̄,

    which converges quadratically to ``H_j → P`` for stabilisable, detectable
    systems. Stops when ``‖H_{j+1} − H_j‖∞ ≤ tol·‖H_{j+1}‖∞`` (default tol: 100 machine
    epsilons of the dtype).
    """
    n, m = A.shape[0], B.shape[1]
    if A.shape != (n, n) or B.shape[0] != n or Q.shape != (n, n) or R.shape != (m, m):
        raise ValueError(f"dare needs A [n, n], B [n, m], Q [n, n], R [m, m]; got A {A.shape}, "
                         f"B {B.shape}, Q {Q.shape}, R {R.shape}")
    if S is not None and S.shape != (m, n):
        raise ValueError(f"S must be [m={m}, n={n}], got {S.shape}")
    tol = 100 * float(jnp.finfo(jnp.result_type(A, B, Q, R)).eps) if tol is None else tol
    S0 = jnp.zeros((m, n), A.dtype) if S is None else S
    Rinv_S = jnp.linalg.solve(R, S0)
    A0 = A - B @ Rinv_S
    G0 = _sym(B @ jnp.linalg.solve(R, B.T))
    H0 = _sym(Q - S0.T @ Rinv_S)
    eye = jnp.eye(n, dtype=A.dtype)

    def body(carry):
        Aj, Gj, Hj, i, _ = carry
        W = eye + Gj @ Hj
        WA = jnp.linalg.solve(W, Aj)
        WG = jnp.linalg.solve(W, Gj)
        H_next = _sym(Hj + Aj.T @ Hj @ WA)
        change = jnp.max(jnp.abs(H_next - Hj)) / jnp.maximum(jnp.max(jnp.abs(H_next)), 1e-300)
        return Aj @ WA, _sym(Gj + Aj @ WG @ Aj.T), H_next, i + 1, change

    def cond(carry):
        return (carry[3] < max_iters) & (carry[4] > tol)

    init = (A0, G0, H0, jnp.array(0), jnp.array(jnp.inf, A.dtype))
    _, _, P, iters, change = jax.lax.while_loop(cond, body, init)
    K = -jnp.linalg.solve(R + B.T @ P @ B, B.T @ P @ A + S0)
    res = jnp.max(jnp.abs(dare_residual(A, B, Q, R, P, S)))
    return DAREResult(P, K, iters, res, change <= tol)

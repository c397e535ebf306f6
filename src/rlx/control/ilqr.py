"""Iterative LQR / DDP with a line search, adaptive regularisation and control limits.

Minimises ``J(U) = Σ_{t<T} ℓ(x_t, u_t, t) + ℓ(x_T, 0, T)`` subject to
``x_{t+1} = f(x_t, u_t, t)``, ``x_0`` given (conventions of ``rlx.control.trajectory``).
Each iteration (Li & Todorov 2004; Tassa, Erez & Todorov 2012; Tassa, Mansard &
Todorov 2014):

1. Linearise ``f`` and quadratise ``ℓ`` along the current ``(X̄, Ū)`` by autodiff.
2. Backward pass: the LQR recursion of ``rlx.control.lqr`` on the deviations; the
   gains use the regularised ``Q̃_uu = ℓ_uu + Bᵀ(V_xx + μI)B + μI`` and
   ``Q̃_ux = ℓ_ux + Bᵀ(V_xx + μI)A`` (state and control regularisation), the value
   update the exact terms (with ``ddp=True`` also the second-order dynamics terms
   ``V_x·f_xx``, ``V_x·f_ux``, ``V_x·f_uu``).
   With control limits each step solves the box QP
   ``min_δu ½δuᵀQ_uu δu + Q_uᵀδu`` s.t. ``low ≤ ū + δu ≤ high`` by projected Newton;
   clamped controls get no feedback.
3. Forward pass: ``u_t = clip(ū_t + α k_t + K_t(x_t − x̄_t))`` for a set of step sizes
   ``α`` evaluated in parallel; the largest ``α`` whose actual reduction is at least
   ``c₁`` times the predicted ``−α k·Q_u − ½α² kᵀQ_uu k`` is accepted.
4. ``μ`` falls after an accepted step and grows after a failed one (or a
   non-positive-definite ``Q_uu``), by Tassa et al.'s quadratic schedule.

Stops when the relative feedforward size ``max_t ‖k_t‖∞ / (‖ū_t‖∞ + 1)`` falls below
``tol_grad``, when the full step's predicted reduction or an accepted step's actual
one is below ``tol_rel·|J|``, or after ``max_iters``; ``μ`` above ``mu_max`` also
stops (unconverged).
All of it is one ``lax.while_loop``: jittable and vmappable over problems.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.control.trajectory import rollout, trajectory_cost


class ILQRResult(NamedTuple):
    X: jax.Array  # [T + 1, n] optimised trajectory
    U: jax.Array  # [T, m] optimised controls
    K: jax.Array  # [T, m, n] feedback gains at the solution
    k: jax.Array  # [T, m] last feedforward step
    cost: jax.Array  # J(U)
    iterations: jax.Array  # accepted or rejected forward passes
    converged: jax.Array
    mu: jax.Array  # final regularisation
    grad_norm: jax.Array  # final max_t ‖k_t‖∞ / (‖u_t‖∞ + 1)
    cost_history: jax.Array  # [max_iters + 1] J after each iteration (NaN after the stop)


class Derivatives(NamedTuple):
    fx: jax.Array  # [T, n, n]
    fu: jax.Array  # [T, n, m]
    lx: jax.Array  # [T + 1, n]
    lu: jax.Array  # [T, m]
    lxx: jax.Array  # [T + 1, n, n]
    luu: jax.Array  # [T, m, m]
    lux: jax.Array  # [T, m, n]


def psd_project(H, floor: float = 0.0):
    """The nearest (Frobenius) symmetric matrix with eigenvalues ``≥ floor``."""
    w, V = jnp.linalg.eigh(0.5 * (H + H.T))
    return (V * jnp.maximum(w, floor)) @ V.T


def convexify(d: "Derivatives") -> "Derivatives":
    """Project each stage's joint cost Hessian ``[[ℓ_xx, ℓ_uxᵀ], [ℓ_ux, ℓ_uu]]`` and the
    terminal ``ℓ_xx`` onto the PSD cone, so the backward pass of a non-convex cost
    (e.g. ``1 − cos θ`` near the bottom) stays well posed."""
    n = d.lxx.shape[-1]
    T = d.luu.shape[0]
    joint = jnp.concatenate([jnp.concatenate([d.lxx[:T], jnp.swapaxes(d.lux, 1, 2)], 2),
                             jnp.concatenate([d.lux, d.luu], 2)], 1)
    joint = jax.vmap(psd_project)(joint)
    lxxT = psd_project(d.lxx[T])
    return d._replace(lxx=jnp.concatenate([joint[:, :n, :n], lxxT[None]]),
                      luu=joint[:, n:, n:], lux=joint[:, n:, :n])


def linearize(cost, dynamics, X, U) -> Derivatives:
    """First derivatives of ``f`` and first and second derivatives of ``ℓ`` along ``(X, U)``."""
    T = U.shape[0]
    ts = jnp.arange(T)
    fx, fu = jax.vmap(jax.jacfwd(dynamics, argnums=(0, 1)))(X[:-1], U, ts)
    grads = jax.vmap(jax.grad(cost, argnums=(0, 1)))(X[:-1], U, ts)
    hess = jax.vmap(jax.hessian(cost, argnums=(0, 1)))(X[:-1], U, ts)
    zero_u = jnp.zeros_like(U[0])
    lxT = jax.grad(cost)(X[-1], zero_u, T)
    lxxT = jax.hessian(cost)(X[-1], zero_u, T)
    return Derivatives(fx, fu, jnp.concatenate([grads[0], lxT[None]]), grads[1],
                       jnp.concatenate([hess[0][0], lxxT[None]]), hess[1][1], hess[1][0])


SMALL = 8  # up to this many controls, SPD solves are unrolled jnp arithmetic
SMALL_DOT = 16  # matrices up to this size are multiplied by fused multiply-adds


def mm(a, b):
    """``a @ b`` for a matrix ``a`` and a vector or matrix ``b``. Small products are
    broadcast multiply-and-sum, which XLA fuses (on the CPU a tiny dot is a separate
    library call, per batch member under ``vmap``)."""
    if max(a.shape + b.shape) > SMALL_DOT:
        return a @ b
    if b.ndim == 1:
        return jnp.sum(a * b[None, :], axis=1)
    return jnp.sum(a[:, :, None] * b[None, :, :], axis=1)


def vdot(a, b):
    return jnp.sum(a * b)


def spd_solve(H, b):
    """``(H⁻¹b, ok)`` for a symmetric ``H [m, m]`` by Cholesky; ``ok``: ``H`` is positive
    definite. For ``m ≤ SMALL`` the factorisation is unrolled elementwise arithmetic,
    which vectorises across ``vmap`` (a batched LAPACK call per tiny matrix does not)."""
    m = H.shape[0]
    if m > SMALL:
        chol = jnp.linalg.cholesky(H)
        return jax.scipy.linalg.cho_solve((chol, True), b), jnp.all(jnp.isfinite(chol))
    L = [[None] * m for _ in range(m)]
    ok = jnp.array(True)
    for j in range(m):
        d = H[j, j] - sum(L[j][k] ** 2 for k in range(j))
        ok = ok & (d > 0)
        L[j][j] = jnp.sqrt(jnp.where(d > 0, d, jnp.nan))
        for i in range(j + 1, m):
            L[i][j] = (H[i, j] - sum(L[i][k] * L[j][k] for k in range(j))) / L[j][j]
    y = [None] * m
    for i in range(m):  # L y = b
        y[i] = (b[i] - sum(L[i][k] * y[k] for k in range(i))) / L[i][i]
    x = [None] * m
    for i in reversed(range(m)):  # Lᵀ x = y
        x[i] = (y[i] - sum(L[k][i] * x[k] for k in range(i + 1, m))) / L[i][i]
    return jnp.stack(x), ok


def masked_solve(H, free, b):
    """Solve on the free coordinates only: ``x_f = H_ff⁻¹ b_f``, ``x`` zero elsewhere."""
    m = H.shape[0]
    both = free[:, None] & free[None, :]
    Hf = jnp.where(both, H, jnp.eye(m, dtype=H.dtype))
    mask = free[:, None] if b.ndim == 2 else free
    return spd_solve(Hf, jnp.where(mask, b, 0.0))[0]


def box_qp(H, g, lower, upper, x0, iters: int | None = None):
    """``min_x ½xᵀHx + gᵀx`` s.t. ``lower ≤ x ≤ upper`` by projected Newton (Bertsekas 1982)
    with an Armijo search over halving steps, ``iters`` (default ``2m + 2``) Newton
    steps; for one control, the clipped Newton step, which is exact. Returns ``(x, free)``: ``free[i]`` is false where the bound is active and
    the gradient pushes against it."""
    m = g.shape[0]
    if m == 1:  # one control: the exact minimiser is the clipped Newton step
        x = jnp.clip(-g / H[0], lower, upper)
        grad = H[0] * x + g
        return x, ~(((x <= lower) & (grad > 0)) | ((x >= upper) & (grad < 0)))
    iters = 2 * m + 2 if iters is None else iters
    alphas = 0.5 ** jnp.arange(8)

    def f(x):
        return 0.5 * vdot(x, mm(H, x)) + vdot(g, x)

    def clamped_at(x):
        grad = mm(H, x) + g
        return ((x <= lower) & (grad > 0)) | ((x >= upper) & (grad < 0))

    def body(_, x):
        grad = mm(H, x) + g
        free = ~clamped_at(x)
        step = -masked_solve(H, free, grad)
        candidates = jnp.clip(x[None] + alphas[:, None] * step[None], lower, upper)
        values = jax.vmap(f)(candidates)
        armijo = values <= f(x) + 1e-4 * jnp.sum((candidates - x[None]) * grad[None], axis=1)
        idx = jnp.argmax(armijo)
        return jnp.where(armijo[idx], candidates[idx], x)

    x = jax.lax.fori_loop(0, iters, body, jnp.clip(x0, lower, upper))
    return x, ~clamped_at(x)


def backward_pass(d: Derivatives, U, mu, u_low, u_high, k_prev, second_order=None):
    """Gains ``(K, k)``, the predicted-reduction terms ``(Σ k·Q_u, Σ ½kᵀQ_uu k)`` and
    whether every ``Q_uu`` was positive definite. ``second_order``, if given,
    returns the DDP terms ``(Vx·f_xx, Vx·f_ux, Vx·f_uu)`` at step ``t``."""
    limited = u_low is not None

    def step(carry, inputs):
        Vx, Vxx, ok = carry
        t, A, B, lx, lu, lxx, luu, lux, u, kp = inputs
        Qx = lx + mm(A.T, Vx)
        Qu = lu + mm(B.T, Vx)
        Qxx = lxx + mm(mm(A.T, Vxx), A)
        VB = mm(Vxx, B)
        Quu = luu + mm(B.T, VB)
        Qux = lux + mm(VB.T, A)
        if second_order is not None:
            fxx, fux, fuu = second_order(t, Vx)
            Qxx, Qux, Quu = Qxx + fxx, Qux + fux, Quu + fuu
        Quu = 0.5 * (Quu + Quu.T)
        # the gains use the regularised terms; the value update below the exact ones
        BB = mm(B.T, B)
        Quu_reg = Quu + mu * (BB + jnp.eye(Quu.shape[0], dtype=Quu.dtype))
        Qux_reg = Qux + mu * mm(B.T, A)
        if limited:
            pd = spd_solve(Quu_reg, Qu)[1]
            k, free = box_qp(Quu_reg, Qu, u_low - u, u_high - u, kp)
            K = -masked_solve(Quu_reg, free, Qux_reg)
        else:
            kK, pd = spd_solve(Quu_reg, jnp.concatenate([Qu[:, None], Qux_reg], axis=1))
            k, K = -kK[:, 0], -kK[:, 1:]
        Quu_k, Quu_K = mm(Quu, k), mm(Quu, K)
        Vx_t = Qx + mm(K.T, Quu_k) + mm(K.T, Qu) + mm(Qux.T, k)
        KQux = mm(K.T, Qux)
        Vxx_t = Qxx + mm(K.T, Quu_K) + KQux + KQux.T
        Vxx_t = 0.5 * (Vxx_t + Vxx_t.T)
        dV = jnp.stack([vdot(k, Qu), 0.5 * vdot(k, Quu_k)])
        return (Vx_t, Vxx_t, ok & pd), (K, k, dV)

    T = U.shape[0]
    init = (d.lx[T], d.lxx[T], jnp.array(True))
    xs = (jnp.arange(T), d.fx, d.fu, d.lx[:T], d.lu, d.lxx[:T], d.luu, d.lux, U, k_prev)
    (_, _, ok), (K, k, dV) = jax.lax.scan(step, init, xs, reverse=True)
    ok = ok & jnp.all(jnp.isfinite(K)) & jnp.all(jnp.isfinite(k))
    return K, k, dV.sum(axis=0), ok


def forward_pass(dynamics, cost, X, U, K, k, alpha, u_low, u_high):
    """The closed-loop rollout ``u_t = clip(ū_t + αk_t + K_t(x_t − x̄_t))``: ``(X, U, J)``."""
    def step(x, inputs):
        t, xb, ub, K_t, k_t = inputs
        u = ub + alpha * k_t + mm(K_t, x - xb)
        if u_low is not None:
            u = jnp.clip(u, u_low, u_high)
        return dynamics(x, u, t), (x, u)

    T = U.shape[0]
    xT, (Xs, Us) = jax.lax.scan(step, X[0], (jnp.arange(T), X[:-1], U, K, k))
    Xn = jnp.concatenate([Xs, xT[None]])
    return Xn, Us, trajectory_cost(cost, Xn, Us)


class _Carry(NamedTuple):
    X: jax.Array
    U: jax.Array
    J: jax.Array
    K: jax.Array
    k: jax.Array
    mu: jax.Array
    delta: jax.Array
    i: jax.Array
    done: jax.Array
    converged: jax.Array
    grad_norm: jax.Array
    history: jax.Array


def ilqr(
    cost: Callable,
    dynamics: Callable,
    x0: jax.Array,
    U0: jax.Array,
    *,
    max_iters: int = 100,
    tol_grad: float = 1e-4,
    tol_rel: float = 1e-6,
    u_low=None,
    u_high=None,
    mu_init: float = 0.0,
    mu_min: float = 1e-6,
    mu_max: float = 1e10,
    mu_factor: float = 1.6,
    alphas=tuple(0.5**i for i in range(8)),
    c1: float = 0.1,
    ddp: bool = False,
    convex: bool = False,
) -> ILQRResult:
    """Optimise the controls ``U0 [T, m]`` from ``x0 [n]`` (module docstring).

    ``u_low``/``u_high``: control limits ``[m]`` (or ``None``); ``mu_*``: the
    regularisation schedule (``mu_init=0`` takes the exact Newton step, so a
    linear-quadratic problem is solved in one iteration); ``alphas``: the line
    search's step sizes; ``ddp``: include second-order dynamics terms; ``convex``:
    project the cost Hessians onto the PSD cone (``convexify``) — for non-convex
    costs, at no loss on convex ones.
    """
    x0, U0 = jnp.asarray(x0), jnp.asarray(U0)
    check_problem(cost, dynamics, x0, U0, u_low, u_high)
    limited = u_low is not None
    if limited:
        u_low = jnp.broadcast_to(jnp.asarray(u_low, U0.dtype), U0.shape[1:])
        u_high = jnp.broadcast_to(jnp.asarray(u_high, U0.dtype), U0.shape[1:])
        U0 = jnp.clip(U0, u_low, u_high)
    alphas = jnp.asarray(alphas, U0.dtype)
    T, m = U0.shape
    n = x0.shape[0]

    X = rollout(dynamics, x0, U0)
    J = trajectory_cost(cost, X, U0)
    if not isinstance(J, jax.core.Tracer) and not bool(jnp.isfinite(J)):
        raise ValueError(f"the cost of the initial plan U0 is {float(J)}: check cost/dynamics for "
                         "NaN/Inf at x0 (under jit the solver returns converged=False instead)")
    history = jnp.full((max_iters + 1,), jnp.nan, J.dtype).at[0].set(J)
    carry = _Carry(X, U0, J, jnp.zeros((T, m, n), U0.dtype), jnp.zeros((T, m), U0.dtype),
                   jnp.asarray(mu_init, U0.dtype), jnp.asarray(1.0, U0.dtype), jnp.array(0),
                   ~jnp.isfinite(J), jnp.array(False), jnp.asarray(jnp.inf, U0.dtype), history)

    def second_order_at(X, U):
        if not ddp:
            return None

        def terms(t, Vx):
            def vf(x, u):
                return Vx @ dynamics(x, u, t)
            (hxx, hxu), (hux, huu) = jax.hessian(vf, argnums=(0, 1))(X[t], U[t])
            return hxx, hux, huu
        return terms

    def increase(mu, delta):
        delta = jnp.maximum(mu_factor, delta * mu_factor)
        return jnp.maximum(mu_min, mu * delta), delta

    def body(c: _Carry) -> _Carry:
        d = linearize(cost, dynamics, c.X, c.U)
        if convex:
            d = convexify(d)
        K, k, dV, ok = backward_pass(d, c.U, c.mu, u_low, u_high, c.k, second_order_at(c.X, c.U))
        grad_norm = jnp.max(jnp.abs(k) / (jnp.abs(c.U) + 1.0))
        # stationary: a tiny Newton step, or a predicted reduction below float resolution
        predicted = -(dV[0] + dV[1])
        small = ok & ((grad_norm < tol_grad) | (predicted < tol_rel * jnp.abs(c.J)))

        cands = jax.vmap(lambda a: forward_pass(dynamics, cost, c.X, c.U, K, k, a, u_low, u_high))(alphas)
        Xs, Us, Js = cands
        expected = -(alphas * dV[0] + alphas ** 2 * dV[1])
        actual = c.J - Js
        good = ok & jnp.isfinite(Js) & (actual > 0) & (actual >= c1 * expected)
        idx = jnp.argmax(good)  # alphas are decreasing: the first good one is the largest
        accept = good[idx] & ~small
        X_new = jnp.where(accept, Xs[idx], c.X)
        U_new = jnp.where(accept, Us[idx], c.U)
        J_new = jnp.where(accept, Js[idx], c.J)

        delta_dn = jnp.minimum(1.0 / mu_factor, c.delta / mu_factor)
        mu_dn = jnp.where(c.mu * delta_dn > mu_min, c.mu * delta_dn, 0.0)
        mu_up, delta_up = increase(c.mu, c.delta)
        mu = jnp.where(accept, mu_dn, mu_up)
        delta = jnp.where(accept, delta_dn, delta_up)

        rel = (c.J - J_new) / jnp.maximum(jnp.abs(c.J), 1e-12)
        converged = small | (accept & (rel < tol_rel))
        i = c.i + jnp.where(small, 0, 1)
        done = converged | (i >= max_iters) | (mu > mu_max)
        history = c.history.at[i].set(J_new)
        return _Carry(X_new, U_new, J_new, K, k, mu, delta, i, done, converged,
                      grad_norm, history)

    c = jax.lax.while_loop(lambda c: ~c.done, body, carry)
    return ILQRResult(c.X, c.U, c.K, c.k, c.J, c.i, c.converged, c.mu, c.grad_norm, c.history)


def check_problem(cost, dynamics, x0, U0, u_low=None, u_high=None) -> None:
    """One-line ``ValueError`` for inconsistent shapes, found by tracing (nothing runs)."""
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a state vector [n], got shape {x0.shape}")
    if U0.ndim != 2 or U0.shape[0] < 1:
        raise ValueError(f"U0 must be [T, m] with T >= 1, got shape {U0.shape}")
    x_next = jax.eval_shape(dynamics, x0, U0[0], 0)
    if x_next.shape != x0.shape:
        raise ValueError(f"dynamics(x, u, t) returns shape {x_next.shape}; the state x0 has "
                         f"{x0.shape}: they must match")
    c = jax.eval_shape(cost, x0, U0[0], 0)
    if c.shape != ():
        raise ValueError(f"cost(x, u, t) must return a scalar, got shape {c.shape}")
    if (u_low is None) != (u_high is None):
        raise ValueError("give both u_low and u_high, or neither")
    if u_low is not None:
        for name, b in (("u_low", u_low), ("u_high", u_high)):
            if jnp.ndim(b) not in (0, 1) or (jnp.ndim(b) == 1 and jnp.shape(b)[0] != U0.shape[1]):
                raise ValueError(f"{name} must be a scalar or [m={U0.shape[1]}], got shape {jnp.shape(b)}")
        if not any(isinstance(b, jax.core.Tracer) for b in (u_low, u_high)):
            low, high = np.broadcast_arrays(np.asarray(u_low), np.asarray(u_high))
            bad = np.flatnonzero(np.atleast_1d(low > high))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"u_low must not exceed u_high: u_low[{i}] = {np.atleast_1d(low)[i]:g} > "
                                 f"u_high[{i}] = {np.atleast_1d(high)[i]:g}")


ilqr_jit = partial(jax.jit, static_argnames=("cost", "dynamics", "max_iters", "ddp", "convex"))(ilqr)


def optimal_controls(cost, dynamics, x0, U0, theta, **options) -> jax.Array:
    """``U*(x0, θ)``: iLQR's optimal controls for ``cost(x, u, t, θ)`` and
    ``dynamics(x, u, t, θ)``, differentiable in ``x0`` and ``θ`` (any pytree).

    Gradients are implicit, not unrolled: at the optimum ``∇_U J(U*, x0, θ) = 0``,
    so ``dU*/dθ = −H⁻¹ ∂²J/∂U∂θ`` with ``H = ∇²_U J`` (the exact Hessian of the
    rolled-out objective, dense ``[T·m, T·m]``). Controls held at a limit
    (``u_low``/``u_high``, with the gradient pushing outward) do not move; the
    system is solved on the free ones. Valid where iLQR converged to a strict
    local minimum.
    """
    return _optimal_controls(cost, dynamics, tuple(sorted(options.items())), x0, U0, theta)


def _objective(cost, dynamics, U, x0, theta):
    c = lambda x, u, t: cost(x, u, t, theta)  # noqa: E731
    f = lambda x, u, t: dynamics(x, u, t, theta)  # noqa: E731
    return trajectory_cost(c, rollout(f, x0, U), U)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _optimal_controls(cost, dynamics, options, x0, U0, theta):
    opts = dict(options)
    return ilqr(lambda x, u, t: cost(x, u, t, theta), lambda x, u, t: dynamics(x, u, t, theta),
                x0, U0, **opts).U


def _optimal_controls_fwd(cost, dynamics, options, x0, U0, theta):
    U = _optimal_controls(cost, dynamics, options, x0, U0, theta)
    return U, (U, x0, theta)


def _optimal_controls_bwd(cost, dynamics, options, res, U_bar):
    U, x0, theta = res
    opts = dict(options)
    shape = U.shape
    grad_U = jax.grad(_objective, argnums=2)

    def flat_grad(u_flat, x0, theta):
        return grad_U(cost, dynamics, u_flat.reshape(shape), x0, theta).reshape(-1)

    u = U.reshape(-1)
    H = jax.jacfwd(flat_grad)(u, x0, theta)
    H = 0.5 * (H + H.T)
    free = jnp.ones_like(u, bool)
    if opts.get("u_low") is not None:
        g = flat_grad(u, x0, theta)
        low = jnp.broadcast_to(jnp.asarray(opts["u_low"], U.dtype), shape).reshape(-1)
        high = jnp.broadcast_to(jnp.asarray(opts["u_high"], U.dtype), shape).reshape(-1)
        tol = 1e-6 * (1.0 + jnp.abs(u))
        free = ~(((u <= low + tol) & (g >= 0)) | ((u >= high - tol) & (g <= 0)))
    both = free[:, None] & free[None, :]
    Hf = jnp.where(both, H, jnp.eye(u.shape[0], dtype=H.dtype))
    lam = jnp.linalg.solve(Hf, jnp.where(free, U_bar.reshape(-1), 0.0))
    _, vjp = jax.vjp(lambda x0, theta: flat_grad(u, x0, theta), x0, theta)
    x0_bar, theta_bar = vjp(-lam)
    return x0_bar, jnp.zeros_like(U), theta_bar


_optimal_controls.defvjp(_optimal_controls_fwd, _optimal_controls_bwd)

"""Sampling-based trajectory optimisers: random shooting, CEM and MPPI (pure JAX).

They share iLQR's interface (``rlx.control.trajectory``): ``dynamics(x, u, t)``,
``cost(x, u, t)``, plans ``U [T, m]``, ``J(U) = Σ_{t<T} cost(X[t], U[t], t) + cost(X[T], 0, T)``.
No derivative of ``cost`` or ``dynamics`` is taken, so any JAX function works — a
simulator with clipping and branches, or one member of a learned ensemble.

Every iteration evaluates ``num_samples`` plans at once (``vmap`` of ``rollout`` and
``trajectory_cost``); iterations are a ``lax.scan``. Each planner returns a
:class:`PlanResult`, whose ``U`` is the cheapest plan it evaluated. The Gaussian
planners always evaluate their current mean as sample 0 (noise zero), so the best
cost never increases from one iteration to the next and a warm start is never lost.

Compilation. Each planner is a thin Python function that checks its arguments and
calls a ``jax.jit``-compiled core. Shape-determining arguments are static
(``num_samples``, ``num_elites``, ``iterations``, ``horizon``, ``action_dim``) and so
are ``cost`` and ``dynamics``: pass the same function objects to reuse the compiled
program (a fresh ``lambda`` per call recompiles). Everything else — ``x0``, the plan,
the key, bounds, standard deviations, ``alpha``, the temperature — is traced, so the
planners ``vmap`` over initial states, keys and hyperparameters, and compose with
``jit``/``scan`` (e.g. an MPC loop; close over cost parameters inside your own
transformation). Shape errors are one-line ``ValueError``\\ s raised while tracing;
value errors (a non-positive temperature, ...) are raised when the value is concrete
(not under an outer ``jit``/``vmap``).

Bounds ``action_low``/``action_high`` are scalars, ``[m]`` or ``[T, m]``; sampled plans
are clipped to them, so every plan evaluated and returned lies inside them.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.control.trajectory import rollout, trajectory_cost

__all__ = ["PlanResult", "random_shooting", "cem", "mppi", "shift_plan"]


class PlanResult(NamedTuple):
    """What a planner returns.

    U: ``[T, m]`` the lowest-cost plan evaluated.
    X: ``[T + 1, n]`` its trajectory from ``x0``.
    cost: scalar ``J(U)``.
    history: ``[iterations]`` the best cost found up to and including each iteration
        (non-increasing; random shooting has one "iteration").
    mean: ``[T, m]`` the final sampling mean (CEM's μ, MPPI's nominal plan; random
        shooting: its Gaussian mean or the box centre) — the usual warm start.
    std: ``[T, m]`` the final sampling standard deviation (CEM's σ, MPPI's noise;
        random shooting: its Gaussian std or the uniform distribution's).
    """

    U: jax.Array
    X: jax.Array
    cost: jax.Array
    history: jax.Array
    mean: jax.Array
    std: jax.Array


# ----------------------------------------------------------------------------- helpers


def _concrete(v):
    """``v`` as a numpy array if it is concrete, else ``None`` (a tracer)."""
    try:
        return np.asarray(v)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _check_int(name, v, low=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"{name} must be an int >= {low}, got {v!r}")
    return int(v)


def _check_broadcast(name, v, shape):
    s = np.shape(v)
    try:
        ok = np.broadcast_shapes(s, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} of shape {s} does not broadcast to the plan shape {tuple(shape)} [T, m]")


def _check_positive(name, v, strict=True):
    c = _concrete(v)
    if c is not None and c.size and not (np.all(c > 0) if strict else np.all(c >= 0)):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {c.min()}")


def _check_bounds(low, high, shape, finite=False):
    _check_broadcast("action_low", low, shape)
    _check_broadcast("action_high", high, shape)
    lo, hi = _concrete(low), _concrete(high)
    if lo is not None and hi is not None:
        if np.any(lo > hi):
            raise ValueError("action_low must be <= action_high everywhere")
        if finite and not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("uniform random shooting needs finite action_low and action_high")


def _check_problem(cost, dynamics, x0, m, dtype):
    """Trace ``dynamics`` and ``cost`` once on ``x0``: shapes must agree."""
    x0 = jax.ShapeDtypeStruct(np.shape(x0), jnp.result_type(x0))
    u = jax.ShapeDtypeStruct((m,), dtype)
    try:
        x1 = jax.eval_shape(dynamics, x0, u, 0)
    except Exception as e:  # noqa: BLE001 - re-raised as one line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"dynamics(x0 {x0.shape}, u ({m},), t) failed: {msg}") from None
    if getattr(x1, "shape", None) != x0.shape:
        raise ValueError(f"dynamics maps x0 of shape {x0.shape} to shape {getattr(x1, 'shape', type(x1))}; "
                         "they must agree")
    try:
        c = jax.eval_shape(cost, x0, u, 0)
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"cost(x0 {x0.shape}, u ({m},), t) failed: {msg}") from None
    if getattr(c, "shape", None) != ():
        raise ValueError(f"cost must return a scalar, got shape {getattr(c, 'shape', type(c))}")


def _check_plan(U, name="U_init"):
    s = np.shape(U)
    if len(s) != 2 or s[0] < 1 or s[1] < 1:
        raise ValueError(f"{name} must have shape [T, m] with T, m >= 1, got {s}")
    return s


def _evaluate(cost, dynamics, x0, Us):
    """Costs ``[N]`` of plans ``Us [N, T, m]`` from ``x0``; NaN costs become +inf."""
    J = jax.vmap(lambda U: trajectory_cost(cost, rollout(dynamics, x0, U), U))(Us)
    return jnp.where(jnp.isnan(J), jnp.inf, J)


def _better(best, U, J):
    """Keep ``(U, J)`` if ``J`` is strictly below the best so far."""
    bU, bJ = best
    take = J < bJ
    return jnp.where(take, U, bU), jnp.where(take, J, bJ)


def _argmin(Us, J):
    i = jnp.argmin(J)
    return Us[i], J[i]


def _result(cost, dynamics, x0, U, history, mean, std):
    X = rollout(dynamics, x0, U)
    return PlanResult(U=U, X=X, cost=trajectory_cost(cost, X, U), history=history, mean=mean, std=std)


def _float_dtype(x):
    d = jnp.result_type(x)
    return d if jnp.issubdtype(d, jnp.floating) else jnp.result_type(float)


# ----------------------------------------------------------------------------- random shooting


def random_shooting(cost: Callable, dynamics: Callable, x0, key, *, horizon: int, num_samples: int,
                    action_low, action_high, mean=None, std=None,
                    action_dim: int | None = None) -> PlanResult:
    """Best of ``num_samples`` random plans.

    Plans are drawn uniformly in the box, ``U_k ~ U[action_low, action_high]^{T×m}``, or,
    when ``mean [T, m]`` (and ``std``, default 1) is given, from a Gaussian around it,
    ``U_k = clip(mean + std·ε_k)`` with ``ε_k ~ N(0, I)`` and ``ε_0 = 0`` (the mean itself
    is a candidate). All are rolled out, and ``argmin_k J(U_k)`` is returned.

    The action dimension ``m`` comes from ``mean``, else from ``[m]``-shaped bounds,
    else from ``action_dim``.
    """
    x0 = jnp.asarray(x0)
    mean = None if mean is None else jnp.asarray(mean)
    horizon = _check_int("horizon", horizon)
    num_samples = _check_int("num_samples", num_samples)
    if mean is not None:
        T, m = _check_plan(mean, "mean")
        if T != horizon:
            raise ValueError(f"mean has horizon {T} but horizon={horizon}")
    elif np.ndim(action_low) >= 1 or np.ndim(action_high) >= 1:
        m = np.shape(action_low if np.ndim(action_low) >= 1 else action_high)[-1]
    elif action_dim is not None:
        m = _check_int("action_dim", action_dim)
    else:
        raise ValueError("cannot infer the action dimension: pass action_dim, [m]-shaped bounds, or mean")
    if action_dim is not None and _check_int("action_dim", action_dim) != m:
        raise ValueError(f"action_dim={action_dim} but the bounds/mean have action dimension {m}")
    shape = (horizon, m)
    dtype = _float_dtype(mean) if mean is not None else jnp.result_type(float)
    _check_bounds(action_low, action_high, shape, finite=mean is None)
    _check_problem(cost, dynamics, x0, m, dtype)
    if mean is None:
        if std is not None:
            raise ValueError("std is only used with mean (Gaussian sampling)")
        return _random_shooting_uniform(cost, dynamics, x0, key, action_low, action_high,
                                        horizon=horizon, num_samples=num_samples, action_dim=m)
    std = 1.0 if std is None else std
    _check_broadcast("std", std, shape)
    _check_positive("std", std, strict=False)
    return _random_shooting_gaussian(cost, dynamics, x0, key, mean, std, action_low, action_high,
                                     num_samples=num_samples)


@functools.partial(jax.jit, static_argnames=("cost", "dynamics", "horizon", "num_samples", "action_dim"))
def _random_shooting_uniform(cost, dynamics, x0, key, low, high, *, horizon, num_samples, action_dim):
    dtype = jnp.result_type(float)
    shape = (horizon, action_dim)
    low = jnp.broadcast_to(jnp.asarray(low, dtype), shape)
    high = jnp.broadcast_to(jnp.asarray(high, dtype), shape)
    Us = jax.random.uniform(key, (num_samples, *shape), dtype, low, high)
    Us = jnp.clip(Us, low, high)  # uniform's upper end can round onto high + ulp
    J = _evaluate(cost, dynamics, x0, Us)
    U, Jb = _argmin(Us, J)
    return _result(cost, dynamics, x0, U, Jb[None], (low + high) / 2, (high - low) / jnp.sqrt(12.0).astype(dtype))


@functools.partial(jax.jit, static_argnames=("cost", "dynamics", "num_samples"))
def _random_shooting_gaussian(cost, dynamics, x0, key, mean, std, low, high, *, num_samples):
    mean = jnp.asarray(mean)
    dtype = _float_dtype(mean)
    mean = mean.astype(dtype)
    std = jnp.broadcast_to(jnp.asarray(std, dtype), mean.shape)
    eps = jax.random.normal(key, (num_samples, *mean.shape), dtype).at[0].set(0.0)
    Us = jnp.clip(mean + std * eps, jnp.asarray(low, dtype), jnp.asarray(high, dtype))
    J = _evaluate(cost, dynamics, x0, Us)
    U, Jb = _argmin(Us, J)
    return _result(cost, dynamics, x0, U, Jb[None], mean, std)


# ----------------------------------------------------------------------------- CEM


def cem(cost: Callable, dynamics: Callable, x0, U_init, key, *, num_samples: int, num_elites: int,
        iterations: int, init_std=1.0, action_low=-jnp.inf, action_high=jnp.inf, alpha=0.1,
        min_std=0.0) -> PlanResult:
    """Cross-entropy method (Rubinstein 1999; Rubinstein & Kroese 2004) over plans.

    A diagonal Gaussian ``N(μ, diag σ²)`` over ``U [T, m]`` starts at ``μ = U_init``,
    ``σ = init_std``. Each iteration draws ``U_k = clip(μ + σ·ε_k, low, high)``,
    ``ε_k ~ N(0, I)`` (``ε_0 = 0``: the mean is a candidate), keeps the ``num_elites``
    cheapest plans ``E`` and refits with smoothing:
    ``μ ← α·μ + (1−α)·mean(E)``, ``σ ← max(α·σ + (1−α)·std(E), min_std)``.

    Returns the cheapest plan evaluated (including the final ``μ``); ``mean``/``std`` are
    the final ``μ``/``σ``. ``init_std``, ``alpha``, ``min_std`` and the bounds are traced
    (scalars, ``[m]`` or ``[T, m]``).
    """
    x0, U_init = jnp.asarray(x0), jnp.asarray(U_init)
    T, m = _check_plan(U_init)
    num_samples = _check_int("num_samples", num_samples)
    num_elites = _check_int("num_elites", num_elites)
    iterations = _check_int("iterations", iterations)
    if num_elites > num_samples:
        raise ValueError(f"num_elites={num_elites} exceeds num_samples={num_samples}")
    shape = (T, m)
    _check_bounds(action_low, action_high, shape)
    for name, v in (("init_std", init_std), ("min_std", min_std)):
        _check_broadcast(name, v, shape)
    _check_positive("init_std", init_std)
    _check_positive("min_std", min_std, strict=False)
    a = _concrete(alpha)
    if np.ndim(alpha) != 0:
        raise ValueError(f"alpha must be a scalar, got shape {np.shape(alpha)}")
    if a is not None and not 0.0 <= a < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {a}")
    _check_problem(cost, dynamics, x0, m, _float_dtype(U_init))
    return _cem(cost, dynamics, x0, U_init, key, init_std, action_low, action_high, alpha, min_std,
                num_samples=num_samples, num_elites=num_elites, iterations=iterations)


@functools.partial(jax.jit, static_argnames=("cost", "dynamics", "num_samples", "num_elites", "iterations"))
def _cem(cost, dynamics, x0, U_init, key, init_std, low, high, alpha, min_std, *,
         num_samples, num_elites, iterations):
    U_init = jnp.asarray(U_init)
    dtype = _float_dtype(U_init)
    shape = U_init.shape
    low, high = jnp.asarray(low, dtype), jnp.asarray(high, dtype)
    alpha = jnp.asarray(alpha, dtype)
    min_std = jnp.broadcast_to(jnp.asarray(min_std, dtype), shape)
    mu = jnp.clip(U_init.astype(dtype), low, high)
    sigma = jnp.maximum(jnp.broadcast_to(jnp.asarray(init_std, dtype), shape), min_std)

    def iteration(carry, k):
        mu, sigma, best = carry
        eps = jax.random.normal(k, (num_samples, *shape), dtype).at[0].set(0.0)
        Us = jnp.clip(mu + sigma * eps, low, high)
        J = _evaluate(cost, dynamics, x0, Us)
        best = _better(best, *_argmin(Us, J))
        _, idx = jax.lax.top_k(-J, num_elites)
        elites = Us[idx]
        mu = alpha * mu + (1 - alpha) * elites.mean(0)
        sigma = jnp.maximum(alpha * sigma + (1 - alpha) * elites.std(0), min_std)
        return (mu, sigma, best), best[1]

    best0 = (mu, jnp.asarray(jnp.inf, dtype))
    (mu, sigma, best), history = jax.lax.scan(iteration, (mu, sigma, best0), jax.random.split(key, iterations))
    best = _better(best, mu, _evaluate(cost, dynamics, x0, mu[None])[0])
    return _result(cost, dynamics, x0, best[0], history.at[-1].min(best[1]), mu, sigma)


# ----------------------------------------------------------------------------- MPPI


def mppi(cost: Callable, dynamics: Callable, x0, U_init, key, *, num_samples: int, iterations: int = 1,
         temperature=1.0, noise_std=1.0, action_low=-jnp.inf, action_high=jnp.inf,
         control_cost=0.0) -> PlanResult:
    """Model-predictive path integral control (Williams et al. 2017, "Information
    theoretic MPC for model-based reinforcement learning"), iterated ``iterations`` times.

    Each iteration perturbs the nominal plan, ``V_k = clip(U + ε_k, low, high)`` with
    ``ε_k ~ N(0, diag noise_std²)`` (``ε_0 = 0``), scores
    ``S_k = J(V_k) + γ·Σ_t U_tᵀ Σ⁻¹ ε̃_{k,t}`` and updates
    ``U ← clip(U + Σ_k w_k ε̃_k)``, ``w_k ∝ exp(−(S_k − min_j S_j)/λ)``, where
    ``ε̃_k = V_k − U`` is the noise after clipping (so the update is a convex combination
    of the bounded samples) and ``λ = temperature``.

    ``cost`` is charged on the perturbed controls, as in most MPPI implementations. The
    paper's information-theoretic control-cost term is the ``γ`` term above with
    ``γ = control_cost``: the paper uses ``γ = λ`` with a state-only cost; the default
    ``0`` omits it (when ``cost`` already charges the control). ``temperature``,
    ``noise_std``, ``control_cost`` and the bounds are traced.

    Returns the cheapest plan evaluated (each iteration's nominal plan is sample 0, and
    the final one is evaluated too); ``mean`` is the final nominal plan, the usual warm
    start for the next MPC step.
    """
    x0, U_init = jnp.asarray(x0), jnp.asarray(U_init)
    T, m = _check_plan(U_init)
    num_samples = _check_int("num_samples", num_samples)
    iterations = _check_int("iterations", iterations)
    shape = (T, m)
    _check_bounds(action_low, action_high, shape)
    _check_broadcast("noise_std", noise_std, shape)
    _check_positive("noise_std", noise_std)
    if np.ndim(temperature) != 0:
        raise ValueError(f"temperature must be a scalar, got shape {np.shape(temperature)}")
    _check_positive("temperature", temperature)
    if np.ndim(control_cost) != 0:
        raise ValueError(f"control_cost must be a scalar, got shape {np.shape(control_cost)}")
    _check_problem(cost, dynamics, x0, m, _float_dtype(U_init))
    return _mppi(cost, dynamics, x0, U_init, key, temperature, noise_std, action_low, action_high, control_cost,
                 num_samples=num_samples, iterations=iterations)


@functools.partial(jax.jit, static_argnames=("cost", "dynamics", "num_samples", "iterations"))
def _mppi(cost, dynamics, x0, U_init, key, temperature, noise_std, low, high, gamma, *, num_samples, iterations):
    U_init = jnp.asarray(U_init)
    dtype = _float_dtype(U_init)
    shape = U_init.shape
    low, high = jnp.asarray(low, dtype), jnp.asarray(high, dtype)
    lam = jnp.asarray(temperature, dtype)
    gamma = jnp.asarray(gamma, dtype)
    sigma = jnp.broadcast_to(jnp.asarray(noise_std, dtype), shape)
    U = jnp.clip(U_init.astype(dtype), low, high)

    def iteration(carry, k):
        U, best = carry
        eps = sigma * jax.random.normal(k, (num_samples, *shape), dtype).at[0].set(0.0)
        Vs = jnp.clip(U + eps, low, high)
        eps = Vs - U
        J = _evaluate(cost, dynamics, x0, Vs)
        best = _better(best, *_argmin(Vs, J))
        S = J + gamma * jnp.sum(U / sigma**2 * eps, axis=(1, 2))
        S_min = jnp.min(S)
        w = jax.nn.softmax(jnp.where(jnp.isfinite(S), -(S - S_min) / lam, -jnp.inf))
        w = jnp.where(jnp.isfinite(S_min), w, 0.0)  # every sample diverged: no update
        U = jnp.clip(U + jnp.tensordot(w, eps, axes=1), low, high)
        return (U, best), best[1]

    best0 = (U, jnp.asarray(jnp.inf, dtype))
    (U, best), history = jax.lax.scan(iteration, (U, best0), jax.random.split(key, iterations))
    best = _better(best, U, _evaluate(cost, dynamics, x0, U[None])[0])
    return _result(cost, dynamics, x0, best[0], history.at[-1].min(best[1]), U, sigma)


# ----------------------------------------------------------------------------- warm start


def shift_plan(U, fill="last"):
    """Warm start for the next receding-horizon step: ``U[1:]`` with one action appended.

    ``fill``: ``"last"`` repeats ``U[-1]``, ``"zeros"`` appends zeros, or an array
    broadcastable to ``[m]`` is appended.
    """
    _check_plan(U, "U")
    U = jnp.asarray(U)
    if isinstance(fill, str):
        if fill == "last":
            tail = U[-1:]
        elif fill in ("zeros", "zero"):
            tail = jnp.zeros_like(U[-1:])
        else:
            raise ValueError(f"fill must be 'last', 'zeros' or an array of shape [m], got {fill!r}")
    else:
        _check_broadcast("fill", fill, U.shape[1:])
        tail = jnp.broadcast_to(jnp.asarray(fill, U.dtype), U.shape[1:])[None]
    return jnp.concatenate([U[1:], tail], axis=0)

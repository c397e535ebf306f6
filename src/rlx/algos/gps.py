"""Guided policy search: trajectory optimisation and policy regression, alternated.

GPS (Levine & Koltun 2013) trains a policy ``π_θ(o)`` — here an MLP of the observation —
by supervised learning on optimised trajectories, while the trajectories are optimised
to stay where the policy can follow them. This is the penalty / simplified-BADMM variant
(Mordatch & Todorov 2014; Levine, Finn, Darrell & Abbeel 2016 with deterministic iLQR
trajectories in place of linear-Gaussian controllers): for ``N`` fixed initial states
``x_0^j`` (drawn from the environment's reset distribution), iteration ``i = 0 .. I − 1`` is

1. *trajectory optimisation*: for every ``j``, iLQR (``rlx.control.ilqr``) from ``x_0^j``
   on the augmented cost ``c̃_i(x, u, t) = c(x, u) + λ_tᵀ(u − π_θ(o(x))) + (ρ_i/2)·‖u − π_θ(o(x))‖²``
   (:func:`augmented_cost`), warm-started from the previous plan ``U^j``;
2. *policy regression* (:func:`policy_regression`): ``config.steps`` Adam steps on
   ``min_θ Σ_{j,t} ‖π_θ(o(x_t^j)) − (u_t^j + λ_t^j/ρ_i)‖²`` over the optimised pairs of all
   trajectories, continuing from the current ``θ``; with ``perturbations = P``, each
   step adds ``P`` rows at perturbed states ``x̃ = x_t + σε`` (``ε ~ N(0, I)``) labelled by
   iLQR's local feedback law on the augmented cost, ``clip(u_t + K_t(x̃ − x_t))``
   (Mordatch & Todorov's noise injection: the policy learns the feedback that keeps it
   on the trajectory);
3. ``λ_t ← λ_t + dual_step·ρ_i·(u_t − π_θ(o(x_t)))`` (``dual_step = 0``, the default: the
   pure penalty method, ``λ = 0``; ``1``: ADMM's dual ascent), ``ρ_{i+1} = min(ρ_i·rho_growth, rho_max)``.

``c(x, u) = −r(x, u)`` is the environment's own negative reward and the model
``x' = f(x, u)`` its own deterministic step (the planner knows the true dynamics, as
:func:`rlx.algos.imitation.mpc_expert`'s), plus an optional model-only
``penalty(x, u, t)`` (e.g. :func:`cartpole_swingup_penalty`); ``o(x)`` is the
environment's observation of its state (:func:`state_observer`). Before iteration 0
each trajectory is initialised by receding-horizon iLQR (:func:`receding_horizon`,
short horizon ``init_horizon``) and then refined by iLQR over the whole horizon (``ρ = 0``):
long-horizon iLQR from ``U = 0`` gets stuck in poor local minima on these swing-up
tasks (Pendulum: mean cost 410 against 148 over 100 steps). The policy's input
normaliser is set from these initial trajectories, then kept.

Everything after the validation — the initial trajectories, all ``I`` iterations and a
per-iteration evaluation of the policy on the true environment — is one ``jit``-compiled
program with the iterations in a ``lax.scan``, and :func:`gps` can be ``vmap``-ped over
keys (seeds) and over the configuration's float fields (``rho``, ``rho_growth``,
``rho_max``, ``dual_step``, ``perturb_std``, ``lr``). The learned policy acts through
:func:`gps_policy` (deterministic), which :func:`rlx.algos.imitation.evaluate` rolls out.

The best penalty is task-dependent (``experiments/gps_pendulum.py``, 3 seeds): on
Pendulum-v1 the initial trajectories are already easy to imitate, ``ρ = 0.1`` (constant)
matches the uncoupled ``ρ = 0`` (0.98 of the iLQR-MPC expert's return) and a growing ``ρ``
degrades the policy late (0.88); on CartPole swing-up the growing, capped default
``ρ_i = min(1.5^i, 10)`` is what makes the policy balance (0.56 of the expert, against
0.26 with ``ρ = 0``).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import chex
import jax
import jax.numpy as jnp

from rlx.algos.base import ACTIVATIONS, ConfigError, check, check_network, check_nonnegative, check_positive
from rlx.algos.imitation import (ActionSpec, BCConfig, Policy, action_spec, adam_fit, bc_policy, evaluate,
                                 init_policy, policy_output, weighted_normaliser)
from rlx.control.ilqr import ilqr
from rlx.control.trajectory import trajectory_cost
from rlx.core.pytree import pytree_dataclass, static_field

__all__ = ["GPSConfig", "augmented_cost", "cartpole_swingup_penalty", "gps", "gps_policy", "model",
           "policy_regression", "receding_horizon", "state_observer", "validate"]


@pytree_dataclass
class GPSConfig(BCConfig):
    """Guided policy search (module docstring). ``steps``, ``lr``, ``batch_size``,
    ``max_grad_norm``, ``hidden``, ``activation``: each iteration's regression, as in
    :class:`~rlx.algos.imitation.BCConfig` (``hidden=()``: a linear policy).

    Float fields are pytree leaves (vmappable); the rest fix shapes or the program."""

    steps: int = static_field(300)  # Adam steps of policy regression per GPS iteration
    batch_size: int = static_field(1024)  # rows per Adam step
    rho: float = 1.0  # ρ_0, the weight of the penalty (ρ/2)·‖u − π(o(x))‖²
    rho_growth: float = 1.5  # ρ_{i+1} = min(ρ_i · rho_growth, rho_max)
    rho_max: float = 10.0  # the cap: a much larger ρ pins the trajectories to the policy (nothing left to learn)
    dual_step: float = 0.0  # λ_t += dual_step·ρ·(u_t − π(o(x_t))): 0 the penalty method, 1 ADMM
    perturb_std: float = 0.3  # σ of the perturbed states x̃ = x_t + σε (state units)
    perturbations: int = static_field(8)  # perturbed rows per trajectory step, labelled clip(u_t + K_t(x̃ − x_t))
    iterations: int = static_field(10)  # GPS iterations (trajectory optimisation + regression)
    num_trajectories: int = static_field(16)  # N fixed initial states
    horizon: int = static_field(100)  # T steps per trajectory
    ilqr_iters: int = static_field(30)  # iLQR's max_iters per trajectory optimisation (and per MPC step)
    init_horizon: int = static_field(20)  # initial plans: receding-horizon iLQR with this horizon (0: U = 0)
    init_ilqr_iters: int = static_field(100)  # max_iters of the initial full-horizon (ρ = 0) optimisation
    convex: bool = static_field(True)  # iLQR with PSD-projected cost Hessians (rlx.control.ilqr.convexify)
    eval_episodes: int = static_field(8)  # true-environment episodes after each iteration (0: none)
    eval_steps: int = static_field(200)  # their length


def validate(c: GPSConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field. Float fields that are traced
    (a ``vmap`` over configurations) are not checked."""
    check_positive(c, "steps", "batch_size", "iterations", "num_trajectories", "horizon", "ilqr_iters",
                   "init_ilqr_iters", "eval_steps")
    check_nonnegative(c, "perturbations", "init_horizon", "eval_episodes")
    if len(c.hidden):
        check_network(c)
    check(c.activation in ACTIVATIONS, "activation", c.activation, f"use one of {', '.join(ACTIVATIONS)}")
    check(c.loss in ("mse", "gaussian"), "loss", c.loss, "use mse or gaussian")
    if any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(c)):
        return
    check_positive(c, "lr", "max_grad_norm")
    check_nonnegative(c, "rho", "dual_step", "perturb_std")
    check(c.rho_growth >= 1.0, "rho_growth", c.rho_growth, "it must be >= 1 (ρ never decreases)")
    check(c.rho_max >= c.rho, "rho_max", c.rho_max, f"it must be >= --rho={c.rho}")
    check(c.dual_step == 0 or c.rho > 0, "dual_step", c.dual_step, "dual ascent needs --rho > 0")


# ----------------------------------------------------------------------------- the problem


def state_observer(env) -> Callable:
    """``o(x)``: ``env``'s observation of its (flat-array) state — its ``observe`` (e.g.
    CartPoleSwingUp-v0) or ``_obs`` (Pendulum-v1) static method."""
    base = env.unwrapped
    for name in ("observe", "_obs"):
        if callable(getattr(base, name, None)):
            return getattr(base, name)
    raise ConfigError(f"{env.name} has no observe(state) method: pass observe=o(x) to gps")


def cartpole_swingup_penalty(x, u, t):
    """``0.1·x_cart² + 0.01·‖u‖²``, model-only shaping for CartPoleSwingUp-v0. Its reward
    ``½(1 + cos θ)`` prices neither the track (the task terminates at ``|x| > 2.4``,
    possibly after the planning horizon) nor the force: on the reward alone iLQR's plans
    run the cart to the end of the track, are bang-bang and often fall over again. The
    centring and control costs keep the cart near the middle and the plans smooth."""
    return 0.1 * x[0] ** 2 + 0.01 * jnp.sum(u ** 2)


def model(env, params, penalty: Callable | None = None):
    """``(dynamics, cost)`` in ``rlx.control``'s conventions from ``env``'s own deterministic
    step: ``dynamics(x, u, t) = step(x, u).state``, ``cost(x, u, t) = −step(x, u).reward +
    penalty(x, u, t)``. The state must be a flat array (Pendulum's ``[θ, θ̇]``, the
    cart-pole's ``[x, ẋ, θ, θ̇]``)."""
    base = env.unwrapped
    model_key = jax.random.key(0)

    def dynamics(x, u, t):
        return base.step(model_key, x, u, params)[0]

    def cost(x, u, t):
        c = -base.step(model_key, x, u, params)[1].reward
        return c if penalty is None else c + penalty(x, u, t)

    return dynamics, cost


def augmented_cost(cost: Callable, policy: Callable, observe: Callable, rho, horizon: int,
                   lam=None) -> Callable:
    """``c̃(x, u, t) = c(x, u, t) + λ_tᵀ(u − π(o(x))) + (ρ/2)·‖u − π(o(x))‖²`` for ``t < T``
    (``lam [T, m]`` the multipliers, ``None``: zero); the terminal ``c̃(x_T, 0, T) =
    c(x_T, 0, T)`` (no control there). ``policy(o) -> u`` is the policy's mean action."""
    def c(x, u, t):
        r = u - policy(observe(x))
        extra = 0.5 * rho * jnp.sum(r ** 2)
        if lam is not None:
            extra = extra + jnp.sum(lam[jnp.minimum(t, horizon - 1)] * r)
        return cost(x, u, t) + jnp.where(t < horizon, extra, 0.0)
    return c


def receding_horizon(cost: Callable, dynamics: Callable, x0, steps: int, *, horizon: int, u_low, u_high,
                     max_iters: int = 30, convex: bool = True):
    """Model-predictive control by iLQR in closed loop on the model: ``(X [steps + 1, n],
    U [steps, m])``. At every step, iLQR over ``horizon`` steps from the current state,
    warm-started from the previous plan shifted by one (its last control repeated),
    applies the plan's first control. ``t`` restarts at 0 in every sub-problem: the cost
    and dynamics are taken to be time-invariant."""
    u_low, u_high = jnp.atleast_1d(jnp.asarray(u_low, jnp.float32)), jnp.atleast_1d(jnp.asarray(u_high, jnp.float32))

    def step(carry, t):
        x, W = carry
        W = ilqr(cost, dynamics, x, W, u_low=u_low, u_high=u_high, max_iters=max_iters, convex=convex).U
        u = W[0]
        return (dynamics(x, u, t), jnp.concatenate([W[1:], W[-1:]])), (x, u)

    W0 = jnp.zeros((horizon, u_low.shape[0]), jnp.float32)
    (xT, _), (X, U) = jax.lax.scan(step, (x0, W0), jnp.arange(steps))
    return jnp.concatenate([X, xT[None]]), U


def _closed_loop(dynamics, policy, observe, x0, T: int):
    """``(X [T + 1, n], U [T, m])`` of ``u_t = π(o(x_t))`` on the model from ``x0``."""
    def step(x, t):
        u = policy(observe(x))
        return dynamics(x, u, t), (x, u)

    xT, (X, U) = jax.lax.scan(step, x0, jnp.arange(T))
    return jnp.concatenate([X, xT[None]]), U


# ----------------------------------------------------------------------------- the policy


def _mean_action(pp, config: GPSConfig, spec: ActionSpec):
    """``π_θ(o)``: the policy's mean clipped to the action box (``gps_policy`` without ``key``)."""
    def mean(obs):
        return jnp.clip(policy_output(pp, obs, config, spec), jnp.asarray(spec.low), jnp.asarray(spec.high))
    return mean


def gps_policy(pp, config: GPSConfig, spec: ActionSpec) -> Policy:
    """The learned policy as ``policy(obs, key) -> u`` (its mean, clipped to the box;
    deterministic), e.g. for :func:`rlx.algos.imitation.evaluate`."""
    return bc_policy(pp, config, spec)


def policy_regression(key, pp, obs, targets, config: GPSConfig, spec: ActionSpec):
    """GPS's supervised step: ``config.steps`` Adam steps (fresh moments; minibatches of
    ``batch_size`` rows drawn uniformly with replacement) on
    ``(1/M)·Σ_k ‖π_θ(o_k) − y_k‖²`` (``config.loss="mse"``) from the current parameters ``pp``,
    whose input normaliser is kept. ``obs [M, *obs_shape]``, ``targets [M, m]``. Returns
    ``(pp, mean minibatch loss over the last tenth of the steps)``."""
    chex.assert_rank(targets, 2)
    chex.assert_equal_shape_prefix([obs, targets], 1)
    return adam_fit(key, pp, obs, targets, jnp.ones(targets.shape[:1], jnp.float32), config, spec)


# ----------------------------------------------------------------------------- the loop


class _Problem(NamedTuple):  # hashable: static under jit
    env: object
    observe: Callable
    penalty: Callable | None


def _gps(key, params, config: GPSConfig, problem: _Problem, spec: ActionSpec, obs_shape: tuple, eval_key=None):
    env, observe = problem.env, problem.observe
    dynamics, cost = model(env, params, problem.penalty)
    N, T, m, P = config.num_trajectories, config.horizon, spec.shape[0], config.perturbations
    low, high = jnp.asarray(spec.low), jnp.asarray(spec.high)
    k_x0, k_init, k_iters, k_eval = jax.random.split(key, 4)
    k_eval = k_eval if eval_key is None else eval_key
    x0s = jax.vmap(lambda k: env.unwrapped.reset(k, params)[0])(jax.random.split(k_x0, N))
    observe_all = jax.vmap(jax.vmap(observe))  # [N, T, n] -> [N, T, *obs_shape]

    def plain_cost(X, U):  # [N]
        return jax.vmap(lambda X, U: trajectory_cost(cost, X, U))(X, U)

    # initial trajectories: receding-horizon iLQR, then iLQR over the whole horizon (ρ = 0)
    if config.init_horizon:
        U = jax.vmap(lambda x0: receding_horizon(cost, dynamics, x0, T, horizon=config.init_horizon, u_low=low,
                                                 u_high=high, max_iters=config.ilqr_iters,
                                                 convex=config.convex)[1])(x0s)
    else:
        U = jnp.zeros((N, T, m), jnp.float32)
    first = jax.vmap(lambda x0, U0: ilqr(cost, dynamics, x0, U0, u_low=low, u_high=high,
                                         max_iters=config.init_ilqr_iters, convex=config.convex))(x0s, U)
    U = first.U
    mean, std = weighted_normaliser(observe_all(first.X[:, :T]).reshape((N * T,) + obs_shape), jnp.ones((N * T,)))
    pp = {**init_policy(k_init, config, spec, obs_shape), "obs_mean": mean, "obs_std": std}

    def iteration(carry, k):
        pp, U, lam, rho = carry
        k_fit, k_noise = jax.random.split(k)
        policy = _mean_action(pp, config, spec)

        # 1. trajectory optimisation on the augmented cost, warm-started from the previous plans
        def optimise(x0, U0, lam_j):
            aug = augmented_cost(cost, policy, observe, rho, T, lam_j)
            return ilqr(aug, dynamics, x0, U0, u_low=low, u_high=high, max_iters=config.ilqr_iters,
                        convex=config.convex)

        res = jax.vmap(optimise)(x0s, U, lam)
        X, U = res.X[:, :T], res.U
        obs = observe_all(X)
        gap_before = jnp.mean(jnp.sum((U - jax.vmap(jax.vmap(policy))(obs)) ** 2, -1))

        # 2. regression onto u + λ/ρ at the trajectories' states (and perturbed ones: feedback labels)
        rows_obs, rows_u = obs.reshape((N * T,) + obs_shape), U.reshape(N * T, m)
        if P:
            eps = config.perturb_std * jax.random.normal(k_noise, (P,) + X.shape)
            U_eps = jnp.clip(U[None] + jnp.einsum("jtmn,pjtn->pjtm", res.K, eps), low, high)
            rows_obs = jnp.concatenate([rows_obs, jax.vmap(observe_all)(X[None] + eps).reshape((-1,) + obs_shape)])
            rows_u = jnp.concatenate([rows_u, U_eps.reshape(-1, m)])
        shift = jnp.where(rho > 0, lam / jnp.maximum(rho, 1e-8), 0.0).reshape(N * T, m)
        pp, loss = policy_regression(k_fit, pp, rows_obs, rows_u + jnp.tile(shift, (P + 1, 1)), config, spec)

        # 3. dual ascent and the penalty schedule
        policy = _mean_action(pp, config, spec)
        residual = U - jax.vmap(jax.vmap(policy))(obs)
        lam = lam + config.dual_step * rho * residual

        Xp, Up = jax.vmap(lambda x0: _closed_loop(dynamics, policy, observe, x0, T))(x0s)
        metrics = dict(rho=rho, traj_cost=plain_cost(res.X, U).mean(), gap_before=gap_before,
                       gap=jnp.mean(jnp.sum(residual ** 2, -1)), fit_loss=loss, policy_cost=plain_cost(Xp, Up).mean(),
                       dual=jnp.mean(jnp.abs(lam)), ilqr_iterations=res.iterations.mean())
        if config.eval_episodes:
            metrics["policy_return"] = evaluate(env, params, gps_policy(pp, config, spec), k_eval,
                                                config.eval_episodes, config.eval_steps).mean()
        return (pp, U, lam, jnp.minimum(rho * config.rho_growth, config.rho_max)), metrics

    carry = (pp, U, jnp.zeros((N, T, m), jnp.float32), jnp.asarray(config.rho, jnp.float32))
    (pp, *_), metrics = jax.lax.scan(iteration, carry, jax.random.split(k_iters, config.iterations))
    metrics["init_cost"] = plain_cost(first.X, first.U).mean()
    return pp, metrics


_gps_jit = jax.jit(_gps, static_argnames=("problem", "spec", "obs_shape"))


def gps(key, env, params, config: GPSConfig = GPSConfig(), *, observe: Callable | None = None,
        penalty: Callable | None = None, eval_key=None):
    """Guided policy search on ``env`` (module docstring), one compiled program.

    ``env`` (e.g. ``rlx.make("Pendulum-v1")[0]``) must have a flat-array state, a
    ``[m]``-box action space and an observation of its state (:func:`state_observer`,
    or pass ``observe(x) -> o``); ``penalty(x, u, t)`` is added to the model's cost
    (:func:`model`). The program is compiled once per ``env``/``observe``/``penalty``
    object and static configuration; ``vmap`` over ``key`` runs seeds side by side.

    Returns ``(policy params, metrics)``; act with :func:`gps_policy`. ``metrics[k]`` is
    ``[iterations]``: ``rho`` (ρ_i), ``traj_cost`` (the optimised trajectories' mean
    ``J = Σ_t c(x_t, u_t)``, without the penalty), ``gap_before`` / ``gap`` (the mean
    ``‖u_t − π(o(x_t))‖²`` over their steps before / after the regression), ``fit_loss``,
    ``policy_cost`` (the refitted policy's own mean ``J`` on the model from the same
    start states), ``dual`` (mean ``|λ|``), ``ilqr_iterations`` and, with
    ``eval_episodes``, ``policy_return`` (the policy's mean return on the true
    environment over ``eval_episodes`` episodes of ``eval_steps`` steps from the reset
    distribution: the same episodes every iteration, drawn from ``eval_key`` if given);
    ``init_cost`` (a scalar) is the initial (ρ = 0) trajectories' mean ``J``.
    """
    validate(config)
    spec = action_spec(env.action_space(params))
    if spec.discrete:
        raise ConfigError(f"{env.name} has discrete actions: guided policy search optimises continuous controls "
                          "(for the cart-pole use CartPoleSwingUp-v0, whose force is continuous)")
    problem = _Problem(env, state_observer(env) if observe is None else observe, penalty)
    obs_shape = tuple(env.observation_space(params).shape)
    return _gps_jit(key, params, config, problem, spec, obs_shape, eval_key)

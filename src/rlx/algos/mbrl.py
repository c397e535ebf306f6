"""Model-based RL: an ensemble of learned dynamics models and MPC on it, inside the fused loop
(PETS: Chua et al. 2018, "Deep Reinforcement Learning in a Handful of Trials using
Probabilistic Dynamics Models"; Nagabandi et al. 2018 for the deterministic variant).

The model. ``E`` MLPs (``ensemble_size``) each predict the normalised state difference
``Δ = s' − s`` from the normalised ``(s, a)`` (``a`` the agent's action in ``[−1, 1]``):

    x = (concat(s, a) − μ_x) / σ_x,   f_e(x) = (m_e, v_e),   ŝ' = s + μ_Δ + σ_Δ · m_e

with ``μ, σ`` running statistics of every transition collected so far. A deterministic member is
trained on ``‖m_e − y‖²`` (``y = (Δ − μ_Δ) / σ_Δ``); a probabilistic one outputs a Gaussian
``N(m_e, diag exp(v_e))`` with ``v_e`` softly bounded to ``[v_min, v_max]`` (learned bounds) and is
trained on the Gaussian negative log-likelihood ``Σ_d (m_e − y)² e^{−v_e} + v_e`` plus
``0.01 Σ_d (v_max − v_min)``. Each member draws its own minibatches (the usual stand-in for
bootstrap resampling) and all share one AdamW step.

Planning (trajectory sampling, "TS-∞"). A plan ``U [T, |A|]`` (actions in ``[−1, 1]``, mapped
affinely to the environment's box) is scored by ``particles`` model rollouts from the current
observation; particle ``p`` follows member ``(o + p) mod E`` for the whole plan (``o`` random per
plan call) and, if probabilistic, samples ``ŝ' ~ N(mean, var)`` with noise shared by every plan of
the same call (common random numbers). The score is the mean over particles of the predicted
return ``Σ_t r(ŝ_t, a_t, ŝ_{t+1})`` from the environment's ``reward_from_obs`` (rewards stop once
a particle is predicted to have terminated). The plan is optimised with ``rlx.control``'s CEM,
MPPI or random shooting; the first action is executed (model-predictive control).

One ``update`` (the iterative loop, driven by the runner like every agent):

1. collect ``collect_steps`` vectorised steps with MPC (uniform random actions for the first
   ``random_steps`` environment steps), warm-starting each plan from the previous one shifted by
   a step (reset to zero when the episode ends);
2. score the current model on the new, not yet trained on, transitions: one-step error per member
   and the error of open-loop ``heldout_horizon``-step rollouts along the recorded actions;
3. add them to the dataset and the normalising statistics;
4. train the ensemble for ``model_steps`` gradient steps.

The dataset is ``rlx.core.replay``'s buffer with each slot's observation stored as the pair
``(s, s')``, ``s'`` the true successor (``info["final_obs"]`` where an episode ended): a model, unlike
a value function, must learn the transition into a terminal state, and a truncated one is as good
as any other. Transitions with a non-finite observation are weighted out.

Metrics: ``train_mse`` is the last training minibatch's MSE of the normalised ``Δs`` (mean over
members); ``heldout_mse`` (mean over members) and ``heldout_mse_<e>`` are one-step errors in
observation units on the new transitions; ``rollout_mse`` the error, in observation units, of the
ensemble's mean prediction after ``heldout_horizon`` open-loop steps; ``predicted_return`` the
planner's predicted return of its plans (0 while actions are random); ``model_loss`` the training
loss. Planning runs (and is discarded) during the random phase too: under ``vmap`` over seeds a
branch would run both sides anyway.

``act`` (evaluation) plans from scratch (zero plan, fresh key): a function of the observation.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rlx.algos.base import Agent, ConfigError, check, check_network, check_nonnegative, check_positive
from rlx.control import planners
from rlx.core import replay
from rlx.core import running_stats as rs
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import Box, for_training
from rlx.envs.core import DomainRandomization, Environment, TimeLimit, Wrapper, episode_metrics
from rlx.nets import MLP

Activation = Literal["tanh", "relu", "elu", "gelu", "silu"]
PLANNERS = ("cem", "mppi", "random")


@pytree_dataclass
class MBRLConfig:
    """Learned-ensemble MPC (PETS-style); see the module docstring."""

    model_lr: float = 1e-3  # AdamW step size of the ensemble
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    init_std: float = 0.5  # planner: initial σ of CEM / MPPI's noise σ / random shooting's σ ([−1, 1] units)
    alpha: float = 0.1  # CEM: smoothing of the refit (μ ← α μ + (1 − α) mean(elites))
    temperature: float = 1.0  # MPPI: λ
    random_steps: int = 200  # environment steps (all envs) of uniform random actions first
    ensemble_size: int = static_field(5)  # E models
    probabilistic: bool = static_field(True)  # Gaussian heads (NLL) instead of deterministic (MSE)
    hidden: tuple[int, ...] = static_field((200, 200, 200))  # widths of each model's MLP
    activation: Activation = static_field("silu")
    planner: Literal["cem", "mppi", "random"] = static_field("cem")
    horizon: int = static_field(25)  # planning horizon T
    num_samples: int = static_field(400)  # plans evaluated per planner iteration
    num_elites: int = static_field(40)  # CEM elites
    iterations: int = static_field(5)  # planner iterations per action (random shooting: 1)
    particles: int = static_field(20)  # model rollouts per plan
    num_envs: int = static_field(1)  # parallel environments per seed
    collect_steps: int = static_field(200)  # vectorised environment steps per update
    model_steps: int = static_field(200)  # ensemble gradient steps per update
    batch_size: int = static_field(256)  # transitions per member per gradient step
    buffer_size: int = static_field(100_000)  # transitions kept (all envs)
    heldout_horizon: int = static_field(10)  # length of the open-loop held-out rollouts


def validate(c: MBRLConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    if not isinstance(c, MBRLConfig):
        raise ConfigError(f"config is a {type(c).__name__}; use MBRLConfig")
    check_positive(c, "model_lr", "init_std", "temperature", "ensemble_size", "horizon", "num_samples",
                   "num_elites", "iterations", "particles", "num_envs", "collect_steps", "batch_size",
                   "buffer_size", "heldout_horizon")
    check_nonnegative(c, "weight_decay", "random_steps", "model_steps")
    check(0.0 <= c.alpha < 1.0, "alpha", c.alpha, "it must lie in [0, 1)")
    check(c.planner in PLANNERS, "planner", c.planner, f"use one of {', '.join(PLANNERS)}")
    check(c.num_elites <= c.num_samples, "num_elites", c.num_elites,
          f"it must not exceed --num-samples={c.num_samples}")
    check(c.heldout_horizon <= c.collect_steps, "heldout_horizon", c.heldout_horizon,
          f"it must not exceed --collect-steps={c.collect_steps}")
    check(c.buffer_size >= 2 * c.num_envs, "buffer_size", c.buffer_size,
          f"it must hold at least two steps of all {c.num_envs} environments")
    check_network(c)


# ----------------------------------------------------------------------------- the model

class DynamicsNet(nn.Module):
    """One member: normalised ``(s, a)`` → ``(mean, log-variance)`` of the normalised ``Δs``
    (log-variance ``None`` when deterministic). The log-variance is softly bounded,
    ``v = v_max − softplus(v_max − raw)``, ``v ← v_min + softplus(v − v_min)`` (PETS)."""

    obs_dim: int
    hidden: Sequence[int]
    activation: str
    probabilistic: bool

    @nn.compact
    def __call__(self, x):
        n = self.obs_dim
        out = MLP(tuple(self.hidden), 2 * n if self.probabilistic else n, self.activation)(x)
        if not self.probabilistic:
            return out, None
        max_logvar = self.param("max_logvar", nn.initializers.constant(0.5), (n,))
        min_logvar = self.param("min_logvar", nn.initializers.constant(-10.0), (n,))
        mean, raw = out[..., :n], out[..., n:]
        logvar = max_logvar - jax.nn.softplus(max_logvar - raw)
        return mean, min_logvar + jax.nn.softplus(logvar - min_logvar)


class ModelStats(NamedTuple):
    inputs: rs.RunningStats  # of concat(s, a)
    deltas: rs.RunningStats  # of s' − s


def gaussian_nll(mean, logvar, target):
    """``Σ_d (μ − y)² e^{−v} + v`` per sample (twice the Gaussian NLL, without ``log 2π``)."""
    return jnp.sum((mean - target) ** 2 * jnp.exp(-logvar) + logvar, axis=-1)


def _masked_moments(x, w):
    """Count, mean and variance of the rows of ``x [N, d]`` with weight ``w [N]`` in {0, 1}."""
    n = w.sum()
    x = jnp.where(w[:, None] > 0, x, 0.0)  # a weighted-out row may hold NaN
    mean = jnp.sum(w[:, None] * x, 0) / jnp.maximum(n, 1.0)
    var = jnp.sum(w[:, None] * (x - mean) ** 2, 0) / jnp.maximum(n, 1.0)
    return n, mean, var


def update_stats(stats: ModelStats, obs, action, next_obs, valid) -> ModelStats:
    """Merge the valid transitions (rows) into the input and target statistics; an empty batch
    changes nothing."""
    def merge(s, x):
        n, mean, var = _masked_moments(x, valid.astype(jnp.float32))
        merged = rs.update_moments(s, n, mean, var)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(n > 0, a, b), merged, s)

    return ModelStats(merge(stats.inputs, jnp.concatenate([obs, action], -1)), merge(stats.deltas, next_obs - obs))


def init_stats(obs_dim: int, act_dim: int) -> ModelStats:
    """Statistics of no data yet (mean 0, variance 1, count 0)."""
    empty = lambda n: rs.init((n,))._replace(count=jnp.zeros(()))
    return ModelStats(empty(obs_dim + act_dim), empty(obs_dim))


def _std(s: rs.RunningStats):
    return jnp.sqrt(s.var + 1e-8)


class Ensemble(NamedTuple):
    """The ensemble's functions; ``params`` have a leading member axis ``[E]``."""

    net: DynamicsNet
    size: int

    def init(self, key, obs_dim: int, act_dim: int):
        x = jnp.zeros((obs_dim + act_dim,), jnp.float32)
        return jax.vmap(lambda k: self.net.init(k, x))(jax.random.split(key, self.size))

    def member(self, params, stats: ModelStats, obs, action):
        """One member's ``(mean, std)`` of ``s'`` (``params`` without the member axis);
        ``std`` is 0 for a deterministic model."""
        x = (jnp.concatenate([obs, action], -1) - stats.inputs.mean) / _std(stats.inputs)
        mean, logvar = self.net.apply(params, x)
        scale = _std(stats.deltas)
        std = jnp.zeros_like(mean) if logvar is None else jnp.exp(0.5 * logvar) * scale
        return obs + stats.deltas.mean + scale * mean, std

    def predict(self, params, stats, obs, action):
        """Every member's ``(mean, std)``: ``[E, ..., n]`` for ``obs [..., n]``."""
        return jax.vmap(self.member, in_axes=(0, None, None, None))(params, stats, obs, action)

    def loss(self, params, stats, obs, action, next_obs, weight):
        """Mean loss over members of the per-member losses on ``[E, B, ...]`` batches, and the
        per-member mean-squared error of the normalised ``Δs``."""
        def one(p, o, a, o2, w):
            x = (jnp.concatenate([o, a], -1) - stats.inputs.mean) / _std(stats.inputs)
            y = (o2 - o - stats.deltas.mean) / _std(stats.deltas)
            mean, logvar = self.net.apply(p, x)
            mse = jnp.mean((mean - y) ** 2, -1)
            per = mse * mean.shape[-1] if logvar is None else gaussian_nll(mean, logvar, y)
            w_sum = jnp.maximum(w.sum(), 1.0)
            loss = jnp.sum(w * per) / w_sum
            if logvar is not None:
                bounds = p["params"]
                loss = loss + 0.01 * (bounds["max_logvar"].sum() - bounds["min_logvar"].sum())
            return loss, jnp.sum(w * mse) / w_sum

        losses, mses = jax.vmap(one)(params, obs, action, next_obs, weight)
        return losses.mean(), mses


def fit_step(ensemble: Ensemble, tx, model, opt_state, stats: ModelStats, obs, action, next_obs, weight):
    """One optimiser step on ``ensemble.loss`` over ``[E, B, ...]`` batches (member ``e`` trains on
    row ``e``): ``(model, opt_state, loss, per-member normalised MSE [E])``."""
    (loss, mses), grads = jax.value_and_grad(ensemble.loss, has_aux=True)(
        model, stats, obs, action, next_obs, weight)
    updates, opt_state = tx.update(grads, opt_state, model)
    return optax.apply_updates(model, updates), opt_state, loss, mses


# ----------------------------------------------------------------------------- planning

def make_plan_problem(ensemble: Ensemble, params, stats: ModelStats, reward_fn, to_env, particles: int,
                      key, horizon: int, obs_dim: int):
    """``(cost, dynamics, x0_of)`` for ``rlx.control``'s planners on the learned model.

    The planner's state is ``X [P, n + 2]``: each particle's predicted observation, whether it
    is still alive, and the reward of the transition that led to it, so that
    ``J(U) = Σ_t cost(X_t) = −mean_p Σ_{t=1..T} alive · r`` counts every predicted reward once
    (``X_0`` carries reward 0). ``reward_fn(obs, env_action, next_obs) -> (r, terminated)``.
    """
    k_member, k_noise = jax.random.split(key)
    members = (jax.random.randint(k_member, (), 0, ensemble.size) + jnp.arange(particles)) % ensemble.size
    particle_params = jax.tree_util.tree_map(lambda w: w[members], params)
    noise = jax.random.normal(k_noise, (horizon, particles, obs_dim))

    def dynamics(X, u, t):
        obs, alive = X[:, :obs_dim], X[:, obs_dim]
        mean, std = jax.vmap(ensemble.member, in_axes=(0, None, 0, None))(particle_params, stats, obs, u)
        nxt = mean + std * noise[jnp.minimum(t, horizon - 1)]
        r, term = jax.vmap(reward_fn, in_axes=(0, None, 0))(obs, to_env(u), nxt)
        r = jnp.where(jnp.isfinite(r), r, -1e6)  # a diverged particle is a bad plan, not a NaN
        nxt = jnp.where(jnp.isfinite(nxt), nxt, 0.0)
        return jnp.concatenate([nxt, (alive * (1.0 - term))[:, None], (alive * r)[:, None]], axis=-1)

    def cost(X, u, t):
        return -jnp.mean(X[:, obs_dim + 1])

    def x0_of(obs):
        z = jnp.broadcast_to(obs, (particles, obs_dim))
        return jnp.concatenate([z, jnp.ones((particles, 1)), jnp.zeros((particles, 1))], axis=-1)

    return cost, dynamics, x0_of


def plan_action(config: MBRLConfig, ensemble: Ensemble, params, stats, reward_fn, to_env, obs, U_warm, key):
    """One MPC decision from ``obs`` warm-started at ``U_warm [T, |A|]``: ``(action [|A|] in
    [−1, 1], next warm start, predicted return of the plan)``."""
    k_problem, k_plan = jax.random.split(key)
    cost, dynamics, x0_of = make_plan_problem(ensemble, params, stats, reward_fn, to_env, config.particles,
                                              k_problem, config.horizon, obs.shape[-1])
    x0 = x0_of(obs)
    if config.planner == "cem":
        r = planners.cem(cost, dynamics, x0, U_warm, k_plan, num_samples=config.num_samples,
                         num_elites=config.num_elites, iterations=config.iterations, init_std=config.init_std,
                         action_low=-1.0, action_high=1.0, alpha=config.alpha)
        warm = r.mean
    elif config.planner == "mppi":
        r = planners.mppi(cost, dynamics, x0, U_warm, k_plan, num_samples=config.num_samples,
                          iterations=config.iterations, temperature=config.temperature, noise_std=config.init_std,
                          action_low=-1.0, action_high=1.0)
        warm = r.mean
    else:
        r = planners.random_shooting(cost, dynamics, x0, k_plan, horizon=config.horizon,
                                     num_samples=config.num_samples, action_low=-1.0, action_high=1.0,
                                     mean=U_warm, std=config.init_std)
        warm = r.U
    return r.U[0], planners.shift_plan(warm, "zeros"), -r.cost


# ----------------------------------------------------------------------------- held-out error

def heldout_errors(ensemble: Ensemble, params, stats, obs, action, next_obs, done, horizon: int):
    """Errors of the current model on transitions it was not trained on (``[S, N, ...]``:
    ``S`` consecutive steps of ``N`` streams; ``next_obs`` the true successor, ``done`` True
    where the episode ended at that step, so that the next row starts a new one).

    Returns ``(one-step MSE per member [E], MSE after ``horizon`` open-loop steps)``: windows
    start every ``horizon`` steps; each member's mean prediction is rolled along the recorded
    actions, the members' final predictions are averaged and compared with the true
    observation. A window with an episode end before its last step is left out, and so is
    any transition with a non-finite observation.
    """
    finite = jnp.all(jnp.isfinite(obs), -1) & jnp.all(jnp.isfinite(next_obs), -1)  # [S, N]
    obs, next_obs = jnp.where(finite[..., None], obs, 0.0), jnp.where(finite[..., None], next_obs, 0.0)
    mean, _ = ensemble.predict(params, stats, obs, action)  # [E, S, N, n]
    err = jnp.where(finite, jnp.mean((mean - next_obs) ** 2, -1), 0.0)  # [E, S, N]
    per_member = jnp.sum(err, (1, 2)) / jnp.maximum(finite.sum(), 1)

    S = obs.shape[0]
    W = S // horizon
    windows = lambda x: x[: W * horizon].reshape(W, horizon, *x.shape[1:])
    o, a, o2, d, f = windows(obs), windows(action), windows(next_obs), windows(done), windows(finite)
    ok = ~jnp.any(d[:, :-1], 1) & jnp.all(f, 1)  # [W, N]

    def roll(p, start, acts):
        def step(x, u):
            nxt, _ = ensemble.member(p, stats, x, u)
            return nxt, None
        return jax.lax.scan(step, start, acts)[0]

    final = jax.vmap(lambda p: jax.vmap(lambda s, u: roll(p, s, u))(o[:, 0], a))(params)  # [E, W, N, n]
    final = jnp.mean(final, 0)
    roll_err = jnp.where(ok, jnp.mean((final - o2[:, -1]) ** 2, -1), 0.0)
    return per_member, jnp.sum(roll_err) / jnp.maximum(ok.sum(), 1)


# ----------------------------------------------------------------------------- the agent

class MBRLState(NamedTuple):
    model: Any  # ensemble parameters, leading axis [E]
    opt_state: Any
    stats: ModelStats
    buffer: replay.Replay
    env_state: Any
    obs: jax.Array  # [num_envs, n]
    warm: jax.Array  # [num_envs, T, |A|] warm starts of the plans
    key: jax.Array
    steps: jax.Array  # environment steps so far (all envs)
    config: MBRLConfig


def reward_function(env: Environment, env_params):
    """``(obs, action, next_obs) -> (reward, terminated)`` of ``env.unwrapped.reward_from_obs``, or a
    one-line ``ConfigError`` when the environment does not define it or is wrapped in something
    that changes its observations or rewards (only ``TimeLimit`` and ``DomainRandomization`` keep
    them)."""
    e = env
    while isinstance(e, Wrapper):
        if not isinstance(e, (TimeLimit, DomainRandomization)):
            raise ConfigError(f"{env.name} is wrapped in {type(e).__name__}, which changes what the task's "
                              "reward_from_obs scores: give mbrl the task itself (in TimeLimit or DomainRandomization)")
        e = e.env
    base = env.unwrapped
    if type(base).reward_from_obs is Environment.reward_from_obs:
        raise ConfigError(f"{env.name} does not define reward_from_obs, which model-based planning scores "
                          "predicted transitions with; use Pendulum-v1, MountainCarContinuous-v0, "
                          "InvertedPendulum-v5 or HalfCheetah-v5, or define it on the environment")
    return lambda o, a, o2: base.reward_from_obs(o, a, o2, env_params)


def build(config: MBRLConfig, env, env_params, total_steps: int) -> Agent:
    """Learned-ensemble MPC; see ``rlx.algos.base`` and the module docstring. ``total_steps`` is
    unused."""
    validate(config)
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    if not isinstance(act_space, Box):
        raise ConfigError(f"{env.name} has {type(act_space).__name__} actions; mbrl plans continuous (Box) actions")
    if not isinstance(obs_space, Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"{env.name} has observations of shape {getattr(obs_space, 'shape', '?')}; "
                          "mbrl models vector (1-D Box) observations")
    low = np.broadcast_to(np.asarray(act_space.low, np.float32), act_space.shape)
    high = np.broadcast_to(np.asarray(act_space.high, np.float32), act_space.shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ConfigError(f"{env.name} has an unbounded action box; mbrl needs finite action bounds")
    reward_fn = reward_function(env, env_params)
    env = for_training(env)
    n_obs, n_act, n_envs = obs_space.shape[0], act_space.shape[0], config.num_envs
    centre, half = jnp.asarray((high + low) / 2), jnp.asarray((high - low) / 2)
    ensemble = Ensemble(DynamicsNet(n_obs, tuple(config.hidden), config.activation, config.probabilistic),
                        config.ensemble_size)
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def to_env(a):
        return centre + half * a

    def optimizer(cfg):
        return optax.adamw(cfg.model_lr, weight_decay=cfg.weight_decay)

    def init(key, cfg: MBRLConfig) -> MBRLState:
        k_model, k_env, k_run = jax.random.split(key, 3)
        env_state, ts = v_reset(jax.random.split(k_env, n_envs), env_params)
        obs = ts.obs.astype(jnp.float32)
        model = ensemble.init(k_model, n_obs, n_act)
        stats = init_stats(n_obs, n_act)
        pair = jnp.stack([obs[0], obs[0]])  # a slot's "observation" is the transition's (s, s')
        buf = replay.init(max(config.buffer_size // n_envs, 2), n_envs, pair, jnp.zeros((n_act,), jnp.float32))
        warm = jnp.zeros((n_envs, config.horizon, n_act), jnp.float32)
        return MBRLState(model, optimizer(cfg).init(model), stats, buf, env_state, obs, warm, k_run,
                         jnp.zeros((), jnp.int32), cfg)

    def plan(model, stats, obs, warm, key, cfg):
        return plan_action(cfg, ensemble, model, stats, reward_fn, to_env, obs, warm, key)

    def grad_step(cfg, buf, stats, carry, key):
        model, opt_state = carry
        t, e = replay.draw_uniform(buf, key, config.ensemble_size * config.batch_size)
        split = lambda x: x.reshape(config.ensemble_size, config.batch_size, *x.shape[1:])
        pairs, action = buf.obs[t, e], buf.action[t, e]  # every filled slot is a whole transition
        finite = jnp.all(jnp.isfinite(pairs), (-2, -1))
        pairs = jnp.where(finite[:, None, None], pairs, 0.0)
        model, opt_state, loss, mses = fit_step(ensemble, optimizer(cfg), model, opt_state, stats,
                                                split(pairs[:, 0]), split(action), split(pairs[:, 1]),
                                                split(finite.astype(jnp.float32)))
        return (model, opt_state), (loss, mses.mean())

    def update(s: MBRLState):
        cfg = s.config

        def env_step(carry, _):
            env_state, obs, warm, buf, key, steps = carry
            key, k_plan, k_rand, k_env = jax.random.split(key, 4)
            planned, next_warm, predicted = jax.vmap(plan, in_axes=(None, None, 0, 0, 0, None))(
                s.model, s.stats, obs, warm, jax.random.split(k_plan, n_envs), cfg)
            random = jax.random.uniform(k_rand, (n_envs, n_act), minval=-1.0, maxval=1.0)
            exploring = steps < cfg.random_steps
            action = jnp.where(exploring, random, planned)
            env_state, ts = v_step(jax.random.split(k_env, n_envs), env_state, to_env(action), env_params)
            next_obs = ts.obs.astype(jnp.float32)
            warm = jnp.where(ts.done[:, None, None], 0.0, next_warm)
            final_obs = ts.info["final_obs"].astype(jnp.float32)
            buf = replay.add(buf, jnp.stack([obs, final_obs], 1), action, ts.reward, ts.terminated, ts.truncated)
            row = (obs, action, final_obs, ts.done, jnp.where(exploring, jnp.nan, predicted))
            return (env_state, next_obs, warm, buf, key, steps + n_envs), row

        carry = (s.env_state, s.obs, s.warm, s.buffer, s.key, s.steps)
        (env_state, obs, warm, buf, key, steps), rows = jax.lax.scan(env_step, carry, None, config.collect_steps)
        o, a, final_obs, done, predicted = rows
        per_member, rollout_mse = heldout_errors(ensemble, s.model, s.stats, o, a, final_obs, done,
                                                 config.heldout_horizon)
        valid = jnp.all(jnp.isfinite(o), -1) & jnp.all(jnp.isfinite(final_obs), -1)
        flat = lambda x: x.reshape(-1, *x.shape[2:])
        stats = update_stats(s.stats, flat(o), flat(a), flat(final_obs), flat(valid))

        key, k_learn = jax.random.split(key)
        (model, opt_state), (loss, train_mse) = jax.lax.scan(
            lambda c, k: grad_step(cfg, buf, stats, c, k), (s.model, s.opt_state),
            jax.random.split(k_learn, config.model_steps))
        metrics = dict(
            **episode_metrics(env_state),
            model_loss=loss[-1] if config.model_steps else jnp.zeros(()),
            train_mse=train_mse[-1] if config.model_steps else jnp.zeros(()),
            heldout_mse=per_member.mean(),
            rollout_mse=rollout_mse,
            predicted_return=jnp.nan_to_num(jnp.nanmean(predicted)),
            **{f"heldout_mse_{i}": per_member[i] for i in range(config.ensemble_size)},
        )
        return MBRLState(model, opt_state, stats, buf, env_state, obs, warm, key, steps, cfg), metrics

    def policy_params(s: MBRLState):
        return {"model": s.model, "stats": s.stats, "config": s.config}

    def act(pp, obs, key, deterministic: bool = False):
        warm = jnp.zeros((config.horizon, n_act), jnp.float32)
        a, _, _ = plan(pp["model"], pp["stats"], obs.astype(jnp.float32), warm, key, pp["config"])
        return to_env(a)

    return Agent(init, update, act, policy_params, steps_per_update=n_envs * config.collect_steps)

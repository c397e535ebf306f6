"""Off-policy actor-critic for continuous actions: SAC (Haarnoja et al. 2018, "Soft Actor-Critic
Algorithms and Applications", with automatic temperature) and TD3 (Fujimoto et al. 2018), one
agent sharing the rollout, replay and update skeleton, inside the fused loop.

Each update steps ``num_envs`` auto-resetting environments ``train_every`` times, writes the
transitions to a replay buffer (``rlx.core.replay``: observations stored once), then — once
``learning_starts`` environment steps have been collected (actions before that are drawn
uniformly from the action box) — takes ``gradient_steps`` gradient steps on minibatches
``(s, a, r, d, s')`` with ``d = γ`` (0 where the episode terminated). The replay ratio is
``gradient_steps / (num_envs · train_every)`` gradient steps per environment step.

Actions live in ``[−1, 1]^|A|`` inside the agent (actor outputs, replay, critics) and are
mapped affinely to the environment's box ``[low, high]`` only when stepping it. Both agents
keep twin critics ``Q_1, Q_2`` (MLPs on ``concat(s, a)``) and target copies moved by Polyak
averaging ``θ⁻ ← (1 − τ) θ⁻ + τ θ``; each loss is ``½ Σ_i (Q_i(s, a) − y)²``.

SAC: a tanh-Gaussian policy ``a = tanh(u)``, ``u ~ N(μ(s), σ(s)²)`` (``log σ`` clipped to
``[log_std_min, log_std_max]``), reparameterised, and

    y      = r + d · (min_i Q⁻_i(s', a') − α log π(a'|s')),   a' ~ π(·|s')
    L_π    = E[α log π(a|s) − min_i Q_i(s, a)],                a ~ π(·|s)
    L_α    = E[−log α · (log π(a|s) + H̄)],                     H̄ = target_entropy_per_dim · |A|

(``autotune=False``: α stays at ``alpha``). Targets move every gradient step.

TD3: a deterministic actor ``μ(s) = tanh(f(s))``, exploration ``a = clip(μ(s) + σ_x ε, −1, 1)``
(``σ_x = exploration_noise``, in units of the half-width of the action box), and

    a'     = clip(μ⁻(s') + clip(σ_p ε, −c, c), −1, 1)          (target policy smoothing)
    y      = r + d · min_i Q⁻_i(s', a')                         (clipped double Q)
    L_μ    = −E[Q_1(s, μ(s))]

with the actor and both target networks updated only every ``policy_delay`` critic steps.

Samples whose next observation is unknown (a truncation, the newest slot: ``valid=False``)
are weighted out of every loss. Actor, critic and temperature have separate Adam optimisers.

Metrics per update (means over its gradient steps; 0 before learning starts): ``critic_loss``,
``actor_loss`` (TD3: evaluated at every critic step, applied at every ``policy_delay``-th),
``q_mean`` (mean ``Q_i(s, a)`` over the batch), ``alpha`` (SAC), and the episode statistics.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rlx.algos.base import Agent, ConfigError, check, check_network, check_nonnegative, check_positive, check_unit
from rlx.core import distributions as D
from rlx.core import replay
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import Box, for_training
from rlx.envs.core import episode_metrics
from rlx.nets import MLP

Activation = Literal["tanh", "relu", "elu", "gelu", "silu"]
LOG_2 = math.log(2.0)


# ----------------------------------------------------------------------------- configs

@pytree_dataclass
class OffPolicyConfig:
    """Settings shared by SAC and TD3."""

    actor_lr: float = 1e-3  # actor Adam step size
    critic_lr: float = 1e-3  # critic Adam step size
    gamma: float = 0.99  # discount γ
    tau: float = 0.005  # Polyak factor of the target networks
    learning_starts: int = 1000  # environment steps of uniform-random actions before learning
    num_envs: int = static_field(1)  # parallel environments per seed
    train_every: int = static_field(1)  # vectorised steps per update
    gradient_steps: int = static_field(1)  # gradient steps per update
    batch_size: int = static_field(256)  # transitions per gradient step
    buffer_size: int = static_field(100_000)  # transitions kept
    hidden: tuple[int, ...] = static_field((256, 256))  # actor and critic MLP widths
    activation: Activation = static_field("relu")


@pytree_dataclass
class SACConfig(OffPolicyConfig):
    """Soft actor-critic: twin Q, tanh-Gaussian policy, automatic entropy tuning."""

    actor_lr: float = 3e-4  # actor Adam step size
    critic_lr: float = 3e-4  # critic Adam step size
    alpha_lr: float = 3e-4  # temperature Adam step size
    alpha: float = 1.0  # initial temperature α (the fixed one without autotune)
    autotune: bool = True  # learn log α towards the target entropy
    target_entropy_per_dim: float = -1.0  # H̄ = this · |A| (−1: the usual −|A|)
    log_std_min: float = -5.0  # log σ of the policy is clipped to [log_std_min, log_std_max]
    log_std_max: float = 2.0


@pytree_dataclass
class TD3Config(OffPolicyConfig):
    """Twin delayed DDPG: clipped double Q, target policy smoothing, delayed actor updates."""

    exploration_noise: float = 0.1  # σ of the Gaussian exploration noise (× action half-width)
    policy_noise: float = 0.2  # σ of the target smoothing noise (× action half-width)
    noise_clip: float = 0.5  # the smoothing noise is clipped to ±noise_clip
    policy_delay: int = 2  # critic steps per actor (and target) step


def validate(c: OffPolicyConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "actor_lr", "critic_lr", "num_envs", "train_every", "gradient_steps", "batch_size",
                   "buffer_size")
    check_unit(c, "gamma", "tau")
    check(c.tau > 0, "tau", c.tau, "it must lie in (0, 1]")
    check_nonnegative(c, "learning_starts")
    check(c.buffer_size >= 2 * c.num_envs, "buffer_size", c.buffer_size,
          f"it must hold at least two steps of all {c.num_envs} environments")
    check_network(c)
    if isinstance(c, SACConfig):
        check_positive(c, "alpha_lr", "alpha")
        check(c.log_std_min < c.log_std_max, "log_std_min", c.log_std_min,
              f"it must be below --log-std-max={c.log_std_max}")
    elif isinstance(c, TD3Config):
        check_nonnegative(c, "exploration_noise", "policy_noise", "noise_clip")
        check(c.policy_delay >= 1, "policy_delay", c.policy_delay, "it must be >= 1")
    else:
        raise ConfigError(f"config is a {type(c).__name__}; use SACConfig or TD3Config")


# ----------------------------------------------------------------------------- formulas

def tanh_gaussian_log_prob(mean, log_std, u):
    """``log π(a)`` of ``a = tanh(u)``, ``u ~ N(mean, diag σ²)``, by the change of variables

        log π(a) = log N(u; μ, σ²) − Σ_i log(1 − tanh²(u_i)),
        log(1 − tanh² u) = 2 (log 2 − u − softplus(−2u))        (exact, stable for large |u|).

    Shapes ``[..., A]`` → ``[...]``. The density is of the action in ``[−1, 1]``; rescaling to the
    environment's box only shifts it by the constant ``−Σ log(half-width)``."""
    log_det = 2.0 * (LOG_2 - u - jax.nn.softplus(-2.0 * u))
    return D.gaussian_log_prob(mean, log_std, u) - jnp.sum(log_det, axis=-1)


def sac_critic_target(reward, discount, next_q, next_log_prob, alpha):
    """Soft clipped double-Q target ``y = r + d · (min_i Q⁻_i(s', a') − α log π(a'|s'))``.
    ``reward``, ``discount``, ``next_log_prob``: ``[B]``; ``next_q``: ``[B, 2]``."""
    return reward + discount * (jnp.min(next_q, axis=-1) - alpha * next_log_prob)


def td3_target(reward, discount, next_q):
    """Clipped double-Q target ``y = r + d · min_i Q⁻_i(s', a')``; ``next_q``: ``[B, 2]``."""
    return reward + discount * jnp.min(next_q, axis=-1)


def smoothed_target_action(action, noise, noise_clip):
    """TD3's target policy smoothing ``a' = clip(μ⁻(s') + clip(ε, −c, c), −1, 1)`` (actions in [−1, 1])."""
    return jnp.clip(action + jnp.clip(noise, -noise_clip, noise_clip), -1.0, 1.0)


def sac_actor_loss(log_prob, q, alpha):
    """Per-sample SAC policy loss ``α log π(a|s) − min_i Q_i(s, a)``; ``q``: ``[B, 2]``."""
    return alpha * log_prob - jnp.min(q, axis=-1)


def temperature_loss(log_alpha, log_prob, target_entropy):
    """Per-sample temperature loss ``−log α · (log π(a|s) + H̄)`` (no gradient into ``log π``):
    α grows while the policy's entropy ``−log π`` is below ``H̄`` and shrinks above it."""
    return -log_alpha * (jax.lax.stop_gradient(log_prob) + target_entropy)


def polyak_update(target, online, tau):
    """``θ⁻ ← (1 − τ) θ⁻ + τ θ`` over matching pytrees."""
    return optax.incremental_update(online, target, tau)


def select(pred, new, old):
    """``new`` where ``pred`` else ``old``, leaf by leaf (``pred`` may be traced; both are computed)."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), new, old)


def masked_mean(x, valid):
    """Mean of ``x`` over the samples where ``valid`` (0 if none is)."""
    w = valid.astype(x.dtype)
    return jnp.sum(w * x) / jnp.maximum(w.sum(), 1.0)


# ----------------------------------------------------------------------------- networks

class TwinQ(nn.Module):
    """``[Q_1(s, a), Q_2(s, a)]``: two independent MLPs on ``concat(s, a)``, output ``[..., 2]``."""

    hidden: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        return jnp.concatenate([MLP(self.hidden, 1, self.activation)(x) for _ in range(2)], axis=-1)


# ----------------------------------------------------------------------------- agent

class Nets(NamedTuple):
    actor: Any
    critic: Any
    target_actor: Any  # TD3 only (None for SAC)
    target_critic: Any
    log_alpha: Any  # SAC only: scalar log α (None for TD3)


class Opts(NamedTuple):
    actor: Any
    critic: Any
    alpha: Any  # SAC only


class OffPolicyState(NamedTuple):
    nets: Nets
    opt_state: Opts
    critic_steps: jax.Array  # gradient steps taken since learning started
    buffer: replay.Replay
    env_state: Any
    obs: jax.Array
    key: jax.Array
    steps: jax.Array  # environment steps so far (all envs)
    updates: jax.Array
    config: OffPolicyConfig


def build(config: OffPolicyConfig, env, env_params, total_steps: int) -> Agent:
    """SAC for a ``SACConfig``, TD3 for a ``TD3Config``; see ``rlx.algos.base`` and the module
    docstring. ``total_steps`` is unused (no schedules)."""
    validate(config)
    env = for_training(env)
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    sac = isinstance(config, SACConfig)
    name = "SAC" if sac else "TD3"
    if not isinstance(act_space, Box):
        raise ConfigError(f"{env.name} has {type(act_space).__name__} actions; {name} needs continuous (Box) actions")
    if not isinstance(obs_space, Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"{env.name} has {type(obs_space).__name__} observations of shape "
                          f"{getattr(obs_space, 'shape', '?')}; {name} needs vector (1-D Box) observations")
    low = np.broadcast_to(np.asarray(act_space.low, np.float32), act_space.shape)
    high = np.broadcast_to(np.asarray(act_space.high, np.float32), act_space.shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ConfigError(f"{env.name} has an unbounded action box; {name} needs finite action bounds")
    n_act, n_envs = act_space.shape[0], config.num_envs
    centre, half = jnp.asarray((high + low) / 2), jnp.asarray((high - low) / 2)
    actor_model = MLP(tuple(config.hidden), 2 * n_act if sac else n_act, config.activation)
    critic_model = TwinQ(tuple(config.hidden), config.activation)
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def to_env(a):
        """[−1, 1] → the environment's box."""
        return centre + half * a

    def gaussian(actor, obs, cfg):
        """``(μ, log σ)`` of the pre-tanh Gaussian, ``log σ`` clipped."""
        mean, log_std = jnp.split(actor_model.apply(actor, obs), 2, axis=-1)
        return mean, jnp.clip(log_std, cfg.log_std_min, cfg.log_std_max)

    def sample_policy(actor, obs, key, cfg):
        """SAC: reparameterised ``a = tanh(μ + σ ε)`` and ``log π(a|s)``."""
        mean, log_std = gaussian(actor, obs, cfg)
        u = D.gaussian_sample(key, mean, log_std)
        return jnp.tanh(u), tanh_gaussian_log_prob(mean, log_std, u)

    def deterministic_actor(actor, obs):
        """TD3: ``μ(s) = tanh(f(s))``."""
        return jnp.tanh(actor_model.apply(actor, obs))

    def behaviour(actor, obs, key, cfg, deterministic=False):
        """The action in [−1, 1] the agent takes: SAC samples π (its mode ``tanh μ`` when
        deterministic); TD3 adds clipped Gaussian exploration noise to μ(s)."""
        if sac:
            return jnp.tanh(gaussian(actor, obs, cfg)[0]) if deterministic else sample_policy(actor, obs, key, cfg)[0]
        mu = deterministic_actor(actor, obs)
        if deterministic:
            return mu
        return jnp.clip(mu + cfg.exploration_noise * jax.random.normal(key, mu.shape), -1.0, 1.0)

    def optimizers(cfg):
        return optax.adam(cfg.actor_lr), optax.adam(cfg.critic_lr), optax.adam(cfg.alpha_lr) if sac else None

    def init(key, cfg: OffPolicyConfig) -> OffPolicyState:
        k_actor, k_critic, k_env, k_run = jax.random.split(key, 4)
        env_state, ts = v_reset(jax.random.split(k_env, n_envs), env_params)
        obs = ts.obs.astype(jnp.float32)
        actor = actor_model.init(k_actor, obs)
        critic = critic_model.init(k_critic, obs, jnp.zeros((n_envs, n_act)))
        log_alpha = jnp.log(jnp.asarray(cfg.alpha, jnp.float32)) if sac else None
        nets = Nets(actor, critic, None if sac else actor, critic, log_alpha)
        tx_actor, tx_critic, tx_alpha = optimizers(cfg)
        opts = Opts(tx_actor.init(actor), tx_critic.init(critic), tx_alpha.init(log_alpha) if sac else None)
        buf = replay.init(config.buffer_size // n_envs, n_envs, obs[0], jnp.zeros((n_act,), jnp.float32))
        zero = jnp.zeros((), jnp.int32)
        return OffPolicyState(nets, opts, zero, buf, env_state, obs, k_run, zero, zero, cfg)

    def adam_step(tx, loss_fn, params, opt_state, *args):
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *args)
        step, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, step), opt_state, loss, aux

    def critic_loss(critic, b: replay.Sample, y):
        q = critic_model.apply(critic, b.obs, b.action)  # [B, 2]
        return masked_mean(0.5 * jnp.sum((q - y[:, None]) ** 2, axis=-1), b.valid), masked_mean(q.mean(-1), b.valid)

    def actor_loss(actor, critic, b: replay.Sample, key, alpha, cfg):
        if sac:
            a, log_prob = sample_policy(actor, b.obs, key, cfg)
            per_sample = sac_actor_loss(log_prob, critic_model.apply(critic, b.obs, a), alpha)
            return masked_mean(per_sample, b.valid), log_prob
        q1 = critic_model.apply(critic, b.obs, deterministic_actor(actor, b.obs))[..., 0]
        return -masked_mean(q1, b.valid), None

    def alpha_loss(log_alpha, log_prob, valid, cfg):
        return masked_mean(temperature_loss(log_alpha, log_prob, cfg.target_entropy_per_dim * n_act), valid), None

    def grad_step(buf, cfg, carry, key):
        """One critic step, then (every ``policy_delay`` critic steps for TD3) the actor, α and
        target steps."""
        nets, opts, n = carry
        tx_actor, tx_critic, tx_alpha = optimizers(cfg)
        k_draw, k_next, k_actor = jax.random.split(key, 3)
        b = replay.gather(buf, *replay.draw_uniform(buf, k_draw, config.batch_size), 1, cfg.gamma)
        alpha = jnp.exp(nets.log_alpha) if sac else None
        if sac:
            a_next, log_prob_next = sample_policy(nets.actor, b.next_obs, k_next, cfg)
            y = sac_critic_target(b.reward, b.discount, critic_model.apply(nets.target_critic, b.next_obs, a_next),
                                  log_prob_next, alpha)
        else:
            mu_next = deterministic_actor(nets.target_actor, b.next_obs)
            a_next = smoothed_target_action(mu_next, cfg.policy_noise * jax.random.normal(k_next, mu_next.shape),
                                            cfg.noise_clip)
            y = td3_target(b.reward, b.discount, critic_model.apply(nets.target_critic, b.next_obs, a_next))
        critic, opt_critic, c_loss, q_mean = adam_step(tx_critic, critic_loss, nets.critic, opts.critic, b, y)

        actor, opt_actor, a_loss, log_prob = adam_step(tx_actor, actor_loss, nets.actor, opts.actor, critic, b,
                                                       k_actor, alpha, cfg)
        n = n + 1
        if sac:
            log_alpha, opt_alpha, _, _ = adam_step(tx_alpha, alpha_loss, nets.log_alpha, opts.alpha, log_prob,
                                                   b.valid, cfg)
            log_alpha, opt_alpha = select(cfg.autotune, (log_alpha, opt_alpha), (nets.log_alpha, opts.alpha))
            nets = Nets(actor, critic, None, polyak_update(nets.target_critic, critic, cfg.tau), log_alpha)
            opts = Opts(opt_actor, opt_critic, opt_alpha)
        else:
            delayed = n % cfg.policy_delay == 0
            targets = polyak_update((nets.target_actor, nets.target_critic), (actor, critic), cfg.tau)
            (actor, opt_actor, target_actor, target_critic) = select(
                delayed, (actor, opt_actor, *targets), (nets.actor, opts.actor, nets.target_actor, nets.target_critic))
            nets = Nets(actor, critic, target_actor, target_critic, None)
            opts = Opts(opt_actor, opt_critic, None)
        return (nets, opts, n), (c_loss, a_loss, q_mean)

    def update(s: OffPolicyState):
        cfg = s.config

        def env_step(carry, _):
            env_state, obs, buf, key, steps = carry
            key, k_act, k_rand, k_env = jax.random.split(key, 4)
            random = jax.random.uniform(k_rand, (n_envs, n_act), minval=-1.0, maxval=1.0)
            action = jnp.where(steps < cfg.learning_starts, random, behaviour(s.nets.actor, obs, k_act, cfg))
            env_state, ts = v_step(jax.random.split(k_env, n_envs), env_state, to_env(action), env_params)
            buf = replay.add(buf, obs, action, ts.reward, ts.terminated, ts.truncated)
            return (env_state, ts.obs.astype(jnp.float32), buf, key, steps + n_envs), None

        carry = (s.env_state, s.obs, s.buffer, s.key, s.steps)
        (env_state, obs, buf, key, steps), _ = jax.lax.scan(env_step, carry, None, config.train_every)

        key, k_learn = jax.random.split(key)
        (nets, opts, n), (c_loss, a_loss, q_mean) = jax.lax.scan(
            lambda c, k: grad_step(buf, cfg, c, k), (s.nets, s.opt_state, s.critic_steps),
            jax.random.split(k_learn, config.gradient_steps))
        learning = steps >= cfg.learning_starts
        nets, opts, n = select(learning, (nets, opts, n), (s.nets, s.opt_state, s.critic_steps))

        metrics = dict(
            **episode_metrics(env_state),  # EpisodeStats is the outermost wrapper
            critic_loss=jnp.where(learning, c_loss.mean(), 0.0),
            actor_loss=jnp.where(learning, a_loss.mean(), 0.0),
            q_mean=jnp.where(learning, q_mean.mean(), 0.0),
        )
        if sac:
            metrics["alpha"] = jnp.exp(nets.log_alpha)
        return OffPolicyState(nets, opts, n, buf, env_state, obs, key, steps, s.updates + 1, cfg), metrics

    def policy_params(s: OffPolicyState):
        return {"actor": s.nets.actor, "config": s.config}

    def act(pp, obs, key, deterministic: bool = False):
        return to_env(behaviour(pp["actor"], obs.astype(jnp.float32), key, pp["config"], deterministic))

    return Agent(init, update, act, policy_params, steps_per_update=n_envs * config.train_every)

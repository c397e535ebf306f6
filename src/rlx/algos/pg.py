"""Policy-gradient family: REINFORCE, A2C and PPO on one rollout/update core.

All three collect ``num_steps`` steps from ``num_envs`` auto-resetting
environments, compute advantages with GAE(λ) (bootstrapping from the final
observation on truncation), and descend

    L = L_π + vf_coef · ½ (V - V_target)² - ent_coef · H[π]

with global-norm gradient clipping and Adam. They differ in L_π and in how
often a batch is reused:

* REINFORCE: L_π = -log π(a|s) · (G_t - V(s_t)), G_t the Monte Carlo
  reward-to-go (λ = 1; bootstrapped only where the rollout cuts an episode).
* A2C: the same loss with GAE(λ) advantages over short n-step rollouts.
* PPO: the clipped surrogate -min(ρ A, clip(ρ, 1±ε) A), ρ = π/π_old, for
  ``epochs`` passes over shuffled minibatches; optional value clipping.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rlx.algos.base import (
    Agent,
    ConfigError,
    check,
    check_network,
    check_nonnegative,
    check_positive,
    check_unit,
)
from rlx.core import distributions as D
from rlx.core import losses as L
from rlx.core import running_stats
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.core.returns import gae
from rlx.core.shuffle import permutations
from rlx.envs import Box, Discrete, for_training
from rlx.envs.core import episode_metrics
from rlx.nets import ActorCritic

Activation = Literal["tanh", "relu", "elu", "gelu", "silu"]


@pytree_dataclass
class A2CConfig:
    """Advantage actor-critic (synchronous, n-step rollouts, GAE(λ))."""

    lr: float = 7e-4  # Adam step size
    gamma: float = 0.99  # discount γ
    gae_lambda: float = 0.95  # GAE λ (1: Monte Carlo, 0: one-step TD)
    ent_coef: float = 0.01  # entropy bonus weight
    vf_coef: float = 0.5  # value-loss weight
    max_grad_norm: float = 0.5  # global-norm gradient clip
    num_envs: int = static_field(16)  # parallel environments per seed
    num_steps: int = static_field(8)  # rollout length per update
    hidden: tuple[int, ...] = static_field((64, 64))  # MLP widths (policy and value)
    activation: Activation = static_field("tanh")
    normalize_obs: bool = static_field(False)  # running mean/std observation normalisation
    normalize_adv: bool = static_field(False)  # standardise advantages per minibatch
    anneal_lr: bool = static_field(False)  # decay the step size linearly to 0
    squash: Literal["clip", "tanh"] = static_field("clip")  # continuous actions into their box


@pytree_dataclass
class ReinforceConfig(A2CConfig):
    """REINFORCE with reward-to-go and a learned value baseline: GAE with λ = 1, whose
    advantage is the discounted return-to-go minus V(s_t). An episode still running at
    the end of a rollout (or cut by a time limit) is continued by V of where it stopped."""

    lr: float = 3e-3
    gae_lambda: float = 1.0
    ent_coef: float = 0.0
    num_steps: int = static_field(256)
    normalize_adv: bool = static_field(True)


@pytree_dataclass
class PPOConfig(A2CConfig):
    """Proximal policy optimisation with the clipped surrogate."""

    lr: float = 5e-4
    clip_eps: float = 0.2  # surrogate clip range ε
    num_steps: int = static_field(128)
    epochs: int = static_field(4)  # passes over each batch
    minibatches: int = static_field(4)  # minibatches per pass
    clip_vloss: bool = static_field(False)  # clip value updates to ±ε as well
    normalize_adv: bool = static_field(True)
    anneal_lr: bool = static_field(True)


def validate(c: A2CConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "lr", "num_envs", "num_steps", "max_grad_norm")
    check_unit(c, "gamma", "gae_lambda")
    check_nonnegative(c, "ent_coef", "vf_coef")
    check_network(c)
    check(c.squash in ("clip", "tanh"), "squash", c.squash, "use clip or tanh")
    if isinstance(c, ReinforceConfig):
        check(c.gae_lambda == 1.0, "gae_lambda", c.gae_lambda,
              "REINFORCE is GAE with λ = 1 (reward-to-go); for λ < 1 use a2c")
    if isinstance(c, PPOConfig):
        check_positive(c, "epochs", "minibatches", "clip_eps")
        batch = c.num_envs * c.num_steps
        if batch % c.minibatches:
            raise ConfigError(
                f"--minibatches={c.minibatches} is invalid: the batch of num_envs × num_steps = "
                f"{batch} must divide evenly into minibatches (pick a divisor of {batch})"
            )


class PGState(NamedTuple):
    params: Any
    opt_state: Any
    obs_stats: running_stats.RunningStats
    env_state: Any  # batched over num_envs
    obs: jax.Array
    key: jax.Array
    updates: jax.Array  # number of updates done
    config: A2CConfig  # vmappable hyperparameters live here


class Batch(NamedTuple):
    obs: jax.Array  # normalised as the policy saw them
    action: jax.Array  # pre-squash action for continuous spaces
    logp: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array


def build(config: A2CConfig, env, env_params, total_steps: int) -> Agent:
    """Close over the static configuration and environment; see ``rlx.algos.base``.
    ``total_steps`` (per seed) sets the learning-rate annealing horizon."""
    validate(config)
    env = for_training(env)
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    continuous = isinstance(act_space, Box)
    if not continuous and not isinstance(act_space, Discrete):
        raise ConfigError(f"unsupported action space {act_space!r}")
    if not isinstance(obs_space, Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"{env.name} has {type(obs_space).__name__} observations of shape "
                          f"{getattr(obs_space, 'shape', '?')}; the policy-gradient agents need vector (1-D Box) "
                          "observations: use dqn for images")
    action_dim = act_space.shape[0] if continuous else act_space.n
    model = ActorCritic(action_dim, continuous, tuple(config.hidden), config.activation)
    is_ppo = isinstance(config, PPOConfig)
    epochs = config.epochs if is_ppo else 1
    minibatches = config.minibatches if is_ppo else 1
    n_envs, n_steps = config.num_envs, config.num_steps
    batch_size = n_envs * n_steps
    total_updates = max(1, total_steps // batch_size)

    def optimizer(max_grad_norm):
        # Global-norm clipping then Adam's scaling; the (annealed) step size is applied after.
        return optax.flatten(optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.scale_by_adam(eps=1e-5)))
    if continuous:
        low, high = jnp.asarray(act_space.low), jnp.asarray(act_space.high)

    def normalize(stats, obs):
        return running_stats.normalize(stats, obs) if config.normalize_obs else obs

    def draw_noise(key, shape):
        """The rollout's action noise, drawn in one call: standard normal ε or Gumbel g."""
        return (jax.random.normal if continuous else jax.random.gumbel)(key, shape + (action_dim,))

    def sample(dist, noise):
        if continuous:
            raw = D.gaussian_sample_noise(*dist, noise)
            return raw, D.gaussian_log_prob(*dist, raw)
        a = D.categorical_sample_gumbel(dist, noise)
        return a, D.categorical_log_prob(dist, a)

    def to_env(raw):
        return D.squash(raw, low, high, config.squash) if continuous else raw

    def log_prob_entropy(dist, action):
        if continuous:
            return D.gaussian_log_prob(*dist, action), D.gaussian_entropy(dist[1])
        return D.categorical_log_prob(dist, action), D.categorical_entropy(dist)

    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def init(key, cfg: A2CConfig) -> PGState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state, ts = v_reset(jax.random.split(k_env, n_envs), env_params)
        params = model.init(k_net, ts.obs)
        return PGState(
            params=params,
            opt_state=optimizer(1.0).init(params),
            obs_stats=running_stats.init(obs_space.shape),
            env_state=env_state,
            obs=ts.obs,
            key=k_run,
            updates=jnp.zeros((), jnp.int32),
            config=cfg,
        )

    def rollout(s: PGState):
        # The whole rollout's randomness in two calls rather than three per step: on the
        # CPU each call is its own small kernel, launched n_steps times otherwise.
        key, k_act, k_env = jax.random.split(s.key, 3)
        noise = draw_noise(k_act, (n_steps, n_envs))
        env_keys = jax.random.split(k_env, (n_steps, n_envs))

        def one_step(carry, inputs):
            env_state, obs = carry
            eps, keys = inputs
            dist = model.apply(s.params, normalize(s.obs_stats, obs), method=ActorCritic.policy)
            action, logp = sample(dist, eps)
            env_state, ts = v_step(keys, env_state, to_env(action), env_params)
            out = (obs, action, logp, ts.reward, ts.terminated, ts.truncated, ts.info["final_obs"])
            return (env_state, ts.obs), out

        (env_state, obs), traj = jax.lax.scan(one_step, (s.env_state, s.obs), (noise, env_keys))
        return env_state, obs, key, traj

    def loss_fn(params, mb: Batch, cfg):
        dist, value = model.apply(params, mb.obs)
        logp, entropy = log_prob_entropy(dist, mb.action)
        adv = L.normalize_advantages(mb.advantage) if config.normalize_adv else mb.advantage
        if is_ppo:
            pg_loss, clip_frac = L.ppo_clip_loss(logp, mb.logp, adv, cfg.clip_eps)
        else:
            pg_loss, clip_frac = L.policy_gradient_loss(logp, adv), jnp.zeros(())
        v_clip = cfg.clip_eps if is_ppo and config.clip_vloss else None
        v_loss = L.value_loss(value, mb.target, mb.value, v_clip)
        ent = jnp.mean(entropy)
        total = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * ent
        approx_kl = jnp.mean(mb.logp - logp)
        return total, dict(policy_loss=pg_loss, value_loss=v_loss, entropy=ent,
                           approx_kl=approx_kl, clip_frac=clip_frac)

    def update(s: PGState):
        cfg = s.config
        env_state, last_obs, key, traj = rollout(s)
        obs, action, logp, reward, terminated, truncated, final_obs = traj
        flat = lambda x: x.reshape((batch_size,) + x.shape[2:])
        nobs = normalize(s.obs_stats, obs)  # as the policy saw them during the rollout
        # The values of the visited, final and last observations in one batched pass
        # after the rollout (the policy alone steps inside it).
        values = model.apply(s.params, jnp.concatenate(
            [flat(nobs), flat(normalize(s.obs_stats, final_obs)), normalize(s.obs_stats, last_obs)]),
            method=ActorCritic.value)
        value = values[:batch_size].reshape(n_steps, n_envs)
        final_value = values[batch_size:2 * batch_size].reshape(n_steps, n_envs)
        last_value = values[2 * batch_size:]
        # V(s_{t+1}) of the same episode: V(final obs) where an episode ended, else V(next obs).
        next_value = jnp.concatenate([value[1:], last_value[None]], 0)
        dones = terminated | truncated
        next_value = jnp.where(dones, final_value, next_value)
        discounts = cfg.gamma * (1.0 - terminated.astype(jnp.float32))
        adv, target = gae(reward, value, next_value, discounts, dones, cfg.gae_lambda)
        batch = Batch(*map(flat, (nobs, action, logp, value, adv, target)))

        frac = 1.0 - s.updates / total_updates if config.anneal_lr else 1.0
        lr = cfg.lr * frac
        grad_fn = jax.grad(loss_fn, has_aux=True)
        tx = optimizer(cfg.max_grad_norm)

        def sgd_step(carry, mb):
            params, opt_state = carry
            grads, info = grad_fn(params, mb, cfg)
            grad_norm = optax.tree.norm(grads)
            step, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, jax.tree_util.tree_map(lambda u: -lr * u, step))
            return (params, opt_state), {**info, "grad_norm": grad_norm}

        def epoch(carry, perm):
            shuffled = jax.tree_util.tree_map(lambda x: x[perm], batch) if minibatches > 1 else batch
            mbs = jax.tree_util.tree_map(
                lambda x: x.reshape((minibatches, batch_size // minibatches) + x.shape[1:]), shuffled)
            return jax.lax.scan(sgd_step, carry, mbs)

        key, k_perm = jax.random.split(key)
        perms = permutations(k_perm, epochs, batch_size)  # every epoch's shuffle in one call
        (params, opt_state), infos = jax.lax.scan(epoch, (s.params, s.opt_state), perms)
        obs_stats = s.obs_stats
        if config.normalize_obs:
            obs_stats = running_stats.update(obs_stats, obs)
        stats = env_state  # EpisodeStats is the outermost wrapper
        metrics = {k: jnp.mean(v) for k, v in infos.items()}
        metrics.update(
            **episode_metrics(stats),
            lr=jnp.asarray(lr, jnp.float32),
        )
        new = PGState(params, opt_state, obs_stats, env_state, last_obs, key, s.updates + 1, cfg)
        return new, metrics

    def policy_params(s: PGState):
        return {"params": s.params, "obs_stats": s.obs_stats}

    def act(pp, obs, key, deterministic: bool = False):
        dist = model.apply(pp["params"], normalize(pp["obs_stats"], obs), method=ActorCritic.policy)
        if continuous:
            raw = dist[0] if deterministic else D.gaussian_sample(key, *dist)
        else:
            raw = D.categorical_mode(dist) if deterministic else D.categorical_sample(key, dist)
        return to_env(raw)

    return Agent(init, update, act, policy_params, steps_per_update=batch_size)

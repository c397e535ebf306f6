"""Deep Q-networks (Mnih et al. 2015) on vectorised environments, inside the fused loop.

Each update steps ``num_envs`` environments ``train_every`` times with an
ε-greedy policy (ε decays linearly from ``eps_start`` to ``eps_end`` over the
first ``eps_fraction`` of training), writes the transitions to a replay buffer
(``rlx.core.replay``: observations stored once), then — once ``learning_starts``
environment steps have been collected — takes ``gradient_steps`` Adam steps on
the Huber loss of the TD error on uniformly sampled minibatches:

    y = r + γ (1 − terminal) · Q_target(s', argmax_a' Q(s', a'))      (Double DQN, van Hasselt 2016)
    y = r + γ (1 − terminal) · max_a' Q_target(s', a')                (``double=False``)

The target network moves towards the online one every ``target_every`` updates,
``θ⁻ ← (1 − τ) θ⁻ + τ θ`` (``τ = 1``: the periodic hard copy). The replay ratio
is ``gradient_steps / (num_envs · train_every)`` gradient steps per environment
step.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rlx.algos.base import Agent, ConfigError, check, check_nonnegative, check_positive, check_unit
from rlx.core import replay
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import Box, Discrete, for_training
from rlx.envs.core import episode_metrics
from rlx.nets import MLP


@pytree_dataclass
class DQNConfig:
    """DQN with a target network, Huber loss and (by default) Double DQN targets."""

    lr: float = 1e-3  # Adam step size
    gamma: float = 0.99  # discount γ
    eps_start: float = 1.0  # initial exploration rate
    eps_end: float = 0.05  # final exploration rate
    eps_fraction: float = 0.25  # fraction of training over which ε decays
    tau: float = 1.0  # target update factor (1: hard copy)
    target_every: int = 100  # updates between target updates
    learning_starts: int = 1000  # environment steps collected before learning
    max_grad_norm: float = 10.0  # global-norm gradient clip
    num_envs: int = static_field(4)  # parallel environments per seed
    train_every: int = static_field(1)  # vectorised steps per update
    gradient_steps: int = static_field(1)  # gradient steps per update
    batch_size: int = static_field(128)  # transitions per gradient step
    buffer_size: int = static_field(50_000)  # transitions kept
    hidden: tuple[int, ...] = static_field((128, 128))  # Q-network widths
    activation: Literal["tanh", "relu", "elu", "gelu", "silu"] = static_field("relu")
    double: bool = static_field(True)  # Double DQN targets


def validate(c: DQNConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "lr", "num_envs", "train_every", "gradient_steps", "batch_size", "buffer_size",
                   "target_every", "max_grad_norm", "eps_fraction")
    check_unit(c, "gamma", "eps_start", "eps_end", "tau")
    check_nonnegative(c, "learning_starts")
    check(c.tau > 0, "tau", c.tau, "it must lie in (0, 1]")
    check(c.buffer_size >= 2 * c.num_envs, "buffer_size", c.buffer_size,
          f"it must hold at least two steps of all {c.num_envs} environments")
    check(len(c.hidden) > 0 and all(h > 0 for h in c.hidden), "hidden", c.hidden,
          "give one or more positive layer widths")


class DQNState(NamedTuple):
    params: Any
    target_params: Any
    opt_state: Any
    buffer: replay.Replay
    env_state: Any
    obs: jax.Array
    key: jax.Array
    steps: jax.Array  # environment steps so far (all envs)
    updates: jax.Array
    config: DQNConfig


def q_target(reward, terminated, gamma, q_next_target, q_next_online=None):
    """``y = r + γ (1 − terminal) Q_target(s', a*)`` with ``a* = argmax Q_online(s')``
    (Double DQN) or, without ``q_next_online``, ``a* = argmax Q_target(s')``.
    Shapes: ``reward``, ``terminated`` ``[B]``; ``q_next_*`` ``[B, A]``."""
    chooser = q_next_target if q_next_online is None else q_next_online
    a_star = jnp.argmax(chooser, axis=-1)
    next_v = jnp.take_along_axis(q_next_target, a_star[:, None], axis=1)[:, 0]
    return reward + gamma * (1.0 - terminated.astype(jnp.float32)) * next_v


def build(config: DQNConfig, env, env_params, total_steps: int) -> Agent:
    """Close over the static configuration and environment; see ``rlx.algos.base``."""
    validate(config)
    env = for_training(env)
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    if not isinstance(act_space, Discrete):
        raise ConfigError(f"{env.name} has {type(act_space).__name__} actions; DQN needs discrete actions")
    if not isinstance(obs_space, Box):
        raise ConfigError(f"{env.name} has {type(obs_space).__name__} observations; DQN needs Box observations")
    n_actions, n_envs = act_space.n, config.num_envs
    model = MLP(tuple(config.hidden), n_actions, config.activation)
    capacity = config.buffer_size // n_envs
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def optimizer(max_grad_norm, lr):
        return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr))

    def epsilon(cfg, steps):
        """Linear decay from eps_start to eps_end over eps_fraction of total_steps."""
        frac = jnp.clip(1.0 - steps / jnp.maximum(1.0, cfg.eps_fraction * total_steps), 0.0, 1.0)
        return cfg.eps_end + (cfg.eps_start - cfg.eps_end) * frac

    def init(key, cfg: DQNConfig) -> DQNState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state, ts = v_reset(jax.random.split(k_env, n_envs), env_params)
        params = model.init(k_net, ts.obs)
        buf = replay.init(capacity, n_envs, ts.obs[0], jnp.zeros((), jnp.int32))
        return DQNState(params, params, optimizer(cfg.max_grad_norm, cfg.lr).init(params), buf,
                        env_state, ts.obs, k_run, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), cfg)

    def loss_fn(params, target_params, b: replay.Sample, gamma):
        q = model.apply(params, b.obs)
        q_a = jnp.take_along_axis(q, b.action[:, None], axis=1)[:, 0]
        q_next_online = model.apply(params, b.next_obs) if config.double else None
        y = q_target(b.reward, b.terminated, gamma, model.apply(target_params, b.next_obs), q_next_online)
        w = b.valid.astype(jnp.float32)
        loss = jnp.sum(w * optax.huber_loss(q_a, jax.lax.stop_gradient(y))) / jnp.maximum(w.sum(), 1.0)
        return loss, jnp.sum(w * q_a) / jnp.maximum(w.sum(), 1.0)

    def update(s: DQNState):
        cfg = s.config

        def env_step(carry, _):
            env_state, obs, buf, key, steps = carry
            key, k_eps, k_a, k_env = jax.random.split(key, 4)
            greedy = jnp.argmax(model.apply(s.params, obs), axis=-1)
            explore = jax.random.uniform(k_eps, (n_envs,)) < epsilon(cfg, steps)
            action = jnp.where(explore, jax.random.randint(k_a, (n_envs,), 0, n_actions), greedy)
            env_state, ts = v_step(jax.random.split(k_env, n_envs), env_state, action, env_params)
            buf = replay.add(buf, obs, action, ts.reward, ts.terminated, ts.truncated)
            return (env_state, ts.obs, buf, key, steps + n_envs), None

        carry = (s.env_state, s.obs, s.buffer, s.key, s.steps)
        (env_state, obs, buf, key, steps), _ = jax.lax.scan(env_step, carry, None, config.train_every)

        tx = optimizer(cfg.max_grad_norm, cfg.lr)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def grad_step(carry, k):
            params, opt_state = carry
            (loss, q_mean), grads = grad_fn(params, s.target_params, replay.sample(buf, k, config.batch_size),
                                           cfg.gamma)
            step, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, step), opt_state), (loss, q_mean)

        key, k_learn = jax.random.split(key)
        (params, opt_state), (loss, q_mean) = jax.lax.scan(
            grad_step, (s.params, s.opt_state), jax.random.split(k_learn, config.gradient_steps))
        learning = steps >= cfg.learning_starts
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(learning, a, b), new, old)  # noqa: E731
        params, opt_state = keep(params, s.params), keep(opt_state, s.opt_state)
        updates = s.updates + 1
        sync = learning & (updates % cfg.target_every == 0)
        target = jax.tree_util.tree_map(
            lambda t, p: jnp.where(sync, (1.0 - cfg.tau) * t + cfg.tau * p, t), s.target_params, params)

        stats = env_state  # EpisodeStats is the outermost wrapper
        metrics = dict(
            **episode_metrics(stats),
            loss=jnp.where(learning, loss.mean(), 0.0),
            q_mean=jnp.where(learning, q_mean.mean(), 0.0),
            epsilon=epsilon(cfg, steps),
        )
        return DQNState(params, target, opt_state, buf, env_state, obs, key, steps, updates, cfg), metrics

    def policy_params(s: DQNState):
        return {"params": s.params, "eps": s.config.eps_end}

    def act(pp, obs, key, deterministic: bool = False):
        greedy = jnp.argmax(model.apply(pp["params"], obs), axis=-1)
        if deterministic:
            return greedy
        k_eps, k_a = jax.random.split(key)
        explore = jax.random.uniform(k_eps, greedy.shape) < pp["eps"]
        return jnp.where(explore, jax.random.randint(k_a, greedy.shape, 0, n_actions), greedy)

    return Agent(init, update, act, policy_params, steps_per_update=n_envs * config.train_every)

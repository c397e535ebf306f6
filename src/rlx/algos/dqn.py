"""Deep Q-networks (Mnih et al. 2015) and their improvements, on vectorised environments,
inside the fused loop. Every improvement is a flag of this one agent; any combination
works (``--prioritized --n-step 3 --dueling --atoms 51``: Rainbow without noisy nets).

Each update steps ``num_envs`` environments ``train_every`` times with an
ε-greedy policy (ε decays linearly from ``eps_start`` to ``eps_end`` over the
first ``eps_fraction`` of training), writes the transitions to a replay buffer
(``rlx.core.replay``: observations stored once), then — once ``learning_starts``
environment steps have been collected — takes ``gradient_steps`` Adam steps on
minibatches of ``n_step``-step transitions ``(s, a, R, d, s')`` with
``R = Σ_{k<m} γ^k r_k`` and ``d = γ^m`` (0 where the episode terminated):

    y = R + d · Q_target(s', argmax_a' Q(s', a'))        (Double DQN, van Hasselt 2016)
    y = R + d · max_a' Q_target(s', a')                   (``double=False``)

and the Huber loss of ``Q(s, a) − y``. With ``atoms > 1`` (C51, Bellemare et al.
2017) the network outputs a categorical return distribution on ``atoms`` evenly
spaced values in ``[v_min, v_max]``; the target distribution of ``R + d·Z(s', a*)``
is projected onto that support and the loss is its cross-entropy. ``dueling``
splits the head into ``V + A − mean A`` (Wang et al. 2016). ``prioritized``
samples transition ``i`` with probability ``p_i^α / Σ p^α`` from a sum tree
(Schaul et al. 2016), ``p_i`` its last loss (|TD error|, or the cross-entropy)
plus ``priority_eps`` (new transitions get the largest priority so far), and
weights its loss by ``(N P(i))^−β / max_batch``, β annealed linearly to 1.

The target network moves towards the online one every ``target_every`` updates,
``θ⁻ ← (1 − τ) θ⁻ + τ θ`` (``τ = 1``: the periodic hard copy). The replay ratio
is ``gradient_steps / (num_envs · train_every)`` gradient steps per environment
step. Image observations (``[H, W, C]``) get a convolutional torso (``rlx.nets.q``).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rlx.algos.base import Agent, ConfigError, check, check_network, check_nonnegative, check_positive, check_unit
from rlx.core import replay, sumtree
from rlx.core.losses import categorical_projection
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import Box, Discrete, for_training
from rlx.envs.core import episode_metrics
from rlx.nets import QNetwork
from rlx.nets.q import image_torso


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
    n_step: int = static_field(1)  # n-step returns
    dueling: bool = static_field(False)  # V + A − mean A head
    atoms: int = static_field(1)  # > 1: C51 distributional head with this many atoms
    v_min: float = -10.0  # C51 support
    v_max: float = 10.0
    prioritized: bool = static_field(False)  # proportional prioritised replay
    alpha: float = 0.6  # priority exponent
    beta_start: float = 0.4  # importance-sampling exponent, annealed linearly to 1
    priority_eps: float = 1e-6  # added to every priority
    torso: Literal["auto", "mlp", "nature", "minatar"] = static_field("auto")  # auto: a CNN for [H, W, C] images


def validate(c: DQNConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "lr", "num_envs", "train_every", "gradient_steps", "batch_size", "buffer_size",
                   "target_every", "max_grad_norm", "eps_fraction")
    check_unit(c, "gamma", "eps_start", "eps_end", "tau")
    check_nonnegative(c, "learning_starts")
    check(c.tau > 0, "tau", c.tau, "it must lie in (0, 1]")
    check(c.buffer_size >= 2 * c.num_envs, "buffer_size", c.buffer_size,
          f"it must hold at least two steps of all {c.num_envs} environments")
    check_network(c)
    check(c.n_step >= 1, "n_step", c.n_step, "it must be >= 1")
    check(c.atoms == 1 or c.atoms >= 2, "atoms", c.atoms, "use 1 (expected Q) or >= 2 atoms (C51)")
    check(c.atoms == 1 or c.v_min < c.v_max, "v_min", c.v_min, f"it must be below --v-max={c.v_max}")
    check_unit(c, "alpha", "beta_start")
    check(c.priority_eps > 0, "priority_eps", c.priority_eps, "it must be positive")
    check(c.buffer_size >= (c.n_step + 1) * c.num_envs, "buffer_size", c.buffer_size,
          f"it must hold n_step + 1 = {c.n_step + 1} steps of all {c.num_envs} environments")


class DQNState(NamedTuple):
    params: Any
    target_params: Any
    opt_state: Any
    buffer: replay.Replay
    priorities: sumtree.SumTree | None  # with prioritized replay: leaf t·num_envs + e
    env_state: Any
    obs: jax.Array
    key: jax.Array
    steps: jax.Array  # environment steps so far (all envs)
    updates: jax.Array
    config: DQNConfig


def q_target(reward, discount, q_next_target, q_next_online=None):
    """``y = R + d · Q_target(s', a*)`` with ``a* = argmax Q_online(s')`` (Double DQN) or,
    without ``q_next_online``, ``a* = argmax Q_target(s')``.
    Shapes: ``reward``, ``discount`` ``[B]``; ``q_next_*`` ``[B, A]``."""
    chooser = q_next_target if q_next_online is None else q_next_online
    a_star = jnp.argmax(chooser, axis=-1)
    next_v = jnp.take_along_axis(q_next_target, a_star[:, None], axis=1)[:, 0]
    return reward + discount * next_v


def importance_weights(prob, n, beta):
    """``w_i = (n P(i))^−β``, divided by the batch's largest (so ``w ≤ 1``)."""
    w = (n * jnp.maximum(prob, 1e-30)) ** -beta
    return w / jnp.max(w)


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
    image = len(obs_space.shape) == 3
    torso = config.torso if config.torso != "auto" else (image_torso(obs_space.shape) if image else "mlp")
    if torso != "mlp" and not image:
        raise ConfigError(f"--torso {torso} needs [H, W, C] image observations; {env.name} has shape {obs_space.shape}")
    model = QNetwork(n_actions, tuple(config.hidden), config.activation, torso=torso, dueling=config.dueling,
                     atoms=config.atoms, obs_rank=len(obs_space.shape))
    capacity = config.buffer_size // n_envs
    distributional = config.atoms > 1

    def support(cfg):
        return jnp.linspace(cfg.v_min, cfg.v_max, config.atoms)

    def q_values(out, cfg):
        """Expected Q ``[..., A]`` from the network's output (C51: Σ softmax · support)."""
        return jnp.sum(jax.nn.softmax(out, -1) * support(cfg), -1) if distributional else out
    v_reset = jax.vmap(env.reset, in_axes=(0, None))
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def optimizer(max_grad_norm, lr):
        return optax.flatten(optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr)))

    def epsilon(cfg, steps):
        """Linear decay from eps_start to eps_end over eps_fraction of total_steps."""
        frac = jnp.clip(1.0 - steps / jnp.maximum(1.0, cfg.eps_fraction * total_steps), 0.0, 1.0)
        return cfg.eps_end + (cfg.eps_start - cfg.eps_end) * frac

    def init(key, cfg: DQNConfig) -> DQNState:
        k_net, k_env, k_run = jax.random.split(key, 3)
        env_state, ts = v_reset(jax.random.split(k_env, n_envs), env_params)
        params = model.init(k_net, ts.obs)
        buf = replay.init(capacity, n_envs, ts.obs[0], jnp.zeros((), jnp.int32))
        tree = sumtree.init(capacity * n_envs) if config.prioritized else None
        return DQNState(params, params, optimizer(cfg.max_grad_norm, cfg.lr).init(params), buf, tree,
                        env_state, ts.obs, k_run, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), cfg)

    def loss_fn(params, target_params, b: replay.Sample, weights, cfg):
        """Weighted mean loss over valid samples; aux: (mean Q(s, a), per-sample loss for priorities)."""
        rows = jnp.arange(b.action.shape[0])
        out, next_target = model.apply(params, b.obs)[rows, b.action], model.apply(target_params, b.next_obs)
        q_next_online = q_values(model.apply(params, b.next_obs), cfg) if config.double else None
        if distributional:
            a_star = jnp.argmax(q_next_online if config.double else q_values(next_target, cfg), axis=-1)
            target = categorical_projection(jax.nn.softmax(next_target[rows, a_star], -1), b.reward,
                                            b.discount, support(cfg))
            per_sample = -jnp.sum(jax.lax.stop_gradient(target) * jax.nn.log_softmax(out, -1), -1)
            q_a, priority = q_values(out, cfg), per_sample
        else:
            y = jax.lax.stop_gradient(q_target(b.reward, b.discount, next_target, q_next_online))
            per_sample, q_a, priority = optax.huber_loss(out, y), out, jnp.abs(out - y)
        valid = b.valid.astype(jnp.float32)
        n_valid = jnp.maximum(valid.sum(), 1.0)
        return jnp.sum(valid * weights * per_sample) / n_valid, (jnp.sum(valid * q_a) / n_valid, priority)

    def update(s: DQNState):
        cfg = s.config

        def env_step(carry, _):
            env_state, obs, buf, tree, key, steps = carry
            key, k_eps, k_a, k_env = jax.random.split(key, 4)
            greedy = jnp.argmax(q_values(model.apply(s.params, obs), cfg), axis=-1)
            explore = jax.random.uniform(k_eps, (n_envs,)) < epsilon(cfg, steps)
            action = jnp.where(explore, jax.random.randint(k_a, (n_envs,), 0, n_actions), greedy)
            env_state, ts = v_step(jax.random.split(k_env, n_envs), env_state, action, env_params)
            if tree is not None:  # new transitions get the largest priority so far
                leaves = buf.ptr * n_envs + jnp.arange(n_envs)
                tree = sumtree.update(tree, leaves, jnp.broadcast_to(tree.max_value, (n_envs,)))
            buf = replay.add(buf, obs, action, ts.reward, ts.terminated, ts.truncated)
            return (env_state, ts.obs, buf, tree, key, steps + n_envs), None

        carry = (s.env_state, s.obs, s.buffer, s.priorities, s.key, s.steps)
        (env_state, obs, buf, tree, key, steps), _ = jax.lax.scan(env_step, carry, None, config.train_every)

        tx = optimizer(cfg.max_grad_norm, cfg.lr)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        beta = cfg.beta_start + (1.0 - cfg.beta_start) * jnp.minimum(1.0, steps / total_steps)

        def grad_step(carry, k):
            params, opt_state, tree = carry
            if tree is None:
                t, e = replay.draw_uniform(buf, k, config.batch_size)
                weights = jnp.ones((config.batch_size,))
            else:
                leaf, prob = sumtree.sample(tree, k, config.batch_size)
                t, e = leaf // n_envs, leaf % n_envs
                weights = importance_weights(prob, buf.size * n_envs, beta)
            b = replay.gather(buf, t, e, config.n_step, cfg.gamma)
            (loss, (q_mean, priority)), grads = grad_fn(params, s.target_params, b, weights, cfg)
            if tree is not None:
                new = (priority + cfg.priority_eps) ** cfg.alpha
                tree = sumtree.update(tree, leaf, jnp.where(b.valid, new, sumtree.get(tree, leaf)))
            step, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, step), opt_state, tree), (loss, q_mean)

        key, k_learn = jax.random.split(key)
        (params, opt_state, learned_tree), (loss, q_mean) = jax.lax.scan(
            grad_step, (s.params, s.opt_state, tree), jax.random.split(k_learn, config.gradient_steps))
        learning = steps >= cfg.learning_starts
        keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(learning, a, b), new, old)  # noqa: E731
        params, opt_state, tree = keep(params, s.params), keep(opt_state, s.opt_state), keep(learned_tree, tree)
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
        return DQNState(params, target, opt_state, buf, tree, env_state, obs, key, steps, updates, cfg), metrics

    def policy_params(s: DQNState):
        return {"params": s.params, "eps": s.config.eps_end, "config": s.config}

    def act(pp, obs, key, deterministic: bool = False):
        greedy = jnp.argmax(q_values(model.apply(pp["params"], obs), pp["config"]), axis=-1)
        if deterministic:
            return greedy
        k_eps, k_a = jax.random.split(key)
        explore = jax.random.uniform(k_eps, greedy.shape) < pp["eps"]
        return jnp.where(explore, jax.random.randint(k_a, greedy.shape, 0, n_actions), greedy)

    return Agent(init, update, act, policy_params, steps_per_update=n_envs * config.train_every)

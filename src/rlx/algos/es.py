"""Evolution strategies as fused population training: OpenAI-ES, ARS and evosax's strategies.

One generation is one ``update``: perturb the flat policy parameters θ,
evaluate every population member by full-episode rollouts (``vmap``), update θ.

* **OpenAI-ES** (Salimans et al. 2017). Member ``m`` plays ``θ + σ s_m ε_j``
  with ``ε_j ~ N(0, I)``; antithetic sampling pairs ``s = ±1`` on the same
  ``ε_j``. With fitness shaped to ``u`` (centred ranks by default)
  ``g = 1/(nσ) Σ_m u_m s_m ε_{j(m)}`` estimates ``∇_θ E[F(θ + σε)]``; any optax
  optimiser then ascends ``g − λθ`` (λ: weight decay).
* **ARS** (Mania et al. 2018). ``N`` antithetic directions, the ``b`` best by
  ``max(r⁺, r⁻)`` kept: ``θ ← θ + α/(b σ_R) Σ_top (r⁺_j − r⁻_j) δ_j`` with
  ``σ_R`` the standard deviation of those ``2b`` returns. V2 normalises
  observations with running statistics of every state visited (V1: none).
* **evosax** (Lange 2022, ``pip install evosax``): any of its distribution-based
  strategies (CMA-ES, SNES, PGPE, ...) through the same loop; evosax minimises,
  so it is told the negated returns.

Perturbations are regenerated from ``fold_in(key, j)`` whenever needed: the
population's parameter matrix exists only one evaluation chunk at a time
(``chunk`` members), and the gradient ``Σ_j w_j ε_j`` is accumulated chunk by
chunk, so memory is O(chunk × parameters). Inside the runner the population
axis is sharded over the mesh's ``members`` devices; the devices exchange only
fitness values (and observation-moment sums), then each computes the same
update. Policies act deterministically (argmax / clipped linear output).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from rlx.algos.base import Agent, ConfigError, check, check_nonnegative, check_positive
from rlx.core import running_stats
from rlx.core.sharding import along_members
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs import Box, Discrete
from rlx.nets import MLP
from rlx.run.evaluate import episode_limit


@pytree_dataclass
class PopulationConfig:
    """What every population method shares: the policy and how members are evaluated."""

    episodes: int = static_field(1)  # episodes per member; fitness is their mean return
    normalize_obs: bool = static_field(False)  # running mean/std of visited states
    hidden: tuple[int, ...] = static_field((32,))  # policy MLP widths (() = linear)
    activation: Literal["tanh", "relu", "elu", "gelu", "silu"] = static_field("tanh")
    chunk: int = static_field(0)  # members evaluated side by side (0: the whole population)
    unroll: int = static_field(8)  # rollout steps per loop iteration (less loop overhead, longer compile)


@pytree_dataclass
class ESConfig(PopulationConfig):
    """OpenAI-ES: antithetic Gaussian perturbations, centred ranks, Adam."""

    lr: float = 0.03  # optimiser step size
    sigma: float = 0.1  # initial perturbation scale σ
    sigma_decay: float = 1.0  # σ ← max(σ · decay, sigma_min) each generation
    sigma_min: float = 0.01
    weight_decay: float = 0.005  # λ in g − λθ
    population: int = static_field(256)  # members per generation (even when antithetic)
    antithetic: bool = static_field(True)
    fitness_shaping: Literal["centered_rank", "z_score", "raw"] = static_field("centered_rank")
    optimizer: str = static_field("adam")  # any optax optimiser taking a learning rate: adam, sgd, adamw, lion, ...


@pytree_dataclass
class ARSConfig(PopulationConfig):
    """ARS V2-t: top-b of N antithetic directions, reward-std step, state normalisation."""

    lr: float = 0.02  # step size α
    sigma: float = 0.03  # exploration noise ν
    directions: int = static_field(32)  # N (population 2N)
    top: int = static_field(16)  # b ≤ N
    normalize_obs: bool = static_field(True)  # V2 (False: V1)
    hidden: tuple[int, ...] = static_field(())  # () = the paper's linear policy


@pytree_dataclass
class EvosaxConfig(PopulationConfig):
    """An evosax distribution-based strategy driven by rlx's population evaluation."""

    strategy: str = static_field("CMA_ES")  # a class in evosax.algorithms
    sigma: float = static_field(0.1)  # the strategy's initial std (std_init / std_schedule)
    lr: float = static_field(0.03)  # Adam step size, for strategies that take an optimizer
    population: int = static_field(64)


def _population(c) -> int:
    return 2 * c.directions if isinstance(c, ARSConfig) else c.population


def validate(c) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "lr", "sigma", "episodes")
    check_nonnegative(c, "chunk")
    check_positive(c, "unroll")
    check(all(h > 0 for h in c.hidden), "hidden", c.hidden, "give positive layer widths (or none)")
    if isinstance(c, ARSConfig):
        check_positive(c, "directions")
        check(0 < c.top <= c.directions, "top", c.top, f"it must lie in [1, directions={c.directions}]")
    else:
        check(c.population >= 2, "population", c.population, "it must be at least 2")
    if isinstance(c, ESConfig):
        check(callable(getattr(optax, c.optimizer, None)) and "learning_rate" in _parameters(c.optimizer),
              "optimizer", c.optimizer, "name an optax optimiser that takes a learning rate (adam, sgd, adamw, lion, ...)")
        check_positive(c, "sigma_min")
        check(0 < c.sigma_decay <= 1, "sigma_decay", c.sigma_decay, "it must lie in (0, 1]")
        check_nonnegative(c, "weight_decay")
        check(c.population % 2 == 0 or not c.antithetic, "population", c.population,
              "antithetic sampling needs an even population")
    pop = _population(c)
    check(c.chunk == 0 or pop % c.chunk == 0, "chunk", c.chunk,
          f"it must divide the population ({pop}), or be 0")
    if isinstance(c, EvosaxConfig):
        _evosax_class(c.strategy)


def _parameters(optax_name: str):
    try:
        return inspect.signature(getattr(optax, optax_name)).parameters
    except (TypeError, ValueError):
        return {}


def _evosax_class(name: str):
    try:
        from evosax import algorithms
    except ImportError:
        raise ConfigError("the evosax strategies need the evosax package: pip install evosax") from None
    cls = getattr(algorithms, name, None)
    distribution = getattr(algorithms, "distribution_based_algorithms", {})
    if cls is None or (distribution and name not in distribution):
        names = ", ".join(sorted(distribution)) or "see evosax.algorithms"
        raise ConfigError(f"--strategy={name} is not an evosax distribution-based strategy: choose one of {names}")
    return cls


# ---------------------------------------------------------------------------------------------
# The estimator's pieces: pure functions of arrays.


def centered_ranks(x: jax.Array) -> jax.Array:
    """``rank(x_i) / (n − 1) − ½`` (ranks 0..n−1, smallest first; ties by position): in [−½, ½]."""
    n = x.shape[0]
    return jnp.argsort(jnp.argsort(x)).astype(jnp.float32) / (n - 1) - 0.5


def shape_fitness(f: jax.Array, how: str) -> jax.Array:
    """Centred ranks, z-scores ``(f − mean)/std``, or the raw fitness."""
    if how == "centered_rank":
        return centered_ranks(f)
    if how == "z_score":
        return (f - f.mean()) / (f.std() + 1e-8)
    return f


def perturbation(key: jax.Array, j, n: int) -> jax.Array:
    """Direction ``ε_j ~ N(0, I_n)``, regenerated from ``fold_in(key, j)``."""
    return jax.random.normal(jax.random.fold_in(key, j), (n,))


def member_sign(m, antithetic: bool):
    """(direction ``j``, sign ``s``) of member ``m``: antithetic pairs are ``(2j, 2j+1) → (+ε_j, −ε_j)``."""
    if antithetic:
        return m // 2, 1.0 - 2.0 * (m % 2)
    return m, jnp.ones((), jnp.float32)


def weighted_directions(key: jax.Array, weights: jax.Array, n: int, chunk: int) -> jax.Array:
    """``Σ_j w_j ε_j`` over ``weights [D]``, regenerating ``chunk`` directions at a time."""
    d = weights.shape[0]
    chunk = min(chunk, d)
    idx, w = jnp.arange(d).reshape(-1, chunk), weights.reshape(-1, chunk)

    def body(acc, xs):
        ij, wj = xs
        return acc + wj @ jax.vmap(lambda j: perturbation(key, j, n))(ij), None

    return jax.lax.scan(body, jnp.zeros((n,), jnp.float32), (idx, w))[0]


def es_direction_weights(f: jax.Array, how: str, antithetic: bool) -> jax.Array:
    """Per-direction weights ``w_j = Σ_{m: j(m)=j} s_m u_m`` of the shaped fitness ``u``."""
    u = shape_fitness(f, how)
    return u[0::2] - u[1::2] if antithetic else u


def ars_direction_weights(r_plus: jax.Array, r_minus: jax.Array, top: int) -> jax.Array:
    """``w_j = (r⁺_j − r⁻_j) / (b σ_R)`` for the ``b`` best directions by ``max(r⁺, r⁻)``, else 0."""
    best = jax.lax.top_k(jnp.maximum(r_plus, r_minus), top)[1]
    keep = jnp.zeros(r_plus.shape, bool).at[best].set(True)
    sigma_r = jnp.concatenate([r_plus[best], r_minus[best]]).std()
    return jnp.where(keep, r_plus - r_minus, 0.0) / (top * jnp.maximum(sigma_r, 1e-8))


# ---------------------------------------------------------------------------------------------
# Population evaluation.


class Rollouts(NamedTuple):
    fitness: jax.Array  # [pop] mean return over the member's episodes
    length: jax.Array  # [pop] mean episode length
    obs_count: jax.Array  # states visited (for observation statistics), summed over members
    obs_sum: jax.Array
    obs_sumsq: jax.Array


def evaluate_population(member: Callable, pop: int, chunk: int) -> Rollouts:
    """``member(m) -> (return, length, n, Σobs, Σobs²)`` for ``m < pop``, ``chunk`` members side by
    side (``lax.map`` over ``pop/chunk`` rows). Inside a mesh with a ``members`` axis the
    members of a row are sharded over it."""
    rows = pop // chunk
    idx = along_members(jnp.arange(pop).reshape(chunk, rows).T, axis=1)  # row r: members r, r + rows, ...
    ret, length, n, s1, s2 = jax.lax.map(jax.vmap(member), idx)
    order = lambda x: x.T.reshape(pop)  # noqa: E731
    return Rollouts(order(ret), order(length), n.sum(), s1.sum((0, 1)), s2.sum((0, 1)))


class Policy(NamedTuple):
    """A deterministic MLP policy on flat parameters."""

    unravel: Callable
    apply: Callable  # (params pytree, obs) -> output
    discrete: bool
    low: Any
    high: Any

    def __call__(self, params, obs_stats, obs, normalize: bool):
        """The action for ``obs``; ``params`` is the pytree ``unravel(θ)``."""
        x = running_stats.normalize(obs_stats, obs) if normalize else obs
        out = self.apply(params, x)
        if self.discrete:
            return jnp.argmax(out, axis=-1)
        return jnp.clip(out, self.low, self.high)


def make_policy(env, env_params, hidden, activation, key) -> tuple[Policy, jax.Array]:
    """The policy for ``env`` and its initial flat parameters."""
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    if not isinstance(obs_space, Box) or len(obs_space.shape) != 1:
        raise ConfigError(f"{env.name} has {obs_space} observations; the ES policies take flat Box observations")
    if isinstance(act_space, Discrete):
        out, low, high = act_space.n, None, None
    elif isinstance(act_space, Box) and len(act_space.shape) == 1:
        out, low, high = act_space.shape[0], jnp.asarray(act_space.low), jnp.asarray(act_space.high)
    else:
        raise ConfigError(f"{env.name} has {act_space} actions; the ES policies take Discrete or flat Box actions")
    model = MLP(tuple(hidden), out, activation, out_scale=0.01)  # σ-perturbations dominate the output at first
    params = model.init(key, jnp.zeros(obs_space.shape, jnp.float32))
    flat, unravel = ravel_pytree(params)
    return Policy(unravel, model.apply, isinstance(act_space, Discrete), low, high), flat


def rollout(policy: Policy, theta, obs_stats, normalize: bool, env, env_params, key, episodes: int,
            max_steps: int, unroll: int = 1):
    """``(mean return, mean length, n, Σobs, Σobs²)`` of ``episodes`` full episodes of ``θ``;
    every episode runs ``max_steps`` steps with the rewards after its end masked out."""

    params = policy.unravel(theta)  # once, outside the step loop

    def one_episode(k):
        k_reset, k_run = jax.random.split(k)
        state, ts = env.reset(k_reset, env_params)

        def body(carry, t):
            state, obs, ret, length, alive, s1, s2 = carry
            a = policy(params, obs_stats, obs, normalize)
            state, ts = env.step(jax.random.fold_in(k_run, t), state, a, env_params)
            live = alive.astype(jnp.float32)
            s1, s2 = s1 + live * obs, s2 + live * obs * obs
            ret, length = ret + live * ts.reward, length + alive
            return (state, ts.obs, ret, length, alive & ~ts.done, s1, s2), None

        zero = jnp.zeros_like(ts.obs, jnp.float32)
        init = (state, ts.obs, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32), jnp.ones((), bool), zero, zero)
        (_, _, ret, length, _, s1, s2), _ = jax.lax.scan(body, init, jnp.arange(max_steps), unroll=unroll)
        return ret, length, s1, s2

    ret, length, s1, s2 = jax.vmap(one_episode)(jax.random.split(key, episodes))
    return ret.mean(), length.mean(), length.sum(), s1.sum(0), s2.sum(0)


def update_obs_stats(stats: running_stats.RunningStats, r: Rollouts) -> running_stats.RunningStats:
    """Merge the generation's visited-state moments into the running statistics."""
    n = jnp.maximum(r.obs_count, 1).astype(jnp.float32)
    mean = r.obs_sum / n
    var = jnp.maximum(r.obs_sumsq / n - mean**2, 0.0)
    merged = running_stats.update_moments(stats, n, mean, var)
    return jax.tree_util.tree_map(lambda a, b: jnp.where(r.obs_count > 0, a, b), merged, stats)


# ---------------------------------------------------------------------------------------------
# The agent.


class ESState(NamedTuple):
    theta: jax.Array  # flat policy parameters (the distribution's centre)
    opt_state: Any  # optax state, or the evosax strategy state
    obs_stats: running_stats.RunningStats
    key: jax.Array
    generation: jax.Array
    sigma: jax.Array
    config: Any


def build(config, env, env_params, total_steps: int) -> Agent:
    """Close over the static configuration and environment; see ``rlx.algos.base``.
    Steps per update count the simulated steps: population × episodes × time limit."""
    validate(config)
    max_steps = episode_limit(env)
    pop = _population(config)
    chunk = config.chunk or pop
    policy, theta0 = make_policy(env, env_params, config.hidden, config.activation, jax.random.key(0))
    n = theta0.shape[0]
    obs_shape = env.observation_space(env_params).shape
    normalize = config.normalize_obs
    antithetic = not isinstance(config, ESConfig) or config.antithetic
    strategy = _make_evosax(config, theta0) if isinstance(config, EvosaxConfig) else None

    def tx(cfg):
        return getattr(optax, config.optimizer)(cfg.lr) if isinstance(cfg, ESConfig) else optax.sgd(cfg.lr)

    def init(key, cfg) -> ESState:
        k_net, k_run = jax.random.split(key)
        theta = make_policy(env, env_params, config.hidden, config.activation, k_net)[1]
        if isinstance(cfg, ARSConfig) and not config.hidden:
            theta = jnp.zeros_like(theta)  # the paper's linear policies start at zero
        if strategy is not None:
            es, es_params = strategy
            opt_state = es.init(k_net, theta, es_params)
        else:
            opt_state = tx(cfg).init(theta)
        return ESState(theta, opt_state, running_stats.init(obs_shape), k_run,
                       jnp.zeros((), jnp.int32), jnp.asarray(cfg.sigma, jnp.float32), cfg)

    def evaluate(s: ESState, params_of: Callable, k_env) -> Rollouts:
        def member(m):
            j = member_sign(m, antithetic)[0]  # antithetic pairs share their episodes' keys
            return rollout(policy, params_of(m), s.obs_stats, normalize, env, env_params,
                           jax.random.fold_in(k_env, j), config.episodes, max_steps, config.unroll)

        return evaluate_population(member, pop, chunk)

    def update(s: ESState):
        cfg = s.config
        key, k_eps, k_env = jax.random.split(s.key, 3)
        theta, opt_state, sigma = s.theta, s.opt_state, s.sigma
        if strategy is not None:
            es, es_params = strategy
            members, opt_state = es.ask(k_eps, opt_state, es_params)
            r = evaluate(s, lambda m: members[m], k_env)
            opt_state, _ = es.tell(k_eps, members, -r.fitness, opt_state, es_params)
            theta = opt_state.mean
            grad_norm = jnp.linalg.norm(theta - s.theta)
        else:
            def params_of(m):
                j, sign = member_sign(m, antithetic)
                return s.theta + sigma * sign * perturbation(k_eps, j, n)

            r = evaluate(s, params_of, k_env)
            if isinstance(cfg, ARSConfig):
                w = ars_direction_weights(r.fitness[0::2], r.fitness[1::2], config.top)
                g = weighted_directions(k_eps, w, n, chunk)
            else:
                w = es_direction_weights(r.fitness, config.fitness_shaping, antithetic)
                g = weighted_directions(k_eps, w, n, chunk) / (pop * sigma) - cfg.weight_decay * s.theta
                sigma = jnp.maximum(sigma * cfg.sigma_decay, cfg.sigma_min)
            step, opt_state = tx(cfg).update(-g, s.opt_state, s.theta)  # optax descends: ascend g
            theta = optax.apply_updates(s.theta, step)
            grad_norm = jnp.linalg.norm(g)
        obs_stats = update_obs_stats(s.obs_stats, r) if normalize else s.obs_stats
        metrics = dict(episode_return=r.fitness.mean(), best_return=r.fitness.max(),
                       episode_length=r.length.mean(), sigma=s.sigma, grad_norm=grad_norm,
                       theta_norm=jnp.linalg.norm(theta))
        return ESState(theta, opt_state, obs_stats, key, s.generation + 1, sigma, cfg), metrics

    def policy_params(s: ESState):
        return {"theta": s.theta, "obs_stats": s.obs_stats}

    def act(pp, obs, key, deterministic: bool = True):
        return policy(policy.unravel(pp["theta"]), pp["obs_stats"], obs, normalize)

    return Agent(init, update, act, policy_params,
                 steps_per_update=pop * config.episodes * max_steps, population=chunk)


def _make_evosax(c: EvosaxConfig, theta0):
    """(strategy, its params): built with the population size and a flat solution template;
    the initial std is ``sigma`` and, for strategies with an optimiser, Adam(``lr``)."""
    cls = _evosax_class(c.strategy)
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {}
    if "optimizer" in accepted:
        kwargs["optimizer"] = optax.adam(c.lr)
    if "std_schedule" in accepted:
        kwargs["std_schedule"] = optax.constant_schedule(c.sigma)
    es = cls(population_size=c.population, solution=np.zeros(theta0.shape, np.float32), **kwargs)
    params = es.default_params
    if hasattr(params, "std_init"):
        params = params.replace(std_init=c.sigma)
    return es, params

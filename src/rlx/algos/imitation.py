"""Imitation learning: experts, demonstration datasets, behaviour cloning and DAgger.

Every policy here — an expert or a learner — is a pure JAX function
``policy(obs, key) -> action`` of one observation, so expert labelling runs inside
the compiled program that rolls out the environment.

* Experts. :func:`mpc_expert` wraps a planner (CEM, MPPI or iLQR) around an
  environment's own dynamics with the negative reward as cost;
  :func:`pendulum_expert` is that for Pendulum-v1. :func:`policy_expert` turns any
  trained rlx agent into one (its deterministic action).
* Datasets. :func:`collect` rolls out ``episodes`` episodes side by side (``vmap``)
  for up to ``max_steps`` steps (``scan``) in one ``jit``-compiled program and returns
  a :class:`Dataset`: observations, action labels, the actions taken, rewards,
  a valid mask (false after an episode ended) and the episode returns, with the
  environment's and the expert's names. Noisy-expert data (the "corrective labels"
  recipe) is ``collect(..., action_noise=σ)``: the actions *taken* are perturbed,
  the *labels* are the expert's clean actions on the states actually visited.
  :func:`save_dataset` / :func:`load_dataset` store one ``.npz`` file.
* Behaviour cloning (:func:`bc_train`): an MLP policy fitted by Adam on minibatches
  of (observation, label) pairs — mean squared error or Gaussian negative
  log-likelihood for continuous actions, cross-entropy for discrete ones.
* DAgger (:func:`dagger`; Ross, Gordon & Bagnell 2011): all iterations in one
  ``lax.scan``: roll out the mixture ``π_i = β_i·expert + (1 − β_i)·learner``, label the
  visited states with the expert, append them to a pre-allocated buffer, refit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Literal, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rlx.algos.base import ConfigError, check, check_network, check_nonnegative, check_positive
from rlx.core import distributions as D
from rlx.core.pytree import pytree_dataclass, static_field
from rlx.envs.spaces import Box, Discrete
from rlx.nets import MLP

__all__ = [
    "ActionSpec", "BCConfig", "DAggerConfig", "DAggerState", "Dataset", "DatasetError", "action_spec",
    "bc_loss", "bc_policy", "bc_train", "beta_schedule", "collect", "cross_entropy_loss", "dagger",
    "dataset_meta", "evaluate", "gaussian_nll_loss", "init_policy", "load_dataset", "mpc_expert", "mse_loss",
    "pendulum_expert", "pendulum_observe", "policy_expert", "save_dataset", "validate",
]

Policy = Callable[[jax.Array, jax.Array], jax.Array]  # (obs, key) -> action


class DatasetError(ValueError):
    """A dataset that does not fit the environment; the message is one line with the fix."""


# ----------------------------------------------------------------------------- action spaces


class ActionSpec(NamedTuple):
    """A hashable summary of an action space (static under ``jit``).

    ``num_actions``: ``n`` for ``Discrete(n)``, 0 for a box; ``shape``: ``()`` or ``(m,)``;
    ``low``/``high``: the box's flattened bounds (empty for discrete).
    """

    shape: tuple
    num_actions: int
    low: tuple = ()
    high: tuple = ()

    @property
    def discrete(self) -> bool:
        return self.num_actions > 0


def action_spec(space) -> ActionSpec:
    """The :class:`ActionSpec` of a ``Box`` (one-dimensional) or ``Discrete`` space."""
    if isinstance(space, Discrete):
        return ActionSpec((), int(space.n))
    if isinstance(space, Box):
        if len(space.shape) != 1:
            raise ConfigError(f"imitation learning needs [m]-shaped box actions, got shape {space.shape}")
        low = np.broadcast_to(np.asarray(space.low, np.float32), space.shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), space.shape)
        return ActionSpec(tuple(space.shape), 0, tuple(map(float, low)), tuple(map(float, high)))
    raise ConfigError(f"unsupported action space {space!r}: use Box or Discrete actions")


def _perturb(spec: ActionSpec, action, noise, key):
    """The action taken by a noisy expert: ``clip(a + noise·ε)``, ``ε ~ N(0, I)`` (boxes);
    a uniformly random action with probability ``noise`` (discrete)."""
    if spec.discrete:
        k_coin, k_act = jax.random.split(key)
        rand = jax.random.randint(k_act, (), 0, spec.num_actions, action.dtype)
        return jnp.where(jax.random.uniform(k_coin) < noise, rand, action)
    eps = jax.random.normal(key, action.shape, action.dtype)
    return jnp.clip(action + noise * eps, jnp.asarray(spec.low), jnp.asarray(spec.high))


# ----------------------------------------------------------------------------- experts


def _named(f, name: str):
    f.__name__ = f.__qualname__ = name
    return f


def mpc_expert(env, params, observe: Callable, *, horizon: int, planner: str = "cem",
               name: str | None = None, **options) -> Policy:
    """An expert that plans with the environment's own model: ``expert(obs, key) -> u``.

    The model is ``env.unwrapped``'s ``step``: ``dynamics(x, u) = step(x, u).state``
    and ``cost(x, u) = −step(x, u).reward``, so the planner minimises the negative
    return over ``horizon`` steps (plus the stage cost at the last state, with zero
    control). ``observe(obs) -> x`` recovers the planner's state from an observation;
    the environment state must be that flat array (e.g. Pendulum's ``[θ, θ̇]``).

    The expert is stateless: every call plans from scratch, from the zero plan
    ``U = 0`` and a fresh ``key``, and returns the first control of the best plan.
    A warm start (the previous plan, shifted) would make the action depend on the
    history, not only the observation — then it is not a function of the state that
    a learner could imitate or that DAgger could query at arbitrary states. With a
    short horizon and a few iterations this costs little on Pendulum.

    ``planner``: ``"cem"``, ``"mppi"`` (``rlx.control.planners``; ``options`` are their
    keyword arguments, bounds defaulting to the action box) or ``"ilqr"``
    (``rlx.control.ilqr``, deterministic, ``key`` unused).
    """
    from rlx.control.ilqr import ilqr
    from rlx.control.planners import cem, mppi

    check(isinstance(horizon, int) and horizon >= 1, "horizon", horizon, "it must be an int >= 1")
    spec = action_spec(env.action_space(params))
    if spec.discrete:
        raise ConfigError(f"{env.name} has discrete actions: mpc_expert plans continuous controls")
    base = env.unwrapped
    m = spec.shape[0]
    low, high = jnp.asarray(spec.low), jnp.asarray(spec.high)
    model_key = jax.random.key(0)  # the model is deterministic: one fixed key

    def dynamics(x, u, t):
        return base.step(model_key, x, u, params)[0]

    def cost(x, u, t):
        return -base.step(model_key, x, u, params)[1].reward

    if planner in ("cem", "mppi"):
        options = {"action_low": low, "action_high": high, **options}
        solve = cem if planner == "cem" else mppi
    elif planner == "ilqr":
        options = {"u_low": low, "u_high": high, **options}
    else:
        raise ConfigError(f"--planner={planner} is invalid: use cem, mppi or ilqr")

    def expert(obs, key):
        x = observe(obs)
        U0 = jnp.zeros((horizon, m), jnp.float32)
        if planner == "ilqr":
            U = ilqr(cost, dynamics, x, U0, **options).U
        else:
            U = solve(cost, dynamics, x, U0, key, **options).U
        return U[0]

    opts = ",".join(f"{k}={v}" for k, v in options.items() if k not in ("action_low", "action_high",
                                                                         "u_low", "u_high"))
    return _named(expert, name or f"{planner}-mpc(horizon={horizon}{',' if opts else ''}{opts})")


def pendulum_observe(obs):
    """Pendulum-v1's state ``[θ, θ̇]`` from its observation ``[cos θ, sin θ, θ̇]``."""
    return jnp.stack([jnp.arctan2(obs[1], obs[0]), obs[2]])


def pendulum_expert(params=None, planner: str = "cem", *, horizon: int = 25, **options) -> Policy:
    """:func:`mpc_expert` for Pendulum-v1 (rlx's Pendulum dynamics, cost = −reward).

    Defaults: CEM with ``horizon=25``, 100 samples, 10 elites, 6 iterations, initial
    standard deviation 1 — from gymnasium's reset distribution it swings up and
    balances (mean return about −165 over 200 steps). For ``planner="ilqr"`` the
    default is ``max_iters=20`` (deterministic, about −280: from ``U = 0`` it often
    takes a worse swing-up).
    """
    from rlx.envs.classic_control import Pendulum

    env = Pendulum()
    params = env.default_params() if params is None else params
    if planner == "cem":
        options = {"num_samples": 100, "num_elites": 10, "iterations": 6, "init_std": 1.0, **options}
    elif planner == "mppi":
        options = {"num_samples": 100, "iterations": 6, "temperature": 1.0, "noise_std": 1.0, **options}
    elif planner == "ilqr":
        options = {"max_iters": 20, **options}
    return mpc_expert(env, params, pendulum_observe, horizon=horizon, planner=planner, **options)


def policy_expert(agent, policy_params, name: str = "policy") -> Policy:
    """A trained rlx policy as an expert: ``agent.act(policy_params, obs, key, deterministic=True)``
    (e.g. ``result.agent`` and ``result.agent.policy_params(state)`` of a run, one seed)."""
    def expert(obs, key):
        return agent.act(policy_params, obs, key, True)
    return _named(expert, name)


def run_expert(run_dir, seed_index: int = 0, step: int | None = None) -> Policy:
    """The deterministic policy of seed ``seed_index`` of a run folder (``rlx train ... --out
    RUN_DIR``), restored from its latest (or ``step``) checkpoint, as an expert; a one-line
    ``CheckpointError``/``ConfigError`` for a folder that is not a run or a seed it does not have."""
    from rlx.run.runner import load_run

    r = load_run(run_dir, step)
    n = r.run["num_seeds"]
    check(0 <= seed_index < n, "seed_index", seed_index, f"the run has seeds 0..{n - 1}")
    state = jax.tree_util.tree_map(lambda x: x[seed_index], r.states)
    name = f"{r.algo.name}({r.env_name}, seed {r.run['seed'] + seed_index}, update {r.step})"
    return policy_expert(r.agent, r.agent.policy_params(state), name)


# ----------------------------------------------------------------------------- datasets


@pytree_dataclass
class Dataset:
    """Demonstrations, episode-major: ``E`` episodes of up to ``T`` steps.

    ``obs [E, T, *obs_shape]`` the visited observations; ``action [E, T, *a]`` the
    labels (what the learner should output there); ``taken [E, T, *a]`` the actions
    executed; ``reward [E, T]``; ``valid [E, T]`` true up to and including each
    episode's last step; ``returns [E] = Σ_t valid·reward``. Static metadata: the
    environment's and expert's names and the action space.
    """

    obs: jax.Array
    action: jax.Array
    taken: jax.Array
    reward: jax.Array
    valid: jax.Array
    returns: jax.Array
    env_name: str = static_field("")
    expert_name: str = static_field("")
    spec: ActionSpec = static_field(ActionSpec((), 0))

    @property
    def num_labels(self) -> int:
        return int(np.asarray(self.valid).sum())


def _rollouts(env, params, key, episodes: int, max_steps: int, act: Callable):
    """Roll out ``episodes`` episodes for ``max_steps`` steps, no auto-reset.

    ``act(obs, key) -> (taken, label)``. Returns ``obs, taken, label, reward, valid``,
    each ``[E, T, ...]``; ``valid`` is false after an episode's terminal or truncated
    step (those steps are still simulated, and masked).
    """
    k_reset, k_run = jax.random.split(key)
    states, ts = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, episodes), params)
    v_act = jax.vmap(act)
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def step(carry, k):
        states, obs, alive = carry
        k_act, k_env = jax.random.split(k)
        taken, label = v_act(obs, jax.random.split(k_act, episodes))
        states, ts = v_step(jax.random.split(k_env, episodes), states, taken, params)
        reward = jnp.where(alive, ts.reward, 0.0).astype(jnp.float32)
        out = (obs, taken, label, reward, alive)
        return (states, ts.obs, alive & ~ts.done), out

    alive = jnp.ones((episodes,), bool)
    _, out = jax.lax.scan(step, (states, ts.obs, alive), jax.random.split(k_run, max_steps))
    return tuple(jnp.swapaxes(x, 0, 1) for x in out)


def _check_counts(episodes, max_steps):
    for name, v in (("episodes", episodes), ("max_steps", max_steps)):
        check(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1, name, v,
              "it must be an int >= 1")


def _noisy_act(spec, policy, action_noise, label_with):
    def act(obs, key):
        k_pol, k_noise, k_label = jax.random.split(key, 3)
        a = policy(obs, k_pol)
        taken = _perturb(spec, a, action_noise, k_noise)
        label = a if label_with is None else label_with(obs, k_label)
        return taken, label
    return act


def _collect_arrays(env, params, policy, key, action_noise, *, episodes, max_steps, label_with, spec):
    return _rollouts(env, params, key, episodes, max_steps, _noisy_act(spec, policy, action_noise, label_with))


_collect_jit = jax.jit(_collect_arrays, static_argnames=("env", "policy", "episodes", "max_steps", "label_with",
                                                       "spec"))


def collect(env, params, policy: Policy, key, episodes: int, max_steps: int, action_noise=0.0,
            label_with: Policy | None = None, name: str | None = None) -> Dataset:
    """Roll out ``policy`` for ``episodes`` episodes of at most ``max_steps`` steps, all in
    one compiled program (pass the same ``env``/``policy`` objects to reuse it).

    Taken actions: ``a_t = policy(o_t)`` perturbed by ``action_noise`` (box: ``clip(a_t +
    σε)``, ``ε ~ N(0, I)``; discrete: a uniformly random action with probability ``σ``).
    Labels: ``label_with(o_t)`` when given (e.g. the expert, while rolling out a
    learner), else the policy's own clean action ``a_t`` — so
    ``collect(env, params, expert, key, E, T, action_noise=σ)`` is noisy-expert data
    labelled with the expert's corrective actions on the perturbed states it visits.
    ``name``: the expert recorded in the metadata (default: ``label_with``'s or
    ``policy``'s ``__name__``).
    """
    _check_counts(episodes, max_steps)
    check(np.ndim(action_noise) == 0 and float(action_noise) >= 0, "action_noise", action_noise,
          "it must be a scalar >= 0")
    spec = action_spec(env.action_space(params))
    obs, taken, label, reward, valid = _collect_jit(env, params, policy, key, jnp.float32(action_noise),
                                                    episodes=int(episodes), max_steps=int(max_steps),
                                                    label_with=label_with, spec=spec)
    labeller = label_with if label_with is not None else policy
    return Dataset(obs, label, taken, reward, valid, reward.sum(1), env_name=env.name,
                   expert_name=name or getattr(labeller, "__name__", "policy"), spec=spec)


def evaluate(env, params, policy: Policy, key, episodes: int, max_steps: int) -> jax.Array:
    """Undiscounted returns ``[episodes]`` of ``policy`` (traceable: usable inside ``jit``)."""
    _check_counts(episodes, max_steps)
    act = lambda o, k: (policy(o, k), jnp.zeros(()))  # noqa: E731
    reward = _rollouts(env, params, key, episodes, max_steps, act)[3]
    return reward.sum(1)


def save_dataset(path, ds: Dataset) -> Path:
    """Write ``ds`` to ``path`` (``.npz`` appended if missing): its arrays and a JSON
    ``meta`` entry (environment, expert, spaces, episodes, return statistics)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    returns = np.asarray(ds.returns)
    meta = dict(env=ds.env_name, expert=ds.expert_name, obs_shape=list(np.shape(ds.obs)[2:]),
                action_shape=list(ds.spec.shape), num_actions=ds.spec.num_actions,
                action_low=list(ds.spec.low), action_high=list(ds.spec.high),
                episodes=int(np.shape(ds.obs)[0]), max_steps=int(np.shape(ds.obs)[1]),
                labels=ds.num_labels, return_mean=float(returns.mean()), return_std=float(returns.std()),
                returns=returns.tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f: np.asarray(getattr(ds, f)) for f in ("obs", "action", "taken", "reward", "valid", "returns")}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def dataset_meta(path) -> dict:
    """The JSON metadata stored in a dataset file."""
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f["meta"]))


def load_dataset(path, env, params) -> Dataset:
    """Read a dataset written by :func:`save_dataset` for ``env`` (with ``params``); a one-line
    :class:`DatasetError` when its observation or action space differs from ``env``'s."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"no dataset at {path}: write one with rlx.algos.imitation.save_dataset")
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        arrays = {k: f[k] for k in ("obs", "action", "taken", "reward", "valid", "returns")}
    spec = action_spec(env.action_space(params))
    obs_shape = tuple(env.observation_space(params).shape)
    where = f"dataset {path.name} (collected on {meta['env']})"
    fix = f"load it with the environment it was collected on, or collect a new dataset on {env.name}"
    if tuple(meta["obs_shape"]) != obs_shape:
        raise DatasetError(f"{where} has observations of shape {tuple(meta['obs_shape'])} but {env.name}'s "
                           f"are {obs_shape}: {fix}")
    if meta["num_actions"] != spec.num_actions or tuple(meta["action_shape"]) != spec.shape:
        def desc(n, shape):
            return f"Discrete({n})" if n else f"Box{tuple(shape)}"
        raise DatasetError(f"{where} has actions {desc(meta['num_actions'], meta['action_shape'])} but "
                           f"{env.name}'s are {desc(spec.num_actions, spec.shape)}: {fix}")
    if not spec.discrete and not (np.allclose(meta["action_low"], spec.low)
                                  and np.allclose(meta["action_high"], spec.high)):
        raise DatasetError(f"{where} has action bounds [{meta['action_low']}, {meta['action_high']}] but "
                           f"{env.name} with these params has [{list(spec.low)}, {list(spec.high)}]: pass "
                           "the env params the dataset was collected with")
    return Dataset(**{k: jnp.asarray(v) for k, v in arrays.items()}, env_name=meta["env"],
                   expert_name=meta["expert"], spec=spec)


# ----------------------------------------------------------------------------- behaviour cloning


@pytree_dataclass
class BCConfig:
    """Behaviour cloning by minibatch Adam on (observation, label) pairs."""

    lr: float = 1e-3  # Adam step size
    max_grad_norm: float = 10.0  # global-norm gradient clip
    steps: int = static_field(2000)  # Adam steps
    batch_size: int = static_field(256)  # pairs per step, drawn uniformly from the valid rows
    hidden: tuple[int, ...] = static_field((64, 64))  # MLP widths
    activation: Literal["tanh", "relu", "elu", "gelu", "silu"] = static_field("tanh")
    loss: Literal["mse", "gaussian"] = static_field("mse")  # continuous actions; discrete: cross-entropy


@pytree_dataclass
class DAggerConfig(BCConfig):
    """DAgger: ``iterations`` rounds of mixture rollouts, expert labels, aggregation and refitting."""

    beta0: float = 1.0  # β_0, the expert's share in the first iteration
    beta_decay: float = 0.5  # exponential schedule: β_i = β0·decay^i
    iterations: int = static_field(10)
    episodes: int = static_field(2)  # rollouts per iteration
    max_steps: int = static_field(200)  # steps per rollout
    schedule: Literal["exponential", "linear"] = static_field("exponential")  # linear: β0·(1 − i/(I−1))
    eval_episodes: int = static_field(0)  # learner-only evaluation episodes after each iteration


def validate(c: BCConfig) -> None:
    """One-line ``ConfigError`` for the first invalid field."""
    check_positive(c, "lr", "max_grad_norm", "steps", "batch_size")
    check_network(c)
    check(c.loss in ("mse", "gaussian"), "loss", c.loss, "use mse or gaussian")
    if isinstance(c, DAggerConfig):
        check_positive(c, "iterations", "episodes", "max_steps")
        check_nonnegative(c, "eval_episodes")
        check(0.0 <= c.beta0 <= 1.0, "beta0", c.beta0, "it must lie in [0, 1]")
        check(0.0 <= c.beta_decay <= 1.0, "beta_decay", c.beta_decay, "it must lie in [0, 1]")
        check(c.schedule in ("exponential", "linear"), "schedule", c.schedule, "use exponential or linear")


def mse_loss(pred, target, weight):
    """``Σ_i w_i ‖ŷ_i − y_i‖² / Σ_i w_i`` (``pred``/``target`` ``[B, m]``, ``weight [B]``)."""
    chex.assert_rank([pred, target, weight], [2, 2, 1])
    chex.assert_equal_shape([pred, target])
    return jnp.sum(weight * jnp.sum((pred - target) ** 2, -1)) / jnp.maximum(weight.sum(), 1e-8)


def gaussian_nll_loss(mean, log_std, target, weight):
    """``−Σ_i w_i log N(y_i; μ_i, diag σ²) / Σ_i w_i``. With a state-independent ``log σ``
    its minimiser in ``μ`` is the MSE fit and ``σ²`` the residual variance per dimension."""
    chex.assert_rank([mean, target, weight], [2, 2, 1])
    chex.assert_equal_shape([mean, target])
    logp = D.gaussian_log_prob(mean, jnp.broadcast_to(log_std, mean.shape), target)
    return -jnp.sum(weight * logp) / jnp.maximum(weight.sum(), 1e-8)


def cross_entropy_loss(logits, target, weight):
    """``−Σ_i w_i log softmax(z_i)[y_i] / Σ_i w_i`` (``logits [B, n]``, integer ``target [B]``)."""
    chex.assert_rank([logits, target, weight], [2, 1, 1])
    chex.assert_equal_shape_prefix([logits, target, weight], 1)
    return -jnp.sum(weight * D.categorical_log_prob(logits, target)) / jnp.maximum(weight.sum(), 1e-8)


def _net(config: BCConfig, spec: ActionSpec) -> MLP:
    out = spec.num_actions if spec.discrete else spec.shape[0]
    return MLP(tuple(config.hidden), out, config.activation)


def init_policy(key, config: BCConfig, spec: ActionSpec, obs_shape: tuple) -> dict:
    """Fresh learner parameters: ``{"net", "log_std", "obs_mean", "obs_std"}``; the policy
    sees ``(o − obs_mean) / obs_std`` (set from the training data by :func:`bc_train`)."""
    obs_shape = tuple(obs_shape)
    net = _net(config, spec).init(key, jnp.zeros(obs_shape, jnp.float32))
    m = 1 if spec.discrete else spec.shape[0]
    return {"net": net, "log_std": jnp.zeros((m,), jnp.float32),
            "obs_mean": jnp.zeros(obs_shape, jnp.float32), "obs_std": jnp.ones(obs_shape, jnp.float32)}


def policy_output(pp, obs, config, spec):
    """The learner's network output on ``(obs - obs_mean) / obs_std``: the action mean, or
    class logits for discrete actions."""
    x = (obs - pp["obs_mean"]) / pp["obs_std"]
    return _net(config, spec).apply(pp["net"], x)


def bc_loss(pp, obs, labels, weight, config: BCConfig, spec: ActionSpec):
    """The behaviour-cloning loss of learner ``pp`` on a batch ``obs [B, *obs_shape]``,
    ``labels [B, *a]``, ``weight [B]`` (:func:`mse_loss`, :func:`gaussian_nll_loss` or
    :func:`cross_entropy_loss`)."""
    out = policy_output(pp, obs, config, spec)
    if spec.discrete:
        return cross_entropy_loss(out, labels.astype(jnp.int32), weight)
    if config.loss == "gaussian":
        return gaussian_nll_loss(out, pp["log_std"], labels, weight)
    return mse_loss(out, labels, weight)


def bc_policy(pp, config: BCConfig, spec: ActionSpec) -> Policy:
    """The learner as ``policy(obs, key)``: the predicted mean clipped to the box, or the
    arg-max class (deterministic; ``key`` unused)."""
    def policy(obs, key):
        out = policy_output(pp, obs, config, spec)
        if spec.discrete:
            return D.categorical_mode(out)
        return jnp.clip(out, jnp.asarray(spec.low), jnp.asarray(spec.high))
    return policy


def weighted_normaliser(obs, weight):
    """Weighted mean and standard deviation (floored at 1e-3) over the rows of ``obs``."""
    w = weight.reshape((-1,) + (1,) * (obs.ndim - 1)) / jnp.maximum(weight.sum(), 1e-8)
    mean = jnp.sum(w * obs, 0)
    std = jnp.sqrt(jnp.sum(w * (obs - mean) ** 2, 0))
    return mean, jnp.maximum(std, 1e-3)


def _fit(key, obs, labels, weight, config: BCConfig, spec: ActionSpec):
    """Fit a fresh learner to rows ``obs [N, ...]``, ``labels [N, ...]`` weighted by
    ``weight [N]`` (0: unused row): ``config.steps`` Adam steps on minibatches drawn
    with probability ``∝ weight``, as one ``lax.scan``. Returns ``(pp, final_loss)``,
    the final loss being the mean minibatch loss over the last tenth of the steps."""
    chex.assert_equal_shape_prefix([obs, labels, weight], 1)
    k_init, k_batches = jax.random.split(key)
    pp = init_policy(k_init, config, spec, obs.shape[1:])
    mean, std = weighted_normaliser(obs, weight)
    pp = {**pp, "obs_mean": mean, "obs_std": std}
    return adam_fit(k_batches, pp, obs, labels, weight, config, spec)


def adam_fit(key, pp, obs, labels, weight, config: BCConfig, spec: ActionSpec):
    """``config.steps`` Adam steps (fresh optimiser state) on :func:`bc_loss` from the learner
    ``pp`` (its normaliser kept), minibatches of ``config.batch_size`` rows drawn with
    probability ``∝ weight``; one ``lax.scan``. Returns ``(pp, final_loss)`` as :func:`_fit`."""
    chex.assert_equal_shape_prefix([obs, labels, weight], 1)
    trainable = {"net": pp["net"], "log_std": pp["log_std"]}
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.lr))
    cdf = jnp.cumsum(weight)
    ones = jnp.ones((config.batch_size,), jnp.float32)

    def loss_fn(t, idx):
        return bc_loss({**pp, **t}, obs[idx], labels[idx], ones, config, spec)

    def step(carry, k):
        t, opt_state = carry
        u = jax.random.uniform(k, (config.batch_size,)) * cdf[-1]
        idx = jnp.clip(jnp.searchsorted(cdf, u, side="right"), 0, obs.shape[0] - 1)
        loss, grads = jax.value_and_grad(loss_fn)(t, idx)
        updates, opt_state = tx.update(grads, opt_state, t)
        return (optax.apply_updates(t, updates), opt_state), loss

    (trainable, _), losses = jax.lax.scan(step, (trainable, tx.init(trainable)),
                                          jax.random.split(key, config.steps))
    tail = max(1, config.steps // 10)
    return {**pp, **trainable}, losses[-tail:].mean()


def _flat(ds: Dataset):
    E, T = ds.valid.shape
    rows = lambda x: x.reshape((E * T,) + x.shape[2:])  # noqa: E731
    return rows(ds.obs), rows(ds.action), rows(ds.valid).astype(jnp.float32)


@jax.jit
def _bc_train(key, ds: Dataset, config: BCConfig):
    return _fit(key, *_flat(ds), config, ds.spec)


def bc_train(key, dataset: Dataset, config: BCConfig = BCConfig(), return_loss: bool = False):
    """Behaviour cloning: fit a fresh MLP policy to the valid rows of ``dataset``,
    minimising ``E_{(o, a*) ~ D} ℓ(π(o), a*)`` (``config.loss``: squared error or
    Gaussian NLL for boxes; cross-entropy for discrete actions) with ``config.steps``
    Adam steps in one ``lax.scan``. Returns the learner's parameters (and the final
    training loss with ``return_loss``); act with :func:`bc_policy`. ``jit``-compiled
    once per dataset shape and static configuration; vmappable over keys, the
    ``valid`` mask (e.g. subsets of episodes) and ``lr``.
    """
    validate(config)
    if dataset.obs.ndim < 3 or dataset.valid.ndim != 2 or dataset.obs.shape[:2] != dataset.valid.shape:
        raise ConfigError(f"dataset arrays must be [episodes, steps, ...]; got obs {dataset.obs.shape} "
                          f"and valid {dataset.valid.shape}")
    if not isinstance(dataset.valid, jax.core.Tracer) and not bool(np.asarray(dataset.valid).any()):
        raise ConfigError("the dataset has no valid rows: collect some demonstrations first")
    pp, loss = _bc_train(key, dataset, config)
    return (pp, loss) if return_loss else pp


# ----------------------------------------------------------------------------- DAgger


def beta_schedule(config: DAggerConfig) -> jax.Array:
    """``β_i`` for ``i = 0 .. iterations − 1``: ``β0·decay^i`` (exponential) or
    ``β0·max(0, 1 − i/(iterations − 1))`` (linear: from ``β0`` down to 0)."""
    i = jnp.arange(config.iterations, dtype=jnp.float32)
    if config.schedule == "linear":
        return config.beta0 * jnp.maximum(0.0, 1.0 - i / max(config.iterations - 1, 1))
    return config.beta0 * jnp.asarray(config.beta_decay, jnp.float32) ** i


class DAggerState(NamedTuple):
    """The aggregated dataset, pre-allocated for every iteration: ``obs [C, ...]``,
    ``labels [C, ...]``, ``weight [C]`` (1 on valid rows), ``count`` the valid rows
    so far; ``C = iterations · episodes · max_steps``."""

    obs: jax.Array
    labels: jax.Array
    weight: jax.Array
    count: jax.Array


def _dagger(key, env, params, expert, config: DAggerConfig, spec: ActionSpec, obs_shape: tuple, eval_key=None):
    E, T, I = config.episodes, config.max_steps, config.iterations
    rows, cap = E * T, I * E * T
    label_dtype = jnp.int32 if spec.discrete else jnp.float32
    buf = DAggerState(jnp.zeros((cap,) + obs_shape, jnp.float32), jnp.zeros((cap,) + spec.shape, label_dtype),
                      jnp.zeros((cap,), jnp.float32), jnp.zeros((), jnp.int32))
    k_init, k_iters = jax.random.split(key)
    pp0 = init_policy(k_init, config, spec, obs_shape)
    betas = beta_schedule(config)

    def iteration(carry, inputs):
        buf, pp = carry
        i, beta, k = inputs
        k_roll, k_fit, k_eval = jax.random.split(k, 3)
        k_eval = k_eval if eval_key is None else eval_key
        learner = bc_policy(pp, config, spec)

        def act(obs, key):
            k_exp, k_learn, k_coin = jax.random.split(key, 3)
            label = expert(obs, k_exp).astype(label_dtype)
            mine = learner(obs, k_learn).astype(label_dtype)
            return jnp.where(jax.random.uniform(k_coin) < beta, label, mine), label

        obs, _, label, reward, valid = _rollouts(env, params, k_roll, E, T, act)
        start = i * rows

        def put(b, x):  # iteration i's rows go to [i·rows, (i + 1)·rows)
            return jax.lax.dynamic_update_slice_in_dim(b, x.reshape((rows,) + x.shape[2:]).astype(b.dtype), start, 0)

        buf = DAggerState(put(buf.obs, obs), put(buf.labels, label), put(buf.weight, valid),
                          buf.count + valid.sum().astype(jnp.int32))
        pp, loss = _fit(k_fit, buf.obs, buf.labels, buf.weight, config, spec)
        metrics = dict(beta=beta, labels=buf.count, loss=loss, rollout_return=reward.sum(1).mean())
        if config.eval_episodes:
            metrics["eval_return"] = evaluate(env, params, bc_policy(pp, config, spec), k_eval,
                                              config.eval_episodes, T).mean()
        return (buf, pp), metrics

    xs = (jnp.arange(I), betas, jax.random.split(k_iters, I))
    (buf, pp), metrics = jax.lax.scan(iteration, (buf, pp0), xs)
    return pp, buf, metrics


_dagger_jit = jax.jit(_dagger, static_argnames=("env", "expert", "spec", "obs_shape"))


def dagger(key, env, params, expert: Policy, config: DAggerConfig = DAggerConfig(), eval_key=None):
    """DAgger (Ross, Gordon & Bagnell 2011), every iteration inside one compiled ``lax.scan``.

    Iteration ``i = 0 .. I − 1``:

    1. roll out ``config.episodes`` episodes of the mixture ``π_i``: at every step, with
       probability ``β_i`` (a fresh Bernoulli draw per step) the expert's action, else
       the current learner's (``β_i`` from :func:`beta_schedule`; ``β_0 = 1`` makes
       iteration 0 plain expert demonstrations);
    2. label every visited state with the expert, ``a* = expert(o)``;
    3. aggregate: write the rows into the buffer ``D`` pre-allocated for all
       iterations (``I · episodes · max_steps`` rows; ``count`` the valid ones);
    4. refit: a fresh learner trained by behaviour cloning on all of ``D``
       (``config.steps`` Adam steps; the supervised problem of DAgger's
       "train π_{i+1} on D").

    Returns ``(learner params, buffer, metrics)``; ``metrics[k]`` is ``[I]`` per
    iteration: ``beta``, ``labels`` (valid rows after the iteration), ``loss``,
    ``rollout_return`` (the mixture's mean return) and, with ``eval_episodes``,
    ``eval_return`` (the refitted learner alone, on fresh episodes each iteration, or on
    the same ones every iteration when ``eval_key`` is given).
    """
    validate(config)
    spec = action_spec(env.action_space(params))
    obs_shape = tuple(env.observation_space(params).shape)
    return _dagger_jit(key, env, params, expert, config, spec, obs_shape, eval_key)

"""Environments from other libraries in rlx, and rlx environments in gymnasium.

Into rlx (pure, jittable, vmappable; every rlx agent trains on them):

    env, params = rlx.make("gymnax/Breakout-MinAtar")     # pip install "rlx[gymnax]"
    env, params = rlx.make("brax/inverted_pendulum", backend="spring")   # pip install "rlx[brax]"
    env = from_gymnax(gymnax_env, gymnax_params)
    env = from_brax(brax.envs.get_environment("ant"))
    env, params = rlx.make("playground/CartpoleBalance")   # pip install "rlx[playground]"
    env = from_playground(mujoco_playground.registry.load(name, config_overrides={"impl": "jax"}))

Out of rlx (numpy in, numpy out; for gymnasium-based tools):

    genv = to_gymnasium("CartPole-v1")                     # a gymnasium.Env
    venv = to_gymnasium_vector("CartPole-v1", num_envs=8)  # a gymnasium.vector.VectorEnv

``GymnasiumEnv`` and ``GymnasiumVectorEnv`` (the classes) import gymnasium on first use.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.core import AutoReset, Environment, TimeLimit, TimeStep
from rlx.envs.registry import EnvSpec, make, register_namespace


def _require(module: str, extra: str):
    """``import module``, or a one-line error naming the rlx extra when its package is missing."""
    root = module.split(".")[0]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # mujoco.mjx (via brax) prints that warp is missing
            return importlib.import_module(module)
    except ImportError as e:
        if (e.name or root).split(".")[0] != root:
            raise  # the package is there, one of its own imports failed
        raise ImportError(f'this needs the {root} package: pip install "rlx[{extra}]"') from None


# --------------------------------------------------------------------------- gymnax -> rlx


class GymnaxEnv(Environment):
    """A gymnax (>= 1.0) environment as an rlx environment, without auto-reset.

    * ``reset(key, params)`` is gymnax's ``reset_env(key, params)``; its ``TimeStep`` has
      reward 0, ``terminated = truncated = False`` and an empty ``info``.
    * ``step(key, state, a, params)`` is gymnax's ``step_env`` (not ``step``, which
      auto-resets): ``terminated`` is step_env's flag (gymnax >= 1.0 keeps it free of time
      limits), ``truncated = env.is_truncated(next_state, params)`` (gymnax's rule:
      ``state.time >= params.max_steps_in_episode``), ``reward`` as float32 and ``info``
      step_env's dict (e.g. ``discount``).
    * ``params`` are gymnax's ``EnvParams`` (a pytree: vmappable); spaces are converted to
      rlx's ``Box``/``Discrete`` (Discrete actions as int32).

    With rlx's ``AutoReset`` on top, this steps exactly as gymnax's own auto-resetting
    ``step`` on the same keys (both split a key into step and reset keys). Environments
    that override gymnax's ``step`` to carry counters over resets (DeepSea-bsuite's
    cumulative regret) lose that carry-over; their transitions are unchanged.
    """

    def __init__(self, env: Any, env_params: Any = None):
        self.env = env
        self.params = env.default_params if env_params is None else env_params
        self.name = f"gymnax/{env.name}"

    def default_params(self):
        return self.params

    def reset(self, key, params):
        obs, state = self.env.reset_env(key, params)
        false = jnp.zeros((), bool)
        return state, TimeStep(obs, jnp.zeros((), jnp.float32), false, false, {})

    def step(self, key, state, action, params):
        obs, state, reward, terminated, info = self.env.step_env(key, state, action, params)
        truncated = self.env.is_truncated(state, params)
        return state, TimeStep(obs, jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool),
                               jnp.asarray(truncated, bool), dict(info))

    def observation_space(self, params):
        return _space_from_gymnax(self.env.observation_space(params), "observation")

    def action_space(self, params):
        return _space_from_gymnax(self.env.action_space(params), "action")


def _space_from_gymnax(space, what: str) -> spaces.Space:
    kind = type(space).__name__
    if kind == "Discrete":
        return spaces.Discrete(int(space.n))
    if kind == "Box":
        shape = tuple(space.shape)
        low, high = (np.broadcast_to(np.asarray(b, np.float32), shape) for b in (space.low, space.high))
        return spaces.Box(low, high, shape, jnp.dtype(space.dtype))
    raise TypeError(f"the gymnax {what} space {space!r} is neither Box nor Discrete: "
                    "flatten it with a gymnax wrapper before from_gymnax")


def from_gymnax(env: Any, env_params: Any = None) -> Environment:
    """A gymnax environment (``env, env_params = gymnax.make(id)``) as an rlx environment:
    ``GymnaxEnv`` (see there for the mapping), inside ``TimeLimit(max_steps_in_episode)``
    of ``env_params`` when it has one. The time limit duplicates gymnax's own truncation
    (both cut at ``time >= max_steps_in_episode``) so that rlx's evaluation knows the
    episode length; a vmapped ``max_steps_in_episode`` larger than this one is cut here."""
    if isinstance(env, tuple):
        raise TypeError("from_gymnax takes the environment, not gymnax.make's pair: "
                        "env, params = gymnax.make(id); from_gymnax(env, params)")
    if not all(hasattr(env, a) for a in ("step_env", "reset_env", "is_truncated")):
        raise TypeError(f"from_gymnax takes a gymnax>=1.0 Environment, got {type(env).__name__}")
    adapted = GymnaxEnv(env, env_params)
    limit = getattr(adapted.params, "max_steps_in_episode", None)
    if limit is not None and np.ndim(limit) == 0 and math.isfinite(float(limit)) and float(limit) >= 1:
        return TimeLimit(adapted, int(limit))
    return adapted


def _gymnax_names() -> list[str]:
    return list(_require("gymnax", "gymnax").registered_envs)


def _gymnax_factory(env_id: str, env_params: Any = None, **kwargs) -> Environment:
    env, default = _require("gymnax", "gymnax").make(env_id, **kwargs)
    return from_gymnax(env, default if env_params is None else env_params)


# rlx.make("gymnax/<id>", env_params=None, **constructor_kwargs); the time limit is from_gymnax's
register_namespace("gymnax", "gymnax", "gymnax", _gymnax_names,
                   lambda env_id: EnvSpec(functools.partial(_gymnax_factory, env_id), None))


# --------------------------------------------------------------------------- brax -> rlx


@pytree_dataclass
class NoParams:
    """Adapted environments keep their constants inside the wrapped object (brax: ``env.sys``): no
    params pytree."""


class _StateEnv(Environment):
    """What brax and MuJoCo Playground environments share: ``reset(key) -> State`` and
    ``step(state, a) -> State`` with ``obs``, ``reward``, ``done`` and ``metrics``; actions in
    [-1, 1]; constants inside the wrapped object (``NoParams``)."""

    env: Any

    def _obs(self, s):
        return s.obs

    def default_params(self):
        return NoParams()

    def reset(self, key, params):
        s = self.env.reset(key)
        false = jnp.zeros((), bool)
        return s, TimeStep(self._obs(s), jnp.zeros((), jnp.float32), false, false, dict(s.metrics))

    def action_space(self, params):
        return spaces.box(-1.0, 1.0, (self.env.action_size,))


class BraxEnv(_StateEnv):
    """A raw brax environment (``brax.envs.get_environment(name)``) as an rlx environment.

    * ``reset(key, params)`` is ``env.reset(key)``; ``step(key, state, a, params)`` is
      ``env.step(state, a)`` (brax steps are deterministic: ``key`` is unused). The rlx
      state is brax's ``State``.
    * ``terminated = done & ~truncation`` and ``truncated = truncation``, with
      ``truncation = state.info["truncation"]`` where a wrapper set it (raw envs: never);
      ``reward`` as float32; ``info`` is brax's ``metrics`` (the reward terms).
    * Spaces: ``Box(-inf, inf, (observation_size,))`` and ``Box(-1, 1, (action_size,))``
      (brax's envs take actions in [-1, 1]); params: an empty ``NoParams``.
    """

    def __init__(self, env: Any, name: str | None = None):
        self.env = env
        self.name = name or f"brax/{type(env).__name__}"

    def step(self, key, state, action, params):
        s = self.env.step(state, action)
        trunc = jnp.asarray(s.info.get("truncation", 0.0)) > 0
        term = jnp.logical_and(jnp.asarray(s.done) > 0, ~trunc)
        return s, TimeStep(s.obs, jnp.asarray(s.reward, jnp.float32), term, trunc, dict(s.metrics))

    def observation_space(self, params):
        size = self.env.observation_size
        if not isinstance(size, int):
            raise TypeError(f"{self.name} has observations {size}; from_brax needs a flat vector")
        return spaces.box(-np.inf, np.inf, (size,))


def from_brax(env: Any, max_steps: int | None = 1000, name: str | None = None) -> Environment:
    """A raw brax environment as an rlx environment (``BraxEnv``: see there for the mapping),
    in ``TimeLimit(max_steps)`` (brax's own default episode length, 1000) unless ``None``.
    brax's training wrappers (``brax.envs.create``'s episode, auto-reset and vmap wrappers)
    are refused: rlx's ``TimeLimit``, ``AutoReset`` and ``vmap`` replace them."""
    brax_envs = _require("brax.envs", "brax")
    from brax.envs.wrappers import training

    if not isinstance(env, brax_envs.Env):
        raise TypeError(f"from_brax takes a brax.envs.Env, got {type(env).__name__}")
    e = env
    while isinstance(e, brax_envs.Wrapper):
        if isinstance(e, (training.EpisodeWrapper, training.AutoResetWrapper, training.VmapWrapper)):
            raise TypeError(f"from_brax takes the raw env (brax.envs.get_environment(name)), not one in brax's "
                            f"{type(e).__name__}: rlx's TimeLimit, AutoReset and vmap replace it")
        e = e.env
    adapted = BraxEnv(env, name)
    return adapted if max_steps is None else TimeLimit(adapted, max_steps)


def _brax_names() -> list[str]:
    return sorted(_require("brax.envs", "brax")._envs)  # brax's registry (it has no public listing)


def _brax_factory(env_id: str, **kwargs) -> Environment:
    return from_brax(_require("brax.envs", "brax").get_environment(env_id, **kwargs), None, f"brax/{env_id}")


# rlx.make("brax/<name>", backend=..., **constructor_kwargs), in TimeLimit(1000)
register_namespace("brax", "brax", "brax", _brax_names,
                   lambda env_id: EnvSpec(functools.partial(_brax_factory, env_id), 1000))


# --------------------------------------------------------------------------- MuJoCo Playground -> rlx


class PlaygroundEnv(_StateEnv):
    """A MuJoCo Playground environment (``mujoco_playground.registry.load(name)``) as an rlx
    environment, on MJX's JAX implementation (so it compiles, vmaps and runs on the CPU).

    * ``reset(key, params)`` is ``env.reset(key)``; ``step(key, state, a, params)`` is
      ``env.step(state, a)`` (playground keeps its own key in ``state.info["rng"]``: ``key`` is
      unused). The rlx state is playground's ``State``.
    * Raw playground environments never truncate (their training wrapper adds the episode
      limit): ``terminated = done``, ``truncated = False``; the time limit is rlx's
      ``TimeLimit``. ``info`` is playground's ``metrics`` (the reward terms).
    * Spaces: ``Box(-inf, inf, (observation_size,))`` and ``Box(-1, 1, (action_size,))``.
      Dictionary observations (``{"state": ..., "privileged_state": ...}``) need ``obs_key``.
    """

    def __init__(self, env: Any, name: str | None = None, obs_key: str | None = None):
        self.env, self.obs_key = env, obs_key
        self.name = name or f"playground/{type(env).__name__}"
        size = env.observation_size
        if isinstance(size, int) or obs_key is None:
            if not isinstance(size, int):
                raise TypeError(f"{self.name} has dictionary observations {dict(size)}: pick the vector "
                                f"the policy sees with obs_key (one of {', '.join(size)})")
            if obs_key is not None:
                raise TypeError(f"{self.name} has vector observations: obs_key={obs_key!r} does not apply")
            self.size = size
        else:
            if obs_key not in size:
                raise TypeError(f"{self.name} has no observation {obs_key!r}: use one of {', '.join(size)}")
            shape = size[obs_key]
            if len(shape) != 1:
                raise TypeError(f"{self.name}'s observation {obs_key!r} has shape {shape}; rlx needs a vector")
            self.size = int(shape[0])

    def _obs(self, s):
        return s.obs if self.obs_key is None else s.obs[self.obs_key]

    def step(self, key, state, action, params):
        s = self.env.step(state, action)
        return s, TimeStep(self._obs(s), jnp.asarray(s.reward, jnp.float32), jnp.asarray(s.done) > 0,
                           jnp.zeros((), bool), dict(s.metrics))

    def observation_space(self, params):
        return spaces.box(-np.inf, np.inf, (self.size,))


def _playground_impl(env) -> str:
    """``"jax"`` or ``"warp"``: the MJX implementation of the environment's model (MJX versions
    before the ``impl`` field had only the JAX one)."""
    impl = getattr(getattr(env, "mjx_model", None), "impl", None)
    return "jax" if impl is None else str(getattr(impl, "value", impl)).lower()


def from_playground(env: Any, max_steps: int | None = 1000, name: str | None = None,
                    obs_key: str | None = None) -> Environment:
    """A MuJoCo Playground environment as an rlx environment (``PlaygroundEnv``: see there), in
    ``TimeLimit(max_steps)`` unless ``None`` (playground's default ``episode_length`` is 1000).
    The environment must use MJX's JAX implementation (``registry.load(name,
    config_overrides={"impl": "jax"})``): MuJoCo Warp's kernels do not ``vmap``."""
    mjx_env = _require("mujoco_playground", "playground").MjxEnv
    if not isinstance(env, mjx_env):
        raise TypeError(f"from_playground takes a mujoco_playground MjxEnv, got {type(env).__name__}")
    impl = _playground_impl(env)
    label = name or f"playground/{type(env).__name__}"
    if impl != "jax":
        raise TypeError(f"{label} uses MJX's {impl!r} implementation (MuJoCo Warp, GPU only; its kernels do not "
                        "vmap): load it with config_overrides={'impl': 'jax'} to use it in rlx")
    adapted = PlaygroundEnv(env, name, obs_key)
    return adapted if max_steps is None else TimeLimit(adapted, max_steps)


def _playground_names() -> list[str]:
    return sorted(_require("mujoco_playground", "playground").registry.ALL_ENVS)


def _playground_factory(env_id: str, obs_key: str | None = None, **config_overrides) -> Environment:
    """``registry.load(env_id)`` on the JAX implementation, with its ``action_repeat``; one-line
    errors for an environment that needs MuJoCo Warp or cannot load here."""
    from rlx.envs.pixels import ActionRepeat

    registry = _require("mujoco_playground", "playground").registry
    label = f"playground/{env_id}"
    overrides = {"impl": "jax", **config_overrides}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            env = registry.load(env_id, config_overrides=overrides)
            config = registry.get_default_config(env_id)
    except Exception as e:  # noqa: BLE001 - re-raised as one line
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "git" in msg or "menagerie" in msg.lower():
            hint = "locomotion and manipulation tasks download mujoco_menagerie on first use (internet access)"
        elif "warp" in msg.lower():
            hint = "it needs MuJoCo Warp (impl='warp', GPU only), which rlx cannot vmap"
        else:
            hint = "check the keyword arguments: they are the task's config overrides"
        raise ValueError(f"cannot load {label} on MJX's JAX implementation ({type(e).__name__}: {msg}); "
                         f"{hint}") from None
    if _playground_impl(env) != "jax":
        raise ValueError(f"{label} needs MuJoCo Warp (impl='warp', GPU only); rlx runs playground tasks on MJX's "
                         "JAX implementation")
    repeat = int(config_overrides.get("action_repeat", getattr(config, "action_repeat", 1)) or 1)
    length = int(config_overrides.get("episode_length", getattr(config, "episode_length", 1000)))
    adapted: Environment = PlaygroundEnv(env, label, obs_key)
    if repeat > 1:
        adapted = ActionRepeat(adapted, repeat)
    return TimeLimit(adapted, max(math.ceil(length / repeat), 1))  # as brax's EpisodeWrapper counts


# rlx.make("playground/<name>", obs_key=..., **config_overrides): its time limit is the task's episode_length
register_namespace("playground", "mujoco_playground", "playground", _playground_names,
                   lambda env_id: EnvSpec(functools.partial(_playground_factory, env_id), None))


# --------------------------------------------------------------------------- rlx -> gymnasium


def _resolve(name_or_env, params):
    if isinstance(name_or_env, str):
        env, default = make(name_or_env)
    elif isinstance(name_or_env, Environment):
        env, default = name_or_env, name_or_env.default_params()
    else:
        raise TypeError(f"expected an rlx environment name or Environment, got {type(name_or_env).__name__}")
    return env, default if params is None else params


def _gym_space(space):
    gym = _require("gymnasium", "gymnasium")
    if isinstance(space, spaces.Discrete):
        return gym.spaces.Discrete(space.n)
    dtype = np.dtype(space.dtype)
    low, high = (np.broadcast_to(np.asarray(b), space.shape).astype(dtype) for b in (space.low, space.high))
    return gym.spaces.Box(low, high, space.shape, dtype)


def _py(x):
    """numpy arrays stay arrays; 0-d ones become python scalars (nested dicts recursed)."""
    if isinstance(x, dict):
        return {k: _py(v) for k, v in x.items()}
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x


def _vector_info(info: dict, mask: np.ndarray) -> dict:
    """gymnasium's vector info layout: each key's batch and a ``_key`` mask of the envs it is for."""
    out = {}
    for k, v in info.items():
        out[k] = _vector_info(v, mask) if isinstance(v, dict) else np.asarray(v)
        out[f"_{k}"] = mask
    return out


def _keyed_reset(env):
    def reset(key, params):
        key, k = jax.random.split(key)
        return (key, *env.reset(k, params))
    return reset


def _keyed_step(env):
    def step(key, state, action, params):
        key, k = jax.random.split(key)
        return (key, *env.step(k, state, action, params))
    return step


@functools.cache
def _gymnasium_classes():
    gym = _require("gymnasium", "gymnasium")
    from gymnasium.vector import AutoresetMode
    from gymnasium.vector.utils import batch_space

    class GymnasiumEnv(gym.Env):
        """An rlx environment as a ``gymnasium.Env`` (see ``to_gymnasium``)."""

        metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

        def __init__(self, name_or_env, params=None, render_mode=None):
            if render_mode not in (None, "rgb_array"):
                raise ValueError(f"render_mode={render_mode!r}: rlx environments render 'rgb_array' or None")
            self.env, self.params = _resolve(name_or_env, params)
            self.render_mode = render_mode
            self.observation_space = _gym_space(self.env.observation_space(self.params))
            self._rlx_action_space = self.env.action_space(self.params)
            self.action_space = _gym_space(self._rlx_action_space)
            self._reset, self._step = jax.jit(_keyed_reset(self.env)), jax.jit(_keyed_step(self.env))
            self._key = self._state = None
            env_id = "rlx/" + self.env.name.replace("/", ".")
            self.spec = gym.envs.registration.EnvSpec(env_id, functools.partial(
                GymnasiumEnv, name_or_env, params))

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            if seed is not None or self._key is None:
                self._key = jax.random.key(int(self.np_random.integers(2**31)) if seed is None else seed)
            self._key, self._state, ts = self._reset(self._key, self.params)
            obs, info = jax.device_get((ts.obs, ts.info))
            return np.asarray(obs, self.observation_space.dtype), _py(info)

        def step(self, action):
            if self._state is None:
                raise RuntimeError("call reset() before step()")
            space = self._rlx_action_space
            a = np.asarray(action, np.dtype(space.dtype))
            if a.shape != space.shape:
                raise ValueError(f"action of shape {a.shape}; {self.env.name} takes shape {space.shape}")
            self._key, self._state, ts = self._step(self._key, self._state, a, self.params)
            obs, r, term, trunc, info = jax.device_get(tuple(ts))
            return np.asarray(obs, self.observation_space.dtype), float(r), bool(term), bool(trunc), _py(info)

        def render(self):
            if self.render_mode is None:
                gym.logger.warn("render() without a render_mode: pass render_mode='rgb_array'")
                return None
            if self._state is None:
                raise RuntimeError("call reset() before render()")
            from rlx.envs.render import render_frame
            return render_frame(self.env.name, jax.device_get(self._state), self.params)

    class GymnasiumVectorEnv(gym.vector.VectorEnv):
        """A vmapped batch of an rlx environment as a ``gymnasium.vector.VectorEnv`` (see
        ``to_gymnasium_vector``)."""

        metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

        def __init__(self, name_or_env, num_envs: int, params=None):
            if not isinstance(num_envs, int) or num_envs < 1:
                raise ValueError(f"num_envs={num_envs!r}: give a positive int")
            env, self.params = _resolve(name_or_env, params)
            self.env, self.num_envs = AutoReset(env), num_envs
            self.single_observation_space = _gym_space(env.observation_space(self.params))
            self.observation_space = batch_space(self.single_observation_space, num_envs)
            self._rlx_action_space = env.action_space(self.params)
            self.single_action_space = _gym_space(self._rlx_action_space)
            self.action_space = batch_space(self.single_action_space, num_envs)
            self._reset = jax.jit(jax.vmap(_keyed_reset(self.env), (0, None)))
            self._step = jax.jit(jax.vmap(_keyed_step(self.env), (0, 0, 0, None)))
            self._keys = self._state = None

        def reset(self, *, seed=None, options=None):
            if isinstance(seed, (list, tuple, np.ndarray)):
                if len(seed) != self.num_envs:
                    raise ValueError(f"{len(seed)} seeds for {self.num_envs} envs: give one int or one per env")
                self._keys = jax.vmap(jax.random.key)(jnp.asarray(seed, jnp.uint32))
            elif seed is not None or self._keys is None:
                super().reset(seed=seed)
                seed = int(self.np_random.integers(2**31)) if seed is None else seed
                self._keys = jax.random.split(jax.random.key(seed), self.num_envs)
            self._keys, self._state, ts = self._reset(self._keys, self.params)
            obs, info = jax.device_get((ts.obs, ts.info))
            info.pop("final_obs")
            mask = np.ones(self.num_envs, bool)
            return np.asarray(obs, self.single_observation_space.dtype), _vector_info(info, mask)

        def step(self, actions):
            if self._state is None:
                raise RuntimeError("call reset() before step()")
            space = self._rlx_action_space
            a = np.asarray(actions, np.dtype(space.dtype))
            if a.shape != (self.num_envs, *space.shape):
                raise ValueError(f"actions of shape {a.shape}; expected {(self.num_envs, *space.shape)}")
            self._keys, self._state, ts = self._step(self._keys, self._state, a, self.params)
            obs, r, term, trunc, info = jax.device_get(tuple(ts))
            final_obs = info.pop("final_obs")
            infos = _vector_info(info, np.ones(self.num_envs, bool))
            done = term | trunc
            if done.any():
                infos["final_obs"] = np.full(self.num_envs, None, object)
                for i in np.flatnonzero(done):
                    infos["final_obs"][i] = np.asarray(final_obs[i], self.single_observation_space.dtype)
                infos["_final_obs"] = done
                infos["final_info"], infos["_final_info"] = _vector_info(info, done), done
            dtype = self.single_observation_space.dtype
            return np.asarray(obs, dtype), np.asarray(r, np.float64), term, trunc, infos

    return GymnasiumEnv, GymnasiumVectorEnv


def __getattr__(name):  # the gymnasium classes, built when first asked for
    if name in ("GymnasiumEnv", "GymnasiumVectorEnv"):
        return _gymnasium_classes()[name == "GymnasiumVectorEnv"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_gymnasium(name_or_env: str | Environment, params: Any = None, render_mode: str | None = None):
    """An rlx environment as a ``gymnasium.Env`` (gymnasium 1.x API).

    * ``name_or_env``: a registered name (built by ``rlx.make``, with its ``TimeLimit``)
      or an ``Environment``; ``params``: its params (default: ``default_params()``).
    * ``reset(seed=s)`` starts a JAX key stream at ``jax.random.key(s)`` (no seed: one drawn
      from gymnasium's ``np_random``; later resets without a seed continue the stream);
      every ``reset``/``step`` takes ``key, k = jax.random.split(key)`` and calls the rlx
      env's jitted ``reset(k, params)``/``step(k, state, action, params)``.
    * Observations are numpy arrays of the observation space's dtype, rewards python
      floats, ``terminated``/``truncated`` python bools (``truncated`` from rlx's
      ``TimeLimit``), ``info`` numpy arrays / python scalars. No auto-reset.
    * Spaces: rlx ``Box`` -> ``gymnasium.spaces.Box`` (same bounds and dtype), ``Discrete(n)``
      -> ``gymnasium.spaces.Discrete(n)``; actions are cast to the rlx space's dtype.
    * ``render_mode="rgb_array"``: ``render()`` draws with ``rlx.envs.render.render_frame``
      (classic-control and MuJoCo tasks).
    """
    return _gymnasium_classes()[0](name_or_env, params, render_mode)


def to_gymnasium_vector(name_or_env: str | Environment, num_envs: int, params: Any = None):
    """A batch of ``num_envs`` copies of an rlx environment, vmapped and jitted, as a
    ``gymnasium.vector.VectorEnv`` in gymnasium's **same-step** autoreset mode
    (``metadata["autoreset_mode"] = AutoresetMode.SAME_STEP``, rlx's ``AutoReset``).

    * ``reset(seed=s)``: env i's key stream starts at ``jax.random.split(jax.random.key(s),
      num_envs)[i]`` (a list of ints: ``jax.random.key(seed[i])``); every call splits each
      env's key as ``to_gymnasium`` does.
    * ``step(actions)`` (shape ``[num_envs, *action_shape]``): an env whose episode ends is
      reset within the same step: ``obs[i]`` is the new episode's first observation,
      ``rewards``/``terminations``/``truncations`` those of the step taken, and, as
      gymnasium's ``SyncVectorEnv(autoreset_mode=SAME_STEP)``, ``info["final_obs"]`` (an object
      array, ``None`` where no episode ended; mask ``info["_final_obs"]``) holds the last
      observation and ``info["final_info"]`` the step's info of the ended episodes.
      Other info keys are the step's info for all envs, each with its ``_key`` mask.
    * Rewards are float64 arrays, ``terminations``/``truncations`` bool arrays.
    """
    return _gymnasium_classes()[1](name_or_env, num_envs, params)

"""Adapters: rlx environments as gymnasium environments (gymnasium's checker, step-for-step
equality with the rlx env, the vector env's same-step autoreset) and gymnax environments as
rlx environments (step-for-step equality with gymnax's own auto-resetting ``step``,
termination vs truncation, the ``gymnax/`` namespace, PPO learning through the adapter)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.envs import AutoReset, MissingPackageError, TimeLimit, UnknownEnvironmentError, registry
from rlx.envs.adapters import from_brax, from_gymnax, to_gymnasium, to_gymnasium_vector
from rlx.envs.classic_control import CartPole, Pendulum

gym = pytest.importorskip("gymnasium")

CLASSIC = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]
# advice gymnasium's checker gives about the spaces of gymnasium's own tasks too
ADVISORY = ("infinity", "symmetric and normalized", "not having a spec")


# ----------------------------------------------------------------------------- to_gymnasium


@pytest.mark.parametrize("name", CLASSIC)
def test_check_env_passes(name):
    from gymnasium.utils.env_checker import check_env

    env = to_gymnasium(name, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)  # also builds env.spec.make(render_mode="rgb_array") and renders it
    other = [str(w.message) for w in caught if not any(a in str(w.message) for a in ADVISORY)]
    assert not other, other
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[-1] == 3


def test_spaces_are_converted():
    env = to_gymnasium("CartPole-v1")
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space.shape == (4,) and env.observation_space.dtype == np.float32
    pend = to_gymnasium("Pendulum-v1")
    assert pend.action_space == gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    breakout = to_gymnasium("Breakout-MinAtar")
    assert breakout.observation_space.dtype == np.uint8 and breakout.observation_space.shape == (10, 10, 4)
    obs, _ = breakout.reset(seed=0)
    assert obs.dtype == np.uint8 and breakout.observation_space.contains(obs)


@pytest.mark.parametrize("task, limit", [(CartPole, 12), (Pendulum, 7)])
def test_gymnasium_env_equals_rlx_step_for_step(task, limit):
    """The documented key stream: key(seed), then ``key, k = split(key)`` per reset and step."""
    env = TimeLimit(task(), limit)
    params = env.default_params()
    genv = to_gymnasium(env)
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    rng = np.random.default_rng(0)
    genv.action_space.seed(0)
    obs, info = genv.reset(seed=3)
    key, k = jax.random.split(jax.random.key(3))
    state, ts = reset(k, params)
    np.testing.assert_array_equal(obs, np.asarray(ts.obs))
    assert info == {}
    ends = {"terminated": 0, "truncated": 0}
    for t in range(60):
        a = genv.action_space.sample() if rng.random() < 0.5 else genv.action_space.sample() * 0
        obs, r, term, trunc, info = genv.step(a)
        key, k = jax.random.split(key)
        state, ts = step(k, state, jnp.asarray(a, env.action_space(params).dtype), params)
        assert isinstance(r, float) and type(term) is bool and type(trunc) is bool and info == {}
        assert obs.dtype == genv.observation_space.dtype
        np.testing.assert_array_equal(obs, np.asarray(ts.obs))
        assert (r, term, trunc) == (float(ts.reward), bool(ts.terminated), bool(ts.truncated))
        if term or trunc:
            ends["terminated" if term else "truncated"] += 1
            obs, _ = genv.reset()  # no seed: the key stream continues
            key, k = jax.random.split(key)
            state, ts = reset(k, params)
            np.testing.assert_array_equal(obs, np.asarray(ts.obs))
    assert ends["truncated"] > 0 and (ends["terminated"] > 0 or task is Pendulum), ends


def test_gymnasium_env_bad_input():
    with pytest.raises(TypeError, match="rlx environment name or Environment"):
        to_gymnasium(42)
    with pytest.raises(ValueError, match="'rgb_array' or None"):
        to_gymnasium("CartPole-v1", render_mode="human")
    env = to_gymnasium("Pendulum-v1")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"takes shape \(1,\)"):
        env.step(np.zeros(2, np.float32))


def test_vector_env_shapes_and_same_step_autoreset():
    n = 4
    env = TimeLimit(CartPole(), 15)
    params = env.default_params()
    venv = to_gymnasium_vector(env, num_envs=n)
    assert isinstance(venv, gym.vector.VectorEnv)
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    assert venv.observation_space.shape == (n, 4) and venv.single_observation_space.shape == (4,)
    assert venv.action_space == gym.spaces.MultiDiscrete([2] * n)
    obs, info = venv.reset(seed=5)
    assert obs.shape == (n, 4) and obs.dtype == np.float32 and info == {}

    auto = AutoReset(env)  # the same batch, by hand
    keys = jax.random.split(jax.random.key(5), n)
    split = jax.vmap(jax.random.split, out_axes=1)
    keys, k = split(keys)
    state, ts = jax.vmap(auto.reset, (0, None))(k, params)
    np.testing.assert_array_equal(obs, ts.obs)
    step = jax.jit(jax.vmap(auto.step, (0, 0, 0, None)))
    venv.action_space.seed(1)
    ended = 0
    for t in range(40):
        a = venv.action_space.sample()
        obs, r, term, trunc, info = venv.step(a)
        keys, k = split(keys)
        state, ts = step(k, state, jnp.asarray(a, jnp.int32), params)
        assert obs.shape == (n, 4) and r.shape == term.shape == trunc.shape == (n,)
        np.testing.assert_array_equal(obs, ts.obs)  # the new episode's first obs where one ended
        np.testing.assert_array_equal(r, ts.reward)
        np.testing.assert_array_equal(term, ts.terminated)
        np.testing.assert_array_equal(trunc, ts.truncated)
        done = term | trunc
        if done.any():
            ended += done.sum()
            np.testing.assert_array_equal(info["_final_obs"], done)
            for i in range(n):
                if done[i]:
                    np.testing.assert_array_equal(info["final_obs"][i], ts.info["final_obs"][i])
                    assert not np.array_equal(info["final_obs"][i], obs[i])
                else:
                    assert info["final_obs"][i] is None
        else:
            assert "final_obs" not in info
    assert ended >= n
    obs_a, _ = venv.reset(seed=[1, 2, 3, 4])
    obs_b, _ = venv.reset(seed=[1, 2, 3, 9])
    np.testing.assert_array_equal(obs_a[:3], obs_b[:3])
    assert not np.array_equal(obs_a[3], obs_b[3])
    with pytest.raises(ValueError, match="expected"):
        venv.step(np.zeros(n + 1, np.int64))


# ----------------------------------------------------------------------------- from_gymnax

@pytest.fixture(scope="module")
def gymnax():
    return pytest.importorskip("gymnax")


def _gymnax_rollout(genv, gparams, key, actions):
    k0, ks = jax.random.split(key)
    obs, state = genv.reset(k0, gparams)

    def body(state, xs):
        obs, state, r, term, trunc, info = genv.step(xs[0], state, xs[1], gparams)
        return state, (obs, r, term, trunc, info["final_observation"])

    return obs, jax.lax.scan(body, state, (jax.random.split(ks, len(actions)), actions))[1]


def _rlx_rollout(env, params, key, actions):
    k0, ks = jax.random.split(key)
    state, ts = env.reset(k0, params)

    def body(state, xs):
        state, ts = env.step(xs[0], state, xs[1], params)
        return state, (ts.obs, ts.reward, ts.terminated, ts.truncated, ts.info["final_obs"])

    return ts.obs, jax.lax.scan(body, state, (jax.random.split(ks, len(actions)), actions))[1]


@pytest.mark.parametrize("env_id, limit, steps", [("CartPole-v1", 15, 400), ("Breakout-MinAtar", 10, 400),
                                                  ("Asterix-MinAtar", 60, 600)])
def test_gymnax_adapter_matches_gymnax_step_for_step(env_id, limit, steps, gymnax):
    """rlx's AutoReset over the adapter against gymnax's own auto-resetting ``step``, on the
    same keys and actions: every observation (also the one after each reset), reward,
    termination, truncation and final observation is identical."""
    genv, gparams = gymnax.make(env_id)
    gparams = gparams.replace(max_steps_in_episode=limit)  # short episodes: truncations happen
    env = AutoReset(from_gymnax(genv, gparams))
    params = env.default_params()
    actions = jax.random.randint(jax.random.key(1), (steps,), 0, genv.num_actions)
    key = jax.random.key(7)
    ref = jax.jit(_gymnax_rollout, static_argnums=0)(genv, gparams, key, actions)
    out = jax.jit(_rlx_rollout, static_argnums=0)(env, params, key, actions)
    jax.tree_util.tree_map(np.testing.assert_array_equal, out, ref)
    _, (_, _, term, trunc, _) = out
    assert 0 < int(term.sum()) and 0 < int(trunc.sum()), (int(term.sum()), int(trunc.sum()))


def test_gymnax_termination_vs_truncation(gymnax):
    genv, gparams = gymnax.make("CartPole-v1")
    env = from_gymnax(genv, gparams)
    state, _ = env.reset(jax.random.key(0), gparams)
    def at(time, x):  # gymnax's counter and TimeLimit's, both at ``time``; the cart at ``x``
        s = state.env_state.replace(time=time, x=jnp.float32(x), x_dot=jnp.float32(0.0))
        return state._replace(env_state=s, t=jnp.int32(time))

    cases = {(10, 0.0): (False, False), (499, 0.0): (False, True), (10, 2.45): (True, False),
             (499, 2.45): (True, True)}
    for (time, x), expected in cases.items():
        _, ts = env.step(jax.random.key(1), at(time, x), 1, gparams)
        assert (bool(ts.terminated), bool(ts.truncated)) == expected, (time, x)
        assert ts.reward.dtype == jnp.float32 and "discount" in ts.info


def test_gymnax_spaces_and_namespace(gymnax):
    env, params = rlx.make("gymnax/CartPole-v1")
    assert isinstance(env, TimeLimit) and env.max_steps == 500 and env.name == "gymnax/CartPole-v1"
    assert env.observation_space(params).shape == (4,) and env.action_space(params) == rlx.envs.Discrete(2)
    env, params = rlx.make("gymnax/Breakout-MinAtar")
    obs_space, act = env.observation_space(params), env.action_space(params)
    assert obs_space.shape == (10, 10, 4) and obs_space.dtype == jnp.float32 and act.n == 3
    env, params = rlx.make("gymnax/Pendulum-v1")
    box = env.action_space(params)
    assert box.shape == (1,) and box.low[0] == -2.0 and box.high[0] == 2.0
    short = gymnax.make("CartPole-v1")[1].replace(max_steps_in_episode=50)
    env, params = rlx.make("gymnax/CartPole-v1", env_params=short)
    assert env.max_steps == 50 and params.max_steps_in_episode == 50
    names = rlx.envs.registered()
    assert "gymnax/CartPole-v1" in names and "gymnax/Breakout-MinAtar" in names and "CartPole-v1" in names
    with pytest.raises(UnknownEnvironmentError, match="did you mean gymnax/CartPole-v1"):
        rlx.make("gymnax/CartPole-v2")
    with pytest.raises(UnknownEnvironmentError, match="did you mean CartPole-v1"):
        rlx.make("CartPol-v1")


def test_missing_package_names_the_extra(monkeypatch, gymnax):
    ns = registry._NAMESPACES["gymnax"]
    monkeypatch.setitem(registry._NAMESPACES, "gymnax", ns._replace(module="no_such_module_rlx"))
    with pytest.raises(MissingPackageError, match=r'^[^\n]*pip install "rlx\[gymnax\]"$'):
        rlx.make("gymnax/CartPole-v1")
    assert not any(n.startswith("gymnax/") for n in rlx.envs.registered())
    assert issubclass(MissingPackageError, UnknownEnvironmentError)  # the CLI prints it on one line


def test_from_gymnax_bad_input(gymnax):
    with pytest.raises(TypeError, match="env, params = gymnax.make"):
        from_gymnax(gymnax.make("CartPole-v1"))
    with pytest.raises(TypeError, match="gymnax>=1.0 Environment"):
        from_gymnax(CartPole())


def test_ppo_learns_gymnax_cartpole(gymnax):
    r = rlx.train("ppo", "gymnax/CartPole-v1", num_seeds=2, total_steps=100_000, eval_episodes=10,
                  show_progress=False)
    curve = r.metrics["episode_return"].mean(axis=1)
    assert curve[:3].mean() < 60, curve[:3]  # a random policy: ~22
    assert r.summary["final_return_mean"] >= 300, r.summary["final_return_per_seed"]


# ----------------------------------------------------------------------------- from_brax


@pytest.fixture(scope="module")
def brax_pendulum():
    brax_envs = pytest.importorskip("brax.envs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # brax: "System, pipelines and environments are not maintained"
        return brax_envs, brax_envs.get_environment("inverted_pendulum", backend="spring")


def test_brax_adapter_matches_brax_step_for_step(brax_pendulum, step_both):
    """The raw brax env and rlx's adapter (in a 25-step TimeLimit), on the same keys and
    actions, over whole 40-step runs (brax keeps stepping after ``done``, so does rlx here)."""
    _, benv = brax_pendulum
    env = from_brax(benv, max_steps=25)
    params = env.default_params()
    actions = jax.random.uniform(jax.random.key(2), (8, 40, 1), minval=-1.0, maxval=1.0)
    keys = jax.random.split(jax.random.key(0), 8)
    obs0_ref, obs0, (obs, reward, done, ts) = step_both(benv, env, params, keys, actions)
    np.testing.assert_array_equal(obs0, obs0_ref)
    np.testing.assert_array_equal(ts.obs, obs)
    np.testing.assert_array_equal(ts.reward, reward)
    np.testing.assert_array_equal(ts.terminated, done > 0)
    np.testing.assert_array_equal(ts.truncated, np.broadcast_to(np.arange(40) >= 24, (8, 40)))  # t >= 25
    ended = ts.terminated[:, :25].any(axis=1)  # some episodes terminate before the limit, some not
    assert ended.any() and not ended.all()


def test_brax_truncation_vs_termination(brax_pendulum):
    """``terminated = done & ~info["truncation"]``: under brax's EpisodeWrapper (whose ``done``
    includes the time limit) a step cut by the limit is a truncation, a terminal step that
    coincides with the limit a termination (brax sets ``truncation`` only when not done)."""
    brax_envs, _ = brax_pendulum
    from brax.envs.wrappers.training import EpisodeWrapper

    from rlx.envs.adapters import BraxEnv

    class Clock(brax_envs.Env):  # obs = [t]; terminates at t = 4
        def reset(self, rng):
            return brax_envs.State(None, jnp.zeros(1), jnp.zeros(()), jnp.zeros(()), {}, {})

        def step(self, state, action):
            obs = state.obs + 1
            return state.replace(obs=obs, reward=jnp.ones(()), done=(obs[0] >= 4).astype(jnp.float32))

        observation_size, action_size, backend = 1, 1, "none"

    for limit, last in [(3, (False, True)), (4, (True, False)), (9, (True, False))]:
        env = BraxEnv(EpisodeWrapper(Clock(), limit, 1))
        state, ts = env.reset(jax.random.key(0), None)
        flags = []
        for _ in range(min(limit, 4)):
            state, ts = env.step(None, state, jnp.zeros(1), None)
            flags.append((bool(ts.terminated), bool(ts.truncated)))
        assert flags == [(False, False)] * (len(flags) - 1) + [last], (limit, flags)
    with pytest.raises(TypeError, match="raw env"):
        from_brax(EpisodeWrapper(Clock(), 3, 1))
    with pytest.raises(TypeError, match="brax.envs.Env"):
        from_brax(CartPole())


def test_brax_namespace(brax_pendulum):
    env, params = rlx.make("brax/inverted_pendulum", backend="spring")
    assert isinstance(env, TimeLimit) and env.max_steps == 1000 and env.name == "brax/inverted_pendulum"
    assert env.observation_space(params).shape == (4,)
    act = env.action_space(params)
    assert act.shape == (1,) and act.low[0] == -1.0 and act.high[0] == 1.0
    assert "brax/ant" in rlx.envs.registered()


def test_ppo_learns_brax_inverted_pendulum(brax_pendulum):
    import functools

    from rlx.envs.adapters import _brax_factory

    name = "test-brax-spring/inverted_pendulum"  # brax's fastest CPU backend
    if name not in rlx.envs.registered():
        rlx.envs.register(name, functools.partial(_brax_factory, "inverted_pendulum", backend="spring"), 1000)
    ppo = dict(num_envs=32, num_steps=64, minibatches=4, epochs=10, lr=1e-3, gamma=0.97, ent_coef=0.0,
               normalize_obs=True)
    r = rlx.train("ppo", name, num_seeds=1, total_steps=60_000, eval_episodes=0, show_progress=False,
                  overrides=ppo)
    curve = r.metrics["episode_return"][:, 0]
    assert curve[:2].mean() < 40 and curve[-3:].mean() > 250, curve  # a random policy: ~18 steps

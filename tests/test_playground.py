"""MuJoCo Playground environments as rlx environments: step-for-step equality with playground's
own step, the ``playground/`` namespace and its errors, PPO learning through the adapter."""

import functools

import jax
import numpy as np
import pytest

import rlx
from rlx.envs import ActionRepeat, TimeLimit
from rlx.envs.adapters import PlaygroundEnv, _playground_factory, from_playground

playground = pytest.importorskip("mujoco_playground")


@pytest.fixture(scope="module")
def cartpole():
    return playground.registry.load("CartpoleBalance", config_overrides={"impl": "jax"})


def test_playground_adapter_matches_playground_step_for_step(cartpole, step_both):
    """The raw playground env and the adapter (in a 25-step TimeLimit) on the same keys and
    actions over 30 steps: identical observations and rewards, truncation at step 25 only."""
    env = from_playground(cartpole, max_steps=25)
    params = env.default_params()
    actions = jax.random.uniform(jax.random.key(2), (4, 30, 1), minval=-1.0, maxval=1.0)
    keys = jax.random.split(jax.random.key(0), 4)
    obs0_ref, obs0, (obs, reward, done, ts) = step_both(cartpole, env, params, keys, actions)
    np.testing.assert_array_equal(obs0, obs0_ref)
    assert np.abs(np.asarray(obs0[0] - obs0[1])).max() > 0  # different keys, different starts
    np.testing.assert_array_equal(ts.obs, obs)
    np.testing.assert_array_equal(ts.reward, reward)
    np.testing.assert_array_equal(ts.terminated, done > 0)
    np.testing.assert_array_equal(ts.truncated, np.broadcast_to(np.arange(30) >= 24, (4, 30)))
    assert set(ts.info) >= {"reward/upright", "reward/centered"}


def test_playground_namespace_and_errors(cartpole):
    env, params = rlx.make("playground/CartpoleBalance")
    assert isinstance(env, TimeLimit) and env.max_steps == 1000 and env.name == "playground/CartpoleBalance"
    assert env.observation_space(params).shape == (5,)
    act = env.action_space(params)
    assert act.shape == (1,) and act.low[0] == -1.0 and act.high[0] == 1.0
    short, _ = rlx.make("playground/CartpoleBalance", episode_length=200)
    assert short.max_steps == 200
    repeated, _ = rlx.make("playground/CartpoleBalance", action_repeat=3, episode_length=200)
    assert isinstance(repeated.env, ActionRepeat) and repeated.env.k == 3 and repeated.max_steps == 67
    with pytest.raises(TypeError, match="obs_key"):
        PlaygroundEnv(cartpole, obs_key="state")  # vector observations: obs_key does not apply
    assert "playground/CheetahRun" in rlx.envs.registered()
    warp = playground.registry.load("CartpoleBalance")  # the default implementation: MuJoCo Warp
    with pytest.raises(TypeError, match="impl") as e:
        from_playground(warp)
    assert "\n" not in str(e.value)
    with pytest.raises(TypeError, match="MjxEnv"):
        from_playground(rlx.envs.classic_control.CartPole())
    with pytest.raises(rlx.envs.UnknownEnvironmentError, match="CartpoleBalance"):
        rlx.make("playground/CartpoleBalanse")


def test_ppo_learns_playground_cartpole_balance():
    """PPO on CartpoleBalance with 200-step episodes (``episode_length=200``): the mean return of
    four deterministic evaluation episodes is ≥ 190 of 200 after 600k steps (measured 199.8;
    holding the action at 0 scores about 139, uniformly random actions about 76)."""
    name = "test-playground/CartpoleBalance-200"
    if name not in rlx.envs.registered():
        rlx.envs.register(name, functools.partial(_playground_factory, "CartpoleBalance", episode_length=200))
    ppo = dict(num_envs=32, num_steps=64, minibatches=4, epochs=4, lr=1e-3, gamma=0.99, gae_lambda=0.95,
               ent_coef=0.0, normalize_obs=True)
    r = rlx.train("ppo", name, num_seeds=1, total_steps=600_000, eval_episodes=4, chunks=4, show_progress=False,
                  overrides=ppo)
    assert r.summary["final_return_mean"] >= 190, r.summary

"""rlx's FrozenLake against gymnasium 1.x: the tabular model equals gymnasium's
``env.P`` (as tensors), sampled steps follow it, deterministic episodes (and the
time limits) match step for step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
import rlx.dp as dp
from rlx.envs import spaces
from rlx.envs.toy_text import FrozenLake

gym = pytest.importorskip("gymnasium")


def gym_tensors(**kwargs):
    """gymnasium's ``P[s][a] = [(prob, next, reward, terminated), ...]`` as (P, R, terminal)."""
    e = gym.make("FrozenLake-v1", **kwargs).unwrapped
    S = e.observation_space.n
    P, R = np.zeros((S, 4, S)), np.zeros((S, 4))
    for s in range(S):
        for a in range(4):
            for p, nxt, r, _ in e.P[s][a]:
                P[s, a, nxt] += p
                R[s, a] += p * r
    terminal = np.array([ch in b"GH" for ch in e.desc.ravel()])
    return P, R, terminal, e


CASES = [
    dict(map_name="4x4", is_slippery=True),
    dict(map_name="4x4", is_slippery=False),
    dict(map_name="8x8", is_slippery=True),
    dict(map_name="8x8", is_slippery=False),
    dict(map_name="4x4", is_slippery=True, success_rate=0.75, reward_schedule=(2.0, -1.0, -0.01)),
    dict(desc=["SFH", "FFF", "HFG"], is_slippery=True, success_rate=0.5),
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_tabular_model_equals_gymnasium(kwargs):
    P, R, terminal, _ = gym_tensors(**kwargs)
    mdp = dp.to_tabular("FrozenLake-v1", **kwargs)
    np.testing.assert_allclose(mdp.P, P, atol=1e-7)
    np.testing.assert_allclose(mdp.R, R, atol=1e-7)
    np.testing.assert_array_equal(mdp.terminal, terminal)
    dp.check_mdp(mdp, 0.99)


def test_sampled_steps_follow_the_model():
    """From every (state, action), 20 000 vmapped steps: next-state frequencies within 0.02 of
    gymnasium's probabilities (5 standard deviations at p = 1/3), and every sampled reward and
    termination equal to gymnasium's for that transition."""
    P, R, terminal, e = gym_tensors(map_name="4x4", is_slippery=True, success_rate=0.5,
                                    reward_schedule=(1.0, -1.0, 0.1))
    env = FrozenLake(success_rate=0.5, reward_schedule=(1.0, -1.0, 0.1))
    params = env.default_params()
    n = 20_000
    S = P.shape[0]

    @jax.jit
    def sample(s, a, keys):
        _, ts = jax.vmap(env.step, in_axes=(0, None, None, None))(keys, s, a, params)
        return ts.obs, ts.reward, ts.terminated

    for s in range(S):
        for a in range(4):
            obs, reward, term = sample(jnp.int32(s), jnp.int32(a), jax.random.split(jax.random.key(s * 4 + a), n))
            obs, reward, term = np.asarray(obs), np.asarray(reward), np.asarray(term)
            freq = np.bincount(obs, minlength=S) / n
            np.testing.assert_allclose(freq, P[s, a], atol=0.02, err_msg=f"s={s} a={a}")
            outcome = {nxt: (r, t) for _, nxt, r, t in e.P[s][a]}
            for nxt in np.unique(obs):
                r, t = outcome[int(nxt)]
                assert np.all(reward[obs == nxt] == np.float32(r)) and np.all(term[obs == nxt] == t)


def test_deterministic_episodes_match_gymnasium_step_for_step():
    """Non-slippery: the same actions give the same observations, rewards, terminations and
    truncations through both libraries' time limits (100 and 200 steps)."""
    rng = np.random.default_rng(0)
    for name, steps in [("FrozenLake-v1", 100), ("FrozenLake8x8-v1", 200)]:
        env, params = rlx.make(name, is_slippery=False)
        genv = gym.make(name, is_slippery=False)
        step = jax.jit(env.step)
        # Random actions (episodes that fall in holes or reach G) and "always LEFT" (stays
        # at S forever, so the episode is truncated by the time limit).
        for episode in range(12):
            state, ts = env.reset(jax.random.key(episode), params)
            obs, _ = genv.reset(seed=episode)
            assert int(ts.obs) == obs == 0
            for t in range(steps + 5):
                a = 0 if episode % 3 == 0 else int(rng.integers(4))
                state, ts = step(jax.random.key(t), state, a, params)
                obs, r, term, trunc, _ = genv.step(a)
                assert (int(ts.obs), float(ts.reward), bool(ts.terminated), bool(ts.truncated)) == \
                       (obs, r, term, trunc), (name, episode, t)
                if term or trunc:
                    break
            if episode % 3 == 0:
                assert trunc and t + 1 == steps


def test_registry_spaces_and_errors():
    assert rlx.envs.spec("FrozenLake-v1").max_steps == 100
    assert rlx.envs.spec("FrozenLake8x8-v1").max_steps == 200
    env, params = rlx.make("FrozenLake8x8-v1")
    assert params.map_name == "8x8" and env.observation_space(params) == spaces.Discrete(64)
    assert env.action_space(params) == spaces.Discrete(4)
    # As gymnasium: FrozenLake-v1 with map_name="8x8" keeps FrozenLake-v1's 100-step limit.
    env, params = rlx.make("FrozenLake-v1", map_name="8x8")
    assert env.max_steps == 100 and env.observation_space(params).n == 64
    with pytest.raises(ValueError, match="unknown FrozenLake map_name '5x5'"):
        rlx.make("FrozenLake-v1", map_name="5x5")
    with pytest.raises(ValueError, match="unknown cell letters"):
        FrozenLake(desc=["SFX", "FFG"])
    with pytest.raises(ValueError, match="success_rate"):
        FrozenLake(success_rate=1.5)


def test_params_are_vmappable():
    env = FrozenLake()
    params = env.default_params()
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), params,
                                   type(params)(is_slippery=False, success_rate=0.5))
    P, R, terminal = jax.vmap(env.tabular_model)(batch)
    np.testing.assert_allclose(P[1], dp.frozen_lake("4x4", is_slippery=False).P)
    np.testing.assert_allclose(P[0], dp.frozen_lake("4x4").P)
    # And the optimal values over the batch in one call.
    V = jax.vmap(lambda m: dp.value_iteration(m, 0.95).values)(dp.MDP(P, R, terminal))
    assert V.shape == (2, 16) and float(V[1, 0]) == pytest.approx(0.95**5, rel=1e-6)


def test_policy_gradient_agents_refuse_discrete_observations():
    from rlx.algos.base import ConfigError

    with pytest.raises(ConfigError, match="FrozenLake-v1 has Discrete observations"):
        rlx.train("ppo", "FrozenLake-v1", num_seeds=1, total_steps=4096)

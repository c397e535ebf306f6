"""Tabular Q-learning and SARSA: TD formulas, merged updates, the discretiser, bootstrapping
on truncation, learning targets against dynamic programming, configuration errors."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
import rlx.dp as dp
from rlx.algos import tabular as T
from rlx.algos.base import ConfigError
from rlx.core.pytree import pytree_dataclass
from rlx.envs import AutoReset, Environment, TimeStep, for_training, register, spaces
from rlx.envs.discretize import Discretize, discretize
from rlx.run.evaluate import evaluate

FROZEN_LAKE_OPTIMUM = 0.744  # P(goal within 100 steps) of the optimal (non-stationary) policy


# --------------------------------------------------------------------------- the discretiser


def test_discretize_index_by_hand():
    # dimension 0: [0, 1] in 2 bins (edge 0.5); dimension 1: [-1, 1] in 4 bins (edges -0.5, 0, 0.5)
    bins, low, high = (2, 4), np.array([0.0, -1.0]), np.array([1.0, 1.0])
    cases = {
        (0.25, 0.1): 0 * 4 + 2,
        (0.5, 0.5): 1 * 4 + 3,  # values on an edge belong to the cell above
        (0.49, -0.5): 0 * 4 + 1,
        (0.0, -1.0): 0,  # the lower bounds
        (1.0, 1.0): 7,  # the upper bounds stay in the last cell
        (-3.0, -7.0): 0,  # clipped below
        (9.0, 0.2): 1 * 4 + 2,  # clipped above in dimension 0 only
        (np.nan, 0.0): 2,  # NaN falls in cell 0
    }
    obs = np.array(list(cases), np.float32)
    got = np.asarray(discretize(obs, bins, low, high))  # batched [N, D] -> [N]
    np.testing.assert_array_equal(got, list(cases.values()))
    for o, want in cases.items():  # and one observation at a time
        assert int(discretize(np.array(o, np.float32), bins, low, high)) == want


def test_discretize_matches_numpy_and_ignores_single_bin_dimensions():
    bins = (1, 3, 5)
    low, high = np.array([-np.inf, -2.0, 0.0]), np.array([np.inf, 1.0, 10.0])
    x = np.random.default_rng(0).uniform(-5, 12, (500, 3)).astype(np.float32)
    cells = [np.zeros(len(x), int)]
    for i in (1, 2):
        edges = low[i] + (high[i] - low[i]) * np.arange(1, bins[i]) / bins[i]
        cells.append(np.digitize(x[:, i], edges.astype(np.float32)))
    want = np.ravel_multi_index(cells, bins)
    np.testing.assert_array_equal(np.asarray(discretize(x, bins, low, high)), want)
    # traced bounds (vmappable): the same cells
    got = jax.jit(lambda lo, hi: discretize(x, bins, lo, hi))(low.astype(np.float32), high.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(got), want)


def test_discretize_wrapper():
    base, params = rlx.make("CartPole-v1")
    bins, low, high = (1, 1, 6, 12), (-4.8, -3, -0.21, -2), (4.8, 3, 0.21, 2)
    env = Discretize(base, bins, low, high)
    assert env.observation_space(params) == spaces.Discrete(72)
    key = jax.random.key(0)
    state, ts = env.reset(key, params)
    _, raw = base.reset(key, params)
    assert int(ts.obs) == int(discretize(raw.obs, bins, low, high))
    # outside a training wrapper, and inside one (final_obs discretised too)
    for wrapped in (for_training(env), Discretize(AutoReset(base), bins, low, high)):
        s, ts = wrapped.reset(key, params)
        for i in range(12):
            s, ts = wrapped.step(jax.random.key(i), s, i % 2, params)
            assert ts.obs.dtype == jnp.int32 and 0 <= int(ts.obs) < 72
            assert 0 <= int(ts.info["final_obs"]) < 72
    with pytest.raises(ValueError, match="one positive number of bins per observation dimension"):
        Discretize(base, (6, 12))
    with pytest.raises(ValueError, match="dimension 1 has 3 bins but bounds"):
        Discretize(base, (1, 3, 1, 1))  # CartPole's velocity is unbounded: bounds needed


# --------------------------------------------------------------------------- the TD update

Q0 = jnp.array([[0.0, 1.0], [2.0, 5.0], [3.0, 4.0]])  # 3 states, 2 actions


def _one(method, s_next, terminated, next_action=0, alpha=0.5, gamma=0.5):
    """Q after the transition (s=0, a=1, r=1, s') with step size α."""
    r = jnp.array([1.0])
    term = jnp.array([terminated])
    if method == "q_learning":
        y = T.q_learning_target(Q0[jnp.array([s_next])], r, term, gamma)
    else:
        y = T.sarsa_target(Q0[jnp.array([s_next])], jnp.array([next_action]), r, term, gamma)
    q, visits, td, a = T.td_update(Q0, jnp.zeros((3, 2), jnp.int32), jnp.array([0]), jnp.array([1]), y,
                                   lambda n: alpha)
    np.testing.assert_array_equal(np.asarray(q).ravel()[[0, 2, 3, 4, 5]], [0, 2, 5, 3, 4])  # others kept
    assert np.asarray(visits).sum() == 1 and int(visits[0, 1]) == 1
    return float(q[0, 1]), float(td[0])


def test_td_update_by_hand():
    # Q-learning: y = 1 + 0.5 · max(2, 5) = 3.5;  Q <- 1 + 0.5 · (3.5 - 1) = 2.25
    assert _one("q_learning", s_next=1, terminated=False) == (2.25, 2.5)
    # SARSA with a' = 0: y = 1 + 0.5 · Q(1, 0) = 2;  Q <- 1 + 0.5 · (2 - 1) = 1.5
    assert _one("sarsa", s_next=1, terminated=False, next_action=0) == (1.5, 1.0)
    assert _one("sarsa", s_next=2, terminated=False, next_action=1) == (2.0, 2.0)  # y = 1 + 0.5·4
    # terminated: no bootstrap, y = r = 1, whatever s' holds
    assert _one("q_learning", s_next=1, terminated=True) == (1.0, 0.0)
    assert _one("sarsa", s_next=2, terminated=True, next_action=1) == (1.0, 0.0)
    # truncated (not terminated): the agent passes s' = info["final_obs"], which bootstraps
    # like any other step: y = 1 + 0.5 · max(3, 4) = 3, Q <- 1 + 0.5 · 2 = 2
    assert _one("q_learning", s_next=2, terminated=False) == (2.0, 2.0)


def _sequential(q, cells, targets, alphas):
    q = np.array(q, np.float64).ravel()
    for c, y, a in zip(cells, targets, alphas):
        q[c] += a * (y - q[c])
    return q


def test_duplicates_merge_as_sequential_updates():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(3, 2)).astype(np.float32)
    obs = np.array([0, 1, 0, 2, 0, 1, 0, 0])  # (0, 1) four times, (1, 0) twice
    act = np.array([1, 0, 1, 1, 1, 0, 0, 1])
    targets = rng.normal(size=8).astype(np.float32)
    cells = obs * 2 + act
    # the same target for every duplicate: exactly k sequential updates, and the step never
    # exceeds 1 where a plain sum would step k·α = 2.4 and overshoot
    same = np.full(8, 3.0, np.float32)
    new, *_ = T.td_update(jnp.asarray(q), jnp.zeros((3, 2), jnp.int32), obs, act, same, lambda n: 0.6)
    np.testing.assert_allclose(np.asarray(new).ravel(), _sequential(q, cells, same, [0.6] * 8), rtol=1e-6)
    assert abs(float(new[0, 1]) - 3.0) == pytest.approx(0.4 ** 4 * abs(q[0, 1] - 3.0), rel=1e-5)
    # distinct targets, constant α: sequential updates in batch order (δ from the old table)
    new, visits, td, _ = T.td_update(jnp.asarray(q), jnp.zeros((3, 2), jnp.int32), obs, act, targets,
                                     lambda n: 0.3)
    np.testing.assert_allclose(np.asarray(new).ravel(), _sequential(q, cells, targets, [0.3] * 8),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(visits), [[1, 4], [2, 0], [0, 1]])
    np.testing.assert_allclose(np.asarray(td), targets - q.ravel()[cells], rtol=1e-6)
    # visit-count step sizes 1/n: the sample average of the targets, duplicates included
    visits0 = np.array([[0, 2], [0, 0], [0, 0]], np.int32)  # (0, 1) seen twice before
    new, visits, _, alpha = T.td_update(jnp.asarray(q), jnp.asarray(visits0), obs, act, targets,
                                        lambda n: 1.0 / n)
    np.testing.assert_allclose(np.asarray(alpha)[cells == 1], [1 / 3, 1 / 4, 1 / 5, 1 / 6])
    want = (2 * q[0, 1] + targets[cells == 1].sum()) / 6
    assert float(new[0, 1]) == pytest.approx(want, rel=1e-5)
    assert float(new[1, 0]) == pytest.approx(targets[cells == 2].mean(), rel=1e-5)


def test_epsilon_greedy():
    q = jnp.array([[0.0, 2.0, 2.0, 1.0]] * 4000)
    greedy = np.asarray(T.epsilon_greedy(jax.random.key(0), q, 0.0))
    assert set(np.unique(greedy)) == {1, 2} and abs((greedy == 1).mean() - 0.5) < 0.05  # random ties
    explore = np.asarray(T.epsilon_greedy(jax.random.key(1), q, 1.0))
    np.testing.assert_allclose(np.bincount(explore, minlength=4) / 4000, 0.25, atol=0.03)
    assert float(T.linear_schedule(1.0, 0.1, 50.0, 100.0)) == pytest.approx(0.55)
    assert float(T.linear_schedule(1.0, 0.1, 500.0, 100.0)) == pytest.approx(0.1)
    assert float(T.linear_schedule(1.0, 0.1, 0.0, 0.0)) == pytest.approx(0.1)


# --------------------------------------------------------------------------- bootstrapping


# Two states: from 0 the agent moves to 1 (reward 0); from 1 it stays (reward 1); never
# terminates, cut every 5 steps. With γ = 0.9: Q(1, ·) = 1/(1-γ) = 10, Q(0, ·) = 9.
# Treating the cut as terminal gives Q(1, ·) ≈ 3.1; bootstrapping from the reset
# observation (0) instead of the final one gives ≈ 8.2.
@pytree_dataclass
class _NoParams:
    pass


class _Ladder(Environment):
    name = "test/TabularLadder"

    def default_params(self):
        return _NoParams()

    def reset(self, key, params):
        z = jnp.zeros((), jnp.int32)
        return z, TimeStep(z, jnp.zeros(()), jnp.zeros((), bool), jnp.zeros((), bool), {})

    def step(self, key, state, action, params):
        reward = (state == 1).astype(jnp.float32)
        one = jnp.ones((), jnp.int32)
        return one, TimeStep(one, reward, jnp.zeros((), bool), jnp.zeros((), bool), {})

    def observation_space(self, params):
        return spaces.Discrete(2)

    def action_space(self, params):
        return spaces.Discrete(2)


register("test/TabularLadder", _Ladder, max_steps=5)


@pytest.mark.parametrize("algo", ["qlearning", "sarsa"])
def test_truncation_bootstraps_from_the_final_observation(algo):
    r = rlx.train(algo, "test/TabularLadder", num_seeds=1, total_steps=40_000, eval_episodes=0,
                  show_progress=False, overrides=dict(gamma=0.9, lr=0.2, lr_end=0.01, num_envs=4))
    q = np.asarray(r.state.q[0])
    np.testing.assert_allclose(q[1], 10.0, atol=0.1)
    np.testing.assert_allclose(q[0], 9.0, atol=0.1)


# --------------------------------------------------------------------------- learning


def success_within(name: str, policy: np.ndarray, horizon: int) -> float:
    """P(reaching the goal within ``horizon`` steps from the start) of a stationary policy:
    ``horizon`` exact backups ``V <- R_π + P_π V`` of the tabular model (γ = 1)."""
    P, R, terminal = map(np.asarray, dp.to_tabular(name))
    P = np.where(terminal[:, None, None], 0.0, P).astype(np.float64)
    R = np.where(terminal[:, None], 0.0, R).astype(np.float64)
    s = np.arange(len(R))
    V = np.zeros(len(R))
    for _ in range(horizon):
        V = R[s, policy] + P[s, policy] @ V
    return float(V[0])


@pytest.fixture(scope="module")
def qlearning_lake():
    return rlx.train("qlearning", "FrozenLake-v1", num_seeds=4, total_steps=100_000, eval_episodes=0,
                     show_progress=False)


def test_dp_optimum_of_frozen_lake():
    optimum = float(dp.finite_horizon(dp.to_tabular("FrozenLake-v1"), 100).values[0, 0])
    assert optimum == pytest.approx(FROZEN_LAKE_OPTIMUM, abs=5e-4)
    best_stationary = np.asarray(dp.value_iteration(dp.to_tabular("FrozenLake-v1"), 0.999).policy)
    assert success_within("FrozenLake-v1", best_stationary, 100) == pytest.approx(0.740, abs=1e-3)


def test_qlearning_reaches_the_frozen_lake_optimum(qlearning_lake):
    r = qlearning_lake
    success = [success_within("FrozenLake-v1", np.asarray(T.greedy_policy(q)), 100) for q in r.state.q]
    assert min(success) >= 0.95 * FROZEN_LAKE_OPTIMUM, success
    for k in ("episode_return", "episode_length", "td_error", "lr", "epsilon", "visited"):
        assert r.metrics[k].shape == (len(r.steps), 4) and np.all(np.isfinite(r.metrics[k]))
    assert r.metrics["epsilon"][0, 0] > 0.9 and r.metrics["epsilon"][-1, 0] == pytest.approx(0.05)
    assert r.metrics["lr"][-1, 0] == pytest.approx(0.005, abs=1e-3)
    # the agent's act (as the runner evaluates it) is the greedy policy: Monte Carlo agrees
    env, params = rlx.make("FrozenLake-v1")
    pp = jax.tree_util.tree_map(lambda x: x[0], jax.vmap(r.agent.policy_params)(r.state))
    returns = evaluate(r.agent.act, pp, env, params, jax.random.key(7), 4000)
    assert float(returns.mean()) == pytest.approx(success[0], abs=0.025)


def test_same_seed_same_numbers(qlearning_lake):
    again = rlx.train("qlearning", "FrozenLake-v1", num_seeds=4, total_steps=100_000, eval_episodes=0,
                      show_progress=False)
    for k, v in qlearning_lake.metrics.items():
        np.testing.assert_array_equal(v, again.metrics[k])
    np.testing.assert_array_equal(qlearning_lake.state.q, again.state.q)
    q = np.asarray(again.state.q)
    assert not np.array_equal(q[0], q[1])  # seeds differ


def test_sarsa_learns_frozen_lake():
    r = rlx.train("sarsa", "FrozenLake-v1", num_seeds=4, total_steps=100_000, eval_episodes=0,
                  show_progress=False)
    success = [success_within("FrozenLake-v1", np.asarray(T.greedy_policy(q)), 100) for q in r.state.q]
    assert np.mean(success) >= 0.65 and min(success) >= 0.5, success  # random policy: ~0.015


def test_qlearning_on_discretised_cartpole():
    # measured: 16 seeds, 50k steps: mean 429 (min 211); the random policy scores ~22
    r = rlx.train("qlearning", "CartPole-v1", num_seeds=4, total_steps=50_000, eval_episodes=10,
                  show_progress=False)
    assert r.state.q.shape == (4, 72, 2)
    assert r.summary["final_return_mean"] >= 150, r.summary["final_return_per_seed"]
    assert r.metrics["episode_return"][:3].mean() < 40


def test_hyperparameters_are_vmapped_in_one_compile():
    cfg = T.QLearningConfig(bins=(1, 1, 6, 12), obs_low=(-4.8, -3.0, -0.21, -2.0),
                            obs_high=(4.8, 3.0, 0.21, 2.0))
    leaves = jax.tree_util.tree_leaves(cfg)
    assert len(leaves) == 8 + 8  # lr ... q_init, then the 8 bounds; bins, sizes, schedule static
    res = rlx.sweep("qlearning", "FrozenLake-v1", grid={"lr": [0.05, 0.3], "gamma": [0.9, 0.99]},
                    num_seeds=2, total_steps=8192, eval_episodes=0, show_progress=False)
    assert res.summary["compiles"] == 1 and len(res.configs) == 4


# --------------------------------------------------------------------------- configuration errors


@pytest.mark.parametrize("algo, env, overrides, message", [
    ("qlearning", None, dict(lr=0.0), "--lr=0.0 is invalid: it must lie in (0, 1]"),
    ("sarsa", None, dict(gamma=1.5), "--gamma=1.5 is invalid"),
    ("qlearning", None, dict(eps_end=-0.1), "--eps-end=-0.1 is invalid"),
    ("qlearning", None, dict(lr_schedule="cosine"), "--lr-schedule=cosine is invalid"),
    ("qlearning", None, dict(lr_power=1.5), "--lr-power=1.5 is invalid"),
    ("qlearning", None, dict(num_envs=0), "--num-envs=0 is invalid"),
    ("qlearning", None, dict(bins=(4, 4)), "already Discrete; bins are for Box observations"),
    ("qlearning", "Acrobot-v1", None, "Acrobot-v1 has Box observations: give qlearning --bins"),
    ("qlearning", "Pendulum-v1", None, "Pendulum-v1 has Box actions"),
    ("qlearning", "CartPole-v1", dict(bins=(6, 12)), "--obs-low=(-4.8, -3.0, -0.21, -2.0) is invalid"),
    ("qlearning", "CartPole-v1", dict(bins=(6, 12), obs_low=(-1, -1), obs_high=(1, 1)),
     "bins=(6, 12) must give one positive number of bins per observation dimension (4)"),
    ("qlearning", "CartPole-v1", dict(bins=(1, 0, 6, 12)), "--bins=(1, 0, 6, 12) is invalid"),
    ("qlearning", "CartPole-v1", dict(obs_low=(-1.0,)), "--obs-low=(-1.0,) is invalid"),
    ("qlearning", "CartPole-v1", dict(obs_low=(0, 0, 1, 0), obs_high=(1, 1, -1, 1)),
     "dimension 2 has 6 bins but bounds [1, -1]"),
    ("qlearning", "CartPole-v1", dict(obs_low=(), obs_high=()), "dimension 3 has 12 bins but bounds"),
])
def test_bad_config_is_a_config_error(algo, env, overrides, message):
    with pytest.raises(ConfigError) as e:
        rlx.train(algo, env, overrides=overrides, show_progress=False, total_steps=1024)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_cli_bad_input_is_one_line_exit_2():
    r = subprocess.run([sys.executable, "-m", "rlx.cli", "train", "qlearning", "--env", "CartPole-v1",
                        "--bins", "6", "12"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlx: error: "), r.stderr
    assert "--obs-low=(-4.8, -3.0, -0.21, -2.0) is invalid" in lines[0], r.stderr

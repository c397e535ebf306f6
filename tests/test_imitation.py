"""Imitation learning (``rlx.algos.imitation``): datasets, noisy-expert labels, BC, DAgger.

Most tests use hand-made experts that cost nothing to query — a linear torque law
on Pendulum-v1 and a linear balancing rule on CartPole-v1 — so the learner's target
is known exactly. One test runs the planner expert (CEM-MPC) itself, small.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos import imitation as im
from rlx.algos.base import ConfigError
from rlx.envs.classic_control import PendulumParams

W = jnp.array([0.6, -0.8, -0.3])  # a linear Pendulum "expert": u = clip(W·o + 0.1)


def linear_expert(obs, key):
    return jnp.clip(jnp.array([W @ obs + 0.1]), -2.0, 2.0)


def cartpole_expert(obs, key):  # push towards the side the pole falls to
    return (obs[2] + 0.5 * obs[3] + 0.05 * obs[1] > 0).astype(jnp.int32)


def random_torque(obs, key):
    return jax.random.uniform(key, (1,), minval=-2.0, maxval=2.0)


@pytest.fixture(scope="module")
def pendulum():
    return rlx.make("Pendulum-v1")


@pytest.fixture(scope="module")
def noisy(pendulum):
    env, params = pendulum
    return im.collect(env, params, linear_expert, jax.random.key(0), episodes=4, max_steps=200, action_noise=0.5)


# one static configuration and one dataset shape ([4, 200]) for every cloning below: one compile
BC = im.BCConfig(steps=1000, lr=3e-3, hidden=(32, 32))


# ----------------------------------------------------------------------------- datasets


def test_collect_shapes_and_metadata(pendulum, noisy):
    env, params = pendulum
    ds = noisy
    assert ds.obs.shape == (4, 200, 3) and ds.action.shape == (4, 200, 1) and ds.taken.shape == (4, 200, 1)
    assert ds.valid.shape == (4, 200) and bool(ds.valid.all())  # Pendulum never terminates
    assert ds.env_name == "Pendulum-v1" and ds.expert_name == "linear_expert"
    np.testing.assert_allclose(ds.returns, ds.reward.sum(1), rtol=1e-6)
    assert ds.num_labels == 800
    assert ds.spec == im.ActionSpec((1,), 0, (-2.0,), (2.0,))


def test_dataset_round_trip(tmp_path, pendulum, noisy):
    env, params = pendulum
    path = im.save_dataset(tmp_path / "demos", noisy)
    assert path.suffix == ".npz"
    meta = im.dataset_meta(path)
    assert meta["env"] == "Pendulum-v1" and meta["expert"] == "linear_expert" and meta["labels"] == 800
    assert meta["return_mean"] == pytest.approx(float(noisy.returns.mean()), rel=1e-5)
    back = im.load_dataset(path, env, params)
    for f in ("obs", "action", "taken", "reward", "valid", "returns"):
        np.testing.assert_array_equal(np.asarray(getattr(back, f)), np.asarray(getattr(noisy, f)))
    assert (back.env_name, back.expert_name, back.spec) == (noisy.env_name, noisy.expert_name, noisy.spec)


def test_dataset_validation_errors(tmp_path, pendulum, noisy):
    env, params = pendulum
    path = im.save_dataset(tmp_path / "demos.npz", noisy)
    cartpole, cp_params = rlx.make("CartPole-v1")
    with pytest.raises(im.DatasetError, match=r"observations of shape \(3,\) but CartPole-v1's are \(4,\)") as e:
        im.load_dataset(path, cartpole, cp_params)
    assert "\n" not in str(e.value) and "collected on Pendulum-v1" in str(e.value)
    with pytest.raises(im.DatasetError, match="action bounds .* pass the env params"):
        im.load_dataset(path, env, PendulumParams(max_torque=1.0))
    # same observation shape, other action space: a discrete rewrite of the metadata
    ds = im.collect(cartpole, cp_params, cartpole_expert, jax.random.key(1), 2, 10)
    cp_path = im.save_dataset(tmp_path / "cartpole.npz", ds)
    with pytest.raises(im.DatasetError, match=r"actions Discrete\(2\) but .*Box\(1,\)"):
        im.load_dataset(cp_path, _FourObsBox(), None)
    with pytest.raises(im.DatasetError, match="no dataset at"):
        im.load_dataset(tmp_path / "missing.npz", env, params)


class _FourObsBox(rlx.envs.Environment):
    """CartPole's observation shape with a box action: only the action space differs."""

    name = "FourObsBox"

    def observation_space(self, params):
        return rlx.envs.spaces.box(-1.0, 1.0, (4,))

    def action_space(self, params):
        return rlx.envs.spaces.box(-1.0, 1.0, (1,))


def test_noise_injection_labels_are_clean_expert_actions(noisy):
    ds = noisy
    obs = ds.obs.reshape(-1, 3)
    clean = jax.vmap(linear_expert)(obs, jax.random.split(jax.random.key(0), obs.shape[0]))
    np.testing.assert_allclose(ds.action.reshape(-1, 1), clean, atol=1e-6)  # labels: expert on visited states
    taken, label = np.asarray(ds.taken), np.asarray(ds.action)
    assert np.mean(np.abs(taken - label) > 1e-3) > 0.9  # the actions executed were perturbed
    assert taken.min() >= -2.0 and taken.max() <= 2.0  # and clipped to the box
    # the perturbations changed the visited states, relative to the clean expert
    clean_ds = im.collect(*rlx.make("Pendulum-v1"), linear_expert, jax.random.key(0), 4, 200)
    assert not np.allclose(clean_ds.obs[:, 1:], ds.obs[:, 1:])
    np.testing.assert_array_equal(clean_ds.taken, clean_ds.action)


def test_label_with_relabels_another_policy(pendulum):
    env, params = pendulum
    ds = im.collect(env, params, random_torque, jax.random.key(2), 3, 50, label_with=linear_expert)
    obs = ds.obs.reshape(-1, 3)
    np.testing.assert_allclose(ds.action.reshape(-1, 1), jax.vmap(linear_expert)(obs, obs[:, :1]), atol=1e-6)
    assert ds.expert_name == "linear_expert"
    assert not np.allclose(ds.taken, ds.action)


def test_policy_expert_is_the_deterministic_agent():
    from rlx.algos import pg
    env, params = rlx.make("Pendulum-v1")
    agent = pg.build(pg.PPOConfig(num_envs=2, num_steps=4, minibatches=1), env, params, 1000)
    pp = agent.policy_params(agent.init(jax.random.key(0), pg.PPOConfig(num_envs=2, num_steps=4, minibatches=1)))
    expert = im.policy_expert(agent, pp, name="ppo")
    obs = jnp.array([0.1, 0.9, -0.5])
    np.testing.assert_array_equal(expert(obs, jax.random.key(1)), agent.act(pp, obs, jax.random.key(2), True))
    assert expert.__name__ == "ppo"


def test_run_expert_loads_a_run_folders_policy(tmp_path):
    """The expert restored from a run folder acts as the run's final in-memory policy of that seed."""
    r = rlx.train("ppo", "Pendulum-v1", num_seeds=2, total_steps=2 * 16 * 256, eval_episodes=0, chunks=1,
                  show_progress=False, out=tmp_path / "run")
    obs = jnp.array([0.1, 0.9, -0.5])
    for i in range(2):
        expert = im.run_expert(tmp_path / "run", seed_index=i)
        state = jax.tree_util.tree_map(lambda x: x[i], r.state)
        want = r.agent.act(r.agent.policy_params(state), obs, jax.random.key(0), True)
        np.testing.assert_allclose(expert(obs, jax.random.key(1)), want, rtol=1e-6)
        assert expert.__name__ == f"ppo(Pendulum-v1, seed {i}, update 2)"
    with pytest.raises(ConfigError, match="--seed-index=2"):
        im.run_expert(tmp_path / "run", seed_index=2)
    from rlx.run.checkpoint import CheckpointError
    with pytest.raises(CheckpointError, match="not an rlx run folder"):
        im.run_expert(tmp_path)


def test_bad_arguments_are_one_line_errors(pendulum):
    env, params = pendulum
    for bad, match in ((dict(lr=-1.0), "--lr=-1.0"), (dict(loss="l1"), "--loss=l1"), (dict(hidden=()), "--hidden")):
        with pytest.raises(ConfigError, match=match):
            im.validate(im.BCConfig(**bad))
    with pytest.raises(ConfigError, match="--beta0=1.5"):
        im.validate(im.DAggerConfig(beta0=1.5))
    with pytest.raises(ConfigError, match="--action-noise=-0.1"):
        im.collect(env, params, linear_expert, jax.random.key(0), 1, 5, action_noise=-0.1)
    with pytest.raises(ConfigError, match="--episodes=0"):
        im.collect(env, params, linear_expert, jax.random.key(0), 0, 5)
    with pytest.raises(ConfigError, match="--planner=lqr"):
        im.pendulum_expert(planner="lqr")
    with pytest.raises(AssertionError, match="rank"):
        im.mse_loss(jnp.zeros((4,)), jnp.zeros((4,)), jnp.ones((4,)))


# ----------------------------------------------------------------------------- behaviour cloning


def test_bc_recovers_a_linear_policy(pendulum, noisy):
    """Regression onto a known linear law: on fresh states the clone matches it."""
    env, params = pendulum
    cfg = BC
    pp, loss = im.bc_train(jax.random.key(3), noisy, cfg, return_loss=True)
    assert loss < 2e-3
    test = im.collect(env, params, linear_expert, jax.random.key(9), 4, 100, action_noise=0.3)
    obs = test.obs.reshape(-1, 3)
    pred = jax.vmap(im.bc_policy(pp, cfg, noisy.spec))(obs, jax.random.split(jax.random.key(0), obs.shape[0]))
    err = np.abs(np.asarray(pred) - np.asarray(test.action.reshape(-1, 1)))
    assert err.mean() < 0.03 and err.max() < 0.3, (err.mean(), err.max())
    # Gaussian log-likelihood: the same mean, and σ shrinks to the residual scale
    g = dataclasses.replace(BC, loss="gaussian")
    pg_ = im.bc_train(jax.random.key(3), noisy, g)
    pred_g = jax.vmap(im.bc_policy(pg_, g, noisy.spec))(obs, obs[:, :1])
    assert np.abs(np.asarray(pred_g) - np.asarray(test.action.reshape(-1, 1))).mean() < 0.05
    assert float(jnp.exp(pg_["log_std"][0])) < 0.2


def test_bc_ignores_invalid_rows(noisy):
    """Rows masked out by ``valid`` never reach the loss: corrupting their labels
    changes nothing, bit for bit."""
    def masked(action):
        return type(noisy)(noisy.obs, action, noisy.taken, noisy.reward, noisy.valid.at[2:].set(False),
                           noisy.returns, env_name=noisy.env_name, expert_name=noisy.expert_name, spec=noisy.spec)
    a, loss_a = im.bc_train(jax.random.key(0), masked(noisy.action), BC, return_loss=True)
    b, loss_b = im.bc_train(jax.random.key(0), masked(noisy.action.at[2:].set(100.0)), BC, return_loss=True)
    jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
    assert float(loss_a) == float(loss_b) < 0.01


# ----------------------------------------------------------------------------- DAgger


def test_beta_schedules():
    np.testing.assert_allclose(im.beta_schedule(im.DAggerConfig(iterations=4, beta0=1.0, beta_decay=0.5)),
                               [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(im.beta_schedule(im.DAggerConfig(iterations=3, beta0=0.8, beta_decay=0.1)),
                               [0.8, 0.08, 0.008], rtol=1e-6)
    np.testing.assert_allclose(im.beta_schedule(im.DAggerConfig(iterations=5, beta0=1.0, schedule="linear")),
                               [1.0, 0.75, 0.5, 0.25, 0.0])


def test_dagger_aggregation_counts_pendulum(pendulum):
    env, params = pendulum
    cfg = im.DAggerConfig(iterations=3, episodes=2, max_steps=10, steps=20, hidden=(8,))
    pp, buf, m = im.dagger(jax.random.key(0), env, params, linear_expert, cfg)
    np.testing.assert_array_equal(m["labels"], [20, 40, 60])  # rows filled after each iteration
    np.testing.assert_allclose(m["beta"], [1.0, 0.5, 0.25])
    assert buf.obs.shape == (60, 3) and buf.labels.shape == (60, 1) and int(buf.count) == 60
    np.testing.assert_array_equal(buf.weight, np.ones(60))
    # every aggregated row carries the expert's label for its own observation
    np.testing.assert_allclose(buf.labels, jax.vmap(linear_expert)(buf.obs, buf.obs[:, :1]), atol=1e-6)


@pytest.fixture(scope="module")
def dagger_cartpole():
    env, params = rlx.make("CartPole-v1")
    cfg = im.DAggerConfig(iterations=4, episodes=2, max_steps=200, steps=400, hidden=(32,), lr=3e-3,
                          beta_decay=0.3, eval_episodes=8)
    return im.dagger(jax.random.key(1), env, params, cartpole_expert, cfg), cfg


def test_dagger_aggregation_counts_with_terminations(dagger_cartpole):
    """Episodes that end early leave invalid rows; ``count`` and the weights agree,
    and each iteration's rows sit in its own block."""
    (pp, buf, m), cfg = dagger_cartpole
    block = cfg.episodes * cfg.max_steps
    w = np.asarray(buf.weight).reshape(cfg.iterations, block)
    counts = np.cumsum(w.sum(1))
    np.testing.assert_array_equal(m["labels"], counts)
    assert int(buf.count) == counts[-1] <= cfg.iterations * block
    np.testing.assert_allclose(m["beta"], [1.0, 0.3, 0.09, 0.027], rtol=1e-6)
    valid = np.asarray(buf.weight) > 0
    labels = jax.vmap(cartpole_expert)(buf.obs, buf.obs[:, :1])
    np.testing.assert_array_equal(np.asarray(buf.labels)[valid], np.asarray(labels)[valid])
    assert buf.labels.dtype == jnp.int32


def test_dagger_learns_cartpole(dagger_cartpole):
    """Cross-entropy cloning of a balancing rule: the learner alone balances for long."""
    (pp, buf, m), cfg = dagger_cartpole
    assert m["eval_return"][-1] >= 150, m["eval_return"]
    env, params = rlx.make("CartPole-v1")
    expert_return = im.evaluate(env, params, cartpole_expert, jax.random.key(7), 8, 200).mean()
    learner = im.bc_policy(pp, cfg, im.action_spec(env.action_space(params)))
    assert im.evaluate(env, params, learner, jax.random.key(7), 8, 200).mean() >= 0.75 * expert_return


def test_mpc_expert_and_bc_on_pendulum(pendulum):
    """The planner expert swings Pendulum up; a clone of a few demonstrations beats random."""
    env, params = pendulum
    expert = im.pendulum_expert(horizon=20, num_samples=64, num_elites=8, iterations=4)
    ds = im.collect(env, params, expert, jax.random.key(0), episodes=4, max_steps=200)
    assert ds.expert_name.startswith("cem-mpc(horizon=20")
    random_return = im.evaluate(env, params, random_torque, jax.random.key(5), 16, 200).mean()
    assert ds.returns.mean() > -400 and random_return < -900, (ds.returns, random_return)
    cfg = BC
    learner = im.bc_policy(im.bc_train(jax.random.key(1), ds, cfg), cfg, ds.spec)
    bc_return = im.evaluate(env, params, learner, jax.random.key(5), 16, 200).mean()
    score = (bc_return - random_return) / (ds.returns.mean() - random_return)
    assert score > 0.6, (bc_return, ds.returns.mean(), random_return)

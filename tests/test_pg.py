"""Policy-gradient agents through the runner: learning, determinism, bootstrapping."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos.base import ConfigError
from rlx.core.pytree import pytree_dataclass
from rlx.envs import Environment, TimeStep, register, spaces


@pytest.fixture(scope="module")
def ppo_cartpole(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ppo"
    return rlx.train("ppo", "CartPole-v1", num_seeds=4, total_steps=250_000, out=out,
                     show_progress=False)


def test_ppo_learns_cartpole(ppo_cartpole):
    s = ppo_cartpole.summary
    assert s["final_return_mean"] >= 400, s["final_return_per_seed"]
    # learning curve rises from the random policy's ~22
    curve = ppo_cartpole.metrics["episode_return"].mean(axis=1)
    assert curve[:3].mean() < 60 and curve[-5:].mean() > 300


def test_learning_rate_anneals_linearly_to_zero(ppo_cartpole):
    """PPO's default anneal_lr: the step size of update i is lr · (1 − i / updates)."""
    lr = ppo_cartpole.metrics["lr"]  # [updates, seeds]
    n = ppo_cartpole.summary["updates"]
    base = json.loads((ppo_cartpole.run_dir / "config.json").read_text())["config"]["lr"]
    expected = base * (1.0 - np.arange(n) / n)
    np.testing.assert_allclose(lr, np.broadcast_to(expected[:, None], lr.shape), rtol=1e-5, atol=1e-9)


def test_run_folder_contents(ppo_cartpole):
    d = ppo_cartpole.run_dir
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["algo"] == "ppo" and cfg["num_seeds"] == 4 and cfg["config"]["lr"] > 0
    header = (d / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["seed", "step"]
    for col in ("episode_return", "episode_length", "policy_loss", "value_loss", "entropy"):
        assert col in header
    rows = (d / "metrics.csv").read_text().splitlines()[1:]
    assert len(rows) == 4 * ppo_cartpole.summary["updates"]
    summary = json.loads((d / "summary.json").read_text())
    for key in ("final_return_mean", "final_return_per_seed", "env_steps", "env_steps_per_second",
                "compile_seconds", "wall_seconds"):
        assert key in summary
    assert len(summary["final_return_per_seed"]) == 4
    assert (d / "learning_curve.png").stat().st_size > 10_000


def _short(seed, num_seeds, algo="ppo"):
    return rlx.train(algo, "CartPole-v1", seed=seed, num_seeds=num_seeds, total_steps=3 * 2048,
                     eval_episodes=0, show_progress=False)


def test_same_seed_same_numbers_and_seeds_differ():
    a, b = _short(0, 2), _short(0, 2)
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k])
    jax.tree_util.tree_map(np.testing.assert_array_equal, a.state.params, b.state.params)
    ret = a.metrics["value_loss"]
    assert not np.allclose(ret[:, 0], ret[:, 1])  # different seeds, different runs
    p = a.state.params["params"]["actor"]["Dense_0"]["kernel"]
    assert not np.allclose(p[0], p[1])


def test_seed_in_batch_equals_seed_alone():
    batch, alone = _short(0, 2), _short(1, 1)
    for k in ("value_loss", "policy_loss", "entropy"):
        np.testing.assert_allclose(batch.metrics[k][:, 1], alone.metrics[k][:, 0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo, steps", [("a2c", 100_000), ("reinforce", 200_000)])
def test_a2c_and_reinforce_improve_on_cartpole(algo, steps):
    r = rlx.train(algo, "CartPole-v1", num_seeds=2, total_steps=steps, eval_episodes=0,
                  show_progress=False)
    curve = r.metrics["episode_return"].mean(axis=1)
    assert curve[-5:].mean() > 3 * max(curve[:2].mean(), 15.0), curve[[0, -1]]


@pytest.mark.parametrize("squash", ["clip", "tanh"])
def test_continuous_actions_stay_in_bounds_and_train(squash):
    r = rlx.train("ppo", "Pendulum-v1", num_seeds=1, total_steps=4096, eval_episodes=2,
                  show_progress=False, overrides=dict(squash=squash, minibatches=4))
    assert np.all(np.isfinite(r.metrics["value_loss"]))
    pp = jax.tree_util.tree_map(lambda x: x[0], jax.vmap(r.agent.policy_params)(r.state))
    obs = jax.random.normal(jax.random.key(0), (256, 3)) * 10
    acts = jax.vmap(lambda o, k: r.agent.act(pp, o, k, False))(obs, jax.random.split(jax.random.key(1), 256))
    assert acts.shape == (256, 1)
    assert float(jnp.max(jnp.abs(acts))) <= 2.0
    if squash == "clip":  # Gaussian draws past the box land on its faces (~5% of 256 at unit std)
        assert int(jnp.sum(jnp.abs(acts) == 2.0)) > 0


# A task whose value is only right if truncation bootstraps: reward 1 forever,
# cut every 5 steps, one constant observation. With γ = 0.9, V = 1 / (1 - γ) = 10;
# treating the cut as a terminal state would give the average of 1 + γ + ... over
# the 5 positions, about 4.1.
@pytree_dataclass
class _NoParams:
    pass


class _Forever(Environment):
    name = "test/Forever"

    def default_params(self):
        return _NoParams()

    def reset(self, key, params):
        obs = jnp.zeros((1,), jnp.float32)
        return jnp.zeros(()), TimeStep(obs, jnp.zeros(()), jnp.zeros((), bool), jnp.zeros((), bool), {})

    def step(self, key, state, action, params):
        obs = jnp.zeros((1,), jnp.float32)
        return state, TimeStep(obs, jnp.ones(()), jnp.zeros((), bool), jnp.zeros((), bool), {})

    def observation_space(self, params):
        return spaces.box(-1.0, 1.0, (1,))

    def action_space(self, params):
        return spaces.Discrete(2)


register("test/Forever", _Forever, max_steps=5)


def test_truncation_bootstraps_from_final_observation():
    r = rlx.train("a2c", "test/Forever", num_seeds=1, total_steps=400 * 16 * 8, eval_episodes=0,
                  show_progress=False, overrides=dict(gamma=0.9, gae_lambda=0.0, lr=3e-2, ent_coef=0.0))
    pp = jax.tree_util.tree_map(lambda x: x[0], jax.vmap(r.agent.policy_params)(r.state))
    from rlx.nets import ActorCritic

    model = ActorCritic(2, False, (64, 64), "tanh")
    v = model.apply(pp["params"], jnp.zeros((1,)), method=ActorCritic.value)
    assert abs(float(v) - 10.0) < 0.5, float(v)


def test_bad_config_is_rejected_before_compiling(monkeypatch):
    from rlx.run import runner

    def compile_programs(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(runner, "compile_programs", compile_programs)
    monkeypatch.setattr(jax, "jit", lambda *a, **k: compile_programs())
    with pytest.raises(ConfigError, match="REINFORCE is GAE with λ = 1"):
        rlx.train("reinforce", overrides=dict(gae_lambda=0.9))
    with pytest.raises(ConfigError, match="--gae-lambda"):
        rlx.train("ppo", overrides=dict(gae_lambda=1.5))
    with pytest.raises(ConfigError, match="unknown hyperparameter 'learning_rate'"):
        rlx.train("ppo", overrides=dict(learning_rate=1e-3))
    with pytest.raises(ConfigError, match="unknown environment"):
        rlx.train("ppo", "CartPole-v2")
    with pytest.raises(ConfigError, match="unknown algorithm"):
        rlx.train("dqnn")
    with pytest.raises(ConfigError, match=r"shape \(10, 10, 4\); .* vector \(1-D Box\) observations: use dqn"):
        rlx.train("ppo", "Breakout-MinAtar")


def test_non_finite_values_stop_the_run_and_keep_results(tmp_path):
    from rlx.run import NonFiniteError

    out = tmp_path / "diverged"
    with pytest.raises(NonFiniteError, match=r"non-finite \w+ at update \d+"):
        rlx.train("a2c", "CartPole-v1", num_seeds=1, total_steps=20_000, out=out, show_progress=False,
                  overrides=dict(lr=1e38, max_grad_norm=1e30), chunks=2)
    assert (out / "config.json").exists()
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("seed,step") and all("nan" not in r for r in rows[1:])

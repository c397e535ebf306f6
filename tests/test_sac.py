"""SAC and TD3: the formulas against hand-computed numbers, TD3's delayed actor, learning Pendulum,
one-line config errors, reproducibility."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos.base import ConfigError
from rlx.algos.sac import (SACConfig, TD3Config, build, polyak_update, sac_actor_loss, sac_critic_target,
                           smoothed_target_action, tanh_gaussian_log_prob, td3_target, temperature_loss)
from rlx.nets import MLP


def test_tanh_gaussian_log_prob_matches_the_change_of_variables():
    mean, log_std = np.array([[0.3, -1.0], [2.0, 0.0]]), np.array([[-0.2, 0.5], [0.1, -1.0]])
    u = np.array([[0.1, -2.0], [9.0, -0.5]])  # tanh(9) = 1 − 3e-8: 1 − tanh² underflows in float32
    std = np.exp(log_std)
    direct = np.sum(-0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
                    - np.log(1 - np.tanh(u) ** 2), axis=-1)  # in float64
    got = tanh_gaussian_log_prob(jnp.asarray(mean, jnp.float32), jnp.asarray(log_std, jnp.float32),
                                 jnp.asarray(u, jnp.float32))
    np.testing.assert_allclose(got, direct, rtol=1e-5)
    # it is a density on (−1, 1): ∫ π(a) da = 1, and E[a] matches tanh of Gaussian draws
    a = np.linspace(-1, 1, 400_001)[1:-1]
    p = np.exp(np.asarray(tanh_gaussian_log_prob(jnp.full((a.size, 1), 0.3), jnp.full((a.size, 1), -0.2),
                                                 jnp.asarray(np.arctanh(a)[:, None], jnp.float32)), np.float64))
    assert np.trapezoid(p, a) == pytest.approx(1.0, abs=2e-3)
    draws = np.tanh(0.3 + np.exp(-0.2) * np.random.default_rng(0).standard_normal(200_000))
    assert np.trapezoid(p * a, a) == pytest.approx(draws.mean(), abs=5e-3)


def test_sac_critic_target_hand_computed():
    reward, discount = jnp.array([1.0, 2.0]), jnp.array([0.9, 0.0])  # the second terminated
    next_q = jnp.array([[3.0, 5.0], [1.0, 1.0]])
    log_prob, alpha = jnp.array([-1.0, 2.0]), 0.5
    # 1 + 0.9 · (min(3, 5) − 0.5 · (−1)) = 1 + 0.9 · 3.5; terminal: the reward alone
    np.testing.assert_allclose(sac_critic_target(reward, discount, next_q, log_prob, alpha), [4.15, 2.0], rtol=1e-6)


def test_sac_actor_loss_hand_computed():
    # α log π − min Q: 0.2 · 1 − 3 and 0.2 · (−2) − (−1)
    np.testing.assert_allclose(sac_actor_loss(jnp.array([1.0, -2.0]), jnp.array([[3.0, 4.0], [-1.0, 0.0]]), 0.2),
                               [-2.8, 0.6], rtol=1e-6)


def test_temperature_loss_value_and_gradient_sign():
    log_alpha, target = jnp.log(0.5), -1.0
    np.testing.assert_allclose(temperature_loss(log_alpha, jnp.array([0.5, -3.0]), target),
                               [np.log(2) * -0.5, np.log(2) * -4.0], rtol=1e-6)  # −log α (log π + H̄)

    def grad(log_prob):
        return jax.grad(lambda la: temperature_loss(la, jnp.asarray(log_prob), target).mean())(log_alpha)
    # entropy −log π = −2 below the target −1: the gradient is negative, so descent raises α
    assert float(grad([2.0])) == pytest.approx(-1.0)
    # entropy 3 above the target: descent lowers α
    assert float(grad([-3.0])) == pytest.approx(4.0)
    # no gradient reaches the policy through the temperature loss
    assert float(jax.grad(lambda lp: temperature_loss(log_alpha, lp, target))(1.0)) == 0.0


def test_td3_smoothed_target_hand_computed():
    mu = jnp.array([[0.2, -0.9, 0.1, 0.9]])
    noise = jnp.array([[0.7, -0.2, -0.6, 0.3]])
    # noise clipped to ±0.5, then the action to [−1, 1]: 0.2 + 0.5, −1.1 → −1, 0.1 − 0.5, 1.2 → 1
    np.testing.assert_allclose(smoothed_target_action(mu, noise, 0.5), [[0.7, -1.0, -0.4, 1.0]], rtol=1e-6)
    y = td3_target(jnp.array([1.0, -1.0]), jnp.array([0.99, 0.0]), jnp.array([[2.0, -3.0], [5.0, 6.0]]))
    np.testing.assert_allclose(y, [1.0 + 0.99 * -3.0, -1.0], rtol=1e-6)  # min of the twins; terminal


def test_polyak_update_hand_computed():
    target = {"w": jnp.array([0.0, 10.0]), "b": jnp.array(4.0)}
    online = {"w": jnp.array([1.0, 0.0]), "b": jnp.array(2.0)}
    new = polyak_update(target, online, 0.1)
    np.testing.assert_allclose(new["w"], [0.1, 9.0], rtol=1e-6)
    np.testing.assert_allclose(new["b"], 3.8, rtol=1e-6)


def changed(a, b) -> bool:
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_td3_actor_and_targets_move_only_every_policy_delay_critic_steps():
    env, params = rlx.make("Pendulum-v1")
    cfg = TD3Config(hidden=(16,), batch_size=16, buffer_size=400, num_envs=2, learning_starts=20, policy_delay=3)
    agent = build(cfg, env, params, 1000)
    s = agent.init(jax.random.key(0), cfg)
    update = jax.jit(agent.update)
    moved = []
    for _ in range(20):
        old, (s, _) = s, update(s)
        n = int(s.critic_steps)
        learned = int(s.steps) >= cfg.learning_starts
        assert changed(s.nets.critic, old.nets.critic) == learned
        moved.append((n, changed(s.nets.actor, old.nets.actor), changed(s.nets.target_actor, old.nets.target_actor),
                      changed(s.nets.target_critic, old.nets.target_critic)))
    assert moved[-1][0] == 11  # ten updates collected the first 20 steps; one critic step per update since
    for n, actor, target_actor, target_critic in moved:
        assert actor == target_actor == target_critic == (n > 0 and n % 3 == 0), (n, actor, target_actor)


# ----------------------------------------------------------------------------- learning

def pendulum_run(algo):
    """8k steps, 2 seeds, the Pendulum preset ((64, 64) networks, 1000 random steps first)."""
    return rlx.train(algo, "Pendulum-v1", num_seeds=2, total_steps=8000, eval_episodes=5, chunks=4,
                     show_progress=False)


@pytest.fixture(scope="module")
def sac_run():
    return pendulum_run("sac")


@pytest.fixture(scope="module")
def td3_run():
    return pendulum_run("td3")


def check_learned(r, names):
    """A random policy scores about −1200 on Pendulum; a good one about −150."""
    assert set(r.metrics) == {"episode_return", "episode_length", "critic_loss", "actor_loss", "q_mean", *names}
    assert all(v.shape == (8000, 2) for v in r.metrics.values())  # one scalar per update and seed
    assert r.summary["final_return_mean"] > -300, r.summary["final_return_per_seed"]
    assert r.metrics["episode_return"][-1000:].mean() > -400  # the training episodes too
    assert np.all(r.metrics["critic_loss"][:999] == 0) and np.all(r.metrics["critic_loss"][999:] > 0)
    assert not np.allclose(r.metrics["critic_loss"][-1, 0], r.metrics["critic_loss"][-1, 1])  # seeds differ
    pp = jax.tree_util.tree_map(lambda x: x[0], r.agent.policy_params(r.state))
    obs = jax.random.normal(jax.random.key(0), (64, 3))
    for det in (True, False):
        a = jax.vmap(lambda o, k: r.agent.act(pp, o, k, det))(obs, jax.random.split(jax.random.key(1), 64))
        assert a.shape == (64, 1) and bool(jnp.all(jnp.abs(a) <= 2.0))  # Pendulum's torque box
        assert float(jnp.abs(a).max()) > 1.0  # rescaled from [−1, 1]


def test_sac_learns_pendulum(sac_run):
    """Measured: evaluation −118 and −169 on seeds 0, 1; training episodes of the last 1000 steps
    −149 (seeds 2–9: evaluation −98 to −165 per seed, 2-seed means −111 to −139)."""
    check_learned(sac_run, {"alpha"})
    alpha = sac_run.metrics["alpha"]
    assert np.all(alpha[:999] == 1.0) and np.all(alpha[-1] < 0.5)  # the temperature is tuned down


def test_sac_deterministic_action_is_the_rescaled_tanh_mean(sac_run):
    r = sac_run
    pp = jax.tree_util.tree_map(lambda x: x[0], r.agent.policy_params(r.state))
    obs = jnp.array([1.0, 0.0, 0.5])
    mean = jnp.split(MLP((64, 64), 2, "relu").apply(pp["actor"], obs), 2)[0]
    np.testing.assert_allclose(r.agent.act(pp, obs, jax.random.key(0), True), 2.0 * jnp.tanh(mean), rtol=1e-6)


def test_td3_learns_pendulum(td3_run):
    """Measured: evaluation −127 and −172 on seeds 0, 1; training episodes of the last 1000 steps
    −156 (seeds 2–9: evaluation −78 to −171 per seed, 2-seed means −104 to −144)."""
    check_learned(td3_run, set())


@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_same_seed_same_numbers(algo):
    a, b = (rlx.train(algo, "Pendulum-v1", num_seeds=2, total_steps=600, eval_episodes=0, show_progress=False,
                      chunks=1, overrides=dict(learning_starts=200, hidden=(16,), batch_size=32)) for _ in range(2))
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k])
    assert not np.allclose(a.metrics["critic_loss"][-1, 0], a.metrics["critic_loss"][-1, 1])


# ----------------------------------------------------------------------------- configuration

@pytest.mark.parametrize("algo, overrides, message", [
    ("sac", dict(tau=0.0), "--tau=0.0 is invalid"),
    ("sac", dict(alpha=0.0), "--alpha=0.0 is invalid: it must be positive"),
    ("sac", dict(log_std_min=3.0), "--log-std-min=3.0 is invalid: it must be below --log-std-max=2.0"),
    ("sac", dict(buffer_size=1), "--buffer-size=1 is invalid"),
    ("td3", dict(policy_delay=0), "--policy-delay=0 is invalid: it must be >= 1"),
    ("td3", dict(noise_clip=-0.5), "--noise-clip=-0.5 is invalid: it must be >= 0"),
    ("td3", dict(gamma=1.5), "--gamma=1.5 is invalid: it must lie in [0, 1]"),
])
def test_bad_config_is_a_one_line_error_before_compiling(algo, overrides, message):
    with pytest.raises(ConfigError) as e:
        rlx.train(algo, "Pendulum-v1", num_seeds=1, total_steps=100, show_progress=False, overrides=overrides)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_discrete_actions_are_refused():
    env, params = rlx.make("CartPole-v1")
    for cfg, name in ((SACConfig(), "SAC"), (TD3Config(), "TD3")):
        with pytest.raises(ConfigError, match=f"has Discrete actions; {name} needs continuous"):
            build(cfg, env, params, 1000)


def test_cli_errors_and_a_tiny_run(tmp_path):
    r = subprocess.run([sys.executable, "-m", "rlx.cli", "train", "td3", "--env", "CartPole-v1"],
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "TD3 needs continuous (Box) actions" in lines[0], r.stderr
    r = subprocess.run([sys.executable, "-m", "rlx.cli", "train", "sac", "--seeds", "2", "--total-steps", "400",
                        "--learning-starts", "200", "--hidden", "16", "--batch-size", "32", "--eval-episodes", "1",
                        "--chunks", "2", "--out", str(tmp_path / "run"), "--no-progress"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "summary.json").is_file()


"""Evolution strategies: the estimator's pieces against hand-computed values, the ES
gradient on a quadratic, memory O(chunk × parameters), the evosax adapter's sign
convention, sharded populations (4 devices, 2 processes) equal to one device,
and short learning runs."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos import ConfigError
from rlx.algos import es
from rlx.core import running_stats


def test_centered_ranks_hand_computed():
    # ranks of [3, -1, 10, 2] are [2, 0, 3, 1]; r/(n-1) - 1/2
    np.testing.assert_allclose(es.centered_ranks(jnp.array([3.0, -1.0, 10.0, 2.0])),
                               [2 / 3 - 0.5, -0.5, 0.5, 1 / 3 - 0.5], atol=1e-7)
    u = es.centered_ranks(jax.random.normal(jax.random.key(0), (101,)))
    assert float(u.sum()) == pytest.approx(0.0, abs=1e-5) and float(u.min()) == -0.5


def test_antithetic_members_mirror_and_cancel():
    theta, n, sigma, key = jnp.arange(5.0), 5, 0.3, jax.random.key(1)

    def params(m):
        j, s = es.member_sign(m, True)
        return theta + sigma * s * es.perturbation(key, j, n)

    members = jax.vmap(params)(jnp.arange(8))
    np.testing.assert_allclose(members[0::2] + members[1::2], 2 * np.broadcast_to(theta, (4, 5)), atol=1e-6)
    # a fitness equal on both members of each pair (even in ε) gives a zero gradient
    f = jnp.sum((members - theta) ** 2, axis=1)
    w = es.es_direction_weights(f, "raw", antithetic=True)
    np.testing.assert_allclose(w, 0.0, atol=1e-5)
    np.testing.assert_allclose(es.weighted_directions(key, w, n, 2), 0.0, atol=1e-5)


def test_weighted_directions_equals_the_explicit_matrix_for_any_chunk():
    key, n, d = jax.random.key(2), 7, 12
    w = jax.random.normal(jax.random.key(3), (d,))
    eps = jnp.stack([es.perturbation(key, j, n) for j in range(d)])
    for chunk in (1, 4, 12):
        np.testing.assert_allclose(es.weighted_directions(key, w, n, chunk), w @ eps, rtol=1e-5, atol=1e-5)


def test_es_gradient_matches_the_true_gradient_on_a_quadratic():
    """F(x) = −‖x − c‖²: E[F(θ+σε)ε]/σ = ∇F(θ) = −2(θ − c)."""
    n, pop, sigma = 10, 20_000, 0.05
    theta = jax.random.normal(jax.random.key(4), (n,))
    c = jnp.linspace(-1.0, 1.0, n)
    key = jax.random.key(5)

    def fitness(m):
        j, s = es.member_sign(m, True)
        return -jnp.sum((theta + sigma * s * es.perturbation(key, j, n) - c) ** 2)

    f = jax.vmap(fitness)(jnp.arange(pop))
    g = es.weighted_directions(key, es.es_direction_weights(f, "raw", True), n, 1000) / (pop * sigma)
    true = -2 * (theta - c)
    assert float(jnp.linalg.norm(g - true) / jnp.linalg.norm(true)) < 0.05
    # centred ranks keep the direction (a monotone transform of F)
    g_rank = es.weighted_directions(key, es.es_direction_weights(f, "centered_rank", True), n, 1000)
    assert float(g_rank @ true / (jnp.linalg.norm(g_rank) * jnp.linalg.norm(true))) > 0.95


def test_ars_weights_hand_computed():
    r_plus, r_minus = jnp.array([1.0, 5.0, 2.0, 0.0]), jnp.array([0.0, 1.0, 4.0, 3.0])
    # max(r+, r-) = [1, 5, 4, 3]: top 2 are directions 1 and 2; σ_R = std([5, 2, 1, 4]) = √2.5
    w = es.ars_direction_weights(r_plus, r_minus, 2)
    np.testing.assert_allclose(w, np.array([0.0, 4.0, -2.0, 0.0]) / (2 * np.sqrt(2.5)), rtol=1e-6)


def test_update_moments_equals_pooled_batch():
    x = jax.random.normal(jax.random.key(6), (50, 3)) * 2 + 1
    s = running_stats.update(running_stats.init((3,)), x[:20])
    a = running_stats.update(s, x[20:])
    b = running_stats.update_moments(s, 30, x[20:].mean(0), x[20:].var(0))
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6)
    np.testing.assert_allclose(a.mean, x.mean(0), rtol=1e-3, atol=1e-4)


def test_rollout_masks_rewards_after_the_episode_and_counts_states():
    env, params = rlx.make("CartPole-v1")
    policy, theta = es.make_policy(env, params, (), "tanh", jax.random.key(0))
    stats = running_stats.init((4,))
    ret, length, n, s1, s2 = es.rollout(policy, jnp.zeros_like(theta), stats, False, env, params,
                                        jax.random.key(0), 2, 500)
    # θ = 0 always pushes left: both episodes end early, the return is their length
    assert 5 <= float(length) < 50 and float(ret) == pytest.approx(float(length))
    assert int(n) == int(2 * length) and s1.shape == (4,) and bool(jnp.all(s2 >= 0))


def test_population_memory_is_one_chunk_of_perturbations():
    """A 100k-parameter policy, 256 members at a time: XLA's temporary buffers are the same
    for populations of 1024 and 4096 (O(chunk × parameters)), far below the 4096-member
    population matrix (1.6 GB)."""
    env, params = rlx.make("CartPole-v1")

    def temp_bytes(population):
        cfg = es.ESConfig(population=population, chunk=256, hidden=(256, 256, 128))
        agent = es.build(cfg, env, params, 10**9)
        state = jax.eval_shape(agent.init, jax.random.key(0), cfg)
        mem = jax.jit(agent.update).lower(state).compile().memory_analysis()
        return mem.temp_size_in_bytes, state.theta.shape[0]

    small, n = temp_bytes(1024)
    large, _ = temp_bytes(4096)
    assert n > 100_000
    assert large <= 1.05 * small, (small, large)
    assert large < 4096 * n * 4 / 3, (large, 4096 * n * 4)


@pytest.mark.parametrize("override, message", [
    (dict(population=15), "even population"),
    (dict(chunk=100), "divide the population"),
    (dict(sigma=0.0), "--sigma=0.0 is invalid"),
    (dict(optimizer="adamm"), "--optimizer=adamm is invalid: name an optax optimiser"),
])
def test_invalid_es_config_is_one_line(override, message):
    with pytest.raises(ConfigError, match=message) as e:
        rlx.train("es", "CartPole-v1", overrides=override, total_steps=10**6, show_progress=False)
    assert "\n" not in str(e.value)


def test_ars_top_and_unknown_evosax_strategy_are_one_line_errors():
    with pytest.raises(ConfigError, match="--top=40 is invalid"):
        es.validate(es.ARSConfig(directions=32, top=40))
    pytest.importorskip("evosax")
    with pytest.raises(ConfigError, match="not an evosax distribution-based strategy.*CMA_ES"):
        es.validate(es.EvosaxConfig(strategy="CMA-ES"))


@pytest.fixture(scope="module")
def es_cartpole():
    return rlx.train("es", "CartPole-v1", num_seeds=2, total_steps=256 * 500 * 40, chunks=4,
                     eval_episodes=10, show_progress=False)


def test_openai_es_learns_cartpole(es_cartpole):
    s = es_cartpole.summary
    assert s["final_return_mean"] >= 475, s["final_return_per_seed"]
    r = es_cartpole.metrics["episode_return"]
    assert r.shape == (40, 2) and np.all(r[-1] > 2 * r[0])
    assert not np.allclose(r[:, 0], r[:, 1])  # different seeds, different runs


def test_ars_linear_policies_v2_and_v1():
    """The paper's zero-initialised linear policy: V2 (state normalisation) solves
    MountainCarContinuous, whose velocity (~0.07) a raw linear map barely sees; V1
    (raw states) solves CartPole."""
    v2 = rlx.train("ars", "MountainCarContinuous-v0", num_seeds=2, total_steps=32 * 999 * 60, chunks=1,
                   eval_episodes=5, show_progress=False,
                   overrides=dict(hidden=(), directions=16, top=8, sigma=0.5, lr=0.05))
    assert v2.summary["final_return_mean"] >= 90, v2.summary["final_return_per_seed"]
    assert float(np.abs(v2.state.obs_stats.mean).max()) > 0.01  # the statistics moved
    v1 = rlx.train("ars", "CartPole-v1", num_seeds=2, total_steps=32 * 500 * 30, chunks=1, eval_episodes=5,
                   show_progress=False,
                   overrides=dict(hidden=(), directions=16, top=8, sigma=0.1, lr=0.05, normalize_obs=False))
    assert v1.summary["final_return_mean"] >= 475, v1.summary["final_return_per_seed"]
    np.testing.assert_array_equal(v1.state.obs_stats.mean, 0.0)  # V1 keeps none


def test_es_sweeps_vmapped_hyperparameters_with_any_optax_optimiser():
    r = rlx.sweep("es", "CartPole-v1", grid=dict(lr=[0.01, 0.1]), num_seeds=1, total_steps=32 * 500 * 6,
                  chunks=1, eval_episodes=0, show_progress=False,
                  overrides=dict(population=32, optimizer="adamw", unroll=1))
    assert r.summary["compiles"] == 1 and r.curves.shape == (6, 2, 1)
    assert not np.allclose(r.curves[:, 0], r.curves[:, 1])  # the learning rates act


def test_evosax_adapter_maximises_returns_and_checkpoints(tmp_path):
    pytest.importorskip("evosax")
    r = rlx.train("evosax", "CartPole-v1", total_steps=64 * 500 * 15, chunks=3, eval_episodes=3,
                  show_progress=False, overrides=dict(strategy="CMA_ES", population=64), out=tmp_path / "run")
    ret = r.metrics["episode_return"][:, 0]
    assert ret[-3:].mean() > 3 * ret[:3].mean() and ret[-3:].mean() > 60, ret
    # the agent's centre is the strategy's mean
    np.testing.assert_array_equal(r.state.theta, r.state.opt_state.mean)
    # the checkpointed strategy state restores: evaluation reproduces the summary
    returns, step = rlx.run.evaluate_run(tmp_path / "run", episodes=3)
    assert step == 15 and returns.mean(axis=1).tolist() == r.summary["final_return_per_seed"]


CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import rlx, jax
    from rlx.run import distributed as dist
    from rlx.run.runner import seed_mesh
    out, n, pid, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if n > 1:
        dist.initialize(f"127.0.0.1:{port}", n, pid)
    r = rlx.train("es", "CartPole-v1", total_steps=16 * 500 * 4, chunks=2, eval_episodes=2,
                  show_progress=False, overrides=dict(population=16))
    np.savez(f"{out}.p{pid}.npz", theta=dist.fetch(r.state.theta),
             **{"m_" + k: v for k, v in r.metrics.items()})
    json.dump(dict(returns=r.summary["final_return_per_seed"], mesh=dict(seed_mesh(1, 16).shape)),
              open(f"{out}.p{pid}.json", "w"))
""")


def test_sharded_population_equals_single_device(tmp_path):
    from test_distributed import free_port

    (tmp_path / "child.py").write_text(CHILD)

    def start(name, devices, n=1, pid=0, port=0):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
        return subprocess.Popen([sys.executable, str(tmp_path / "child.py"), str(tmp_path / name), str(n),
                                 str(pid), str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    port = free_port()
    procs = [start("single", 1), start("sharded", 4), start("multi", 2, 2, 0, port), start("multi", 2, 2, 1, port)]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out.decode()[-3000:]
    load = lambda name: (json.loads((tmp_path / f"{name}.p0.json").read_text()),  # noqa: E731
                         np.load(tmp_path / f"{name}.p0.npz"))
    (s_info, s), (p_info, p), (m_info, m) = load("single"), load("sharded"), load("multi")
    assert s_info["mesh"] == {"seeds": 1, "members": 1}
    assert p_info["mesh"] == {"seeds": 1, "members": 4} and m_info["mesh"] == {"seeds": 1, "members": 4}
    for other, info in ((p, p_info), (m, m_info)):
        assert info["returns"] == s_info["returns"]
        np.testing.assert_array_equal(other["m_episode_return"], s["m_episode_return"])
        np.testing.assert_allclose(other["theta"], s["theta"], rtol=1e-5, atol=1e-6)

"""DQN: the replay buffer (observations stored once), Double DQN targets, learning, resume."""

import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos.dqn import importance_weights, q_target
from rlx.core import replay, sumtree
from rlx.core.losses import categorical_projection
from rlx.run.checkpoint import to_storable


def filled_buffer():
    """Capacity 4 slots × 2 streams, 6 steps written (wrapped twice); obs = 10·step + stream."""
    buf = replay.init(4, 2, jnp.zeros(3, jnp.float32), jnp.zeros((), jnp.int32))
    for t in range(6):
        obs = jnp.stack([jnp.full(3, 10.0 * t + e) for e in range(2)])
        term = jnp.array([t == 2, False])
        trunc = jnp.array([False, t == 3])
        buf = replay.add(buf, obs, jnp.array([t, -t]), jnp.array([1.0 * t, 2.0 * t]), term, trunc)
    return buf


def test_replay_wraps_and_rebuilds_next_observations():
    buf = filled_buffer()
    assert int(buf.ptr) == 2 and int(buf.size) == 4
    assert buf.obs.shape == (4, 2, 3)  # one copy of each observation, no next-obs array
    s = replay.sample(buf, jax.random.key(0), 4000)
    seen = set()
    for (t, e), o, n, v, a in zip(np.asarray(s.index), np.asarray(s.obs), np.asarray(s.next_obs),
                                  np.asarray(s.valid), np.asarray(s.action)):
        step = {2: 2, 3: 3, 0: 4, 1: 5}[int(t)]  # steps 2..5 survive, slots in write order
        assert o[0] == 10 * step + e and a == (step if e == 0 else -step)
        if step < 5:
            assert n[0] == 10 * (step + 1) + e  # the next slot, across the wrap-around
        # the newest slot has no successor yet; a truncation's final obs was never stored
        assert v == (step != 5 and not (e == 1 and step == 3))
        seen.add((step, int(e)))
    assert seen == {(st, e) for st in range(2, 6) for e in range(2)}  # every stored transition
    # a terminated transition stays valid: its next obs (the reset) is never bootstrapped
    t2 = np.where((np.asarray(s.index) == [2, 0]).all(axis=1))[0][0]
    assert bool(s.terminated[t2]) and bool(s.valid[t2])


def test_uniform_sampling_frequencies():
    buf = filled_buffer()
    s = replay.sample(buf, jax.random.key(1), 80_000)
    counts = np.unique(np.asarray(s.index[:, 0]) * 2 + np.asarray(s.index[:, 1]), return_counts=True)[1]
    assert len(counts) == 8 and np.all(np.abs(counts / 80_000 - 1 / 8) < 0.006)  # ~5 σ


def test_n_step_returns_hand_computed():
    """One stream, rewards r_t = t + 1, terminated at step 2, truncated at step 6; n = 3, γ = ½."""
    buf = replay.init(10, 1, jnp.zeros(1), jnp.zeros((), jnp.int32))
    for t in range(8):
        buf = replay.add(buf, jnp.full((1, 1), 10.0 * t), jnp.array([t]), jnp.array([t + 1.0]),
                         jnp.array([t == 2]), jnp.array([t == 6]))
    t = jnp.array([0, 1, 2, 3, 4, 5, 7])
    s = replay.gather(buf, t, jnp.zeros_like(t), n=3, gamma=0.5)
    np.testing.assert_allclose(s.reward[:4], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3, 4 + 0.5 * 5 + 0.25 * 6])
    np.testing.assert_allclose(s.discount[:4], [0, 0, 0, 0.125])  # terminated: no bootstrap; else γ³
    assert s.terminated.tolist()[:4] == [True, True, True, False]
    assert float(s.next_obs[3, 0]) == 60.0  # three steps on from step 3
    # a truncation inside the window (steps 4, 5) and the newest slot have no stored successor
    assert s.valid.tolist() == [True, True, True, True, False, False, False]
    # across the wrap-around: capacity 4 keeps steps 4..7 in slots 0..3; n = 2 from step 7 is unknown
    small = replay.init(4, 1, jnp.zeros(1), jnp.zeros((), jnp.int32))
    for t in range(8):
        small = replay.add(small, jnp.full((1, 1), 1.0 * t), jnp.array([t]), jnp.array([1.0]),
                           jnp.array([False]), jnp.array([False]))
    w = replay.gather(small, jnp.array([0, 1, 2]), jnp.zeros(3, jnp.int32), n=2, gamma=0.5)
    np.testing.assert_allclose(w.reward, [1.5, 1.5, 1.5])
    assert w.valid.tolist() == [True, True, False] and w.next_obs[:2, 0].tolist() == [6.0, 7.0]


def test_sum_tree_totals_and_proportional_sampling():
    p = jnp.array([1.0, 2.0, 3.0, 4.0, 0.0])
    tree = sumtree.update(sumtree.init(5), jnp.arange(5), p)
    assert sumtree.n_leaves(tree) == 8 and float(sumtree.total(tree)) == 10.0
    # cumulative intervals [0,1) [1,3) [3,6) [6,10)
    np.testing.assert_array_equal(sumtree.find(tree, jnp.array([0.0, 0.99, 1.0, 5.9, 6.0, 9.99])),
                                  [0, 0, 1, 2, 3, 3])
    leaves, probs = jax.vmap(lambda k: sumtree.sample(tree, k, 100))(jax.random.split(jax.random.key(0), 1000))
    np.testing.assert_allclose(probs, p[leaves] / 10.0)
    freq = np.bincount(np.asarray(leaves).ravel(), minlength=8) / 100_000
    np.testing.assert_allclose(freq[:5], p / 10.0, atol=0.006)  # stratified: far below 5σ of iid draws
    assert freq[5:].sum() == 0  # zero priority and padding leaves never drawn
    tree = sumtree.update(tree, jnp.array([3, 3]), jnp.array([0.5, 0.5]))  # a repeated leaf
    assert float(sumtree.total(tree)) == 6.5 and float(tree.max_value) == 4.0


def test_importance_weights_hand_computed():
    # w = (N P)^-β / max: N = 3, β = 1: 1/(3·[½, ¼, ¼]) = [⅔, 4/3, 4/3] → [½, 1, 1]
    np.testing.assert_allclose(importance_weights(jnp.array([0.5, 0.25, 0.25]), 3, 1.0), [0.5, 1, 1])
    np.testing.assert_allclose(importance_weights(jnp.array([0.5, 0.25, 0.25]), 3, 0.0), [1, 1, 1])


def test_c51_projection_hand_computed():
    support = jnp.arange(5.0)  # atoms 0..4
    one_hot = jax.nn.one_hot(jnp.array([2, 4, 0, 3]), 5)
    reward, discount = jnp.array([0.5, 1.0, 1.25, -10.0]), jnp.array([1.0, 1.0, 0.0, 0.9])
    m = categorical_projection(one_hot, reward, discount, support)
    np.testing.assert_allclose(m, [[0, 0, 0.5, 0.5, 0],  # 2.5 splits evenly
                                   [0, 0, 0, 0, 1],  # 5 clips to the top atom
                                   [0, 0.75, 0.25, 0, 0],  # terminal: all mass at r = 1.25
                                   [1, 0, 0, 0, 0]], atol=1e-6)  # below the support: the bottom atom
    probs = jax.nn.softmax(jax.random.normal(jax.random.key(0), (8, 5)))
    r, d = jax.random.uniform(jax.random.key(1), (8,), minval=-2, maxval=2), jnp.full(8, 0.9)
    m = categorical_projection(probs, r, d, support)
    np.testing.assert_allclose(m.sum(-1), 1.0, rtol=1e-6)  # mass is conserved
    inside = jnp.all((r[:, None] + d[:, None] * support > 0) & (r[:, None] + d[:, None] * support < 4), axis=1)
    np.testing.assert_allclose(jnp.where(inside, m @ support, 0), jnp.where(inside, r + d * (probs @ support), 0),
                               rtol=1e-5)  # and the mean, where nothing is clipped


def test_dueling_head_is_value_plus_centred_advantage():
    from rlx.nets import QNetwork

    net = QNetwork(3, (8,), dueling=True, atoms=1)
    params = net.init(jax.random.key(0), jnp.zeros(4))
    x = jax.random.normal(jax.random.key(1), (5, 4))
    q = net.apply(params, x)
    p = params["params"]
    h = jax.nn.relu(x @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"])
    adv = h @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"]
    value = h @ p["Dense_2"]["kernel"] + p["Dense_2"]["bias"]
    np.testing.assert_allclose(q, value + adv - adv.mean(-1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_rainbow_flags_together_learn_cartpole():
    """Prioritised replay, 3-step returns, dueling and C51 at once (measured: 369 and 408)."""
    r = rlx.train("dqn", "CartPole-v1", num_seeds=2, total_steps=30_000, eval_episodes=5, chunks=2,
                  show_progress=False, overrides=dict(prioritized=True, n_step=3, dueling=True, atoms=51,
                                                      v_min=0.0, v_max=100.0))
    assert r.summary["final_return_mean"] >= 250, r.summary["final_return_per_seed"]


def test_double_dqn_target_selects_with_the_online_network():
    q_target_net = jnp.array([[1.0, 5.0, 3.0], [2.0, 0.0, 4.0]])
    q_online = jnp.array([[0.0, 0.0, 9.0], [7.0, 0.0, 0.0]])
    r, discount = jnp.array([1.0, 2.0]), jnp.array([0.5, 0.0])  # γ = 0.5; the second terminated
    # Double: a* = (2, 0) from the online net, valued by the target net: 1 + 0.5·3, and terminal
    np.testing.assert_allclose(q_target(r, discount, q_target_net, q_online), [2.5, 2.0])
    # vanilla: max of the target net: 1 + 0.5·5
    np.testing.assert_allclose(q_target(r, discount, q_target_net), [3.5, 2.0])


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dqn") / "run"
    return rlx.train("dqn", "CartPole-v1", num_seeds=2, total_steps=30_000, out=out, eval_episodes=5,
                     chunks=10, checkpoint_every=1, show_progress=False)


def test_dqn_learns_cartpole(short_run):
    """30k steps, 2 seeds, the CartPole preset with prioritised replay and 3-step returns
    (measured: evaluation 286 and 140, training returns 294 over the last 20 updates;
    a random policy scores ~22)."""
    curve = short_run.metrics["episode_return"].mean(axis=1)
    assert short_run.summary["final_return_mean"] >= 150, short_run.summary["final_return_per_seed"]
    assert curve[-20:].mean() >= 150
    assert float(short_run.metrics["epsilon"][-1, 0]) == pytest.approx(0.01)  # the CartPole preset


def test_resume_with_the_replay_buffer_is_exact(short_run, tmp_path):
    d = tmp_path / "resumed"
    shutil.copytree(short_run.run_dir, d)
    (d / "summary.json").unlink()
    steps = sorted(int(p.name) for p in (d / "checkpoints").iterdir() if p.name.isdigit())
    shutil.rmtree(d / "checkpoints" / str(steps[-1]))  # back to the checkpoint before the end
    r = rlx.run.resume(d, show_progress=False)
    jax.tree_util.tree_map(np.testing.assert_array_equal, to_storable(r.state), to_storable(short_run.state))
    assert r.summary["final_return_per_seed"] == short_run.summary["final_return_per_seed"]


def test_same_seed_same_numbers():
    a, b = (rlx.train("dqn", "CartPole-v1", num_seeds=2, total_steps=4000, eval_episodes=0,
                      show_progress=False, overrides=dict(learning_starts=500)) for _ in range(2))
    np.testing.assert_array_equal(a.metrics["loss"], b.metrics["loss"])
    assert not np.allclose(a.metrics["loss"][-1, 0], a.metrics["loss"][-1, 1])


@pytest.mark.parametrize("args, message", [
    (["--buffer-size", "4"], "--buffer-size=4 is invalid"),
    (["--tau", "0"], "--tau=0.0 is invalid"),
    (["--env", "Pendulum-v1"], "DQN needs discrete actions"),
])
def test_bad_config_is_one_line(args, message):
    r = subprocess.run([sys.executable, "-m", "rlx.cli", "train", "dqn", *args], capture_output=True,
                       text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and message in lines[0], r.stderr

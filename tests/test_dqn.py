"""DQN: the replay buffer (observations stored once), Double DQN targets, learning, resume."""

import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos.dqn import q_target
from rlx.core import replay
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


def test_double_dqn_target_selects_with_the_online_network():
    q_target_net = jnp.array([[1.0, 5.0, 3.0], [2.0, 0.0, 4.0]])
    q_online = jnp.array([[0.0, 0.0, 9.0], [7.0, 0.0, 0.0]])
    r, term = jnp.array([1.0, 2.0]), jnp.array([False, True])
    # Double: a* = (2, 0) from the online net, valued by the target net: 1 + 0.5·3, and terminal
    np.testing.assert_allclose(q_target(r, term, 0.5, q_target_net, q_online), [2.5, 2.0])
    # vanilla: max of the target net: 1 + 0.5·5
    np.testing.assert_allclose(q_target(r, term, 0.5, q_target_net), [3.5, 2.0])


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dqn") / "run"
    return rlx.train("dqn", "CartPole-v1", num_seeds=2, total_steps=30_000, out=out, eval_episodes=5,
                     chunks=10, checkpoint_every=1, show_progress=False)


def test_dqn_learns_cartpole(short_run):
    """30k steps, 2 seeds (measured: evaluation 125 and 102; a random policy scores ~22)."""
    curve = short_run.metrics["episode_return"].mean(axis=1)
    assert short_run.summary["final_return_mean"] >= 80, short_run.summary["final_return_per_seed"]
    assert curve[-20:].mean() >= 80
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

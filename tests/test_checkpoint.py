"""Checkpoint and resume: a run killed with SIGKILL and resumed equals the uninterrupted run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import rlx
from rlx.run.checkpoint import CheckpointError, check_compatible, from_storable, storable_abstract, to_storable
from rlx.run.runner import evaluate_run, resume

# PPO on CartPole: 2048 env steps per update, 48 updates in 24 chunks of 2, a checkpoint after each.
RUN = dict(num_seeds=2, total_steps=48 * 2048, chunks=24, checkpoint_every=1, eval_episodes=3)
FLAGS = ["--seeds", "2", "--total-steps", str(48 * 2048), "--chunks", "24", "--checkpoint-every", "1",
         "--eval-episodes", "3", "--no-progress"]


def rlx_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "rlx.cli", *args], capture_output=True, text=True,
                          timeout=600, **kw)


def csv_without_time(path):
    rows = [r.split(",") for r in path.read_text().splitlines()]
    t = rows[0].index("time")
    return [r[:t] + r[t + 1:] for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "uninterrupted"
    return rlx.train("ppo", "CartPole-v1", out=out, show_progress=False, tensorboard=True, **RUN)


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "rlx.cli", "train", "ppo", "--out", str(out), *FLAGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts, deadline = out / "checkpoints", time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        done = [d for d in (os.listdir(ckpts) if ckpts.is_dir() else []) if d.isdigit()]
        if done and max(map(int, done)) >= 4:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    killed_at = max(int(d) for d in os.listdir(ckpts) if d.isdigit())
    result = resume(out, show_progress=False)
    return result, killed_at


def test_resume_after_sigkill_is_bit_exact(reference, killed_and_resumed):
    result, killed_at = killed_and_resumed
    assert 4 <= killed_at < 48  # killed mid-run, resumed from a checkpoint in the middle
    assert result.summary["resumed"] and result.summary["updates"] == 48
    jax.tree_util.tree_map(np.testing.assert_array_equal, to_storable(result.state),
                           to_storable(reference.state))
    for k in reference.metrics:
        np.testing.assert_array_equal(result.metrics[k], reference.metrics[k], err_msg=k)
    assert csv_without_time(result.run_dir / "metrics.csv") == csv_without_time(reference.run_dir / "metrics.csv")
    assert result.summary["final_return_per_seed"] == reference.summary["final_return_per_seed"]


def test_keeps_the_last_checkpoints(reference):
    assert sorted(int(d) for d in os.listdir(reference.run_dir / "checkpoints") if d.isdigit()) == [46, 48]


def test_eval_reproduces_the_final_evaluation(reference):
    returns, step = evaluate_run(reference.run_dir, episodes=3)
    assert step == 48 and returns.shape == (2, 3)
    np.testing.assert_allclose(returns.mean(axis=1), reference.summary["final_return_per_seed"])
    r = rlx_cli("eval", str(reference.run_dir), "--episodes", "3", "--json", str(reference.run_dir.parent / "e.json"))
    assert r.returncode == 0, r.stderr
    e = json.loads((reference.run_dir.parent / "e.json").read_text())
    np.testing.assert_allclose(e["per_seed_mean"], reference.summary["final_return_per_seed"])
    assert e["step"] == 48 and "deterministic" in r.stdout


def test_typed_keys_round_trip():
    tree = {"k": jax.random.split(jax.random.key(3), 4), "x": np.arange(3.0)}
    abstract = jax.eval_shape(lambda: tree)
    stored = to_storable(tree)
    assert stored["k"].dtype == np.uint32 and storable_abstract(abstract)["k"].shape == stored["k"].shape
    back = from_storable(stored, abstract)
    np.testing.assert_array_equal(jax.random.key_data(back["k"]), jax.random.key_data(tree["k"]))


def test_signature_mismatch_names_the_leaf(tmp_path):
    saved = [["['params']['w']", [4, 64], "float32"]]
    with pytest.raises(CheckpointError, match=r"\['params'\]\['w'\] is float32\[4, 64\] there, float32\[4, 32\] here"):
        check_compatible(saved, [["['params']['w']", [4, 32], "float32"]], tmp_path)
    with pytest.raises(CheckpointError, match="it has no"):
        check_compatible(saved, [["['params']['v']", [4, 64], "float32"]], tmp_path)


def _copy_unfinished(reference, dst):
    shutil.copytree(reference.run_dir, dst)
    (dst / "summary.json").unlink()
    return dst


@pytest.mark.parametrize("damage, message", [
    ("none", "already finished"),
    ("no_checkpoints", "has no checkpoint to resume from"),
    ("corrupt", "is unreadable"),
    ("shapes", "is incompatible with this build"),
    ("algo", "holds a ppo run, not a2c"),
    ("not_a_run", "is not an rlx run folder"),
    ("extra_flag", "--lr cannot be combined with --resume"),
])
def test_bad_resume_is_one_line_exit_2(reference, tmp_path, damage, message):
    d = tmp_path / "run"
    args = ["train", "ppo", "--resume", str(d)]
    if damage == "none":
        shutil.copytree(reference.run_dir, d)
    elif damage == "not_a_run":
        d.mkdir()
    else:
        _copy_unfinished(reference, d)
    if damage == "no_checkpoints":
        shutil.rmtree(d / "checkpoints")
    elif damage == "corrupt":
        for root, _, files in os.walk(d / "checkpoints" / "48" / "state"):
            for f in files:
                (d / root / f).write_bytes(b"garbage")
    elif damage == "shapes":
        cfg = json.loads((d / "config.json").read_text())
        cfg["config"]["hidden"] = [32, 32]
        (d / "config.json").write_text(json.dumps(cfg))
    elif damage == "algo":
        args[1] = "a2c"
    elif damage == "extra_flag":
        args += ["--lr", "0.1"]
    before = sorted(str(p) for p in d.rglob("*"))
    r = rlx_cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlx: error: ") and message in lines[0], r.stderr
    assert sorted(str(p) for p in d.rglob("*")) == before  # nothing written or deleted


def test_render_an_episode_of_the_trained_policy(reference, tmp_path):
    from PIL import Image

    out = tmp_path / "ep.gif"
    r = rlx_cli("render", str(reference.run_dir), "--seed-index", "1", "--max-steps", "6", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (600, 400) and 2 <= im.n_frames <= 7  # reset + up to 6 steps
    bad = rlx_cli("render", str(reference.run_dir), "--seed-index", "2")
    assert bad.returncode == 2 and "--seed-index=2 is invalid" in bad.stderr


def test_tensorboard_logs_every_update(reference):
    from test_loggers import read_scalars

    scalars = read_scalars(reference.run_dir / "tensorboard")
    ret = scalars["episode_return/mean"]
    assert [s for s, _ in ret] == [2048 * (i + 1) for i in range(48)]
    np.testing.assert_allclose([v for _, v in ret], reference.metrics["episode_return"].mean(axis=1), rtol=1e-6)


def test_non_finite_stop_keeps_the_last_good_checkpoint(tmp_path):
    """A toy agent whose metric turns NaN at update 7: chunks of 2 updates, a checkpoint
    after each good chunk; the run stops at update 7 with checkpoints 2, 4, 6 and six rows."""
    import jax.numpy as jnp

    from rlx.algos.base import Agent
    from rlx.run.checkpoint import Checkpointer
    from rlx.run.records import MetricsWriter
    from rlx.run.runner import Checkpointing, NonFiniteError, execute

    def update(s):
        t = s["t"] + 1
        return dict(s, t=t), {"episode_return": jnp.where(t >= 7, jnp.nan, t.astype(jnp.float32))}

    agent = Agent(init=lambda key, c: {"t": jnp.zeros((), jnp.int32), "key": key}, update=update,
                  act=None, policy_params=lambda s: None, steps_per_update=10)
    env, params = rlx.make("CartPole-v1")
    ckpt = Checkpointer(tmp_path, keep=10)
    writer = MetricsWriter(tmp_path / "metrics.csv", {"seed": [0, 1]})
    with pytest.raises(NonFiniteError, match="non-finite episode_return at update 7"):
        execute(agent, env, params, np.arange(2), None, None, 10, 5, writer, "toy", False, 0, True,
                Checkpointing(ckpt, 1, {}))
    ckpt.close()
    assert sorted(int(d) for d in os.listdir(tmp_path / "checkpoints") if d.isdigit()) == [2, 4, 6]
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 6 * 2 and rows[-1].split(",")[:2] == ["1", "60"]

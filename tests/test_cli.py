"""The rlx command: one-line errors with exit status 2, listing, a tiny run."""

import json
import subprocess
import sys

import pytest


def rlx(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rlx.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "pop"], "unknown algorithm 'pop': did you mean ppo?"),
        (["train", "ppo", "--env", "CartPol"], "unknown environment 'CartPol': did you mean CartPole-v1"),
        (["train", "ppo", "--minibatches", "3"], "--minibatches=3 is invalid"),
        (["train", "ppo", "--lr", "-0.001"], "--lr=-0.001 is invalid: it must be positive"),
        (["train", "ppo", "--gamma", "1.5"], "--gamma=1.5 is invalid: it must lie in [0, 1]"),
        (["train", "a2c", "--gae-lambda", "-0.1"], "--gae-lambda=-0.1 is invalid"),
        (["train", "ppo", "--total-steps", "0"], "--total-steps=0 is invalid"),
        (["train", "ppo", "--seeds", "0"], "--seeds=0 is invalid"),
        (["train", "ppo", "--num-envs", "0"], "--num-envs=0 is invalid"),
        (["train"], "missing algorithm"),
        (["train", "ppo", "--wandb"], "--wandb needs the wandb package: pip install wandb"),
        (["train", "ppo", "--checkpoint-every", "-1"], "--checkpoint-every=-1 is invalid"),
        (["train", "ppo", "--coordinator", "127.0.0.1:1"], "a multi-process run needs --coordinator, --num-processes"),
        (["eval", "no/such/run"], "is not an rlx run folder"),
        (["render", "no/such/run"], "is not an rlx run folder"),
        (["sweep", "ppo"], "empty grid"),
        (["sweep", "ppo", "--grid", "lr=abc"], "--grid lr=abc is invalid: values must be float"),
        (["sweep", "ppo", "--grid", "clip_eps=0.1,-1"], "--clip-eps=-1.0 is invalid"),
        (["sweep", "ppo", "--grid", "foo=1"], "unknown hyperparameter 'foo'"),
        (["fly"], "unknown command 'fly'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    r = rlx(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("rlx: error: ") and message in lines[0]


def test_existing_run_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("results")
    r = rlx("train", "ppo", "--out", str(out), "--total-steps", "4096")
    assert r.returncode == 2 and "already exists" in r.stderr
    assert (out / "precious.txt").read_text() == "results" and len(list(out.iterdir())) == 1


def test_list_shows_algorithms_and_environments():
    r = rlx("list")
    assert r.returncode == 0
    for name in ("ppo", "a2c", "reinforce", "CartPole-v1", "Acrobot-v1", "MountainCar-v0",
                 "MountainCarContinuous-v0", "Pendulum-v1"):
        assert name in r.stdout
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in r.stdout.splitlines()
            if line.count("│") == 3}
    assert rows["CartPole-v1"] == "500" and rows["Catch-v0"] == "none"
    assert rows["gymnax/CartPole-v1"] == "task's own" and "None" not in rows.values()


def test_help_shows_every_hyperparameter_with_default():
    import dataclasses

    from rlx.algos.pg import PPOConfig

    r = rlx("train", "ppo", "--help")
    assert r.returncode == 0
    flags = ["--" + f.name.replace("_", "-") for f in dataclasses.fields(PPOConfig)]
    for flag in flags + ["--seeds", "--total-steps", "--out"]:
        assert flag in r.stdout, flag
    assert r.stdout.count("(default: ") >= len(flags)
    assert "--gamma FLOAT" in r.stdout and "(default: 0.98)" in r.stdout  # CartPole preset
    pendulum = rlx("train", "ppo", "--env", "Pendulum-v1", "--help").stdout
    assert "(default: 0.95)" in pendulum and "(default: 0.98)" not in pendulum  # Pendulum preset


def test_tiny_training_run_writes_its_folder(tmp_path):
    out = tmp_path / "tiny"
    r = rlx("train", "ppo", "--seeds", "2", "--total-steps", "4096", "--out", str(out),
            "--eval-episodes", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "mean ± std" in r.stdout and str(out) in r.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps"] == 4096 and len(summary["final_return_per_seed"]) == 2
    assert (out / "metrics.csv").exists() and (out / "learning_curve.png").exists()

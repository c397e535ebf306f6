"""Sweeps: a grid × seeds in one program, grouped by shape, ranked, with clear errors."""

import json

import numpy as np
import pytest

import rlx
from rlx.algos.base import ConfigError
from rlx.run.sweep import bootstrap_ci

STEPS = 3 * 2048


@pytest.fixture(scope="module")
def lr_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "lr"
    return rlx.sweep("ppo", "CartPole-v1", grid={"lr": [3e-4, 1e-3]}, num_seeds=2, total_steps=STEPS,
                     eval_episodes=2, out=out, show_progress=False)


def test_grid_runs_as_one_program_with_per_member_hyperparameters(lr_sweep):
    assert lr_sweep.summary["compiles"] == 1 and lr_sweep.final.shape == (2, 2)
    rows = (lr_sweep.sweep_dir / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[:3] == ["config", "seed", "step"]
    lr_col = header.index("lr")
    first = [r.split(",") for r in rows[1:5]]  # update 1 of the 4 members
    lrs = {(int(r[0]), int(r[1])): float(r[lr_col]) for r in first}
    assert lrs == {(0, 0): 3e-4, (0, 1): 3e-4, (1, 0): 1e-3, (1, 1): 1e-3}


def test_sweep_member_matches_a_single_run(lr_sweep):
    single = rlx.train("ppo", "CartPole-v1", seed=1, num_seeds=1, total_steps=STEPS, eval_episodes=0,
                       show_progress=False, overrides={"lr": 1e-3})
    rows = [r.split(",") for r in (lr_sweep.sweep_dir / "metrics.csv").read_text().splitlines()]
    col = rows[0].index("value_loss")
    member = [float(r[col]) for r in rows[1:] if r[0] == "1" and r[1] == "1"]
    np.testing.assert_allclose(member, single.metrics["value_loss"][:, 0], rtol=1e-5)


def test_ranking_and_outputs(lr_sweep):
    ranking = lr_sweep.ranking
    assert [r["rank"] for r in ranking] == [1, 2]
    assert ranking[0]["mean"] >= ranking[1]["mean"]
    for r in ranking:
        assert r["ci_low"] <= r["mean"] <= r["ci_high"]
        np.testing.assert_allclose(r["mean"], lr_sweep.final[r["index"]].mean())
    d = lr_sweep.sweep_dir
    best = json.loads((d / "best_config.json").read_text())
    assert best["algo"] == "ppo" and best["config"]["lr"] == ranking[0]["lr"]
    assert (d / "ranking.md").read_text().count("\n") == 4
    assert (d / "ranking.csv").read_text().splitlines()[0] == "rank,index,lr,mean,ci_low,ci_high"
    assert (d / "learning_curves.png").stat().st_size > 10_000


def test_shape_changing_values_are_grouped_into_compiles():
    r = rlx.sweep("a2c", "CartPole-v1", grid={"num_steps": [4, 8], "lr": [1e-3, 3e-3]}, num_seeds=1,
                  total_steps=4096, eval_episodes=0, show_progress=False)
    assert r.summary["compiles"] == 2 and len(r.ranking) == 4
    assert r.curves is None  # the groups differ in updates per run (64 and 32)
    assert np.all(np.isfinite(r.final)) and r.final.shape == (4, 1)


def test_bootstrap_interval():
    assert bootstrap_ci(np.full(5, 3.0)) == (3.0, 3.0)
    lo, hi = bootstrap_ci(np.array([0.0, 1.0] * 10))
    assert 0.25 < lo < 0.5 < hi < 0.75


@pytest.mark.parametrize("grid, message", [
    ({}, "empty grid"),
    ({"learning_rate": [1e-3]}, "unknown hyperparameter 'learning_rate'"),
    ({"lr": []}, "has no values"),
    ({"lr": [1e-3, -1.0]}, "--lr=-1.0 is invalid"),
    ({"minibatches": [3]}, "--minibatches=3 is invalid"),
])
def test_bad_grids_fail_before_anything_is_written(tmp_path, grid, message):
    out = tmp_path / "sweep"
    with pytest.raises(ConfigError, match=message):
        rlx.sweep("ppo", grid=grid, out=out)
    assert not out.exists()

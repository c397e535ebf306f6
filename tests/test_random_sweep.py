"""Random search: seeded draws from ranges and choices, clear errors, one tiny end-to-end sweep."""

import json

import numpy as np
import pytest

import rlx
from rlx.algos import get
from rlx.algos.base import ConfigError
from rlx.cli import main
from rlx.run.sweep import Range, draw, make_range, random_points

BASE = get("ppo").default_config()
RANGES = {"lr": Range(1e-5, 1e-2, "log"), "gamma": Range(0.9, 0.999, "lin"), "epochs": Range(1, 8, "int")}
GRID = {"num_envs": [8, 16]}


def test_draws_are_deterministic_per_seed_and_differ_across_seeds():
    a = random_points(GRID, RANGES, 20, seed=0)
    assert a == random_points(GRID, RANGES, 20, seed=0)
    b = random_points(GRID, RANGES, 20, seed=1)
    assert all(x["lr"] != y["lr"] and x["gamma"] != y["gamma"] for x, y in zip(a, b))
    assert list(a[0]) == ["num_envs", "lr", "gamma", "epochs"]
    assert a == random_points(GRID, dict(reversed(RANGES.items())), 20, seed=0)  # order-free


def test_log_uniform_draws_cover_every_decade_evenly():
    values = np.array(draw(np.random.default_rng(0), Range(1e-5, 1e-2, "log"), 30_000))
    exponents = np.log10(values)
    assert exponents.min() >= -5 and exponents.max() <= -2
    assert exponents.min() < -4.99 and exponents.max() > -2.01
    share = np.histogram(exponents, bins=[-5, -4, -3, -2])[0] / len(values)
    np.testing.assert_allclose(share, 1 / 3, atol=0.015)  # uniform in log10: a third per decade
    lin = np.array(draw(np.random.default_rng(0), Range(1e-5, 1e-2, "lin"), 30_000))
    assert np.mean(lin < 1e-3) < 0.11  # a linear draw puts ~90% in the top decade


def test_linear_draws_are_uniform_and_int_draws_include_both_ends():
    gamma = np.array(draw(np.random.default_rng(0), Range(0.9, 0.999, "lin"), 30_000))
    assert 0.9 <= gamma.min() and gamma.max() <= 0.999
    np.testing.assert_allclose(gamma.mean(), 0.9495, atol=0.001)
    ints = draw(np.random.default_rng(0), Range(1, 3, "int"), 3_000)
    assert all(type(v) is int for v in ints) and set(ints) == {1, 2, 3}
    assert min(np.bincount(ints)[1:]) > 900


def test_choices_are_drawn_uniformly_from_their_list():
    points = random_points({"activation": ["tanh", "relu", "gelu"]}, {}, 3_000, seed=0)
    counts = {k: sum(p["activation"] == k for p in points) for k in ("tanh", "relu", "gelu")}
    assert sum(counts.values()) == 3_000 and min(counts.values()) > 900


@pytest.mark.parametrize("spec, scale", [
    ((1e-5, 1e-2), "log"),  # 0 < LOW and HIGH >= 100 * LOW: log-uniform
    ((1e-4, 1e-3), "lin"),  # one decade: uniform
    ((0.0, 0.1), "lin"),
    ((1e-4, 1e-3, "log"), "log"),  # an explicit scale wins
    ((1e-5, 1e-2, "lin"), "lin"),
])
def test_default_scale_rule(spec, scale):
    assert make_range(BASE, "lr", spec) == Range(float(spec[0]), float(spec[1]), scale)
    assert make_range(BASE, "num_envs", (4, 64)) == Range(4, 64, "int")


def test_drawn_values_outside_a_fields_valid_values_name_the_configuration():
    # both ends divide the batch of 2048, but 3 does not
    with pytest.raises(ConfigError, match=r"random configuration \d+ \(minibatches=3\): "
                                          r"--minibatches=3 is invalid") as e:
        rlx.sweep("ppo", ranges={"minibatches": (2, 4)}, random=20, show_progress=False)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("args, message", [
    (["--random", "0", "--range", "lr=1e-4:1e-3"], "--random=0 is invalid"),
    (["--range", "lr=1e-4:1e-3"], "--range needs --random N"),
    (["--random", "3"], "random search needs at least one --range"),
    (["--random", "3", "--range", "learning_rate=1e-4:1e-3"], "unknown hyperparameter 'learning_rate'"),
    (["--random", "3", "--grid", "foo=1,2"], "unknown hyperparameter 'foo'"),
    (["--random", "3", "--range", "lr=1e-3:1e-4"], "LOW must be below HIGH"),
    (["--random", "3", "--range", "epochs=4:4"], "LOW must be below HIGH"),
    (["--random", "3", "--range", "lr=0:1e-2:log"], "a log range needs LOW > 0"),
    (["--random", "3", "--range", "lr=1e-4"], "--range 'lr=1e-4' is invalid: write NAME=LOW:HIGH"),
    (["--random", "3", "--range", "lr=1e-4:1e-3:cube"], "the scale must be log or lin"),
    (["--random", "3", "--range", "lr=a:1"], "the bounds must be float"),
    (["--random", "3", "--range", "epochs=1.5:4"], "the bounds must be int"),
    (["--random", "3", "--range", "epochs=1:8:log"], "int ranges are uniform over the integers"),
    (["--random", "3", "--range", "anneal_lr=0:1"], "bool fields have no range"),
    (["--random", "3", "--range", "activation=0:1"], "str fields have no range"),
    (["--random", "3", "--range", "lr=1e-4:1e-3", "--range", "lr=1e-3:1e-2"], "given twice"),
    (["--random", "3", "--range", "lr=1e-4:1e-3", "--grid", "lr=1e-3"], "in both --grid and --range"),
    (["--random", "3", "--range", "gamma=0.9:1.5"], "--gamma=1.5 is invalid: it must lie in [0, 1]"),
    (["--random", "3", "--range", "clip_eps=-0.1:0.3"], "--clip-eps=-0.1 is invalid"),
])
def test_bad_random_sweeps_are_one_line_exit_2(tmp_path, capsys, args, message):
    out = tmp_path / "sweep"
    with pytest.raises(SystemExit) as e:
        main(["sweep", "ppo", *args, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1, err
    assert err[0].startswith("rlx: error: ") and message in err[0]
    assert not out.exists()


def test_random_sweep_trains_ranks_and_records_its_draws(tmp_path, capsys):
    out = tmp_path / "random"
    code = main(["sweep", "ppo", "--random", "3", "--range", "lr=1e-4:3e-3:log",
                 "--range", "gamma=0.95:0.999", "--seeds", "2", "--seed", "7", "--total-steps",
                 str(4 * 2048), "--eval-episodes", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    assert "3 configurations × 2 seeds" in capsys.readouterr().out
    record = json.loads((out / "sweep.json").read_text())
    assert record["mode"] == "random" and record["random"] == 3 and record["seed"] == 7
    assert record["ranges"] == {"lr": dict(low=1e-4, high=3e-3, scale="log"),
                                "gamma": dict(low=0.95, high=0.999, scale="lin")}
    expected = random_points({}, {"lr": Range(1e-4, 3e-3, "log"), "gamma": Range(0.95, 0.999, "lin")},
                             3, seed=7)
    assert [{k: c[k] for k in ("lr", "gamma")} for c in record["configs"]] == expected
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compiles"] == 1 and summary["num_configs"] == 3
    ranking = (out / "ranking.csv").read_text().splitlines()
    assert ranking[0] == "rank,index,lr,gamma,mean,ci_low,ci_high" and len(ranking) == 4
    means = [float(r.split(",")[-3]) for r in ranking[1:]]
    assert means == sorted(means, reverse=True)
    best = json.loads((out / "best_config.json").read_text())["config"]
    assert best["lr"] == expected[int(ranking[1].split(",")[1])]["lr"]

"""rlx plot: learning curves (mean and 95% t-interval over seeds) from run and sweep
folders written by hand, the PNG/SVG files, and one-line errors."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from rlx.run.plots import PlotInputError, load_curves, plot_folders, seed_matrix, t_interval

# Student-t 97.5% quantiles in closed form: df = 1 (Cauchy) tan(π(p - ½)),
# df = 2: (2p - 1) / √(2p(1 - p)), here p = 0.975 (tables: 12.706, 4.303)
T_975_DF1 = math.tan(0.475 * math.pi)
T_975_DF2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)


def rlx(*args):
    return subprocess.run([sys.executable, "-m", "rlx.cli", *args], capture_output=True, text=True,
                          timeout=300)


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")


@pytest.fixture
def run_dir(tmp_path):
    """3 seeds × 3 updates of 100 steps; seed s returns step/100 + s; time 0.5 s per update."""
    d = tmp_path / "ppo-run"
    d.mkdir()
    rows = [(s, k * 100, 0.5 * k + 0.01 * s, k + s, 0.1 * s)
            for k in (1, 2, 3) for s in (0, 1, 2)]
    write_csv(d / "metrics.csv", ["seed", "step", "time", "episode_return", "entropy"], rows)
    (d / "config.json").write_text(json.dumps({"algo": "ppo", "env": "CartPole-v1"}))
    return d


@pytest.fixture
def sweep_dir(tmp_path):
    """2 configurations × 2 seeds, no time column; config c, seed s returns 10c + 2s·k."""
    d = tmp_path / "sweep"
    d.mkdir()
    rows = [(c, s, k * 50, 10 * c + 2 * s * k) for c in (0, 1) for s in (7, 8) for k in (1, 2)]
    write_csv(d / "metrics.csv", ["config", "seed", "step", "episode_return"], rows)
    (d / "sweep.json").write_text(json.dumps({"algo": "ppo", "env": "CartPole-v1", "configs": [
        {"index": 0, "lr": 0.001, "anneal_lr": True}, {"index": 1, "lr": 0.000312345, "anneal_lr": False}]}))
    return d


def test_t_interval_by_hand():
    """mean ± t_{0.975, n-1} · s / √n with the sample std (ddof 1)."""
    mean, lo, hi = t_interval(np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 6.0]]))
    np.testing.assert_allclose(mean, [2.0, 2.0, 2.0])
    half = T_975_DF2 / math.sqrt(3) * np.array([1.0, 0.0, math.sqrt(12.0)])
    np.testing.assert_allclose(hi - mean, half, rtol=1e-9)
    np.testing.assert_allclose(mean - lo, half, rtol=1e-9)
    mean, lo, hi = t_interval(np.array([[4.0], [5.0]]))  # one seed: no interval
    np.testing.assert_array_equal(lo, mean) and np.testing.assert_array_equal(hi, mean)


def test_seed_matrix_pivots_and_drops_incomplete_steps():
    steps = np.array([200, 100, 100, 200, 300])
    seeds = np.array([1, 1, 0, 0, 0])  # seed 1 never reached step 300
    values = np.array([4.0, 2.0, 1.0, 3.0, 5.0])
    s, m = seed_matrix(steps, seeds, values)
    np.testing.assert_array_equal(s, [100, 200])
    np.testing.assert_array_equal(m, [[1.0, 2.0], [3.0, 4.0]])


def test_run_folder_curve(run_dir):
    (c,) = load_curves(run_dir)
    assert c.label == "ppo-run" and c.num_seeds == 3
    np.testing.assert_array_equal(c.x, [100, 200, 300])
    np.testing.assert_allclose(c.mean, [2.0, 3.0, 4.0])  # k + mean(0, 1, 2)
    np.testing.assert_allclose(c.ci_high - c.mean, T_975_DF2 / math.sqrt(3), rtol=1e-9)  # s = 1
    (e,) = load_curves(run_dir, metric="entropy")
    np.testing.assert_allclose(e.mean, 0.1)
    (t,) = load_curves(run_dir, x="time")
    np.testing.assert_allclose(t.x, [0.51, 1.01, 1.51])  # time averaged over seeds


def test_sweep_folder_one_curve_per_configuration(sweep_dir):
    curves = load_curves(sweep_dir)
    assert [c.label for c in curves] == ["lr=0.001, anneal_lr=True", "lr=0.0003123, anneal_lr=False"]
    for c, cfg in zip(curves, (0, 1)):
        np.testing.assert_array_equal(c.x, [50, 100])
        # seeds 7, 8 return 10c + 14k and 10c + 16k: mean 10c + 15k, s = √2 · k
        np.testing.assert_allclose(c.mean, [10 * cfg + 15, 10 * cfg + 30])
        np.testing.assert_allclose(c.ci_high - c.mean, T_975_DF1 * np.array([1.0, 2.0]), rtol=1e-9)
        np.testing.assert_allclose(c.mean - c.ci_low, T_975_DF1 * np.array([1.0, 2.0]), rtol=1e-9)
    named = load_curves(sweep_dir, name="lrs")
    assert named[0].label == "lrs: lr=0.001, anneal_lr=True"


def test_plot_folders_writes_png_and_svg(run_dir, sweep_dir, tmp_path):
    paths = plot_folders([run_dir, sweep_dir], out=tmp_path / "figs" / "cmp")
    assert [p.name for p in paths] == ["cmp.png", "cmp.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text()[:2000]
    assert [p.name for p in plot_folders([run_dir], x="time")] == ["curves.png", "curves.svg"]
    assert (run_dir / "curves.png").is_file() and (run_dir / "curves.svg").is_file()


def test_cli_plots_and_prints_the_paths(run_dir, sweep_dir, tmp_path):
    r = rlx("plot", str(run_dir), str(sweep_dir), "--out", str(tmp_path / "both"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(tmp_path / "both.png"), str(tmp_path / "both.svg")]
    assert (tmp_path / "both.png").stat().st_size > 1000


def test_bad_input_is_one_line_exit_2(run_dir, sweep_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([str(tmp_path / "nope")], "no such folder"),
        ([str(empty)], "has no metrics.csv"),
        ([str(run_dir), "--metric", "foo"], "unknown metric 'foo' in "),
        ([str(sweep_dir), "--x", "time"], "has none: use --x steps"),
        ([str(run_dir), "--x", "hours"], "invalid choice"),
        ([], "the following arguments are required"),
    ]
    for args, message in cases:
        r = rlx("plot", *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert lines[0].startswith("rlx: error: ") and message in lines[0], lines[0]
        if "--metric" in args:
            assert lines[0].endswith("available: episode_return, entropy")


def test_metric_must_exist_in_every_folder(run_dir, sweep_dir):
    with pytest.raises(PlotInputError, match="unknown metric 'entropy' in .*sweep"):
        plot_folders([run_dir, sweep_dir], metric="entropy")

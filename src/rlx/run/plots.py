"""Learning-curve plots (matplotlib, headless)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curve(steps: np.ndarray, returns: np.ndarray, path: Path, title: str = "") -> None:
    """Mean over seeds with a ±1 std band; ``returns`` is ``[n_updates, num_seeds]``."""
    mean, std = returns.mean(axis=1), returns.std(axis=1)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(steps, mean, lw=1.5, label=f"mean over {returns.shape[1]} seeds")
    ax.fill_between(steps, mean - std, mean + std, alpha=0.25, label="± 1 std")
    ax.set_xlabel("environment steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def sweep_curves(curves: dict, ranking: list, path: Path, title: str = "", top: int = 8) -> None:
    """Mean learning curve (± 1 std over seeds) of the ``top`` ranked configurations;
    ``curves[i] = (steps, returns [n_updates, num_seeds])``."""
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for row in ranking[:top]:
        steps, r = curves[row["index"]]
        mean, std = r.mean(axis=1), r.std(axis=1)
        label = ", ".join(f"{k}={v}" for k, v in row.items()
                          if k not in ("rank", "index", "mean", "ci_low", "ci_high"))
        ax.plot(steps, mean, lw=1.3, label=f"#{row['rank']} {label}")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("environment steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------- rlx plot

RESERVED_COLUMNS = ("config", "seed", "step", "time")


class PlotInputError(ValueError):
    """A folder or option ``rlx plot`` cannot use; the message is one line."""


@dataclass
class Curve:
    """One line of a plot: ``mean`` over ``num_seeds`` seeds at each ``x``, with the
    95% interval ``[ci_low, ci_high]`` (``t_interval``)."""

    label: str
    x: np.ndarray
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    num_seeds: int


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    """``metrics.csv`` as ``{column: float array}`` (one entry per row)."""
    try:
        with open(path) as f:
            header = f.readline().strip().split(",")
            data = np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as e:
        raise PlotInputError(f"cannot read {path}: {str(e).splitlines()[0]}") from None
    if data.size == 0:
        raise PlotInputError(f"{path} has no rows yet")
    if data.shape[1] != len(header):
        raise PlotInputError(f"cannot read {path}: {len(header)} columns in the header, "
                             f"{data.shape[1]} in the rows")
    return {name: data[:, i] for i, name in enumerate(header)}


def seed_matrix(steps: np.ndarray, seeds: np.ndarray, values: np.ndarray):
    """Long rows ``(step, seed, value)`` -> ``(unique steps, [n_steps, n_seeds])``, keeping
    only the steps every seed reached (a later duplicate row replaces an earlier one)."""
    ustep, si = np.unique(steps, return_inverse=True)
    useed, ki = np.unique(seeds, return_inverse=True)
    matrix = np.full((len(ustep), len(useed)), np.nan)
    seen = np.zeros(matrix.shape, bool)
    matrix[si, ki] = values
    seen[si, ki] = True
    complete = seen.all(axis=1)
    return ustep[complete], matrix[complete]


def t_interval(values: np.ndarray, level: float = 0.95):
    """Mean over seeds (axis 1) and Student-t interval ``mean ± t_{(1+level)/2, n-1} · s/√n``,
    ``s`` the sample standard deviation (ddof = 1); with one seed the interval is the
    mean itself. Returns ``(mean, low, high)``, each ``[n_steps]``."""
    from scipy.stats import t

    values = np.asarray(values, np.float64)
    n = values.shape[1]
    mean = values.mean(axis=1)
    if n < 2:
        return mean, mean.copy(), mean.copy()
    half = t.ppf((1 + level) / 2, n - 1) * values.std(axis=1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def metric_names(table: dict) -> list[str]:
    return [c for c in table if c not in RESERVED_COLUMNS]


def load_curves(folder: str | Path, metric: str = "episode_return", x: str = "steps",
                name: str | None = None) -> list[Curve]:
    """The curves of a run folder (one line, labelled ``name`` or the folder's name) or a
    sweep folder (one line per configuration, labelled by its grid values from
    ``sweep.json``, after ``name:`` when given). ``x="steps"``:
    environment steps per seed; ``x="time"``: the ``time`` column (seconds since the
    run started), averaged over seeds at each step."""
    if x not in ("steps", "time"):
        raise PlotInputError(f"--x {x} is invalid: use steps or time")
    d = Path(folder)
    if not d.is_dir():
        raise PlotInputError(f"no such folder: {d}")
    path = d / "metrics.csv"
    if not path.is_file():
        raise PlotInputError(f"{d} has no metrics.csv: give a run or sweep folder")
    table = read_metrics(path)
    if "step" not in table or "seed" not in table:
        raise PlotInputError(f"{path} has no step and seed columns: is it an rlx metrics file?")
    if metric not in table or metric in RESERVED_COLUMNS:
        raise PlotInputError(f"unknown metric {metric!r} in {path}: available: "
                             f"{', '.join(metric_names(table))}")
    if x == "time" and "time" not in table:
        raise PlotInputError(f"--x time needs a time column (seconds since the run started) "
                             f"and {path} has none: use --x steps")

    grid_labels = {}
    for c in _read_json(d / "sweep.json").get("configs", []):
        grid_labels[c.get("index")] = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in c.items() if k != "index")
    configs = table["config"] if "config" in table else np.zeros(len(table["step"]))
    curves = []
    for c in np.unique(configs):
        rows = configs == c
        steps, values = seed_matrix(table["step"][rows], table["seed"][rows], table[metric][rows])
        if "config" in table:
            label = grid_labels.get(int(c)) or f"config {int(c)}"
            label = f"{name}: {label}" if name else label
        else:
            label = name or d.name
        if x == "time":
            _, times = seed_matrix(table["step"][rows], table["seed"][rows], table["time"][rows])
            xs = times.mean(axis=1)
        else:
            xs = steps
        mean, low, high = t_interval(values)
        curves.append(Curve(label, xs, mean, low, high, values.shape[1]))
    return curves


def describe(folder: str | Path) -> str:
    """``"ALGO on ENV"`` from ``config.json`` or ``sweep.json`` ("" if neither)."""
    d = Path(folder)
    info = _read_json(d / "config.json") or _read_json(d / "sweep.json")
    return f"{info['algo']} on {info['env']}" if "algo" in info and "env" in info else ""


def plot_curves(curves: list[Curve], prefix: str | Path, xlabel: str, ylabel: str,
                title: str = "") -> list[Path]:
    """Draw every curve (mean line, shaded 95% interval) and save ``prefix.png`` and
    ``prefix.svg``; returns both paths."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for c in curves:
        (line,) = ax.plot(c.x, c.mean, lw=1.4, label=f"{c.label} ({c.num_seeds} seeds)")
        ax.fill_between(c.x, c.ci_low, c.ci_high, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    paths = [prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".svg")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths


def plot_folders(folders: list, metric: str = "episode_return", x: str = "steps",
                 out: str | Path | None = None) -> list[Path]:
    """``rlx plot``: the curves of every run or sweep folder overlaid (mean over seeds,
    95% t-interval band), saved as ``out.png`` and ``out.svg`` (default: first folder
    / ``curves``). Raises ``PlotInputError`` on unusable input, before drawing."""
    if not folders:
        raise PlotInputError("give one or more run or sweep folders: rlx plot DIR [DIR ...]")
    several = len(folders) > 1
    curves = []
    for f in folders:
        curves += load_curves(f, metric, x, name=Path(f).resolve().name if several else None)
    runs = sorted({s for s in map(describe, folders) if s})
    title = f"{metric}" + (f" · {', '.join(runs)}" if runs else "") + " · mean and 95% CI"
    xlabel = "environment steps (per seed)" if x == "steps" else "wall time (s)"
    prefix = Path(out) if out is not None else Path(folders[0]) / "curves"
    return plot_curves(curves, prefix, xlabel, metric, title)

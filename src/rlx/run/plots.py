"""Learning-curve plots (matplotlib, headless)."""

from __future__ import annotations

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

"""Run folders: config.json, metrics.csv (long format), summary.json."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from rlx.algos.base import ConfigError


def new_run_dir(out: str | Path) -> Path:
    """Create ``out``; refuse to reuse a non-empty folder so no results are lost."""
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(f"--out={path} already exists and is not empty: choose a new folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_run_dir(root: str | Path, algo: str, env: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{algo}-{env}-{stamp}"
    i = 1
    while path.exists():
        i += 1
        path = Path(root) / f"{algo}-{env}-{stamp}-{i}"
    return path


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    tmp.replace(path)


class MetricsWriter:
    """Appends ``seed,step,<metrics...>`` rows, one per (update, seed)."""

    def __init__(self, path: Path | None, first_seed: int):
        self.path, self.first_seed, self.file, self.names = path, first_seed, None, None

    def append(self, steps: np.ndarray, metrics: dict) -> None:
        if self.path is None:
            return
        if self.names is None:
            self.names = sorted(metrics)
            self.file = open(self.path, "w")
            self.file.write(",".join(["seed", "step", *self.names]) + "\n")
        cols = [metrics[k] for k in self.names]  # each [n, num_seeds]
        if len(steps) == 0:
            return
        n, num_seeds = cols[0].shape
        lines = []
        for i in range(n):
            for s in range(num_seeds):
                vals = ",".join(f"{c[i, s]:.6g}" for c in cols)
                lines.append(f"{self.first_seed + s},{steps[i]},{vals}")
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()

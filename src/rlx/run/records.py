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
    """Appends ``<labels...>,step,time,<metrics...>`` rows, one per (update, batch member).

    ``labels`` maps column names to one value per batch member (e.g. ``{"seed": [0, 1]}``);
    ``time`` is training seconds since the run started. ``path=None`` writes nothing.
    """

    def __init__(self, path: Path | None, labels: dict[str, list], append: bool = False):
        self.path, self.labels, self.file, self.names = path, labels, None, None
        self.mode = "a" if append else "w"

    def append(self, steps: np.ndarray, metrics: dict, times: np.ndarray) -> None:
        """``steps``, ``times``: [n]; ``metrics``: name -> [n, batch]."""
        if self.path is None:
            return
        if self.names is None:
            self.names = sorted(metrics)
            self.file = open(self.path, self.mode)
            if self.mode == "w":
                self.file.write(",".join([*self.labels, "step", "time", *self.names]) + "\n")
        if len(steps) == 0:
            return
        cols = [metrics[k] for k in self.names]  # each [n, batch]
        prefix = [",".join(str(v[j]) for v in self.labels.values()) for j in range(cols[0].shape[1])]
        lines = []
        for i in range(len(steps)):
            for j, p in enumerate(prefix):
                vals = ",".join(f"{c[i, j]:.6g}" for c in cols)
                lines.append(f"{p},{steps[i]},{times[i]:.3f},{vals}")
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.file.close()

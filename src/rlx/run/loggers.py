"""Optional metric loggers: TensorBoard (tensorboardX) and Weights & Biases.

Each logger has the interface of ``records.MetricsWriter``:

* ``append(steps, metrics, times=None)`` — ``steps``: ``[n]`` environment steps
  (per seed) after each of ``n`` updates; ``metrics``: name -> ``[n, batch]``
  values, one column per batch member (seed). ``times`` is accepted and ignored.
  Each update logs, per metric, the mean, min and max over the batch as the
  scalars ``NAME/mean``, ``NAME/min`` and ``NAME/max`` at that step.
* ``close()`` — flush and finish.

``make_loggers(run_dir, tensorboard=..., wandb=...)`` builds the requested ones.
The packages are imported only when a logger is made; a missing one is a
one-line ``ConfigError`` saying what to install.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlx.algos.base import ConfigError


def batch_scalars(metrics: dict, i: int) -> dict[str, float]:
    """``{"NAME/mean": ..., "NAME/min": ..., "NAME/max": ...}`` for update ``i`` of
    ``metrics`` (name -> ``[n, batch]``; a ``[n]`` array counts as a batch of one)."""
    out = {}
    for name in sorted(metrics):
        row = np.asarray(metrics[name], np.float64).reshape(len(metrics[name]), -1)[i]
        out[f"{name}/mean"] = float(row.mean())
        out[f"{name}/min"] = float(row.min())
        out[f"{name}/max"] = float(row.max())
    return out


class TensorBoardLogger:
    """Writes TensorBoard event files into ``logdir`` (made if needed) with tensorboardX;
    ``global_step`` is the environment step count. Needs ``pip install tensorboardX``
    (the ``rlx[tensorboard]`` extra)."""

    def __init__(self, logdir: str | Path):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboardX package: "
                              "pip install tensorboardX") from None
        self.logdir = Path(logdir)
        self.writer = SummaryWriter(logdir=str(self.logdir))

    def append(self, steps: np.ndarray, metrics: dict, times: np.ndarray | None = None) -> None:
        """Log mean/min/max over the batch of every metric at each of ``steps``."""
        for i, step in enumerate(np.asarray(steps)):
            for tag, value in batch_scalars(metrics, i).items():
                self.writer.add_scalar(tag, value, global_step=int(step))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """Logs to a Weights & Biases run (``wandb.init(project, name, config, dir)``); each
    update is one ``log`` call at ``step`` = environment steps. Needs ``pip install wandb``."""

    def __init__(self, project: str, name: str | None = None, config: dict | None = None,
                 dir: str | Path | None = None):
        try:
            import wandb
        except ImportError:
            raise ConfigError("--wandb needs the wandb package: pip install wandb") from None
        self.run = wandb.init(project=project, name=name, config=config,
                              dir=None if dir is None else str(dir))

    def append(self, steps: np.ndarray, metrics: dict, times: np.ndarray | None = None) -> None:
        """One ``run.log`` per update: mean/min/max over the batch of every metric."""
        for i, step in enumerate(np.asarray(steps)):
            self.run.log({**batch_scalars(metrics, i), "env_steps": int(step)}, step=int(step))

    def close(self) -> None:
        self.run.finish()


def make_loggers(run_dir: str | Path | None, tensorboard: bool = False, wandb: bool = False, *,
                 project: str = "rlx", name: str | None = None, config: dict | None = None) -> list:
    """The loggers asked for, each with ``append(steps, metrics, times=None)`` and ``close()``.

    * ``tensorboard``: a ``TensorBoardLogger`` writing into ``run_dir / "tensorboard"``
      (so ``tensorboard --logdir runs`` finds every run); needs a ``run_dir``.
    * ``wandb``: a ``WandbLogger`` for W&B project ``project``, run ``name`` (default: the
      run folder's name) and ``config`` (e.g. the hyperparameters), files under ``run_dir``.

    One-line ``ConfigError`` when a package is missing or TensorBoard has no folder."""
    loggers = []
    if tensorboard:
        if run_dir is None:
            raise ConfigError("--tensorboard needs a run folder to write into (--out)")
        loggers.append(TensorBoardLogger(Path(run_dir) / "tensorboard"))
    if wandb:
        if name is None and run_dir is not None:
            name = Path(run_dir).name
        try:
            loggers.append(WandbLogger(project, name, config, run_dir))
        except ConfigError:
            for logger in loggers:
                logger.close()
            raise
    return loggers

"""The generic runner: fused chunks, seeds, sweeps, run folders, progress."""

from rlx.run.runner import NonFiniteError, RunResult, train
from rlx.run.sweep import SweepResult, sweep

__all__ = ["NonFiniteError", "RunResult", "SweepResult", "sweep", "train"]

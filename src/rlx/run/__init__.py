"""The generic runner: fused chunks, seeds, sweeps, checkpoints, run folders, progress."""

from rlx.run.runner import NonFiniteError, RunResult, evaluate_run, load_run, resume, train
from rlx.run.sweep import SweepResult, sweep

__all__ = ["NonFiniteError", "RunResult", "SweepResult", "evaluate_run", "load_run", "resume",
           "sweep", "train"]

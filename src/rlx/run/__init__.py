"""The generic runner: fused chunks, seeds, run folders, progress."""

from rlx.run.runner import NonFiniteError, RunResult, train

__all__ = ["NonFiniteError", "RunResult", "train"]

"""A rich progress bar: environment steps, steps/s and the mean return."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class TrainProgress:
    def __init__(self, title: str, total_steps: int, num_seeds: int, enabled: bool = True):
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps/seed"),
            TextColumn("{task.fields[sps]:>10,.0f} steps/s"),
            TextColumn("return {task.fields[ret]:>9.2f}"),
            TimeElapsedColumn(),
            disable=not enabled,
        )
        self.task = self.progress.add_task(f"{title} ×{num_seeds}", total=total_steps, sps=0.0,
                                           ret=float("nan"))

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def update(self, steps: int, sps: float, mean_return: float) -> None:
        self.progress.update(self.task, completed=steps, sps=sps, ret=mean_return)

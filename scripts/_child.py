"""Run a benchmark snippet in a fresh Python process (no shared compile caches) and
return the JSON object it prints last."""

from __future__ import annotations

import json
import subprocess
import sys


def run_child(code: str, *args, python: str = sys.executable) -> dict:
    """``python -c code args...``; ``python`` may be another environment's interpreter."""
    out = subprocess.run([python, "-c", code, *map(str, args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_run(code: str, repeats: int, *args, key: str = "env_steps_per_second") -> dict:
    """``run_child`` ``repeats`` times; the median run (by ``key``) with every run's
    ``key`` in ``<key>_runs`` (timings on a shared CPU vary from process to process)."""
    runs = sorted((run_child(code, *args) for _ in range(max(1, repeats))), key=lambda r: r[key])
    return {**runs[len(runs) // 2], f"{key}_runs": [r[key] for r in runs]}


def write_results(json_path: str, data: dict, lines: list[str]) -> None:
    """Write ``data`` to ``json_path``, the Markdown ``lines`` next to it (``.md``), and print them."""
    import os

    os.makedirs(os.path.dirname(json_path) or ".", exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(data, f, indent=2)
    table = "\n".join(lines)
    with open(os.path.splitext(json_path)[0] + ".md", "w") as f:
        f.write(table + "\n")
    print(table)

"""Write an experiment's results: ``results.json`` (the data) and ``results.md`` (the table)."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(out: Path, data, lines: list[str]) -> None:
    """``out/results.json`` from ``data``, ``out/results.md`` from the Markdown ``lines``; prints them."""
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

"""Run a benchmark snippet in a fresh Python process (no shared compile caches) and
return the JSON object it prints last."""

from __future__ import annotations

import json
import subprocess
import sys


def run_child(code: str, *args) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

"""``import rlx`` must not start JAX's backend: multi-process runs call
``jax.distributed.initialize`` after importing rlx, which fails once a backend exists."""

import subprocess
import sys


def test_import_does_not_initialise_a_backend():
    code = "import rlx; from jax._src import xla_bridge as xb; print(bool(xb._backends))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]

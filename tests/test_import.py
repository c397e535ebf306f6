"""``import rlx`` must not start JAX's backend: multi-process runs call
``jax.distributed.initialize`` after importing rlx, which fails once a backend exists."""

import os
import subprocess
import sys


def test_import_does_not_initialise_a_backend():
    code = "import rlx; from jax._src import xla_bridge as xb; print(bool(xb._backends))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]


def test_threefry_lowers_unrolled_on_the_cpu():
    """rlx installs JAX's unrolled Threefry lowering on the CPU (no while loop per
    random call); the bits are those of the rolled rule, checked against values
    computed in a process with rlx's XLA defaults disabled."""
    code = ("import rlx, jax, numpy as np; k = jax.random.key(3); "
            "hlo = jax.jit(lambda k: jax.random.bits(k, (64,))).lower(k).as_text(); "
            "print(' while' in hlo or 'stablehlo.while' in hlo, "
            "np.asarray(jax.random.bits(k, (4,))).tolist(), np.asarray(jax.random.normal(k, (2,))).tolist())")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "RLX_XLA_DEFAULTS": flag}) for flag in ("1", "0")]
    assert all(o.returncode == 0 for o in outs), outs[0].stderr[-2000:] + outs[1].stderr[-2000:]
    unrolled, rolled = (o.stdout.split(" ", 1) for o in outs)
    assert unrolled[0] == "False" and rolled[0] == "True"  # rolled: a while loop in the lowering
    assert unrolled[1] == rolled[1]  # identical random numbers

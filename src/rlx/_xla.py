"""CPU defaults for XLA, applied at ``import rlx`` before JAX starts its backend.

* ``--xla_cpu_multi_thread_eigen=false``: XLA's multi-threaded Eigen pool can
  wedge (all workers idle, the caller blocked forever) on vmapped training
  programs; single-threaded Eigen avoids it and is faster for RL-sized matmuls.
* ``--xla_force_host_platform_device_count=<cores>``: one CPU device per core,
  so the runner shards seeds over the cores (as it shards them over GPUs).

Flags already present in ``XLA_FLAGS`` win; ``RLX_XLA_DEFAULTS=0`` disables this.
"""

from __future__ import annotations

import os


def configure() -> None:
    if os.environ.get("RLX_XLA_DEFAULTS", "1") == "0":
        return
    flags = os.environ.get("XLA_FLAGS", "")
    extra = []
    if "xla_cpu_multi_thread_eigen" not in flags:
        extra.append("--xla_cpu_multi_thread_eigen=false")
    if "xla_force_host_platform_device_count" not in flags:
        extra.append(f"--xla_force_host_platform_device_count={os.cpu_count() or 1}")
    if extra:
        os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()

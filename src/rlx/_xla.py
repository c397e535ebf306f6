"""CPU defaults for XLA, applied at ``import rlx`` before JAX starts its backend.

* ``--xla_cpu_multi_thread_eigen=false``: XLA's multi-threaded Eigen pool can
  wedge (all workers idle, the caller blocked forever) on vmapped training
  programs; single-threaded Eigen avoids it and is faster for RL-sized matmuls.
* ``--xla_force_host_platform_device_count=<cores>``: one CPU device per core,
  so the runner shards seeds over the cores (as it shards them over GPUs).

And one lowering choice: JAX lowers the Threefry hash on the CPU as a rolled
5-iteration loop (for compile time). Every ``jax.random`` call in a training
step then runs ~35 tiny kernels five times; the unrolled lowering JAX uses on
other backends computes the same bits in one fused kernel. With it, 1-seed PPO
on CartPole steps about 20% faster (``scripts/bench_ppo.py``); random numbers
are bit-identical.

Flags already present in ``XLA_FLAGS`` win; ``RLX_XLA_DEFAULTS=0`` disables all of this.
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
    unroll_threefry()


def unroll_threefry() -> bool:
    """Lower ``threefry2x32`` on the CPU with JAX's unrolled (non-CPU) rule. JAX
    internals: if they move, this is skipped (random numbers are the same either
    way). Returns whether the rule was installed."""
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as tf

        mlir.register_lowering(tf.threefry2x32_p, tf._threefry2x32_lowering_rule, platform="cpu")
    except (ImportError, AttributeError):
        return False
    return True

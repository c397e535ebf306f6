"""Multi-host runs with JAX's own runtime (``jax.distributed``).

Every process runs the same command; the seed × configuration batch is one
global array sharded over the devices of all processes, each process computes
its slice, and process 0 writes the run folder. Launch, e.g. two machines::

    rlx train ppo --seeds 64 --coordinator HOST0:1234 --num-processes 2 --process-id 0   # on HOST0
    rlx train ppo --seeds 64 --coordinator HOST0:1234 --num-processes 2 --process-id 1   # on HOST1

The three settings may also come from ``JAX_COORDINATOR_ADDRESS``,
``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``; on SLURM, Open MPI and TPU pods
JAX detects them itself (``--distributed`` alone).
"""

from __future__ import annotations

import os

import jax
import numpy as np

from rlx.algos.base import ConfigError


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, auto: bool = False) -> bool:
    """Join a multi-process run if asked (flags, then environment variables).

    Returns whether ``jax.distributed`` was initialised. Must run before any
    JAX computation. On the CPU, cross-process collectives use gloo.
    """
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("JAX_PROCESS_ID"):
        process_id = int(os.environ["JAX_PROCESS_ID"])
    given = [x is not None for x in (coordinator, num_processes, process_id)]
    if not auto and not any(given):
        return False
    if not auto and not all(given):
        raise ConfigError("a multi-process run needs --coordinator, --num-processes and --process-id "
                          "(or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)")
    if num_processes is not None and num_processes < 1:
        raise ConfigError(f"--num-processes={num_processes} is invalid: it must be positive")
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        raise ConfigError(f"--process-id={process_id} is invalid: it must lie in [0, {num_processes - 1}]")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes, process_id)
    return True


def is_main() -> bool:
    """Whether this process writes results (process 0)."""
    return jax.process_index() == 0


def global_array(x: np.ndarray, sharding) -> jax.Array:
    """The global array equal to ``x`` on every process, laid out by ``sharding``."""
    x = np.asarray(x)
    x = x.astype(jax.dtypes.canonicalize_dtype(x.dtype))
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def fetch(tree):
    """Host numpy copies of (possibly multi-process) global arrays, on every process."""
    if jax.process_count() == 1:
        return jax.tree_util.tree_map(np.asarray, tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)

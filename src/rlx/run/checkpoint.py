"""Checkpoints of a run between chunks (orbax-checkpoint).

A checkpoint at step ``n`` (updates done per batch member) holds everything a
run needs to continue bit-for-bit: the batched train state (parameters,
optimiser state, environment states, RNG keys, step counters, replay buffers —
whatever the algorithm keeps in it), the metric history up to ``n`` and the
elapsed training time. It lives in ``RUN_DIR/checkpoints/<n>``; orbax writes
to a temporary folder and renames it when complete, so a run killed mid-save
leaves the previous checkpoint intact.

Typed PRNG keys are stored as their raw ``uint32`` key data and re-wrapped on
restore; empty arrays (which orbax cannot write: an ``mjx.Data`` has several) as a
one-element placeholder, rebuilt from the abstract state. ``signature`` describes the state's structure, shapes and dtypes; a
checkpoint whose signature differs from the state the current build expects
is refused with an error naming the first mismatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from rlx.algos.base import ConfigError


class CheckpointError(ConfigError):
    """A missing, unreadable or incompatible checkpoint (one-line message)."""


class Restored(NamedTuple):
    step: int  # updates done per batch member
    states: Any  # batched train state, sharded like the abstract state it was restored to
    history: dict  # metric name -> [step, batch] float array
    train_seconds: float


def _is_key(x) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _empty(x) -> bool:
    return 0 in getattr(x, "shape", (1,))


def _replicated(sharding):
    mesh = getattr(sharding, "mesh", None)
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec()) if mesh is not None else sharding


def to_storable(tree):
    """Typed PRNG keys -> their uint32 key data, empty arrays -> ``zeros(1)``; other leaves unchanged."""
    def conv(x):
        if _is_key(x):
            return jax.random.key_data(x)
        return np.zeros(1, x.dtype) if _empty(x) else x
    return jax.tree_util.tree_map(conv, tree)


def storable_abstract(abstract):
    """The abstract (``ShapeDtypeStruct``) tree of ``to_storable(state)``."""
    def conv(x):
        if _empty(x):
            return jax.ShapeDtypeStruct((1,), x.dtype, sharding=_replicated(getattr(x, "sharding", None)))
        if not _is_key(x):
            return x
        shape = jax.eval_shape(jax.random.key_data, x).shape
        return jax.ShapeDtypeStruct(shape, np.uint32, sharding=getattr(x, "sharding", None))
    return jax.tree_util.tree_map(conv, abstract)


def from_storable(tree, abstract):
    """Inverse of ``to_storable`` given the abstract state (which leaves are keys, of which impl)."""
    def conv(x, a):
        if _empty(a):
            return jax.numpy.zeros(a.shape, a.dtype, device=getattr(a, "sharding", None))
        if not _is_key(a):
            return x
        return jax.random.wrap_key_data(x)  # the default impl, as rlx creates keys with
    return jax.tree_util.tree_map(conv, tree, abstract)


def signature(abstract) -> list[list]:
    """``[[path, shape, dtype], ...]`` of the state's leaves, for compatibility checks."""
    leaves = jax.tree_util.tree_flatten_with_path(abstract)[0]
    return [[jax.tree_util.keystr(p), list(x.shape), str(x.dtype)] for p, x in leaves]


def check_compatible(saved: list, expected: list, where: Path) -> None:
    """One-line ``CheckpointError`` naming the first difference between two signatures."""
    saved_d = {p: (tuple(s), d) for p, s, d in saved}
    for p, s, d in expected:
        if p not in saved_d:
            raise CheckpointError(f"checkpoint {where} is incompatible with this build: it has no "
                                  f"{p} (another algorithm or version?); start a new run")
        if saved_d[p] != (tuple(s), d):
            (ss, sd) = saved_d[p]
            raise CheckpointError(f"checkpoint {where} is incompatible with this build: {p} is "
                                  f"{sd}{list(ss)} there, {d}{list(s)} here; start a new run")
    extra = set(saved_d) - {p for p, _, _ in expected}
    if extra:
        raise CheckpointError(f"checkpoint {where} is incompatible with this build: it has "
                              f"{sorted(extra)[0]}, which this build lacks; start a new run")


class Checkpointer:
    """Save/restore run checkpoints under ``run_dir/checkpoints``, keeping the last ``keep``.

    Saves are asynchronous (the next chunk runs while orbax writes); ``close``
    waits for the last one. Every process calls ``save``/``restore`` in a
    multi-host run; orbax coordinates the writes.
    """

    def __init__(self, run_dir: Path, keep: int = 2, asynchronous: bool = True, read_only: bool = False):
        """``read_only``: for loading; never creates, deletes or writes anything."""
        self.directory = (Path(run_dir) / "checkpoints").absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=None if read_only else keep,
                                               create=not read_only,
                                               enable_async_checkpointing=asynchronous)
        self.manager = ocp.CheckpointManager(self.directory, options=options,
                                             item_names=("state", "history", "meta"))

    def save(self, step: int, states, history: dict, meta: dict) -> None:
        """``history``: metric name -> [step, batch] array; ``meta``: JSON-able dict."""
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(to_storable(states)),
            history=ocp.args.StandardSave({k: np.asarray(v) for k, v in history.items()}),
            meta=ocp.args.JsonSave(meta)))

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def restore(self, abstract_states, step: int | None = None, expected_meta: dict | None = None) -> Restored:
        """Restore ``step`` (default: the latest) onto ``abstract_states``' shapes and shardings.

        ``expected_meta`` entries (e.g. algo, env) must equal the saved ones.
        """
        steps = self.manager.all_steps()
        if not steps:
            raise CheckpointError(f"{self.directory.parent} has no checkpoint to resume from "
                                  "(the run stopped before its first one, or ran with --checkpoint-every 0)")
        if step is None:
            step = max(steps)
        elif step not in steps:
            raise CheckpointError(f"no checkpoint at step {step} in {self.directory}: "
                                  f"available steps are {sorted(steps)}")
        where = self.directory / str(step)
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception as e:  # noqa: BLE001 — any failure to read is reported the same way
            raise CheckpointError(f"checkpoint {where} is unreadable ({type(e).__name__}); "
                                  "delete it to resume from an earlier one") from None
        for k, v in (expected_meta or {}).items():
            if meta.get(k) != v:
                raise CheckpointError(f"checkpoint {where} is incompatible: its {k} is "
                                      f"{meta.get(k)!r}, this run's is {v!r}")
        check_compatible(meta["signature"], signature(storable_abstract(abstract_states)), where)
        history_abstract = {k: jax.ShapeDtypeStruct(tuple(s), np.dtype(d))
                            for k, (s, d) in meta["history"].items()}
        try:
            r = self.manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(storable_abstract(abstract_states)),
                history=ocp.args.StandardRestore(history_abstract)))
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"checkpoint {where} is unreadable ({type(e).__name__}); "
                                  "delete it to resume from an earlier one") from None
        states = from_storable(r["state"], abstract_states)
        history = {k: np.asarray(v) for k, v in r["history"].items()}
        return Restored(step, states, history, float(meta["train_seconds"]))

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def checkpoint_meta(base: dict, abstract_states, history: dict, train_seconds: float) -> dict:
    """The JSON part of a checkpoint: run identity, state signature, history shapes."""
    return dict(base, signature=signature(storable_abstract(abstract_states)),
                history={k: [list(np.shape(v)), str(np.asarray(v).dtype)] for k, v in history.items()},
                train_seconds=train_seconds)

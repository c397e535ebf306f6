"""Frozen dataclasses that are JAX pytrees.

Fields are pytree leaves unless declared with ``static_field`` (then they are
part of the tree structure: hashed, compared, never traced). This is how rlx
separates vmappable hyperparameters (leaves) from shape-determining ones
(static) in one config object.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

STATIC = "rlx_static"


def static_field(default: Any = dataclasses.MISSING, **kwargs) -> Any:
    """A dataclass field kept out of the pytree leaves (shape-determining)."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata[STATIC] = True
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def field(default: Any = dataclasses.MISSING, **kwargs) -> Any:
    """A dataclass field that is a pytree leaf (vmappable)."""
    return dataclasses.field(default=default, **kwargs)


def is_static(f: dataclasses.Field) -> bool:
    return bool(f.metadata.get(STATIC, False))


def pytree_dataclass(cls=None, /, **kwargs):
    """``@dataclass(frozen=True)`` registered with JAX; see the module docstring."""

    def wrap(c):
        c = dataclasses.dataclass(frozen=True, **kwargs)(c)
        fields = dataclasses.fields(c)
        data = [f.name for f in fields if not is_static(f)]
        meta = [f.name for f in fields if is_static(f)]
        return jax.tree_util.register_dataclass(c, data_fields=data, meta_fields=meta)

    return wrap if cls is None else wrap(cls)


def replace(obj, **changes):
    return dataclasses.replace(obj, **changes)

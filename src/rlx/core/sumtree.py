"""A sum tree in one array, for proportional prioritised replay (Schaul et al. 2016).

Node 1 is the root; node ``i`` has children ``2i`` and ``2i + 1``; the ``L`` leaves
(``L`` the capacity rounded up to a power of two) are nodes ``L .. 2L − 1`` and
every inner node holds the sum of its two children. Updating ``B`` leaves and
drawing ``B`` samples each cost ``O(B log L)``, vectorised over the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class SumTree(NamedTuple):
    nodes: jax.Array  # [2L] float32; nodes[0] unused
    max_value: jax.Array  # the largest leaf value ever set (new transitions get it)


def init(capacity: int) -> SumTree:
    """An all-zero tree over ``capacity`` leaves."""
    if capacity < 1:
        raise ValueError(f"a sum tree needs at least one leaf, got capacity={capacity}")
    leaves = 1 << max(0, (capacity - 1).bit_length())
    return SumTree(jnp.zeros((2 * leaves,), jnp.float32), jnp.ones((), jnp.float32))


def n_leaves(tree: SumTree) -> int:
    return tree.nodes.shape[0] // 2


def total(tree: SumTree) -> jax.Array:
    """The sum of all leaves (the root)."""
    return tree.nodes[1]


def get(tree: SumTree, index: jax.Array) -> jax.Array:
    """Leaf values at ``index`` (leaf numbers ``0 .. capacity − 1``)."""
    return tree.nodes[index + n_leaves(tree)]


def update(tree: SumTree, index: jax.Array, values: jax.Array) -> SumTree:
    """Set leaves ``index [B]`` to ``values [B]`` (≥ 0) and recompute their ancestors.
    Repeated indices must carry equal values (the last write wins either way)."""
    node = index + n_leaves(tree)
    nodes = tree.nodes.at[node].set(values)
    for _ in range(n_leaves(tree).bit_length() - 1):  # log2 L levels up to the root
        node = node // 2
        nodes = nodes.at[node].set(nodes[2 * node] + nodes[2 * node + 1])
    return SumTree(nodes, jnp.maximum(tree.max_value, jnp.max(values)))


def find(tree: SumTree, u: jax.Array) -> jax.Array:
    """The leaf whose cumulative interval contains ``u`` (``0 ≤ u < total``), per batch element:
    descend left while ``u`` is below the left child's sum, else subtract it and go right."""
    node = jnp.ones(u.shape, jnp.int32)
    for _ in range(n_leaves(tree).bit_length() - 1):
        left = tree.nodes[2 * node]
        right = u >= left
        u = jnp.where(right, u - left, u)
        node = 2 * node + right
    return node - n_leaves(tree)


def sample(tree: SumTree, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """``batch_size`` leaves drawn with probability ``value / total``, stratified (one draw
    in each of ``batch_size`` equal slices of the total); returns (leaves, probabilities)."""
    tot = total(tree)
    u = (jnp.arange(batch_size) + jax.random.uniform(key, (batch_size,))) * (tot / batch_size)
    leaf = find(tree, jnp.minimum(u, tot * (1 - 1e-7)))
    return leaf, get(tree, leaf) / jnp.maximum(tot, 1e-30)

"""Splitting one run's batch axis over the runner's ``members`` devices.

The runner's mesh is ``("seeds", "members")``: seeds take the devices that divide
them and an agent's own batch (an ES population, PPO's environments) the rest
(``rlx.run.runner.seed_mesh``). Inside the traced update, ``along_members``
tells XLA's partitioner to split an axis over ``members``; outside such a mesh
(a plain ``jit``, one device) it does nothing.
"""

from __future__ import annotations

import jax
from jax.sharding import PartitionSpec as P


def members_size() -> int:
    """Devices on the current mesh's ``members`` axis (1 outside one)."""
    mesh = jax.sharding.get_abstract_mesh()
    if "members" not in getattr(mesh, "axis_names", ()):
        return 1
    return int(mesh.shape["members"])


def along_members(tree, axis: int = 0):
    """Constrain every leaf's ``axis`` to be split over the ``members`` devices."""
    if members_size() == 1:
        return tree

    def constrain(x):
        spec = [None] * x.ndim
        spec[axis] = "members"
        return jax.lax.with_sharding_constraint(x, P(*spec))

    return jax.tree_util.tree_map(constrain, tree)

"""State aggregation for tabular learners: continuous observations to one cell index.

    env, params = rlx.make("CartPole-v1")
    env = Discretize(env, bins=(1, 1, 6, 12), low=(-4.8, -3.0, -0.21, -2.0), high=(4.8, 3.0, 0.21, 2.0))
    env.observation_space(params)          # Discrete(72)

Dimension ``i`` of ``[low_i, high_i]`` is cut into ``bins_i`` cells of equal width;
values outside are clipped into the first or last cell. The cell of ``x_i`` is
``b_i = #{k in 1..bins_i - 1 : x_i >= e_ik}`` with the interior edges
``e_ik = low_i + (high_i - low_i) · k / bins_i`` (a value on an edge belongs to the
cell above it; NaN to cell 0). The state index is their mixed-radix
combination, first dimension most significant (``np.ravel_multi_index``):

    s = Σ_i b_i · Π_{j > i} bins_j,    0 <= s < Π_i bins_i.

A dimension with one bin is ignored (its bounds may be anything, even infinite).
``discretize`` is the pure function (``low``/``high`` may be traced, so they can be
vmapped); ``Discretize`` is the observation wrapper built on it.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rlx.envs import spaces
from rlx.envs.core import Environment, Wrapper


def discretize(obs, bins: Sequence[int], low, high) -> jax.Array:
    """The int32 cell index of ``obs [..., D]`` (see the module docstring).
    ``bins``: D static positive ints; ``low``/``high``: [D] bounds (arrays or traced)."""
    bins = tuple(int(b) for b in bins)
    obs = jnp.asarray(obs, jnp.float32)
    low, high = jnp.asarray(low, jnp.float32), jnp.asarray(high, jnp.float32)
    index = jnp.zeros(obs.shape[:-1], jnp.int32)
    for i, n in enumerate(bins):
        cell = jnp.zeros(obs.shape[:-1], jnp.int32)
        if n > 1:
            k = jnp.arange(1, n, dtype=jnp.float32)
            edges = low[i] + (high[i] - low[i]) * k / n  # [n - 1] interior edges
            cell = jnp.sum(obs[..., i, None] >= edges, axis=-1, dtype=jnp.int32)
        index = index * n + cell
    return index


def resolve_bounds(space, bins: Sequence[int], low=None, high=None) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` as float32 [D] arrays: the given ones, else the Box ``space``'s.
    ``ValueError`` (one line) on a non-Box space, a length mismatch, or bounds that
    are not finite with ``low < high`` on a dimension with more than one bin."""
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"discretising needs a flat Box observation space, got {space!r}")
    dim = space.shape[0]
    bins = tuple(int(b) for b in bins)
    if len(bins) != dim or any(b < 1 for b in bins):
        raise ValueError(f"bins={bins} must give one positive number of bins per observation "
                         f"dimension ({dim})")
    lo = np.asarray(space.low if low is None or len(low) == 0 else low, np.float32)
    hi = np.asarray(space.high if high is None or len(high) == 0 else high, np.float32)
    for name, v in (("low", lo), ("high", hi)):
        if v.shape != (dim,):
            raise ValueError(f"{name}={tuple(v.tolist())} must have one bound per observation "
                             f"dimension ({dim})")
    for i, b in enumerate(bins):
        if b > 1 and not (np.isfinite(lo[i]) and np.isfinite(hi[i]) and lo[i] < hi[i]):
            raise ValueError(f"dimension {i} has {b} bins but bounds [{lo[i]}, {hi[i]}]: give finite "
                             "bounds with low < high (the observation space's are used when none are given)")
    return lo, hi


class Discretize(Wrapper):
    """Observations become the cell index of ``discretize(obs, bins, low, high)``;
    the observation space is ``Discrete(prod(bins))``. ``low``/``high`` default to the
    wrapped Box space's bounds (they must be finite where a dimension has more than
    one bin). An ``info["final_obs"]`` from an inner ``AutoReset`` is discretised too."""

    def __init__(self, env: Environment, bins: Sequence[int], low=None, high=None,
                 params=None):
        super().__init__(env)
        params = env.default_params() if params is None else params
        self.bins = tuple(int(b) for b in bins)
        self.low, self.high = resolve_bounds(env.observation_space(params), self.bins, low, high)

    def _index(self, ts):
        info = dict(ts.info)
        if "final_obs" in info:
            info["final_obs"] = discretize(info["final_obs"], self.bins, self.low, self.high)
        return ts._replace(obs=discretize(ts.obs, self.bins, self.low, self.high), info=info)

    def reset(self, key, params):
        state, ts = self.env.reset(key, params)
        return state, self._index(ts)

    def step(self, key, state, action, params):
        state, ts = self.env.step(key, state, action, params)
        return state, self._index(ts)

    def observation_space(self, params):
        return spaces.Discrete(math.prod(self.bins))

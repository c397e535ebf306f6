"""MLPs and actor-critic heads.

Weights start from scaled Glorot-uniform draws (variance ``scale² · 2 / (fan_in + fan_out)``):
hidden layers with gain √2, the policy head with gain 0.01 (near-uniform initial
policy), the value head with gain 1. This is the gain recipe of orthogonal PPO
initialisation without its QR decomposition, which XLA's CPU backend runs as a
LAPACK call that can deadlock its thread pool when vmapped over seeds.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

def scaled_init(gain: float):
    """Glorot-uniform initialiser multiplied by ``gain``."""
    return nn.initializers.variance_scaling(gain**2, "fan_avg", "uniform")


ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "elu": nn.elu, "gelu": nn.gelu, "silu": nn.silu}


class MLP(nn.Module):
    """Dense layers with ``activation`` between them; the last layer is linear
    with its initial weights scaled by ``out_scale``."""

    hidden: Sequence[int]
    out: int
    activation: str = "tanh"
    out_scale: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=scaled_init(np.sqrt(2)))(x))
        return nn.Dense(self.out, kernel_init=scaled_init(self.out_scale))(x)


class ActorCritic(nn.Module):
    """Separate policy and value MLPs.

    ``policy(obs)`` gives logits ``[..., n]`` (discrete) or ``(mean, log_std)``
    with a state-independent ``log_std`` (continuous); ``value(obs)`` gives V(s).
    """

    action_dim: int
    continuous: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"

    def setup(self):
        self.actor = MLP(self.hidden, self.action_dim, self.activation, out_scale=0.01)
        self.critic = MLP(self.hidden, 1, self.activation, out_scale=1.0)
        if self.continuous:
            self.log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))

    def policy(self, obs):
        out = self.actor(obs)
        if self.continuous:
            return out, jnp.broadcast_to(self.log_std, out.shape)
        return out

    def value(self, obs):
        return self.critic(obs)[..., 0]

    def __call__(self, obs):
        return self.policy(obs), self.value(obs)

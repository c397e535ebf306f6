"""Q-network modules: the Nature-DQN convolutional torso and value heads (plain,
dueling, distributional)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from rlx.nets.mlp import ACTIVATIONS, scaled_init


class NatureCNN(nn.Module):
    """Mnih et al. (2015): conv 32×8×8 stride 4, 64×4×4 stride 2, 64×3×3 stride 1, dense 512,
    ReLU after each. Takes ``[..., H, W, C]`` images; ``uint8`` pixels are scaled to [0, 1]."""

    features: int = 512

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.dtype == jnp.uint8:
            x = x.astype(jnp.float32) / 255.0
        batch = x.shape[:-3]
        x = x.reshape((-1,) + x.shape[-3:])
        init = scaled_init(np.sqrt(2))
        for feats, k, s in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = nn.relu(nn.Conv(feats, (k, k), (s, s), padding="VALID", kernel_init=init)(x))
        x = nn.relu(nn.Dense(self.features, kernel_init=init)(x.reshape(x.shape[0], -1)))
        return x.reshape(batch + (self.features,))


class MinAtarCNN(nn.Module):
    """Young & Tian (2019): conv 16×3×3 stride 1 (VALID), dense 128, ReLU after each; for
    small boards such as MinAtar's 10 × 10 × C (inputs are cast to float, not rescaled)."""

    features: int = 128

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        batch = x.shape[:-3]
        x = x.astype(jnp.float32).reshape((-1,) + x.shape[-3:])
        init = scaled_init(np.sqrt(2))
        x = nn.relu(nn.Conv(16, (3, 3), (1, 1), padding="VALID", kernel_init=init)(x))
        x = nn.relu(nn.Dense(self.features, kernel_init=init)(x.reshape(x.shape[0], -1)))
        return x.reshape(batch + (self.features,))


TORSOS = {"nature": NatureCNN, "minatar": MinAtarCNN}


def image_torso(shape) -> str:
    """The convolutional torso for ``[H, W, C]`` images: Nature's for frames of 36 px or more
    a side (its three convolutions need that), MinAtar's below."""
    return "nature" if min(shape[0], shape[1]) >= 36 else "minatar"


class QNetwork(nn.Module):
    """``Q(s, ·)``: ``[..., n_actions]``, or with ``atoms > 1`` the logits ``[..., n_actions, atoms]``
    of a categorical return distribution (C51). ``dueling``: ``Q = V + A − mean_a A`` (Wang et
    al. 2016; per atom for C51). The torso is an MLP of ``hidden`` widths, ``NatureCNN`` or
    ``MinAtarCNN``."""

    n_actions: int
    hidden: Sequence[int] = (128, 128)
    activation: str = "relu"
    torso: str = "mlp"  # "mlp" | "nature" | "minatar"
    obs_rank: int = 1  # dimensions of one observation (the MLP flattens them)
    dueling: bool = False
    atoms: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        if self.torso in TORSOS:
            x = TORSOS[self.torso]()(obs)
        else:
            x = obs.astype(jnp.float32)
            x = x.reshape(x.shape[:x.ndim - self.obs_rank] + (-1,))
            for width in self.hidden:
                x = ACTIVATIONS[self.activation](nn.Dense(width, kernel_init=scaled_init(np.sqrt(2)))(x))
        shape = x.shape[:-1] + (self.n_actions, self.atoms)
        adv = nn.Dense(self.n_actions * self.atoms, kernel_init=scaled_init(1.0))(x).reshape(shape)
        if self.dueling:
            value = nn.Dense(self.atoms, kernel_init=scaled_init(1.0))(x)[..., None, :]
            adv = value + adv - adv.mean(axis=-2, keepdims=True)
        return adv[..., 0] if self.atoms == 1 else adv

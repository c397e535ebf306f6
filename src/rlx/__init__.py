"""rlx: JAX-native functional deep reinforcement learning."""

from rlx.envs import make
from rlx.run import train

__version__ = "0.1.0"
__all__ = ["make", "train"]

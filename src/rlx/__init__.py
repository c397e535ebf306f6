"""rlx: JAX-native functional deep reinforcement learning."""

from rlx import _xla

_xla.configure()  # before JAX initialises its CPU backend

from rlx.envs import make  # noqa: E402
from rlx.run import sweep, train  # noqa: E402

__version__ = "0.1.0"
__all__ = ["make", "sweep", "train"]

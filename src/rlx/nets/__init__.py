"""flax.linen modules: MLP torso, actor-critic heads, Q-networks (Nature CNN, dueling, C51)."""

from rlx.nets.mlp import MLP, ActorCritic
from rlx.nets.q import MinAtarCNN, NatureCNN, QNetwork

__all__ = ["MLP", "ActorCritic", "MinAtarCNN", "NatureCNN", "QNetwork"]

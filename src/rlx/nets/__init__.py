"""flax.linen modules: MLP torso and actor-critic heads."""

from rlx.nets.mlp import MLP, ActorCritic

__all__ = ["MLP", "ActorCritic"]

"""Functional environments, wrappers and the registry."""

from rlx.envs import classic_control, toy_text  # noqa: F401  (registers the tasks)
from rlx.envs.core import (
    AutoReset,
    DomainRandomization,
    Environment,
    EpisodeStats,
    TimeLimit,
    TimeStep,
    Wrapper,
    for_training,
    scale_fields,
)
from rlx.envs.registry import (
    MissingPackageError, UnknownEnvironmentError, make, register, register_namespace, registered, spec,
)
from rlx.envs.spaces import Box, Discrete
from rlx.envs import pixels  # noqa: F401,E402  (registers PixelCartPole-v1 and Catch-v0)
from rlx.envs.pixels import (  # noqa: E402
    ActionRepeat, ClipReward, FrameStack, Grayscale, NoopReset, Resize, StickyActions, atari_preprocessing,
)
from rlx.envs import minatar  # noqa: F401,E402  (registers the MinAtar games)
from rlx.envs import mujoco_tasks  # noqa: F401,E402  (registers the MuJoCo v5 tasks; mujoco loads on make)
from rlx.envs.discretize import Discretize  # noqa: E402  (the function stays rlx.envs.discretize.discretize)
from rlx.envs.adapters import (  # noqa: E402  (registers the gymnax/, brax/, playground/ namespaces)
    from_brax, from_gymnax, from_playground, to_gymnasium, to_gymnasium_vector,
)

__all__ = [
    "AutoReset", "Box", "Discrete", "DomainRandomization", "Environment", "EpisodeStats", "TimeLimit", "TimeStep",
    "UnknownEnvironmentError", "Wrapper", "for_training", "make", "register", "registered",
    "scale_fields", "spec",
]
__all__ += ["ActionRepeat", "ClipReward", "FrameStack", "Grayscale", "NoopReset", "Resize", "StickyActions",
            "atari_preprocessing"]
__all__ += ["Discretize"]
__all__ += ["MissingPackageError", "from_brax", "from_gymnax", "from_playground", "register_namespace",
            "to_gymnasium", "to_gymnasium_vector"]

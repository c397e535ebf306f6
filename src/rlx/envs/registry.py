"""Environment registry: ``rlx.make(name, **kwargs) -> (env, params)``."""

from __future__ import annotations

import difflib
from typing import Any, Callable, NamedTuple

from rlx.envs.core import Environment, TimeLimit


class UnknownEnvironmentError(ValueError):
    """Raised by ``make`` for a name that is not registered."""


class EnvSpec(NamedTuple):
    factory: Callable[..., Environment]
    max_steps: int | None


_REGISTRY: dict[str, EnvSpec] = {}


def register(name: str, factory: Callable[..., Environment], max_steps: int | None = None) -> None:
    """Register ``factory(**kwargs) -> Environment`` under ``name``; ``make``
    wraps it in ``TimeLimit(max_steps)`` when ``max_steps`` is given."""
    if name in _REGISTRY:
        raise ValueError(f"environment {name!r} is already registered")
    _REGISTRY[name] = EnvSpec(factory, max_steps)


def registered() -> list[str]:
    return sorted(_REGISTRY)


def spec(name: str) -> EnvSpec:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "see `rlx list` for all names"
        raise UnknownEnvironmentError(f"unknown environment {name!r}: {hint}")
    return _REGISTRY[name]


def make(name: str, **kwargs: Any) -> tuple[Environment, Any]:
    """Build a registered environment (with its time limit) and its default params."""
    s = spec(name)
    env = s.factory(**kwargs)
    if s.max_steps is not None:
        env = TimeLimit(env, s.max_steps)
    return env, env.default_params()

"""Environment registry: ``rlx.make(name, **kwargs) -> (env, params)``.

Names are registered one by one (``register``) or as a namespace (``register_namespace``):
``"gymnax/CartPole-v1"`` is looked up in the ``gymnax`` namespace, whose package is
imported only when one of its names is asked for (or listed).
"""

from __future__ import annotations

import difflib
import importlib.util
from typing import Any, Callable, NamedTuple

from rlx.envs.core import Environment, TimeLimit


class UnknownEnvironmentError(ValueError):
    """Raised by ``make`` for a name that is not registered."""


class MissingPackageError(UnknownEnvironmentError):
    """Raised by ``make`` for a namespaced name whose package is not installed."""


class EnvSpec(NamedTuple):
    factory: Callable[..., Environment]
    max_steps: int | None


class Namespace(NamedTuple):
    """Names ``"<prefix>/<id>"`` served by another package: ``names()`` lists the ids and
    ``spec(id)`` gives one's ``EnvSpec``; both may import ``module`` (installed by the
    rlx extra ``extra``)."""

    module: str
    extra: str
    names: Callable[[], list[str]]
    spec: Callable[[str], EnvSpec]


_REGISTRY: dict[str, EnvSpec] = {}
_NAMESPACES: dict[str, Namespace] = {}


def register(name: str, factory: Callable[..., Environment], max_steps: int | None = None) -> None:
    """Register ``factory(**kwargs) -> Environment`` under ``name``; ``make``
    wraps it in ``TimeLimit(max_steps)`` when ``max_steps`` is given."""
    if name in _REGISTRY:
        raise ValueError(f"environment {name!r} is already registered")
    _REGISTRY[name] = EnvSpec(factory, max_steps)


def register_namespace(prefix: str, module: str, extra: str, names: Callable[[], list[str]],
                       spec: Callable[[str], EnvSpec]) -> None:
    """Serve every name ``"<prefix>/<id>"`` from ``spec(id)`` (see ``Namespace``)."""
    if prefix in _NAMESPACES or "/" in prefix:
        raise ValueError(f"namespace {prefix!r} is already registered or contains '/'")
    _NAMESPACES[prefix] = Namespace(module, extra, names, spec)


def _installed(ns: Namespace) -> bool:
    return importlib.util.find_spec(ns.module) is not None


def registered() -> list[str]:
    """Every registered name, with the names of the namespaces whose package is installed."""
    spaced = [f"{p}/{i}" for p, ns in _NAMESPACES.items() if _installed(ns) for i in ns.names()]
    return sorted(_REGISTRY) + sorted(spaced)


def spec(name: str) -> EnvSpec:
    if name in _REGISTRY:
        return _REGISTRY[name]
    prefix, slash, rest = name.partition("/")
    candidates = list(_REGISTRY)
    if slash and prefix in _NAMESPACES:
        ns = _NAMESPACES[prefix]
        if not _installed(ns):
            raise MissingPackageError(f"environment {name!r} needs the {ns.module} package: "
                                      f'pip install "rlx[{ns.extra}]"')
        ids = ns.names()
        if rest in ids:
            return ns.spec(rest)
        candidates = [f"{prefix}/{i}" for i in ids]
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see `rlx list` for all names"
    raise UnknownEnvironmentError(f"unknown environment {name!r}: {hint}")


def make(name: str, **kwargs: Any) -> tuple[Environment, Any]:
    """Build a registered environment (with its time limit) and its default params."""
    s = spec(name)
    env = s.factory(**kwargs)
    if s.max_steps is not None:
        env = TimeLimit(env, s.max_steps)
    return env, env.default_params()

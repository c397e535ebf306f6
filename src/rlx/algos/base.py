"""The algorithm interface every learner implements, and config validation.

An algorithm is ``build(config, env, env_params, total_steps) -> Agent``:

* ``agent.init(key, config) -> state`` — the full train state; the config's
  vmappable hyperparameters (pytree leaves) are stored in it, so a sweep is a
  ``vmap`` over ``(key, config)``.
* ``agent.update(state) -> (state, metrics)`` — one iteration; ``metrics`` is a
  dict of scalars, so ``lax.scan``/``vmap`` over it never grows with run length.
* ``agent.act(policy_params, obs, key, deterministic) -> action`` for one observation.
* ``agent.policy_params(state)`` — what ``act`` needs (network weights, normaliser).

Static (shape-determining) hyperparameters are closed over by ``build``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple


class ConfigError(ValueError):
    """Invalid user input; the message is one line naming the field and the fix."""


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check(ok: bool, name: str, value: Any, requirement: str) -> None:
    """Raise ``ConfigError`` unless ``ok``: '--name=value is invalid: requirement'."""
    if not ok:
        raise ConfigError(f"{flag(name)}={value} is invalid: {requirement}")


def check_positive(config, *names: str) -> None:
    for n in names:
        v = getattr(config, n)
        check(v > 0, n, v, "it must be positive")


def check_unit(config, *names: str) -> None:
    for n in names:
        v = getattr(config, n)
        check(0.0 <= v <= 1.0, n, v, "it must lie in [0, 1]")


def check_nonnegative(config, *names: str) -> None:
    for n in names:
        v = getattr(config, n)
        check(v >= 0, n, v, "it must be >= 0")


ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu")


def check_network(config) -> None:
    """``hidden``: one or more positive widths; ``activation`` (where the config has one) a known name."""
    check(len(config.hidden) > 0 and all(h > 0 for h in config.hidden), "hidden", config.hidden,
          "give one or more positive layer widths")
    if hasattr(config, "activation"):
        check(config.activation in ACTIVATIONS, "activation", config.activation, f"use one of {', '.join(ACTIVATIONS)}")


class Agent(NamedTuple):
    init: Callable[[Any, Any], Any]
    update: Callable[[Any], tuple[Any, dict]]
    act: Callable[..., Any]
    policy_params: Callable[[Any], Any]
    steps_per_update: int  # environment steps per update, per seed
    population: int = 0  # members evaluated side by side, sharded over the mesh's "members" axis


class Algorithm(NamedTuple):
    name: str
    description: str
    config_cls: type
    build: Callable[..., Agent]
    validate: Callable[[Any], None]
    default_env: str
    default_total_steps: int
    presets: dict  # env name -> config overrides tuned for that env

    def default_config(self, env: str | None = None):
        overrides = self.presets.get(env or self.default_env, {})
        return dataclasses.replace(self.config_cls(), **overrides)

    def config_from_dict(self, d: dict):
        """The config recorded in a run folder (``dataclasses.asdict`` read back from JSON);
        lists become tuples where the field's default is a tuple."""
        fields = {f.name: f for f in dataclasses.fields(self.config_cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise ConfigError(f"unknown hyperparameter {unknown[0]!r} for {self.name}: the run was "
                              "recorded by another version of rlx")
        base = self.config_cls()
        return dataclasses.replace(base, **{
            k: tuple(v) if isinstance(getattr(base, k), tuple) else v for k, v in d.items()})

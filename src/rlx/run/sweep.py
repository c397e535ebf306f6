"""Hyperparameter sweeps: every configuration × seed of a grid in one program.

    result = rlx.sweep("ppo", "CartPole-v1", grid={"lr": [1e-4, 3e-4, 1e-3]}, num_seeds=8)
    result = rlx.sweep("ppo", "CartPole-v1", random=16, num_seeds=4,
                       ranges={"lr": (1e-5, 1e-2, "log"), "gamma": (0.9, 0.999)},
                       grid={"num_envs": [8, 16]})

A grid sweep takes the cartesian product of ``grid``. A random search
(``random=N``) draws N configurations instead: each ``ranges`` field from its
range, each ``grid`` field uniformly from its list, with numpy's Generator
seeded by ``seed`` (the same call draws the same configurations). Both modes
only produce the list of points; grouping, training and ranking are shared.

Vmappable hyperparameters (config leaves) become part of the batch axis, so
the whole sweep × seeds runs as one compiled program per chunk. Values of
static (shape-changing) fields split the sweep into groups, one compile each.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rlx.algos.base import ConfigError, check
from rlx.core.pytree import is_static
from rlx.envs import registry
from rlx.run import distributed as dist
from rlx.run.records import MetricsWriter, new_run_dir, write_json
from rlx.run.runner import check_run, execute, resolve


class SweepResult(NamedTuple):
    sweep_dir: Path | None
    configs: list  # one config object per grid point
    points: list  # the grid values of each configuration (dicts)
    final: np.ndarray  # [n_configs, num_seeds] final returns
    ranking: list  # rows sorted best first: index, point, mean, ci_low, ci_high
    steps: np.ndarray  # [n_updates]
    curves: np.ndarray  # [n_updates, n_configs, num_seeds] episode returns
    summary: dict


def bootstrap_ci(x: np.ndarray, level: float = 0.95, resamples: int = 10_000, seed: int = 0):
    """Percentile bootstrap interval of the mean of ``x`` (resampling its entries)."""
    x = np.asarray(x, np.float64)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (resamples, len(x)))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def check_grid(base, grid: dict[str, Sequence]) -> None:
    """One-line ``ConfigError`` for a grid name that is not a field of ``base`` or an empty list."""
    fields = sorted(f.name for f in dataclasses.fields(base))
    for name, values in grid.items():
        if name not in fields:
            raise ConfigError(f"unknown hyperparameter {name!r} in the grid: choose from "
                              f"{', '.join(fields)}")
        if len(values) == 0:
            raise ConfigError(f"--grid {name}= has no values: give one or more, comma-separated")


def grid_points(base, grid: dict[str, Sequence]) -> list[dict]:
    """The cartesian product of ``grid``; one-line ``ConfigError`` on bad names or values."""
    if not grid:
        raise ConfigError("empty grid: give at least one --grid NAME=V1,V2,...")
    check_grid(base, grid)
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


class Range(NamedTuple):
    """Where a random search draws one field: ``scale`` is "log" (log-uniform float),
    "lin" (uniform float) or "int" (uniform integer, both ends included)."""

    low: float
    high: float
    scale: str


def numeric_kind(base, name: str) -> type:
    """``int`` or ``float``, the type of field ``name`` of ``base``; a one-line
    ``ConfigError`` if there is no such field or it is not numeric (bool, str, tuple)."""
    fields = sorted(f.name for f in dataclasses.fields(base))
    if name not in fields:
        raise ConfigError(f"unknown hyperparameter {name!r} in --range: choose from {', '.join(fields)}")
    default = getattr(base, name)
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        hint = f"; list its values with --grid {name}=V1,V2" if isinstance(default, (bool, str)) else ""
        raise ConfigError(f"--range {name}: {type(default).__name__} fields have no range{hint}")
    return type(default)


def make_range(base, name: str, spec: Sequence) -> Range:
    """Check ``spec = (low, high)`` or ``(low, high, "log" | "lin")`` for field ``name``.

    Int fields draw uniform integers in [low, high]. Float fields are log-uniform when
    ``0 < low`` and ``high >= 100 * low`` (two or more decades), else uniform; an
    explicit "log" or "lin" always wins. One-line ``ConfigError`` on bad input."""
    kind = numeric_kind(base, name)
    if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
        raise ConfigError(f"--range {name}={spec!r} is invalid: write {name}=LOW:HIGH[:log|:lin]")
    low, high, scale = (*spec, None) if len(spec) == 2 else spec
    text = f"--range {name}={low}:{high}" + (f":{scale}" if scale else "")
    if scale not in (None, "log", "lin"):
        raise ConfigError(f"{text} is invalid: the scale must be log or lin")
    if any(isinstance(v, bool) or not isinstance(v, (int, float, np.number)) for v in (low, high)):
        raise ConfigError(f"{text} is invalid: the bounds must be numbers")
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ConfigError(f"{text} is invalid: the bounds must be finite")
    if kind is int:
        if not (float(low).is_integer() and float(high).is_integer()):
            raise ConfigError(f"{text} is invalid: {name} is an int field, give integer bounds")
        if scale == "log":
            raise ConfigError(f"{text} is invalid: int ranges are uniform over the integers; drop :log")
        low, high, scale = int(low), int(high), "int"
    else:
        low, high = float(low), float(high)
        if scale is None:
            scale = "log" if 0 < low and high >= 100 * low else "lin"
    if low >= high:
        raise ConfigError(f"{text} is invalid: LOW must be below HIGH")
    if scale == "log" and low <= 0:
        raise ConfigError(f"{text} is invalid: a log range needs LOW > 0")
    return Range(low, high, scale)


def draw(rng: np.random.Generator, r: Range, n: int) -> list:
    """``n`` values from range ``r`` as Python ints or floats, each inside [low, high]."""
    if r.scale == "int":
        return [int(v) for v in rng.integers(r.low, r.high, size=n, endpoint=True)]
    if r.scale == "log":
        values = np.exp(rng.uniform(np.log(r.low), np.log(r.high), size=n))
    else:
        values = rng.uniform(r.low, r.high, size=n)
    return [float(v) for v in np.clip(values, r.low, r.high)]


def random_points(grid: dict[str, Sequence], ranges: dict[str, Range], n: int, seed: int) -> list[dict]:
    """``n`` configurations: each ``ranges`` field drawn from its range, each ``grid`` field
    uniformly from its list. Deterministic in ``seed``: one ``np.random.default_rng(seed)``
    draws all ``n`` values of each field in turn, fields in name order."""
    rng = np.random.default_rng(seed)
    columns = {}
    for name in sorted({*grid, *ranges}):
        if name in ranges:
            columns[name] = draw(rng, ranges[name], n)
        else:
            columns[name] = [grid[name][i] for i in rng.integers(0, len(grid[name]), size=n)]
    order = [*grid, *(k for k in ranges if k not in grid)]
    return [{k: columns[k][i] for k in order} for i in range(n)]


def sweep_points(base, grid: dict[str, Sequence], ranges: dict[str, Sequence] | None, random: int | None,
                 seed: int, validate=None) -> tuple[list[dict], dict[str, Range]]:
    """The sweep's configurations (dicts of overrides) and its checked ranges: the grid's
    product when ``random`` is None, else ``random`` draws (see ``random_points``).
    ``validate(config)`` checks both ends of every range before anything is drawn."""
    ranges = ranges or {}
    if random is None:
        if ranges:
            raise ConfigError("--range needs --random N: ranges are sampled, not enumerated")
        return grid_points(base, grid), {}
    if isinstance(random, bool) or not isinstance(random, (int, np.integer)) or random < 1:
        raise ConfigError(f"--random={random} is invalid: draw at least one configuration")
    if not grid and not ranges:
        raise ConfigError("random search needs at least one --range NAME=LOW:HIGH or --grid NAME=V1,V2")
    check_grid(base, grid)
    both = sorted(set(grid) & set(ranges))
    if both:
        raise ConfigError(f"{both[0]} is in both --grid and --range: give it once")
    checked = {name: make_range(base, name, spec) for name, spec in ranges.items()}
    for name, r in checked.items():
        for end in (r.low, r.high):
            try:
                if validate is not None:
                    validate(dataclasses.replace(base, **{name: end}))
            except ConfigError as e:
                raise ConfigError(f"--range {name}={r.low}:{r.high} reaches outside the valid "
                                  f"values: {e}") from None
    return random_points(grid, checked, int(random), seed), checked


def fmt(value) -> str:
    """A hyperparameter value for tables and legends: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def static_key(config) -> tuple:
    return tuple((f.name, getattr(config, f.name)) for f in dataclasses.fields(config) if is_static(f))


def sweep(
    algo: str = "ppo",
    env: str | None = None,
    grid: dict[str, Sequence] | None = None,
    *,
    ranges: dict[str, Sequence] | None = None,
    random: int | None = None,
    seed: int = 0,
    num_seeds: int = 4,
    total_steps: int | None = None,
    out: str | Path | None = None,
    eval_episodes: int = 10,
    eval_deterministic: bool = True,
    overrides: dict | None = None,
    chunks: int = 50,
    show_progress: bool = True,
) -> SweepResult:
    """Train every configuration × ``num_seeds`` seeds; rank configurations by the mean
    final return with a 95% bootstrap interval over seeds. The configurations are the
    product of ``grid``, or with ``random=N`` N draws from ``ranges`` (name ->
    ``(low, high)`` or ``(low, high, "log" | "lin")``, see ``make_range``) and ``grid``
    (choices), seeded by ``seed``. See the module docstring."""
    a, env_name, base = resolve(algo, env, None, overrides)
    total_steps = a.default_total_steps if total_steps is None else total_steps
    check_run(num_seeds, total_steps, eval_episodes, chunks)
    grid = grid or {}
    points, checked = sweep_points(base, grid, ranges, random, seed, a.validate)
    names = list(points[0])
    configs = []
    for i, p in enumerate(points):
        c = dataclasses.replace(base, **p)
        try:
            a.validate(c)
        except ConfigError as e:
            if random is None:
                raise
            values = ", ".join(f"{k}={fmt(v)}" for k, v in p.items())
            raise ConfigError(f"random configuration {i} ({values}): {e}") from None
        configs.append(c)
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(static_key(c), []).append(i)

    env_obj, env_params = registry.make(env_name)
    agents = {k: a.build(configs[idx[0]], env_obj, env_params, total_steps) for k, idx in groups.items()}
    for agent in agents.values():
        check(total_steps >= agent.steps_per_update, "total_steps", total_steps,
              f"it must be at least one update's worth of steps ({agent.steps_per_update})")
    updates = {k: total_steps // ag.steps_per_update for k, ag in agents.items()}

    sweep_dir = Path(out) if out is not None else None
    main = sweep_dir is not None and dist.is_main()  # process 0 writes; every process computes
    if main:
        new_run_dir(sweep_dir)
        write_json(sweep_dir / "sweep.json", dict(
            algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds, total_steps=total_steps,
            mode="grid" if random is None else "random", random=random,
            grid={k: list(v) for k, v in grid.items()},
            ranges={k: r._asdict() for k, r in checked.items()}, base=dataclasses.asdict(base),
            configs=[dict(index=i, **p) for i, p in enumerate(points)]))

    t_start = time.perf_counter()
    final = np.zeros((len(configs), num_seeds))
    curves, compile_seconds, env_steps = {}, 0.0, 0
    for g, (key, idx) in enumerate(groups.items()):
        members = [(i, seed + s) for i in idx for s in range(num_seeds)]
        stacked = jax.tree_util.tree_map(lambda *xs: jnp.asarray(xs), *[configs[i] for i, _ in members])
        writer = MetricsWriter(sweep_dir / "metrics.csv" if main else None,
                               {"config": [i for i, _ in members], "seed": [s for _, s in members]},
                               append=g > 0)
        ex = execute(agents[key], env_obj, env_params, np.array([s for _, s in members]), stacked, 0,
                     updates[key], chunks, writer, f"{a.name} {env_name} group {g + 1}/{len(groups)}",
                     show_progress, eval_episodes, eval_deterministic)
        final[idx] = ex.final.reshape(len(idx), num_seeds)
        returns = ex.history["episode_return"].reshape(len(ex.steps), len(idx), num_seeds)
        for j, i in enumerate(idx):
            curves[i] = (ex.steps, returns[:, j])
        compile_seconds += ex.compile_seconds
        env_steps += len(members) * updates[key] * agents[key].steps_per_update

    order = sorted(range(len(points)), key=lambda i: -final[i].mean())
    ranking = [dict(rank=r, index=i, **points[i], mean=float(final[i].mean()),
                    **dict(zip(("ci_low", "ci_high"), bootstrap_ci(final[i]))))
               for r, i in enumerate(order, 1)]
    summary = dict(algo=a.name, env=env_name, num_configs=len(configs), num_seeds=num_seeds,
                   compiles=len(groups), env_steps_total=env_steps, compile_seconds=compile_seconds,
                   wall_seconds=time.perf_counter() - t_start, best=ranking[0])
    same_length = len({len(c[0]) for c in curves.values()}) == 1
    steps = curves[0][0] if same_length else None
    stacked_curves = np.stack([curves[i][1] for i in range(len(configs))], 1) if same_length else None
    if main:
        write_outputs(sweep_dir, a.name, env_name, ranking, configs, curves, summary, names)
    return SweepResult(sweep_dir, configs, points, final, ranking, steps, stacked_curves, summary)


def write_outputs(d: Path, algo, env, ranking, configs, curves, summary, names) -> None:
    cols = ["rank", "index", *names, "mean", "ci_low", "ci_high"]
    (d / "ranking.csv").write_text("\n".join([",".join(cols)] + [
        ",".join(str(r[c]) for c in cols) for r in ranking]) + "\n")
    md = ["| " + " | ".join(cols[:-3] + ["final return", "95% CI"]) + " |",
          "|" + "---|" * (len(cols) - 1)]
    for r in ranking:
        md.append("| " + " | ".join(fmt(r[c]) for c in cols[:-3])
                  + f" | {r['mean']:.2f} | [{r['ci_low']:.2f}, {r['ci_high']:.2f}] |")
    (d / "ranking.md").write_text("\n".join(md) + "\n")
    best = configs[ranking[0]["index"]]
    write_json(d / "best_config.json", dict(algo=algo, env=env, config=dataclasses.asdict(best)))
    write_json(d / "summary.json", summary)
    from rlx.run.plots import sweep_curves

    labels = [{**r, **{n: fmt(r[n]) for n in names}} for r in ranking]  # short legend values
    sweep_curves(curves, labels, d / "learning_curves.png", f"{algo} on {env}: sweep")

"""Hyperparameter sweeps: every configuration × seed of a grid in one program.

    result = rlx.sweep("ppo", "CartPole-v1", grid={"lr": [1e-4, 3e-4, 1e-3]}, num_seeds=8)

Vmappable hyperparameters (config leaves) become part of the batch axis, so
the whole grid × seeds runs as one compiled program per chunk. Values of
static (shape-changing) fields split the grid into groups, one compile each.
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


def grid_points(base, grid: dict[str, Sequence]) -> list[dict]:
    """The cartesian product of ``grid``; one-line ``ConfigError`` on bad names or values."""
    if not grid:
        raise ConfigError("empty grid: give at least one --grid NAME=V1,V2,...")
    fields = {f.name: f for f in dataclasses.fields(base)}
    for name, values in grid.items():
        if name not in fields:
            raise ConfigError(f"unknown hyperparameter {name!r} in the grid: choose from "
                              f"{', '.join(sorted(fields))}")
        if len(values) == 0:
            raise ConfigError(f"--grid {name}= has no values: give one or more, comma-separated")
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def static_key(config) -> tuple:
    return tuple((f.name, getattr(config, f.name)) for f in dataclasses.fields(config) if is_static(f))


def sweep(
    algo: str = "ppo",
    env: str | None = None,
    grid: dict[str, Sequence] | None = None,
    *,
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
    """Train every grid point × ``num_seeds`` seeds; rank configurations by the mean
    final return with a 95% bootstrap interval over seeds. See the module docstring."""
    a, env_name, base = resolve(algo, env, None, overrides)
    total_steps = a.default_total_steps if total_steps is None else total_steps
    check_run(num_seeds, total_steps, eval_episodes, chunks)
    points = grid_points(base, grid or {})
    configs = []
    for p in points:
        c = dataclasses.replace(base, **p)
        a.validate(c)
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

    sweep_dir = new_run_dir(out) if out is not None else None
    if sweep_dir is not None:
        write_json(sweep_dir / "sweep.json", dict(
            algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds, total_steps=total_steps,
            grid={k: list(v) for k, v in (grid or {}).items()}, base=dataclasses.asdict(base),
            configs=[dict(index=i, **p) for i, p in enumerate(points)]))

    t_start = time.perf_counter()
    final = np.zeros((len(configs), num_seeds))
    curves, compile_seconds, env_steps = {}, 0.0, 0
    for g, (key, idx) in enumerate(groups.items()):
        members = [(i, seed + s) for i in idx for s in range(num_seeds)]
        stacked = jax.tree_util.tree_map(lambda *xs: jnp.asarray(xs), *[configs[i] for i, _ in members])
        writer = MetricsWriter(sweep_dir / "metrics.csv" if sweep_dir else None,
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
    if sweep_dir is not None:
        write_outputs(sweep_dir, a.name, env_name, ranking, configs, curves, summary, list(grid))
    return SweepResult(sweep_dir, configs, points, final, ranking, steps, stacked_curves, summary)


def write_outputs(d: Path, algo, env, ranking, configs, curves, summary, names) -> None:
    cols = ["rank", "index", *names, "mean", "ci_low", "ci_high"]
    (d / "ranking.csv").write_text("\n".join([",".join(cols)] + [
        ",".join(str(r[c]) for c in cols) for r in ranking]) + "\n")
    md = ["| " + " | ".join(cols[:-3] + ["final return", "95% CI"]) + " |",
          "|" + "---|" * (len(cols) - 1)]
    for r in ranking:
        md.append("| " + " | ".join(str(r[c]) for c in cols[:-3])
                  + f" | {r['mean']:.2f} | [{r['ci_low']:.2f}, {r['ci_high']:.2f}] |")
    (d / "ranking.md").write_text("\n".join(md) + "\n")
    best = configs[ranking[0]["index"]]
    write_json(d / "best_config.json", dict(algo=algo, env=env, config=dataclasses.asdict(best)))
    write_json(d / "summary.json", summary)
    from rlx.run.plots import sweep_curves

    sweep_curves(curves, ranking, d / "learning_curves.png", f"{algo} on {env}: sweep")

"""The generic runner: every algorithm, many seeds, one compiled program per chunk.

    result = rlx.train("ppo", "CartPole-v1", num_seeds=16)

A chunk is ``fori_loop`` over ``agent.update`` for the whole seed batch
(``vmap``), compiled once; between chunks the host shows progress, appends
metrics to ``metrics.csv`` and checks for non-finite values. Each seed ``i``
uses ``jax.random.key(seed + i)``: a seed starts from the same key alone or in a
batch (its numbers then agree up to floating-point rounding).
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rlx import algos
from rlx.algos.base import ConfigError, check
from rlx.envs import registry
from rlx.run import progress as progress_lib
from rlx.run.evaluate import evaluate
from rlx.run.records import MetricsWriter, new_run_dir, write_json


class NonFiniteError(RuntimeError):
    """A training metric (loss, entropy, gradient norm, ...) became NaN/Inf; the run
    stopped at the chunk boundary, keeping the rows before it."""


class RunResult(NamedTuple):
    run_dir: Path | None
    summary: dict
    steps: np.ndarray  # [n_updates] environment steps per seed after each update
    metrics: dict  # name -> [n_updates, num_seeds]
    state: Any  # final train state, batched over seeds
    agent: Any


class Execution(NamedTuple):
    states: Any  # final train states, batched
    steps: np.ndarray  # [n_updates] environment steps per batch member
    history: dict  # name -> [n_updates, batch]
    final: np.ndarray  # [batch] evaluation (or last training) returns
    compile_seconds: float
    train_seconds: float
    eval_seconds: float


def execute(agent, env, env_params, seeds, config, config_axis, n_updates: int, chunks: int,
            writer: MetricsWriter, title: str, show_progress: bool, eval_episodes: int,
            deterministic: bool) -> Execution:
    """Run ``agent`` for every batch member (seed ``seeds[i]``, config leaves batched
    along ``config_axis`` or shared when it is ``None``) in one program per chunk."""
    t0 = time.perf_counter()
    batch = len(seeds)
    mesh = seed_mesh(batch)
    keys = jax.device_put(jax.vmap(jax.random.key)(jnp.asarray(seeds)), NamedSharding(mesh, P("seeds")))
    chunk_len = math.ceil(n_updates / min(chunks, n_updates))
    programs = compile_programs(agent, env, env_params, keys, config, config_axis, mesh, chunk_len,
                                eval_episodes, deterministic)
    compile_seconds = time.perf_counter() - t0
    states = programs.init(keys, config)
    spu = agent.steps_per_update
    all_steps, history = [], {}
    bar = progress_lib.TrainProgress(title, n_updates * spu, batch, enabled=show_progress)
    train_seconds, done = 0.0, 0
    with bar:
        while done < n_updates:
            n = min(chunk_len, n_updates - done)
            t = time.perf_counter()
            states, buf = programs.chunk(states, n)
            metrics = {k: np.asarray(v[:n]) for k, v in buf.items()}
            train_seconds += time.perf_counter() - t
            steps = (done + 1 + np.arange(n)) * spu
            done += n
            finite = np.all([np.isfinite(v).all(axis=1) for v in metrics.values()], axis=0)
            if not finite.all():
                row = int(np.argmin(finite))
                name = next(k for k, v in metrics.items() if not np.isfinite(v[row]).all())
                writer.append(steps[:row], {k: v[:row] for k, v in metrics.items()})
                writer.close()
                raise NonFiniteError(
                    f"non-finite {name} at update {done - n + row + 1}; "
                    "lower the learning rate or check the environment's rewards")
            writer.append(steps, metrics)
            all_steps.append(steps)
            for k, v in metrics.items():
                history.setdefault(k, []).append(v)
            bar.update(done * spu, batch * done * spu / train_seconds,
                       float(np.mean(metrics["episode_return"][-1])))
    writer.close()
    history = {k: np.concatenate(v) for k, v in history.items()}
    final, eval_seconds = history["episode_return"][-1], 0.0
    if eval_episodes > 0:
        t = time.perf_counter()
        final = np.asarray(programs.evaluate(states, keys)).mean(axis=1)
        eval_seconds = time.perf_counter() - t
    return Execution(states, np.concatenate(all_steps), history, final, compile_seconds,
                     train_seconds, eval_seconds)


def compiler_options() -> dict:
    """Per-program XLA options. On the CPU, LLVM's -O1 compiles RL programs about 40%
    faster than the default -O2 with the same run time (measured on PPO, CartPole)."""
    return {"xla_backend_optimization_level": 1} if jax.default_backend() == "cpu" else {}


class Programs(NamedTuple):
    init: Any  # (keys, config) -> states
    chunk: Any  # (states, n) -> (states, metrics [chunk_len, num_seeds])
    evaluate: Any  # (states, keys) -> returns [num_seeds, episodes], or None


def compile_programs(agent, env, env_params, keys, config, config_axis, mesh, chunk_len: int,
                     eval_episodes: int, deterministic: bool) -> Programs:
    """Trace the run's programs, then compile them concurrently (XLA releases the GIL)."""
    by_seed = NamedSharding(mesh, P("seeds"))
    init = jax.jit(jax.vmap(agent.init, in_axes=(0, config_axis)), out_shardings=by_seed)
    states = jax.eval_shape(init, keys, config)
    states = jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=by_seed), states)
    update = jax.vmap(agent.update)

    def run_chunk(states, n):
        m_shape = jax.eval_shape(update, states)[1]
        buf = {k: jnp.zeros((chunk_len,) + v.shape, v.dtype) for k, v in m_shape.items()}

        def body(i, carry):
            s, b = carry
            s, m = update(s)
            return s, {k: b[k].at[i].set(m[k]) for k in b}

        return jax.lax.fori_loop(0, n, body, (states, buf))

    def run_eval(states, keys):
        keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        pp = jax.vmap(agent.policy_params)(states)
        return jax.vmap(lambda p, k: evaluate(agent.act, p, env, env_params, k, eval_episodes,
                                              deterministic))(pp, keys)

    chunk = jax.jit(run_chunk, donate_argnums=0,
                    out_shardings=(by_seed, NamedSharding(mesh, P(None, "seeds"))))
    lowered = [init.lower(keys, config), chunk.lower(states, 0)]
    if eval_episodes > 0:
        lowered.append(jax.jit(run_eval).lower(states, keys))
    opts = compiler_options()
    with ThreadPoolExecutor(len(lowered)) as pool:
        compiled = list(pool.map(lambda lo: lo.compile(opts), lowered))
    return Programs(*compiled, None) if len(compiled) == 2 else Programs(*compiled)


def seed_mesh(num_seeds: int) -> Mesh:
    """A 1-D mesh over as many local devices as evenly divide the seed batch."""
    devices = jax.local_devices()
    return Mesh(np.array(devices[: math.gcd(num_seeds, len(devices))]), ("seeds",))


def resolve(algo: str, env: str | None, config: Any | None, overrides: dict | None = None):
    """(Algorithm, env name, validated config); raises ``ConfigError`` on bad input."""
    a = algos.get(algo)
    env = env or a.default_env
    try:
        registry.spec(env)
    except registry.UnknownEnvironmentError as e:
        raise ConfigError(str(e)) from None
    if config is None:
        config = a.default_config(env)
    if not isinstance(config, a.config_cls):
        raise ConfigError(f"config is a {type(config).__name__}; {algo} takes a {a.config_cls.__name__}")
    if overrides:
        names = {f.name for f in dataclasses.fields(config)}
        for k in overrides:
            if k not in names:
                raise ConfigError(f"unknown hyperparameter {k!r} for {algo}: choose from {', '.join(sorted(names))}")
        config = dataclasses.replace(config, **overrides)
    a.validate(config)
    return a, env, config


def check_run(num_seeds: int, total_steps: int, eval_episodes: int, chunks: int) -> None:
    """One-line ``ConfigError`` for invalid run-level settings."""
    check(num_seeds > 0, "seeds", num_seeds, "it must be positive")
    check(total_steps > 0, "total_steps", total_steps, "it must be positive")
    check(eval_episodes >= 0, "eval_episodes", eval_episodes, "it must be >= 0")
    check(chunks > 0, "chunks", chunks, "it must be positive")


def train(
    algo: str = "ppo",
    env: str | None = None,
    config: Any | None = None,
    *,
    seed: int = 0,
    num_seeds: int = 1,
    total_steps: int | None = None,
    out: str | Path | None = None,
    eval_episodes: int = 10,
    eval_deterministic: bool = True,
    chunks: int = 50,
    show_progress: bool = True,
    overrides: dict | None = None,
) -> RunResult:
    """Train ``algo`` on ``env`` for ``num_seeds`` seeds in one program.

    ``out``: the run folder to create (must not exist or be empty); ``None``
    writes nothing. Returns metrics, summary and the final batched state.
    """
    a, env_name, config = resolve(algo, env, config, overrides)
    total_steps = a.default_total_steps if total_steps is None else total_steps
    check_run(num_seeds, total_steps, eval_episodes, chunks)

    env_obj, env_params = registry.make(env_name)
    agent = a.build(config, env_obj, env_params, total_steps)
    n_updates = total_steps // agent.steps_per_update
    check(n_updates > 0, "total_steps", total_steps,
          f"it must be at least one update's worth of steps ({agent.steps_per_update})")

    run_config = dict(algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds,
                      total_steps=total_steps, eval_episodes=eval_episodes,
                      eval_deterministic=eval_deterministic, config=dataclasses.asdict(config))
    run_dir = new_run_dir(out) if out is not None else None
    if run_dir is not None:
        write_json(run_dir / "config.json", run_config)

    t_start = time.perf_counter()
    writer = MetricsWriter(run_dir / "metrics.csv" if run_dir else None,
                           {"seed": [seed + i for i in range(num_seeds)]})
    ex = execute(agent, env_obj, env_params, seed + np.arange(num_seeds), config, None, n_updates,
                 chunks, writer, f"{a.name} {env_name}", show_progress, eval_episodes,
                 eval_deterministic)
    env_steps = n_updates * agent.steps_per_update
    summary = dict(
        algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds,
        final_return_mean=float(np.mean(ex.final)),
        final_return_std=float(np.std(ex.final)),
        final_return_per_seed=[float(x) for x in ex.final],
        final_return_source="evaluation" if eval_episodes > 0 else "training episodes",
        train_return_mean=float(np.mean(ex.history["episode_return"][-1])),
        env_steps=env_steps,
        env_steps_total=env_steps * num_seeds,
        updates=n_updates,
        env_steps_per_second=env_steps * num_seeds / max(ex.train_seconds, 1e-9),
        compile_seconds=ex.compile_seconds,
        train_seconds=ex.train_seconds,
        eval_seconds=ex.eval_seconds,
        wall_seconds=time.perf_counter() - t_start,
    )
    if run_dir is not None:
        write_json(run_dir / "summary.json", summary)
        from rlx.run.plots import learning_curve

        learning_curve(ex.steps, ex.history["episode_return"], run_dir / "learning_curve.png",
                       title=f"{a.name} on {env_name} ({num_seeds} seeds)")
    return RunResult(run_dir, summary, ex.steps, ex.history, ex.states, agent)

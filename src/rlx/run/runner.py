"""The generic runner: every algorithm, many seeds, one compiled program per chunk.

    result = rlx.train("ppo", "CartPole-v1", num_seeds=16)

A chunk is ``fori_loop`` over ``agent.update`` for the whole seed batch
(``vmap``), compiled once; between chunks the host shows progress, appends
metrics to ``metrics.csv`` and checks for non-finite values. Each seed ``i``
uses ``jax.random.key(seed + i)``: a seed starts from the same key alone or in a
batch (its numbers then agree up to floating-point rounding).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rlx import algos
from rlx.algos.base import ConfigError, check
from rlx.envs import registry
from rlx.run import distributed as dist
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


class Checkpointing(NamedTuple):
    """Where and how often ``execute`` checkpoints, and whether it resumes."""

    checkpointer: Any  # rlx.run.checkpoint.Checkpointer
    every: int  # chunks between checkpoints (the last chunk always saves); 0: only the last
    meta: dict  # run identity stored with each checkpoint and checked on resume
    resume: bool = False  # continue from the latest checkpoint


def execute(agent, env, env_params, seeds, config, config_axis, n_updates: int, chunks: int,
            writer: MetricsWriter, title: str, show_progress: bool, eval_episodes: int,
            deterministic: bool, checkpointing: Checkpointing | None = None,
            open_loggers: Callable[[], list] = list) -> Execution:
    """Run ``agent`` for every batch member (seed ``seeds[i]``, config leaves batched
    along ``config_axis`` or shared when it is ``None``) in one program per chunk.

    The batch is one global array sharded over every device of every process;
    every process gets the full metrics, only the writers of process 0 write.
    ``open_loggers()`` gives extra metric sinks (TensorBoard, W&B), opened once a
    resumed checkpoint has been read; ``execute`` closes them.
    """
    batch = len(seeds)
    mesh = seed_mesh(batch, agent.population)
    seeds, config = place(seeds, config, config_axis, mesh)
    restored = None
    if checkpointing is not None and checkpointing.resume:  # checked before compiling anything
        abstract = abstract_states(init_fn(agent, config_axis, mesh), seeds, config, mesh)
        restored = checkpointing.checkpointer.restore(abstract, expected_meta=checkpointing.meta)
    t0 = time.perf_counter()
    chunk_len = math.ceil(n_updates / min(chunks, n_updates))
    programs = compile_programs(agent, env, env_params, seeds, config, config_axis, mesh, chunk_len,
                                eval_episodes, deterministic)
    compile_seconds = time.perf_counter() - t0
    spu = agent.steps_per_update
    done, train_seconds, history, times = 0, 0.0, {}, []
    if restored is not None:
        r = restored
        states, done, train_seconds = r.states, r.step, r.train_seconds
        times = [r.history.pop("time")]
        history = {k: [v] for k, v in r.history.items()}
        writer.append((1 + np.arange(done)) * spu, r.history, times[0])
    else:
        states = programs.init(seeds, config)
    bar = progress_lib.TrainProgress(title, n_updates * spu, batch, enabled=show_progress)
    n_chunk, loggers = 0, open_loggers()
    with bar, contextlib.ExitStack() as closing:
        for lg in loggers:
            closing.callback(lg.close)
        bar.update(done * spu, 0.0, float("nan"))

        def saves_after(n_chunk: int, end: int) -> bool:
            return checkpointing is not None and (end == n_updates or (
                checkpointing.every > 0 and n_chunk % checkpointing.every == 0))

        # One chunk runs while the host writes the previous one's metrics: the next
        # chunk is dispatched (asynchronously) before the current one is fetched,
        # except when the current one's end state must be checkpointed first.
        in_flight = None  # (states, metrics buffer, n) of the dispatched chunk
        t = time.perf_counter()
        while done < n_updates:
            if in_flight is None:
                n = min(chunk_len, n_updates - done)
                in_flight = (*programs.chunk(states, n), n)
            states, buf, n = in_flight  # `states` stays valid unless a next chunk takes it
            in_flight = None
            n_chunk += 1
            save = saves_after(n_chunk, done + n)
            if done + n < n_updates and not save:
                n_next = min(chunk_len, n_updates - done - n)
                in_flight = (*programs.chunk(states, n_next), n_next)
            metrics = {k: v[:n] for k, v in dist.fetch(buf).items()}
            elapsed, t = time.perf_counter() - t, time.perf_counter()
            chunk_times = train_seconds + elapsed * (1 + np.arange(n)) / n
            train_seconds += elapsed
            steps = (done + 1 + np.arange(n)) * spu
            done += n
            check_finite(metrics, steps, done - n, writer, chunk_times)
            writer.append(steps, metrics, chunk_times)
            for lg in loggers:
                lg.append(steps, metrics)
            times.append(chunk_times)
            for k, v in metrics.items():
                history.setdefault(k, []).append(v)
            if save:
                from rlx.run.checkpoint import checkpoint_meta

                hist = {k: np.concatenate(v) for k, v in history.items()}
                hist["time"] = np.concatenate(times)
                checkpointing.checkpointer.save(done, states, hist, checkpoint_meta(
                    checkpointing.meta, programs.abstract_states, hist, train_seconds))
                t = time.perf_counter()  # saving is not training time
            bar.update(done * spu, batch * n * spu / max(elapsed, 1e-9),
                       float(np.mean(metrics["episode_return"][-1])))
    writer.close()
    history = {k: np.concatenate(v) for k, v in history.items()}
    final, eval_seconds = history["episode_return"][-1], 0.0
    if eval_episodes > 0:
        t = time.perf_counter()
        final = dist.fetch(programs.evaluate(states, seeds)).mean(axis=1)
        eval_seconds = time.perf_counter() - t
    return Execution(states, (1 + np.arange(n_updates)) * spu, history, final, compile_seconds,
                     train_seconds, eval_seconds)


def check_finite(metrics: dict, steps: np.ndarray, before: int, writer, times) -> None:
    """Raise ``NonFiniteError`` at the first update of the chunk with a non-finite metric,
    after writing the rows before it."""
    finite = np.all([np.isfinite(v).all(axis=1) for v in metrics.values()], axis=0)
    if finite.all():
        return
    row = int(np.argmin(finite))
    name = next(k for k, v in metrics.items() if not np.isfinite(v[row]).all())
    writer.append(steps[:row], {k: v[:row] for k, v in metrics.items()}, times[:row])
    writer.close()
    raise NonFiniteError(f"non-finite {name} at update {before + row + 1}; "
                         "lower the learning rate or check the environment's rewards")


def compiler_options() -> dict:
    """Per-program XLA options. On the CPU, LLVM's -O1 compiles RL programs about 40%
    faster than the default -O2 with the same run time (measured on PPO, CartPole)."""
    return {"xla_backend_optimization_level": 1} if jax.default_backend() == "cpu" else {}


class Programs(NamedTuple):
    init: Any  # (seeds, config) -> states
    chunk: Any  # (states, n) -> (states, metrics [chunk_len, batch])
    evaluate: Any  # (states, seeds) -> returns [batch, episodes], or None
    abstract_states: Any  # ShapeDtypeStructs (with shardings) of the batched train state


def compile_programs(agent, env, env_params, seeds, config, config_axis, mesh, chunk_len: int,
                     eval_episodes: int, deterministic: bool) -> Programs:
    """Trace the run's programs, then compile them concurrently (XLA releases the GIL).

    Batch member ``i`` starts from ``jax.random.key(seeds[i])``; evaluation uses
    ``fold_in(key(seeds[i]), 1)``.
    """
    by_seed = NamedSharding(mesh, P("seeds"))
    init = init_fn(agent, config_axis, mesh)
    states = abstract_states(init, seeds, config, mesh)
    update = jax.vmap(agent.update, spmd_axis_name="seeds")

    def run_chunk(states, n):
        m_shape = jax.eval_shape(update, states)[1]
        buf = {k: jnp.zeros((chunk_len,) + v.shape, v.dtype) for k, v in m_shape.items()}

        def body(i, carry):
            s, b = carry
            s, m = update(s)
            return s, {k: b[k].at[i].set(m[k]) for k in b}

        return jax.lax.fori_loop(0, n, body, (states, buf))

    chunk = jax.jit(run_chunk, donate_argnums=0,
                    out_shardings=(by_seed, NamedSharding(mesh, P(None, "seeds"))))
    with jax.set_mesh(mesh):  # agents may shard their population over the "members" axis
        lowered = [init.lower(seeds, config), chunk.lower(states, 0)]
        if eval_episodes > 0:
            lowered.append(eval_fn(agent, env, env_params, eval_episodes, deterministic, mesh)
                           .lower(states, seeds))
    opts = compiler_options()
    with ThreadPoolExecutor(len(lowered)) as pool:
        compiled = list(pool.map(lambda lo: lo.compile(opts), lowered))
    if len(compiled) == 2:
        compiled.append(None)
    return Programs(*compiled, states)


def init_fn(agent, config_axis, mesh):
    """``(seeds [batch], config) -> states``: member ``i`` starts from ``key(seeds[i])``."""
    return jax.jit(jax.vmap(lambda s, c: agent.init(jax.random.key(s), c), in_axes=(0, config_axis)),
                   out_shardings=NamedSharding(mesh, P("seeds")))


def abstract_states(init, seeds, config, mesh):
    """Shapes, dtypes and shardings of the batched train state ``init`` builds."""
    by_seed = NamedSharding(mesh, P("seeds"))
    return jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=by_seed),
                                  jax.eval_shape(init, seeds, config))


def eval_fn(agent, env, env_params, episodes: int, deterministic: bool, mesh):
    """``(states, seeds) -> returns [batch, episodes]``, member ``i`` evaluated with
    ``fold_in(key(seeds[i]), 1)``."""
    def run_eval(states, seeds):
        keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), 1))(seeds)
        pp = jax.vmap(agent.policy_params)(states)
        return jax.vmap(lambda p, k: evaluate(agent.act, p, env, env_params, k, episodes,
                                              deterministic))(pp, keys)

    return jax.jit(run_eval, out_shardings=NamedSharding(mesh, P("seeds")))


def place(seeds, config, config_axis, mesh):
    """Global arrays of the batch's seeds and config leaves (batched or replicated)."""
    by_seed, replicated = NamedSharding(mesh, P("seeds")), NamedSharding(mesh, P())
    seeds = dist.global_array(np.asarray(seeds, np.int32), by_seed)
    config = jax.tree_util.tree_map(
        lambda x: dist.global_array(x, by_seed if config_axis == 0 else replicated), config)
    return seeds, config


def seed_mesh(batch: int, population: int = 0) -> Mesh:
    """A ``("seeds", "members")`` mesh over the devices of every process.

    Seeds are split over processes when they divide evenly, else (one ES run on
    several hosts) the population is. Per process, the seed axis takes as many local
    devices as evenly divide its share of the batch, and the ``members`` axis (the
    population an agent evaluates side by side, ``agent.population``; 1 for the
    others) as many of the rest as divide the population.
    """
    n_proc, n_local = jax.process_count(), jax.local_device_count()
    local = [sorted((d for d in jax.devices() if d.process_index == p), key=lambda d: d.id)
             for p in range(n_proc)]
    if batch % n_proc == 0:
        k = math.gcd(batch // n_proc, n_local)
        m = math.gcd(population, n_local // k) if population else 1
        grid = np.concatenate([np.array(d[:k * m]).reshape(k, m) for d in local], axis=0)
    elif population and population % n_proc == 0:
        k = math.gcd(batch, n_local)
        m = math.gcd(population // n_proc, n_local // k)
        grid = np.concatenate([np.array(d[:k * m]).reshape(k, m) for d in local], axis=1)
    else:
        raise ConfigError(f"a batch of {batch} runs cannot be split evenly over {n_proc} processes: "
                          f"make the number of seeds (× configurations) a multiple of {n_proc}")
    return Mesh(grid, ("seeds", "members"))


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
    checkpoint_every: int = 10,
    keep_checkpoints: int = 2,
    show_progress: bool = True,
    overrides: dict | None = None,
    tensorboard: bool = False,
    wandb: bool = False,
) -> RunResult:
    """Train ``algo`` on ``env`` for ``num_seeds`` seeds in one program.

    ``out``: the run folder to create (must not exist or be empty); ``None``
    writes nothing. With a run folder, a checkpoint is saved every
    ``checkpoint_every`` chunks (0: only at the end), keeping the last
    ``keep_checkpoints``; ``resume(out)`` continues an interrupted run.
    Returns metrics, summary and the final batched state.
    """
    a, env_name, config = resolve(algo, env, config, overrides)
    total_steps = a.default_total_steps if total_steps is None else total_steps
    check_run(num_seeds, total_steps, eval_episodes, chunks)
    check(checkpoint_every >= 0, "checkpoint_every", checkpoint_every, "it must be >= 0")
    check(keep_checkpoints > 0, "keep_checkpoints", keep_checkpoints, "it must be positive")
    if (tensorboard or wandb) and out is None:
        raise ConfigError("--tensorboard/--wandb log into the run folder: give out=RUN_DIR")
    if wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("--wandb needs the wandb package: pip install wandb")
    run = dict(algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds, total_steps=total_steps,
               eval_episodes=eval_episodes, eval_deterministic=eval_deterministic, chunks=chunks,
               checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
               tensorboard=tensorboard, wandb=wandb, config=dataclasses.asdict(config))
    agent, env_obj, env_params, n_updates = _build(a, env_name, config, total_steps)
    run_dir = None
    if out is not None:
        run_dir = Path(out)
        if dist.is_main():
            new_run_dir(run_dir)
            write_json(run_dir / "config.json", run)
    return _run(a, config, run, agent, env_obj, env_params, n_updates, run_dir, show_progress,
                resume=False)


def resume(run_dir: str | Path, *, show_progress: bool = True) -> RunResult:
    """Continue the run in ``run_dir`` from its latest checkpoint to the end.

    The continuation is bit-for-bit the uninterrupted run: metrics.csv is
    rewritten from the checkpoint's history, then appended to. Raises
    ``CheckpointError`` for a missing, unreadable or incompatible checkpoint.
    """
    from rlx.run.checkpoint import CheckpointError

    a, env_name, config, run = read_run(run_dir)
    run_dir = Path(run_dir)
    if (run_dir / "summary.json").exists():
        raise CheckpointError(f"{run_dir} already finished (summary.json exists): evaluate it with "
                              f"rlx eval {run_dir}, or start a new run")
    from rlx.run.checkpoint import Checkpointer

    peek = Checkpointer(run_dir, read_only=True)
    try:
        if peek.latest_step() is None:
            raise CheckpointError(f"{run_dir} has no checkpoint to resume from (the run stopped before "
                                  "its first one): start it again in a new folder")
    finally:
        peek.close()
    agent, env_obj, env_params, n_updates = _build(a, env_name, config, run["total_steps"])
    return _run(a, config, run, agent, env_obj, env_params, n_updates, run_dir, show_progress,
                resume=True)


def read_run(run_dir: str | Path):
    """(Algorithm, env name, validated config, run settings) recorded in ``run_dir/config.json``."""
    from rlx.run.checkpoint import CheckpointError

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise CheckpointError(f"{run_dir} is not an rlx run folder (no config.json): give the "
                              "folder an rlx train run wrote")
    try:
        run = json.loads((run_dir / "config.json").read_text())
        a = algos.get(run["algo"])
        config = a.config_from_dict(run["config"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        msg = str(e).splitlines()[0] if str(e) else ""
        raise CheckpointError(f"{run_dir}/config.json is unreadable ({type(e).__name__}: {msg}); "
                              "give the folder an rlx train run wrote") from None
    a, env_name, config = resolve(a.name, run["env"], config)
    return a, env_name, config, run


class LoadedRun(NamedTuple):
    algo: Any  # rlx.algos.base.Algorithm
    env_name: str
    env: Any
    env_params: Any
    config: Any
    agent: Any
    states: Any  # batched train state restored from the checkpoint
    seeds: Any  # [num_seeds] global array of the run's seeds
    mesh: Mesh
    step: int  # updates done at the checkpoint
    run: dict  # config.json


def load_run(run_dir: str | Path, step: int | None = None) -> LoadedRun:
    """Restore the train state of a run folder's latest (or ``step``) checkpoint."""
    from rlx.run.checkpoint import Checkpointer

    a, env_name, config, run = read_run(run_dir)
    agent, env_obj, env_params, _ = _build(a, env_name, config, run["total_steps"])
    num_seeds = run["num_seeds"]
    mesh = seed_mesh(num_seeds, agent.population)
    seeds, cfg = place(run["seed"] + np.arange(num_seeds), config, None, mesh)
    abstract = abstract_states(init_fn(agent, None, mesh), seeds, cfg, mesh)
    ckpt = Checkpointer(run_dir, read_only=True)
    try:
        r = ckpt.restore(abstract, step, expected_meta=run_identity(a.name, env_name, run))
    finally:
        ckpt.close()
    return LoadedRun(a, env_name, env_obj, env_params, config, agent, r.states, seeds, mesh, r.step, run)


def evaluate_run(run_dir: str | Path, episodes: int = 100, deterministic: bool = True,
                 step: int | None = None) -> tuple[np.ndarray, int]:
    """Returns ``[num_seeds, episodes]`` of a run's checkpointed policies and the step.

    Seed ``i`` is evaluated with ``fold_in(key(seed_i), 1)``, as at the end of
    training: the final checkpoint with the run's ``eval_episodes`` reproduces
    summary.json's final returns.
    """
    check(episodes > 0, "episodes", episodes, "it must be positive")
    r = load_run(run_dir, step)
    fn = eval_fn(r.agent, r.env, r.env_params, episodes, deterministic, r.mesh)
    return dist.fetch(fn(r.states, r.seeds)), r.step


def run_identity(algo: str, env_name: str, run: dict) -> dict:
    """What a checkpoint must share with the run that restores it."""
    return dict(algo=algo, env=env_name, seed=run["seed"], num_seeds=run["num_seeds"],
                total_steps=run["total_steps"])


def _build(a, env_name: str, config, total_steps: int):
    env_obj, env_params = registry.make(env_name)
    agent = a.build(config, env_obj, env_params, total_steps)
    n_updates = total_steps // agent.steps_per_update
    check(n_updates > 0, "total_steps", total_steps,
          f"it must be at least one update's worth of steps ({agent.steps_per_update})")
    return agent, env_obj, env_params, n_updates


def _run(a, config, run: dict, agent, env_obj, env_params, n_updates: int, run_dir: Path | None,
         show_progress: bool, resume: bool) -> RunResult:
    """Execute a run described by ``run`` (config.json's content), from its latest
    checkpoint if ``resume``."""
    from rlx.run.checkpoint import Checkpointer

    num_seeds, seed, env_name = run["num_seeds"], run["seed"], run["env"]
    main = dist.is_main() and run_dir is not None
    checkpointing = None
    if run_dir is not None:
        checkpointing = Checkpointing(Checkpointer(run_dir, run["keep_checkpoints"]),
                                      run["checkpoint_every"], run_identity(a.name, env_name, run),
                                      resume=resume)

    def open_loggers():
        if not (main and (run.get("tensorboard") or run.get("wandb"))):
            return []
        from rlx.run.loggers import make_loggers

        return make_loggers(run_dir, tensorboard=run.get("tensorboard", False),
                            wandb=run.get("wandb", False), config=run)

    t_start = time.perf_counter()
    writer = MetricsWriter(run_dir / "metrics.csv" if main else None,
                           {"seed": [seed + i for i in range(num_seeds)]})
    try:
        ex = execute(agent, env_obj, env_params, seed + np.arange(num_seeds), config, None, n_updates,
                     run["chunks"], writer, f"{a.name} {env_name}", show_progress,
                     run["eval_episodes"], run["eval_deterministic"], checkpointing, open_loggers)
    finally:
        writer.close()
        if checkpointing is not None:
            checkpointing.checkpointer.close()
    env_steps = n_updates * agent.steps_per_update
    summary = dict(
        algo=a.name, env=env_name, seed=seed, num_seeds=num_seeds,
        final_return_mean=float(np.mean(ex.final)),
        final_return_std=float(np.std(ex.final)),
        final_return_per_seed=[float(x) for x in ex.final],
        final_return_source="evaluation" if run["eval_episodes"] > 0 else "training episodes",
        train_return_mean=float(np.mean(ex.history["episode_return"][-1])),
        env_steps=env_steps,
        env_steps_total=env_steps * num_seeds,
        updates=n_updates,
        env_steps_per_second=env_steps * num_seeds / max(ex.train_seconds, 1e-9),
        compile_seconds=ex.compile_seconds,
        train_seconds=ex.train_seconds,
        eval_seconds=ex.eval_seconds,
        wall_seconds=time.perf_counter() - t_start,
        resumed=resume,
    )
    if main:
        write_json(run_dir / "summary.json", summary)
        from rlx.run.plots import learning_curve

        learning_curve(ex.steps, ex.history["episode_return"], run_dir / "learning_curve.png",
                       title=f"{a.name} on {env_name} ({num_seeds} seeds)")
    return RunResult(run_dir, summary, ex.steps, ex.history, ex.states, agent)

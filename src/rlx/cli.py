"""The ``rlx`` command.

    rlx train ALGO [--env NAME] [--seeds N] [--total-steps N] [--out DIR] [hyperparameters...]
    rlx sweep ALGO --grid NAME=V1,V2,... [--grid ...] [--seeds N] [...]
    rlx sweep ALGO --random N --range NAME=LOW:HIGH[:log|:lin] [--range ...] [--grid ...] [...]
    rlx list
    rlx plot DIR [DIR ...] [--metric NAME] [--x steps|time] [--out PREFIX]

Every hyperparameter is a typed flag (``rlx train ppo --help`` shows them with
their defaults, tuned per environment where a preset exists). Invalid input is
a one-line error and exit status 2, raised before anything is compiled.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, NoReturn

from rich.console import Console
from rich.table import Table


def _fail(msg: str) -> NoReturn:
    print(f"rlx: error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def _flag_value(argv: list[str], name: str) -> str | None:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _algo_names() -> str:
    from rlx import algos

    return ", ".join(algos.ALGORITHMS)


def _algo_and_env(argv: list[str], command: str):
    """The algorithm named first in ``argv`` and the ``--env`` value (or its default),
    both checked; a one-line error otherwise."""
    from rlx import algos
    from rlx.algos.base import ConfigError
    from rlx.envs import registry

    if not argv or argv[0].startswith("-"):
        _fail(f"missing algorithm: rlx {command} ALGO, with ALGO one of {_algo_names()}")
    try:
        algo = algos.get(argv[0])
        env = _flag_value(argv, "--env") or algo.default_env
        registry.spec(env)
    except (ConfigError, registry.UnknownEnvironmentError) as e:
        _fail(str(e))
    return algo, env


def arg(tp, default, help: str):
    """A typed flag with help text and a default, for ``dataclasses.make_dataclass``."""
    import tyro

    return (Annotated[tp, tyro.conf.arg(help=help)], dataclasses.field(default=default))


def _train_args_class(algo, env: str):
    import tyro

    fields = [
        ("env", *arg(str, env, "environment name (see `rlx list`)")),
        ("seeds", *arg(int, 16, "number of seeds, vmapped in one program")),
        ("seed", *arg(int, 0, "first seed; seed i uses key(seed + i)")),
        ("total_steps", *arg(int, algo.default_total_steps, "environment steps per seed")),
        ("out", *arg(str | None, None, "run folder; None: runs/ALGO-ENV-TIME")),
        ("eval_episodes", *arg(int, 10, "evaluation episodes per seed at the end (0: none)")),
        ("chunks", *arg(int, 50, "compiled chunks per run (progress, logging and checkpoints between)")),
        ("checkpoint_every", *arg(int, 10, "chunks between checkpoints (0: only the final one)")),
        ("keep_checkpoints", *arg(int, 2, "checkpoints kept (the newest)")),
        ("tensorboard", *arg(bool, False, "also log to TensorBoard event files in RUN_DIR/tensorboard")),
        ("wandb", *arg(bool, False, "also log to Weights & Biases (needs the wandb package)")),
        ("progress", *arg(bool, True, "show the live progress bar")),
        *DISTRIBUTED_FIELDS(),
        ("config", tyro.conf.OmitArgPrefixes[algo.config_cls],
         dataclasses.field(default=algo.default_config(env))),
    ]
    cls = dataclasses.make_dataclass(f"Train{algo.name.capitalize()}", fields)
    cls.__doc__ = (f"Train {algo.name}: {algo.description}. Seeds run vmapped in one program; "
                   "the run folder gets config.json, metrics.csv, summary.json and a plot.")
    return cls


def DISTRIBUTED_FIELDS():
    """Flags to join a multi-process run (rlx.run.distributed)."""
    return [
        ("coordinator", *arg(str | None, None, "multi-host: HOST:PORT of process 0")),
        ("num_processes", *arg(int | None, None, "multi-host: number of processes")),
        ("process_id", *arg(int | None, None, "multi-host: this process's index")),
    ]


def _join(args) -> None:
    from rlx.run import distributed

    distributed.initialize(args.coordinator, args.num_processes, args.process_id)


def resume_command(argv: list[str]) -> int:
    """``rlx train [ALGO] --resume RUN_DIR``: continue a run from its latest checkpoint."""
    import json

    import tyro

    from rlx.algos.base import ConfigError

    Resume = dataclasses.make_dataclass("Resume", [
        ("resume", Annotated[str, tyro.conf.arg(help="run folder to continue")]),
        ("progress", *arg(bool, True, "show the live progress bar")),
        *DISTRIBUTED_FIELDS(),
    ])
    Resume.__doc__ = "Continue a run from its latest checkpoint, exactly as configured in RUN_DIR/config.json."
    algo = argv[0] if argv and not argv[0].startswith("-") else None
    rest = argv[1:] if algo else argv
    allowed = {"--resume", "--progress", "--no-progress", "--coordinator", "--num-processes",
               "--process-id", "-h", "--help"}
    for a in rest:
        if a.startswith("--") and a.split("=", 1)[0] not in allowed:
            _fail(f"{a.split('=', 1)[0]} cannot be combined with --resume: the run continues as "
                  "recorded in RUN_DIR/config.json")
    args = tyro.cli(Resume, args=rest, prog="rlx train --resume")
    from rlx.run.runner import NonFiniteError, resume

    try:
        if algo is not None:
            cfg = Path(args.resume) / "config.json"
            recorded = json.loads(cfg.read_text()).get("algo") if cfg.is_file() else None
            if recorded is not None and recorded != algo:
                raise ConfigError(f"{args.resume} holds a {recorded} run, not {algo}: "
                                  f"rlx train {recorded} --resume {args.resume}")
        _join(args)
        result = resume(args.resume, show_progress=args.progress)
    except ConfigError as e:
        _fail(str(e))
    except NonFiniteError as e:
        print(f"rlx: stopped: {e} (results so far are in {args.resume})", file=sys.stderr)
        return 1
    print_summary(result)
    return 0


def train_command(argv: list[str]) -> int:
    import tyro

    from rlx.algos.base import ConfigError

    if argv and argv[0] in ("-h", "--help"):
        print(f"usage: rlx train ALGO [--help] [options]\n\nALGO: one of {_algo_names()}")
        return 0
    if any(a == "--resume" or a.startswith("--resume=") for a in argv):
        return resume_command(argv)
    algo, env = _algo_and_env(argv, "train")
    args = tyro.cli(_train_args_class(algo, env), args=argv[1:], prog=f"rlx train {algo.name}")

    from rlx.run.records import default_run_dir
    from rlx.run.runner import NonFiniteError, train

    out = Path(args.out) if args.out else default_run_dir("runs", algo.name, args.env)
    try:
        _join(args)
        result = train(algo.name, args.env, args.config, seed=args.seed, num_seeds=args.seeds,
                       total_steps=args.total_steps, out=out, eval_episodes=args.eval_episodes,
                       chunks=args.chunks, checkpoint_every=args.checkpoint_every,
                       keep_checkpoints=args.keep_checkpoints, tensorboard=args.tensorboard,
                       wandb=args.wandb, show_progress=args.progress)
    except ConfigError as e:
        _fail(str(e))
    except NonFiniteError as e:
        print(f"rlx: stopped: {e} (results so far are in {out})", file=sys.stderr)
        return 1
    print_summary(result)
    return 0


def parse_grid(base, specs: list[str]) -> dict[str, list]:
    """``["lr=1e-4,3e-4", "anneal_lr=true,false"]`` -> typed value lists (by the field's default)."""
    from rlx.algos.base import ConfigError

    grid = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        if not sep or not name:
            raise ConfigError(f"--grid {spec!r} is invalid: write NAME=V1,V2,... (e.g. lr=1e-4,3e-4)")
        if not hasattr(base, name):
            raise ConfigError(f"unknown hyperparameter {name!r} in --grid: see rlx train ALGO --help")
        default = getattr(base, name)
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise ConfigError(f"--grid {name}= has no values: give one or more, comma-separated")
        if isinstance(default, bool):
            convert = {"true": True, "1": True, "false": False, "0": False}.__getitem__
            items = [v.lower() for v in items]
        elif isinstance(default, (int, float, str)):
            convert = type(default)
        else:
            raise ConfigError(f"--grid {name}: {type(default).__name__} fields cannot be swept yet")
        grid[name] = []
        for v in items:
            try:
                grid[name].append(convert(v))
            except (ValueError, KeyError):
                raise ConfigError(f"--grid {name}={v} is invalid: values must be "
                                  f"{type(default).__name__}") from None
    return grid


def parse_ranges(base, specs: list[str]) -> dict[str, tuple]:
    """``["lr=1e-5:1e-2:log", "epochs=1:8"]`` -> ``{"lr": (1e-5, 1e-2, "log"), "epochs": (1, 8)}``,
    bounds typed by the field (int or float); ``rlx.run.sweep.make_range`` checks the rest."""
    from rlx.algos.base import ConfigError
    from rlx.run.sweep import numeric_kind

    ranges = {}
    for spec in specs:
        name, sep, body = spec.partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        parts = [p.strip() for p in body.split(":")]
        if not sep or not name or len(parts) not in (2, 3) or not all(parts):
            raise ConfigError(f"--range {spec!r} is invalid: write NAME=LOW:HIGH[:log|:lin] "
                              "(e.g. lr=1e-5:1e-2:log)")
        kind = numeric_kind(base, name)
        if name in ranges:
            raise ConfigError(f"--range {name} is given twice: give each name once")
        try:
            bounds = tuple(kind(p) for p in parts[:2])
        except ValueError:
            raise ConfigError(f"--range {name}={body} is invalid: the bounds must be "
                              f"{kind.__name__}") from None
        ranges[name] = bounds + tuple(p.lower() for p in parts[2:])
    return ranges


def sweep_command(argv: list[str]) -> int:
    import tyro

    from rlx.algos.base import ConfigError

    if argv and argv[0] in ("-h", "--help"):
        print("usage: rlx sweep ALGO --grid NAME=V1,V2 [--grid ...] [--help] [options]\n"
              "       rlx sweep ALGO --random N --range NAME=LOW:HIGH[:log|:lin] [--range ...] "
              "[--grid NAME=V1,V2 ...] [options]")
        return 0
    algo, env_name = _algo_and_env(argv, "sweep")

    Sweep = dataclasses.make_dataclass("Sweep", [
        ("grid", Annotated[tuple[str, ...], tyro.conf.UseAppendAction,
                           tyro.conf.arg(help="NAME=V1,V2,... (repeat the flag for more axes)")],
         dataclasses.field(default=())),
        ("range", Annotated[tuple[str, ...], tyro.conf.UseAppendAction,
                            tyro.conf.arg(help="NAME=LOW:HIGH[:log|:lin], sampled with --random "
                                               "(int fields: uniform integers, both ends included; "
                                               "float fields: log-uniform when 0 < LOW and "
                                               "HIGH >= 100*LOW, else uniform)")],
         dataclasses.field(default=())),
        ("random", *arg(int | None, None, "draw this many configurations from --range/--grid "
                                          "instead of the grid's product")),
        ("env", *arg(str, env_name, "environment name (see `rlx list`)")),
        ("seeds", *arg(int, 4, "seeds per configuration")),
        ("seed", *arg(int, 0, "first seed; also seeds the --random draws")),
        ("total_steps", *arg(int, algo.default_total_steps, "environment steps per run")),
        ("out", *arg(str | None, None, "sweep folder; None: runs/sweep-ALGO-ENV-TIME")),
        ("eval_episodes", *arg(int, 10, "evaluation episodes per run at the end")),
        ("progress", *arg(bool, True, "show the live progress bar")),
        *DISTRIBUTED_FIELDS(),
    ])
    Sweep.__doc__ = ("Train every grid point (or --random N configurations drawn from --range and "
                     "--grid) × seed in one program per group of shape-changing values, then rank "
                     "the configurations (mean final return, 95% bootstrap CI).")

    args = tyro.cli(Sweep, args=argv[1:], prog=f"rlx sweep {algo.name}")
    from rlx.run.records import default_run_dir
    from rlx.run.sweep import fmt, sweep

    out = Path(args.out) if args.out else default_run_dir("runs", f"sweep-{algo.name}", args.env)
    try:
        base = algo.default_config(args.env)
        grid = parse_grid(base, list(args.grid))
        ranges = parse_ranges(base, list(args.range))
        _join(args)
        result = sweep(algo.name, args.env, grid, ranges=ranges, random=args.random, seed=args.seed,
                       num_seeds=args.seeds, total_steps=args.total_steps, out=out,
                       eval_episodes=args.eval_episodes, show_progress=args.progress)
    except ConfigError as e:
        _fail(str(e))
    console = Console()
    names = list(result.points[0])
    table = Table(title=f"{algo.name} on {args.env}: {len(result.configs)} configurations × "
                        f"{args.seeds} seeds")
    for c in ["rank", *names, "final return", "95% CI"]:
        table.add_column(c, justify="right")
    for r in result.ranking:
        table.add_row(str(r["rank"]), *[fmt(r[n]) for n in names], f"{r['mean']:.2f}",
                      f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]")
    console.print(table)
    s = result.summary
    console.print(f"{s['compiles']} compile(s), {s['compile_seconds']:.1f} s · wall {s['wall_seconds']:.1f} s")
    console.print(f"best configuration: {result.sweep_dir / 'best_config.json'}")
    console.print(f"sweep folder: {result.sweep_dir}")
    return 0


def eval_command(argv: list[str]) -> int:
    """``rlx eval RUN_DIR --episodes 100``: mean ± std return of a run's checkpointed policies."""
    import json

    import numpy as np
    import tyro

    from rlx.algos.base import ConfigError

    Eval = dataclasses.make_dataclass("Eval", [
        ("run_dir", Annotated[tyro.conf.Positional[str], tyro.conf.arg(help="run folder")]),
        ("episodes", *arg(int, 100, "episodes per seed")),
        ("stochastic", *arg(bool, False, "sample actions instead of the deterministic (mode) action")),
        ("step", *arg(int | None, None, "checkpoint step (updates) to load; None: the latest")),
        ("json", *arg(str | None, None, "also write the results to this JSON file")),
    ])
    Eval.__doc__ = "Evaluate every seed's policy from a run folder's checkpoint."
    args = tyro.cli(Eval, args=argv, prog="rlx eval")
    from rlx.run.runner import evaluate_run

    try:
        returns, step = evaluate_run(args.run_dir, args.episodes, not args.stochastic, args.step)
    except ConfigError as e:
        _fail(str(e))
    run = json.loads((Path(args.run_dir) / "config.json").read_text())
    mode = "stochastic" if args.stochastic else "deterministic"
    table = Table(title=f"{run['algo']} on {run['env']} · checkpoint at update {step} · "
                        f"{args.episodes} episodes per seed, {mode} policy")
    for c in ("seed", "mean return", "std"):
        table.add_column(c, justify="right")
    for i, r in enumerate(returns):
        table.add_row(str(run["seed"] + i), f"{r.mean():.2f}", f"{r.std():.2f}")
    table.add_section()
    table.add_row("all", f"{returns.mean():.2f}", f"{returns.std():.2f}")
    Console().print(table)
    if args.json:
        from rlx.run.records import write_json

        write_json(Path(args.json), dict(run_dir=str(args.run_dir), step=step, episodes=args.episodes,
                                         policy=mode, mean=float(returns.mean()),
                                         std=float(returns.std()),
                                         per_seed_mean=[float(x) for x in returns.mean(axis=1)],
                                         returns=np.asarray(returns).tolist()))
    return 0


def render_command(argv: list[str]) -> int:
    """``rlx render RUN_DIR``: one episode of a trained policy as a GIF/MP4."""
    import jax
    import tyro

    from rlx.algos.base import ConfigError, check

    Render = dataclasses.make_dataclass("Render", [
        ("run_dir", Annotated[tyro.conf.Positional[str], tyro.conf.arg(help="run folder")]),
        ("out", *arg(str | None, None, "output .gif or .mp4; None: RUN_DIR/episode-seedS.gif")),
        ("seed_index", *arg(int, 0, "which of the run's seeds (0-based) to render")),
        ("episode_seed", *arg(int, 0, "key of the rendered episode (reset and sampling)")),
        ("max_steps", *arg(int, 500, "longest episode to render")),
        ("fps", *arg(float, 30.0, "frames per second")),
        ("stochastic", *arg(bool, False, "sample actions instead of the deterministic (mode) action")),
        ("step", *arg(int | None, None, "checkpoint step (updates) to load; None: the latest")),
    ])
    Render.__doc__ = "Render one episode of a run's checkpointed policy (gymnasium-style drawing)."
    args = tyro.cli(Render, args=argv, prog="rlx render")
    from rlx.envs.render import rollout_frames, save_animation
    from rlx.run import distributed
    from rlx.run.runner import load_run

    try:
        check(args.max_steps > 0, "max_steps", args.max_steps, "it must be positive")
        check(args.fps > 0, "fps", args.fps, "it must be positive")
        out = Path(args.out) if args.out else None
        if out is not None and out.suffix.lower() not in (".gif", ".mp4"):
            raise ConfigError(f"--out={out} is invalid: use a .gif or .mp4 file name")
        r = load_run(args.run_dir, args.step)
        n = r.run["num_seeds"]
        check(0 <= args.seed_index < n, "seed_index", args.seed_index, f"the run has seeds 0..{n - 1}")
        pp = distributed.fetch(jax.vmap(r.agent.policy_params)(r.states))
        pp = jax.tree_util.tree_map(lambda x: x[args.seed_index], pp)
        deterministic = not args.stochastic
        frames = rollout_frames(r.env, r.env_params, r.env_name,
                                lambda obs, key: r.agent.act(pp, obs, key, deterministic),
                                jax.random.key(args.episode_seed), args.max_steps)
        seed = r.run["seed"] + args.seed_index
        out = out or Path(args.run_dir) / f"episode-seed{seed}.gif"
        save_animation(frames, out, args.fps)
    except (ConfigError, RuntimeError, ValueError) as e:  # ValueError: no drawing for this env
        _fail(str(e))
    Console().print(f"{len(frames)} frames of {r.algo.name} on {r.env_name} (seed {seed}, update "
                    f"{r.step}) -> {out}")
    return 0


def print_summary(result) -> None:
    s = result.summary
    console = Console()
    table = Table(title=f"{s['algo']} on {s['env']}: {s['env_steps']:,} steps × {s['num_seeds']} seeds")
    table.add_column("seed", justify="right")
    table.add_column(f"final return ({s['final_return_source']})", justify="right")
    for i, r in enumerate(s["final_return_per_seed"]):
        table.add_row(str(s["seed"] + i), f"{r:.2f}")
    table.add_section()
    table.add_row("mean ± std", f"{s['final_return_mean']:.2f} ± {s['final_return_std']:.2f}")
    console.print(table)
    console.print(
        f"throughput {s['env_steps_per_second']:,.0f} env-steps/s · compile {s['compile_seconds']:.1f} s"
        f" · wall {s['wall_seconds']:.1f} s")
    if result.run_dir is not None:
        console.print(f"learning curve: {result.run_dir / 'learning_curve.png'}")
        console.print(f"run folder: {result.run_dir}")


def list_command() -> int:
    from rlx import algos
    from rlx.envs import registry

    console = Console()
    t = Table(title="algorithms")
    t.add_column("name")
    t.add_column("description")
    t.add_column("default env")
    for a in algos.ALGORITHMS.values():
        t.add_row(a.name, a.description, a.default_env)
    console.print(t)
    e = Table(title="environments")
    e.add_column("name")
    e.add_column("time limit", justify="right")
    for name in registry.registered():
        limit = registry.spec(name).max_steps
        # adapters (gymnax/, brax/, playground/ ...) take the limit from the adapted task
        e.add_row(name, str(limit) if limit is not None else ("task's own" if "/" in name else "none"))
    console.print(e)
    return 0


def plot_command(argv: list[str]) -> int:
    import argparse

    from rlx.run.plots import PlotInputError, plot_folders

    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, exit status 2
            _fail(f"{message} (rlx plot --help)")

    p = Parser(prog="rlx plot", description=(
        "Learning curves of run and sweep folders, overlaid: the mean over seeds and its 95% "
        "Student-t interval; one line per run folder and one per sweep configuration."))
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run or sweep folders")
    p.add_argument("--metric", default="episode_return", help="a metrics.csv column")
    p.add_argument("--x", default="steps", choices=["steps", "time"],
                   help="environment steps per seed, or wall time (needs a time column)")
    p.add_argument("--out", default=None, metavar="PREFIX",
                   help="writes PREFIX.png and PREFIX.svg (default: first DIR/curves)")
    args = p.parse_args(argv)
    try:
        paths = plot_folders(args.dirs, args.metric, args.x, args.out)
    except PlotInputError as e:
        _fail(str(e))
    for path in paths:
        print(path)
    return 0


USAGE = """usage: rlx COMMAND ...

commands:
  train ALGO [options]   train an agent (rlx train ppo --help for its flags)
  sweep ALGO --grid NAME=V1,V2 [...]
                         a hyperparameter grid × seeds in one program, ranked
  sweep ALGO --random N --range NAME=LOW:HIGH [...]
                         N random configurations × seeds, ranked
  train --resume RUN_DIR continue an interrupted run from its latest checkpoint
  eval RUN_DIR [--episodes N]
                         evaluate a run's checkpointed policies
  render RUN_DIR [--out episode.gif]
                         draw one episode of a run's policy as a GIF or MP4
  list                   algorithms and environments
  plot DIR [DIR ...]     learning curves of run/sweep folders (mean, 95% CI over seeds)"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "train":
        return train_command(rest)
    if cmd == "sweep":
        return sweep_command(rest)
    if cmd == "list":
        return list_command()
    if cmd == "plot":
        return plot_command(rest)
    if cmd == "eval":
        return eval_command(rest)
    if cmd == "render":
        return render_command(rest)
    _fail(f"unknown command {cmd!r}: use train, sweep, eval, render, plot or list (rlx --help)")


if __name__ == "__main__":
    raise SystemExit(main())

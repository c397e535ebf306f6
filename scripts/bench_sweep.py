"""Sweep throughput: 8 learning rates × 8 seeds of PPO on CartPole-v1 in one program
against a single run (1 seed), each in a fresh process.

    python scripts/bench_sweep.py [--total-steps 500000] [--out scripts/results/bench_sweep.json]

Reports aggregate env-steps/s and compile seconds of both, and their ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _child import run_child

LRS = [1e-4, 2e-4, 3e-4, 5e-4, 7e-4, 1e-3, 2e-3, 3e-3]

CHILD = r"""
import json, sys
import rlx
mode, total = sys.argv[1], int(sys.argv[2])
if mode == "single":
    s = rlx.train("ppo", "CartPole-v1", num_seeds=1, total_steps=total, eval_episodes=0,
                  show_progress=False).summary
    print(json.dumps(dict(runs=1, env_steps_per_second=s["env_steps_per_second"],
                          compile_seconds=s["compile_seconds"], wall_seconds=s["wall_seconds"])))
else:
    lrs = json.loads(sys.argv[3])
    r = rlx.sweep("ppo", "CartPole-v1", grid={"lr": lrs}, num_seeds=8, total_steps=total,
                  eval_episodes=0, show_progress=False)
    s = r.summary
    print(json.dumps(dict(runs=len(lrs) * 8, compiles=s["compiles"],
                          env_steps_per_second=s["env_steps_total"] / (s["wall_seconds"] - s["compile_seconds"]),
                          compile_seconds=s["compile_seconds"], wall_seconds=s["wall_seconds"],
                          best=s["best"])))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total-steps", type=int, default=500_000)
    p.add_argument("--out", default="scripts/results/bench_sweep.json")
    a = p.parse_args()
    single = run_child(CHILD, "single", a.total_steps)
    grid = run_child(CHILD, "sweep", a.total_steps, json.dumps(LRS))
    result = dict(benchmark="sweep_ppo_cartpole", total_steps=a.total_steps, cpus=os.cpu_count(),
                  time=time.strftime("%Y-%m-%d %H:%M:%S"), single=single, sweep=grid,
                  throughput_ratio=grid["env_steps_per_second"] / single["env_steps_per_second"],
                  compile_ratio=grid["compile_seconds"] / single["compile_seconds"])
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"PPO CartPole-v1 sweep, {a.total_steps:,} steps per run")
    for c in ("program", "runs", "env-steps/s (aggregate)", "compile s", "wall s"):
        t.add_column(c, justify="right")
    t.add_row("single run", "1", f"{single['env_steps_per_second']:,.0f}",
              f"{single['compile_seconds']:.2f}", f"{single['wall_seconds']:.1f}")
    t.add_row("8 lr × 8 seeds", str(grid["runs"]), f"{grid['env_steps_per_second']:,.0f}",
              f"{grid['compile_seconds']:.2f}", f"{grid['wall_seconds']:.1f}")
    Console().print(t)
    print(f"throughput ×{result['throughput_ratio']:.2f}, compile ×{result['compile_ratio']:.2f}; "
          f"best lr {grid['best']['lr']} ({grid['best']['mean']:.1f}); wrote {a.out}")


if __name__ == "__main__":
    main()

"""Reproduce the return targets of the policy-gradient, evolution-strategy and MJX issues.

    python experiments/targets.py [--only ppo-cartpole ...] [--out experiments/results/targets]

Each target trains with rlx's default configuration for that (algorithm,
environment) pair, evaluates the deterministic policy (10 episodes per seed)
and compares the mean over seeds with the threshold. Writes one run folder per
target (metrics, learning curve), `results.json` and `results.md`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import rlx

from _report import write_report

# name: (algorithm, environment, seeds, environment steps per seed, threshold)
TARGETS = {
    "ppo-cartpole": ("ppo", "CartPole-v1", 16, 500_000, 490.0),
    "a2c-cartpole": ("a2c", "CartPole-v1", 8, 1_000_000, 475.0),
    "reinforce-cartpole": ("reinforce", "CartPole-v1", 8, 1_000_000, 475.0),
    "ppo-acrobot": ("ppo", "Acrobot-v1", 8, 1_000_000, -90.0),
    "ppo-pendulum": ("ppo", "Pendulum-v1", 8, 1_000_000, -250.0),
    "es-cartpole": ("es", "CartPole-v1", 8, 256 * 500 * 50, 495.0),
    "ars-pendulum": ("ars", "Pendulum-v1", 8, 64 * 4 * 200 * 1000, -250.0),
    "ars-mountaincar": ("ars", "MountainCarContinuous-v0", 8, 64 * 999 * 200, 90.0),
    "ppo-invertedpendulum": ("ppo", "InvertedPendulum-v5", 4, 1_000_000, 1000.0),
    "sac-invertedpendulum": ("sac", "InvertedPendulum-v5", 4, 30_000, 1000.0),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(TARGETS), default=sorted(TARGETS))
    p.add_argument("--out", default=f"experiments/results/targets-{time.strftime('%Y%m%d-%H%M%S')}")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in a.only:
        algo, env, seeds, steps, threshold = TARGETS[name]
        r = rlx.train(algo, env, seed=a.seed, num_seeds=seeds, total_steps=steps, out=out / name)
        s = r.summary
        rows.append(dict(target=name, algo=algo, env=env, seeds=seeds, steps=steps, threshold=threshold,
                         final_return_mean=s["final_return_mean"], final_return_std=s["final_return_std"],
                         final_return_per_seed=s["final_return_per_seed"],
                         met=s["final_return_mean"] >= threshold,
                         env_steps_per_second=s["env_steps_per_second"],
                         compile_seconds=s["compile_seconds"], wall_seconds=s["wall_seconds"]))
        print(f"{name}: {s['final_return_mean']:.1f} (target {threshold}) in {s['wall_seconds']:.0f} s")
    lines = ["| target | seeds | steps | final return (mean ± std) | threshold | met | env-steps/s | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['seeds']} | {r['steps']:,} | {r['final_return_mean']:.1f} ± "
                     f"{r['final_return_std']:.1f} | {r['threshold']} | {'yes' if r['met'] else 'NO'} | "
                     f"{r['env_steps_per_second']:,.0f} | {r['wall_seconds']:.0f} |")
    write_report(out, rows, lines)


if __name__ == "__main__":
    main()

"""PPO on the MJX locomotion tasks: configurations for one GPU (8192 environments per seed).

    python experiments/mjx_locomotion.py [--only HalfCheetah-v5 Ant-v5] [--seeds 1]
    python experiments/mjx_locomotion.py --smoke        # CPU: 2 updates of each at 16 envs

The settings follow brax's published PPO settings for its MJX ports of these tasks
(discount, unroll length, minibatches, epochs, entropy), scaled to 8192 environments;
the aims on one H200 are HalfCheetah > 5000 and Ant > 4000 in under 10 minutes each.
``--smoke`` runs every configuration for two updates with 16 environments on whatever
device is there: it checks that the configuration builds, compiles and steps.
Writes one run folder per task, ``results.json`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import rlx

from _report import write_report

_PPO = dict(num_envs=8192, minibatches=32, lr=3e-4, gae_lambda=0.95, normalize_obs=True, hidden=(256, 256),
            activation="silu", max_grad_norm=1.0, anneal_lr=False)

# task: (environment steps per seed, PPO overrides, aim)
CONFIGS = {
    "InvertedDoublePendulum-v5": (20_000_000, dict(_PPO, num_steps=20, epochs=4, gamma=0.97, ent_coef=1e-2), 9000.0),
    "Hopper-v5": (50_000_000, dict(_PPO, num_steps=20, epochs=8, gamma=0.97, ent_coef=1e-3), 2500.0),
    "Walker2d-v5": (50_000_000, dict(_PPO, num_steps=20, epochs=8, gamma=0.97, ent_coef=1e-3), 3000.0),
    "HalfCheetah-v5": (50_000_000, dict(_PPO, num_steps=20, epochs=8, gamma=0.95, ent_coef=1e-3), 5000.0),
    "Ant-v5": (50_000_000, dict(_PPO, num_steps=5, epochs=4, gamma=0.97, ent_coef=1e-2), 4000.0),
    "Humanoid-v5": (50_000_000, dict(_PPO, num_steps=10, epochs=8, gamma=0.97, ent_coef=1e-3), 5000.0),
}


def config(task: str, smoke: bool = False):
    """The validated PPO config for ``task`` (``smoke``: 16 environments, one minibatch)."""
    _, overrides, _ = CONFIGS[task]
    if smoke:
        overrides = dict(overrides, num_envs=16, minibatches=1)
    return dataclasses.replace(rlx.algos.get("ppo").default_config(task), **overrides)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--smoke", action="store_true", help="two updates of each task at 16 envs")
    p.add_argument("--out", default=f"experiments/results/mjx-locomotion-{time.strftime('%Y%m%d-%H%M%S')}")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for task in a.only:
        steps, _, aim = CONFIGS[task]
        cfg = config(task, a.smoke)
        if a.smoke:
            steps = 2 * cfg.num_envs * cfg.num_steps
        r = rlx.train("ppo", task, config=cfg, num_seeds=a.seeds, total_steps=steps, out=out / task,
                      eval_episodes=0 if a.smoke else 10, chunks=1 if a.smoke else 50, show_progress=not a.smoke)
        s = r.summary
        rows.append(dict(task=task, steps=steps, seeds=a.seeds, aim=aim, smoke=a.smoke,
                         final_return_mean=s["final_return_mean"], compile_seconds=s["compile_seconds"],
                         train_seconds=s["train_seconds"], env_steps_per_second=s["env_steps_per_second"],
                         met=None if a.smoke else s["final_return_mean"] >= aim))
    lines = ["| task | steps × seeds | return | aim | compile s | train s | env-steps/s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['steps']:,} × {r['seeds']} | {r['final_return_mean']:.1f} | "
                     f"{'smoke' if r['smoke'] else r['aim']} | {r['compile_seconds']:.1f} | {r['train_seconds']:.1f} | "
                     f"{r['env_steps_per_second']:,.0f} |")
    write_report(out, rows, lines)


if __name__ == "__main__":
    main()

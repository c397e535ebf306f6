"""Tabular Q-learning and SARSA targets: FrozenLake 4x4 / 8x8 against dynamic programming,
discretised CartPole and MountainCar.

    python experiments/tabular_targets.py [--only qlearning-frozenlake4x4 ...]
                                          [--out experiments/results/tabular]

Each target trains with rlx's default configuration for that (algorithm,
environment) pair (``rlx.algos.tabular.PRESETS``), all seeds vmapped in one program.

* FrozenLake: the learned greedy policy of every seed is evaluated exactly, by
  ``horizon`` backups ``V <- R_π + P_π V`` of the tabular model (the probability of
  reaching the goal within the time limit), and compared with the optimum of
  ``rlx.dp.finite_horizon`` (the best non-stationary policy; the best stationary one
  is slightly below it). The target is a fraction of that optimum (95%; 90% for
  SARSA on the 8x8 lake, which converges more slowly). The runner's Monte
  Carlo evaluation (``--episodes`` per seed) is reported beside it as a check.
* CartPole-v1 (bins (1, 1, 6, 12)) and MountainCar-v0 (bins (20, 20)): the mean
  deterministic-policy return over ``--episodes`` episodes per seed.

Writes ``results.json``, ``results.md`` and one learning curve per target.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import rlx
import rlx.dp as dp
from rlx import algos
from rlx.algos.tabular import greedy_policy
from rlx.run.plots import learning_curve

from _report import write_report

# name: (algorithm, environment, seeds, environment steps per seed, threshold)
# FrozenLake thresholds are fractions of the DP optimum; the others are mean returns.
TARGETS = {
    "qlearning-frozenlake4x4": ("qlearning", "FrozenLake-v1", 16, 200_000, 0.95),
    "sarsa-frozenlake4x4": ("sarsa", "FrozenLake-v1", 16, 200_000, 0.95),
    "qlearning-frozenlake8x8": ("qlearning", "FrozenLake8x8-v1", 16, 3_000_000, 0.95),
    "sarsa-frozenlake8x8": ("sarsa", "FrozenLake8x8-v1", 16, 3_000_000, 0.90),
    "qlearning-cartpole": ("qlearning", "CartPole-v1", 16, 100_000, 400.0),
    "sarsa-cartpole": ("sarsa", "CartPole-v1", 16, 100_000, 300.0),
    "qlearning-mountaincar": ("qlearning", "MountainCar-v0", 16, 2_000_000, -170.0),
}
HORIZON = {"FrozenLake-v1": 100, "FrozenLake8x8-v1": 200}


def success_within(env: str, policy: np.ndarray, horizon: int) -> float:
    """P(goal within ``horizon`` steps from the start cell) of a stationary policy."""
    P, R, terminal = map(np.asarray, dp.to_tabular(env))
    P = np.where(terminal[:, None, None], 0.0, P).astype(np.float64)
    R = np.where(terminal[:, None], 0.0, R).astype(np.float64)
    s, V = np.arange(len(R)), np.zeros(len(R))
    for _ in range(horizon):
        V = R[s, policy] + P[s, policy] @ V
    return float(V[0])


def _g(x) -> str:
    return "—" if x is None else f"{x:.4g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    p.add_argument("--out", default="experiments/results/tabular")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--episodes", type=int, default=100, help="evaluation episodes per seed")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in a.only:
        algo, env, seeds, steps, threshold = TARGETS[name]
        r = rlx.train(algo, env, seed=a.seed, num_seeds=seeds, total_steps=steps,
                      eval_episodes=a.episodes, show_progress=False)
        s = r.summary
        row = dict(target=name, algo=algo, env=env, seeds=seeds, steps=steps,
                   eval_return_mean=s["final_return_mean"], eval_return_std=s["final_return_std"],
                   env_steps_per_second=s["env_steps_per_second"], compile_seconds=s["compile_seconds"],
                   wall_seconds=s["wall_seconds"],
                   config=dataclasses.asdict(algos.get(algo).default_config(env)))
        if env in HORIZON:
            h = HORIZON[env]
            optimum = float(dp.finite_horizon(dp.to_tabular(env), h).values[0, 0])
            success = [success_within(env, np.asarray(greedy_policy(q)), h) for q in np.asarray(r.state.q)]
            row.update(metric=f"P(goal within {h} steps), exact", value_mean=float(np.mean(success)),
                       value_std=float(np.std(success)), value_min=float(np.min(success)),
                       value_per_seed=success, optimum=optimum, threshold=threshold * optimum,
                       met=bool(np.mean(success) >= threshold * optimum))
        else:
            per_seed = s["final_return_per_seed"]
            row.update(metric=f"mean return ({a.episodes} episodes/seed)",
                       value_mean=float(np.mean(per_seed)),
                       value_std=float(np.std(per_seed)), value_min=float(np.min(per_seed)),
                       value_per_seed=per_seed, optimum=None, threshold=threshold,
                       met=bool(np.mean(per_seed) >= threshold))
        rows.append(row)
        learning_curve(r.steps, r.metrics["episode_return"], out / f"{name}.png",
                       title=f"{algo} on {env} ({seeds} seeds)")
        print(f"{name}: {row['value_mean']:.4g} (min {row['value_min']:.4g}; optimum {_g(row['optimum'])}, "
              f"target {row['threshold']:.4g}) in {s['wall_seconds']:.0f} s", flush=True)
    lines = ["| target | seeds | steps | metric | mean ± std | min | optimum | target | met | "
             "MC eval return | env-steps/s | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['target']} | {r['seeds']} | {r['steps']:,} | {r['metric']} | {r['value_mean']:.4g} ± "
            f"{r['value_std']:.2g} | {r['value_min']:.4g} | {_g(r['optimum'])} | {r['threshold']:.4g} | "
            f"{'yes' if r['met'] else 'NO'} | {r['eval_return_mean']:.3f} | "
            f"{r['env_steps_per_second']:,.0f} | {r['wall_seconds']:.0f} |")
    write_report(out, rows, lines)


if __name__ == "__main__":
    main()

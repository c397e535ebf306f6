"""Sample efficiency on Pendulum-v1: model-based RL (learned ensemble + CEM) against SAC and PPO.

    python experiments/mbrl_pendulum.py [--out experiments/results/mbrl_pendulum] [--seeds 4]

Each algorithm trains with rlx's Pendulum-v1 preset (``rlx train <algo> --env Pendulum-v1``) for
``--seeds`` seeds in one program: mbrl for 5,000 environment steps (target: mean final return
≥ −200, issue 8), SAC for 20,000 and PPO for 1,000,000.

Steps to the threshold. For each seed, the training curve is the return of the latest completed
episode(s) logged after every update, averaged over the updates logged in the last 1,000
environment steps (five 200-step episodes; PPO logs every 4,096 steps, so its window is one
update: the mean over its 16 environments' latest episodes). The seed's steps to −200 is the
first logged step where that average is ≥ −200. The final return is the runner's evaluation
(10 episodes per seed of the final policy; mbrl plans from scratch at every step).

Writes results.json, results.md, curves.png and one run folder per algorithm to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import rlx

from _report import write_report

THRESHOLD = -200.0
WINDOW = 1000
BUDGETS = {"mbrl": 5_000, "sac": 20_000, "ppo": 1_000_000}


def smoothed(steps: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """``[n_updates, seeds]``: the mean of the rows logged in the last ``WINDOW`` steps."""
    out = np.empty_like(returns)
    for i, s in enumerate(steps):
        rows = (steps > s - WINDOW) & (steps <= s)
        out[i] = returns[rows].mean(0)
    return out


def steps_to_threshold(steps, curve) -> list:
    """Per seed, the first step where ``curve`` reaches the threshold (None if never)."""
    hit = curve >= THRESHOLD
    return [int(steps[np.argmax(hit[:, j])]) if hit[:, j].any() else None for j in range(curve.shape[1])]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/mbrl_pendulum")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--only", nargs="+", choices=sorted(BUDGETS), default=list(BUDGETS))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, curves = [], {}
    for algo in a.only:
        r = rlx.train(algo, "Pendulum-v1", num_seeds=a.seeds, total_steps=BUDGETS[algo], out=out / algo)
        returns = np.asarray(r.metrics["episode_return"], np.float64)
        started = np.asarray(r.steps) >= 200  # no episode has finished before the first 200 steps
        steps, returns = np.asarray(r.steps)[started], returns[started]
        curve = smoothed(steps, returns)
        curves[algo] = (steps, curve)
        hits = steps_to_threshold(steps, curve)
        reached = [h for h in hits if h is not None]
        s = r.summary
        rows.append(dict(algo=algo, seeds=a.seeds, steps=BUDGETS[algo], steps_to_threshold_per_seed=hits,
                         steps_to_threshold_median=float(np.median(reached)) if len(reached) == a.seeds else None,
                         final_return_mean=s["final_return_mean"], final_return_std=s["final_return_std"],
                         final_return_per_seed=s["final_return_per_seed"], wall_seconds=s["wall_seconds"],
                         env_steps_per_second=s["env_steps_per_second"], compile_seconds=s["compile_seconds"]))
    lines = [f"| algorithm | env steps | steps to {THRESHOLD:.0f} (median; per seed) | final return (mean ± std) | "
             "env-steps/s | wall s |", "|---|---|---|---|---|---|"]
    for r in rows:
        per = ", ".join("never" if h is None else f"{h:,}" for h in r["steps_to_threshold_per_seed"])
        med = "—" if r["steps_to_threshold_median"] is None else f"{r['steps_to_threshold_median']:,.0f}"
        lines.append(f"| {r['algo']} | {r['steps']:,} | {med} ({per}) | {r['final_return_mean']:.1f} ± "
                     f"{r['final_return_std']:.1f} | {r['env_steps_per_second']:,.0f} | {r['wall_seconds']:.0f} |")
    write_report(out, rows, lines)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, (steps, curve) in curves.items():
        m, sd = curve.mean(1), curve.std(1)
        ax.plot(steps, m, label=algo)
        ax.fill_between(steps, m - sd, m + sd, alpha=0.2)
    ax.axhline(THRESHOLD, color="k", ls="--", lw=1, label=f"{THRESHOLD:.0f}")
    ax.set_xscale("log")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"training return (last {WINDOW} steps)")
    ax.set_title(f"Pendulum-v1, {a.seeds} seeds (mean ± std)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)


if __name__ == "__main__":
    main()

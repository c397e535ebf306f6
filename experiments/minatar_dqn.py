"""DQN on MinAtar: learning curves over several seeds (issue 4's Breakout target).

    python experiments/minatar_dqn.py [--games Breakout-MinAtar SpaceInvaders-MinAtar] [--seeds 2]
                                      [--frames 3000000]
                                      [--out experiments/results/minatar_dqn]

Trains rlx's DQN with the game's preset (``rlx train dqn --env GAME``), evaluates
each seed's greedy policy over 10 episodes, and writes per game a run folder
(metrics.csv, learning_curve.png: mean ± std over seeds), plus results.json and
results.md with the final returns against the target (Breakout: ≥ 10 within 3M
frames; a random policy scores about 0.5).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rlx

from _report import write_report

TARGETS = {"Breakout-MinAtar": 10.0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--games", nargs="+", default=["Breakout-MinAtar", "SpaceInvaders-MinAtar"])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--frames", type=int, default=3_000_000)
    p.add_argument("--out", default="experiments/results/minatar_dqn")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for game in a.games:
        r = rlx.train("dqn", game, num_seeds=a.seeds, total_steps=a.frames, eval_episodes=10, out=out / game)
        s = r.summary
        rows.append(dict(game=game, seeds=a.seeds, frames=a.frames, target=TARGETS.get(game),
                         final_return_mean=s["final_return_mean"], final_return_per_seed=s["final_return_per_seed"],
                         env_steps_per_second=s["env_steps_per_second"], wall_seconds=s["wall_seconds"]))
    lines = ["| game | seeds | frames | final return (mean; per seed) | target | env-steps/s | wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        per = ", ".join(f"{x:.1f}" for x in r["final_return_per_seed"])
        lines.append(f"| {r['game']} | {r['seeds']} | {r['frames']:,} | {r['final_return_mean']:.1f} ({per}) | "
                     f"{r['target'] if r['target'] is not None else '–'} | {r['env_steps_per_second']:,.0f} | "
                     f"{r['wall_seconds']:.0f} |")
    write_report(out, rows, lines)


if __name__ == "__main__":
    main()

"""DQN throughput on CartPole-v1: env-steps/s and gradient-steps/s at 1 and 8 seeds,
each in a fresh process, 100k steps per seed, 4 envs and one gradient step of 128
transitions per vectorised step (replay ratio 1/4): the CartPole preset
(prioritised replay, 3-step returns, Double DQN) and the same without prioritised
replay and n-step returns ("vanilla": Double DQN, uniform replay, as rejax's DQN).

    python scripts/bench_dqn.py [--total-steps 100000] [--repeats 3] [--out scripts/results/bench_dqn.json]

With ``--repeats k`` each row is the median of k fresh processes (by env-steps/s),
and the table shows the range: one-core timings here vary by ±10% from run to run.

rejax 0.1.3's DQN did 664 env-steps/s on a 2-core machine (100k steps in 150 s);
the goal is ≥ 10× that.
"""

from __future__ import annotations

import argparse
import os

from _child import median_run, write_results

REJAX_SPS = 664.0

CHILD = r"""
import json, sys
import rlx
seeds, total, variant = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
over = dict(prioritized=False, n_step=1) if variant == "vanilla" else {}
r = rlx.train("dqn", "CartPole-v1", num_seeds=seeds, total_steps=total, eval_episodes=10,
              show_progress=False, overrides=over)
s = r.summary
print(json.dumps(dict(variant=variant, seeds=seeds, env_steps_per_second=s["env_steps_per_second"],
                      gradient_steps_per_second=s["updates"] * seeds / s["train_seconds"],
                      compile_seconds=s["compile_seconds"], train_seconds=s["train_seconds"],
                      final_return_mean=s["final_return_mean"],
                      final_return_per_seed=s["final_return_per_seed"])))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total-steps", type=int, default=100_000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bench_dqn.json"))
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    rows = [median_run(CHILD, args.repeats, seeds, args.total_steps, variant)
            for variant in ("vanilla", "preset") for seeds in (1, 8)]
    for r in rows:
        r["vs_rejax"] = r["env_steps_per_second"] / REJAX_SPS
    lines = ["| variant | seeds | env-steps/s (median; range) | × rejax (664) | gradient steps/s | compile s | "
             "final return |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = min(r["env_steps_per_second_runs"]), max(r["env_steps_per_second_runs"])
        lines.append(f"| {r['variant']} | {r['seeds']} | {r['env_steps_per_second']:,.0f}; {lo:,.0f}–{hi:,.0f} | "
                     f"{r['vs_rejax']:.1f} | "
                     f"{r['gradient_steps_per_second']:,.0f} | {r['compile_seconds']:.1f} | "
                     f"{r['final_return_mean']:.1f} |")
    write_results(args.out, dict(total_steps=args.total_steps, rejax_env_steps_per_second=REJAX_SPS,
                                 runs=rows), lines)


if __name__ == "__main__":
    main()

"""Replay memory: a 1M-transition DQN buffer of MinAtar Breakout frames, in a fresh process.

    python scripts/bench_replay_memory.py [--buffer 1000000] [--steps 20000] [--prioritized]
                                          [--out scripts/results/bench_replay_memory.json]

Requirements (issue 4): the buffer takes at most 1.1× the raw bytes of the
observations it stores (10 × 10 × 4 uint8 = 400 bytes each), and the training
loop's peak memory does not double it. The child reports the buffer's bytes (all
its arrays), the observations' raw bytes, the resident set once the run's programs
are compiled (XLA's compiler leaves a few hundred MiB resident whatever the buffer
size: that is the baseline) and the peak resident set (``ru_maxrss``) over a short
DQN run (the buffer is allocated whole by the init program and donated through
every compiled chunk). Growth = peak − baseline: the buffer once, plus what the
training loop adds.
"""

from __future__ import annotations

import argparse
import os

from _child import run_child, write_results

CHILD = r"""
import json, resource, sys
import jax, jax.numpy as jnp
import numpy as np
import rlx
from rlx.run import runner
buffer, steps, prioritized = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"

def rss():  # bytes
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024

marks = {"start": rss()}
compile_programs = runner.compile_programs

def compile_and_mark(*a, **k):  # the resident set once XLA has compiled, before the buffer exists
    p = compile_programs(*a, **k)
    marks["after_compile"] = rss()
    return p

runner.compile_programs = compile_and_mark
r = rlx.train("dqn", "Breakout-MinAtar", total_steps=steps, eval_episodes=0, chunks=4, show_progress=False,
              overrides=dict(buffer_size=buffer, num_envs=4, learning_starts=1000, batch_size=32,
                             prioritized=prioritized))
buf = r.state.buffer
buffer_bytes = sum(int(np.prod(x.shape[1:])) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(buf))
tree_bytes = sum(int(np.prod(x.shape[1:])) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(r.state.priorities))
obs_bytes = int(np.prod(buf.obs.shape[1:])) * buf.obs.dtype.itemsize
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(dict(transitions=int(np.prod(buf.obs.shape[1:3])), obs_bytes=obs_bytes, buffer_bytes=buffer_bytes,
                      priority_tree_bytes=tree_bytes, start_rss=marks["start"], baseline_rss=marks["after_compile"],
                      peak_rss=peak, growth=peak - marks["after_compile"], prioritized=prioritized,
                      backend=jax.default_backend())))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buffer", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--prioritized", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "bench_replay_memory.json"))
    args = ap.parse_args()
    r = run_child(CHILD, args.buffer, args.steps, int(args.prioritized))
    r["buffer_over_obs"] = r["buffer_bytes"] / r["obs_bytes"]
    r["growth_over_buffer"] = r["growth"] / (r["buffer_bytes"] + r["priority_tree_bytes"])
    mib = lambda b: f"{b / 2**20:,.0f} MiB"  # noqa: E731
    lines = ["| transitions | observations | buffer (all arrays) | buffer / observations | sum tree | "
             "RSS after compiling | peak RSS | growth / (buffer + tree) |",
             "|---|---|---|---|---|---|---|---|",
             f"| {r['transitions']:,} | {mib(r['obs_bytes'])} | {mib(r['buffer_bytes'])} | "
             f"{r['buffer_over_obs']:.3f} (≤ 1.1) | {mib(r['priority_tree_bytes'])} | {mib(r['baseline_rss'])} | "
             f"{mib(r['peak_rss'])} | {r['growth_over_buffer']:.2f} (< 2) |"]
    write_results(args.out, r, lines)


if __name__ == "__main__":
    main()

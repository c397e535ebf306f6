"""MJX task throughput: raw env-steps/s per task and batch size, and PPO training on InvertedPendulum.

    python scripts/bench_mjx.py [--tasks Hopper-v5 ...] [--batches 256 1024] [--out scripts/results/bench_mjx.json]

Raw stepping: ``batch`` auto-resetting environments, uniform random actions, 20
vectorised steps in one jitted ``lax.scan`` (timed after compiling; the compile time
is reported too). PPO: rlx's InvertedPendulum-v5 preset, which uses brax's PPO settings
for its inverted pendulum (256 envs, unroll 5 × 32 minibatches, 4 epochs), one seed,
1M steps. Baseline from the issue: brax 0.14.2's PPO on its own inverted_pendulum (jax
≤ 0.9, the same settings, a 2-core machine) trains at about 4.3k env-steps/s after 23 s of
compiling. Each measurement runs in a fresh process. Writes JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform

from _child import run_child, write_results

from rlx.envs.mujoco_tasks import TASKS

BRAX_PPO = dict(env_steps_per_second=4300.0, compile_seconds=23.0)

CHILD = r"""
import json, sys, time
import rlx, jax, jax.numpy as jnp
mode = sys.argv[1]
if mode == "ppo":
    r = rlx.train("ppo", "InvertedPendulum-v5", num_seeds=1, total_steps=int(sys.argv[2]), eval_episodes=0,
                  show_progress=False)
    s = r.summary
    print(json.dumps(dict(env_steps_per_second=s["env_steps_per_second"], compile_seconds=s["compile_seconds"],
                          final_train_return=s["train_return_mean"])))
else:
    name, n, T = sys.argv[2], int(sys.argv[3]), 20
    env, params = rlx.make(name)
    env = rlx.envs.AutoReset(env)
    space = env.action_space(params)
    v_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    def run(key):
        state, _ = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, n), params)
        def body(state, k):
            ka, ks = jax.random.split(k)
            a = jax.random.uniform(ka, (n,) + space.shape, minval=space.low, maxval=space.high)
            state, ts = v_step(jax.random.split(ks, n), state, a, params)
            return state, ts.reward.sum()
        return jax.lax.scan(body, state, jax.random.split(key, T))[1].sum()
    t = time.perf_counter(); f = jax.jit(run).lower(jax.random.key(0)).compile(); c = time.perf_counter() - t
    f(jax.random.key(1)).block_until_ready()
    t = time.perf_counter(); f(jax.random.key(2)).block_until_ready(); dt = time.perf_counter() - t
    print(json.dumps(dict(task=name, batch=n, env_steps_per_second=n * T / dt, compile_seconds=c)))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=[t.name for t in TASKS])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 1024])
    p.add_argument("--ppo-steps", type=int, default=1_000_000, help="0: skip the PPO measurement")
    p.add_argument("--out", default="scripts/results/bench_mjx.json")
    a = p.parse_args()
    raw = [run_child(CHILD, "raw", t, n) for t in a.tasks for n in a.batches]
    ppo = run_child(CHILD, "ppo", a.ppo_steps) if a.ppo_steps else None
    result = dict(benchmark="mjx", machine=platform.machine(), cpus=os.cpu_count(), raw=raw, ppo=ppo,
                  brax_ppo_baseline=BRAX_PPO)
    lines = ["| task | batch | env-steps/s | compile s |", "|---|---:|---:|---:|"]
    lines += [f"| {r['task']} | {r['batch']} | {r['env_steps_per_second']:,.0f} | {r['compile_seconds']:.1f} |"
              for r in raw]
    if ppo:
        ratio = ppo["env_steps_per_second"] / BRAX_PPO["env_steps_per_second"]
        lines += ["", "| PPO on InvertedPendulum (brax's settings) | env-steps/s | compile s |", "|---|---:|---:|",
                  f"| rlx (MJX) | {ppo['env_steps_per_second']:,.0f} (×{ratio:.1f} brax) | {ppo['compile_seconds']:.1f} |",
                  f"| brax 0.14.2 (issue's figure) | {BRAX_PPO['env_steps_per_second']:,.0f} | "
                  f"{BRAX_PPO['compile_seconds']:.1f} |"]
    write_results(a.out, result, lines)


if __name__ == "__main__":
    main()

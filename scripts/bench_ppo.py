"""PPO throughput on CartPole-v1: env-steps/s at 1 and 16 seeds, compile time, raw env rate.

    python scripts/bench_ppo.py [--total-steps 500000] [--repeats 3] [--out scripts/results/bench_ppo.json]

Settings as in the foundation issue: 16 envs × 128 steps, 4 epochs, 4
minibatches, 64-64 tanh MLPs. Each configuration runs in a fresh process so
compile times do not share caches; with ``--repeats k`` each row is the median of
k processes (the range is printed: one-core timings vary by ±10% here). Writes JSON
and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from _child import median_run, run_child

CHILD = r"""
import json, sys, time
import rlx, jax, jax.numpy as jnp
mode, arg, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if mode == "train":
    r = rlx.train("ppo", "CartPole-v1", num_seeds=arg, total_steps=total, eval_episodes=0,
                  show_progress=False, overrides=dict(num_envs=16, num_steps=128, epochs=4,
                  minibatches=4, hidden=(64, 64), activation="tanh"))
    s = r.summary
    print(json.dumps(dict(seeds=arg, env_steps_per_second=s["env_steps_per_second"],
                          compile_seconds=s["compile_seconds"], train_seconds=s["train_seconds"],
                          final_train_return=s["train_return_mean"], devices=len(jax.local_devices()))))
else:  # raw environment stepping: arg environments, random actions, one scan
    env, params = rlx.make("CartPole-v1")
    env = rlx.envs.AutoReset(env)
    n, T = arg, 1000
    def run(key):
        state, ts = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, n), params)
        def body(c, k):
            state = c
            ka, ks = jax.random.split(k)
            a = jax.random.randint(ka, (n,), 0, 2)
            state, ts = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(ks, n), state, a, params)
            return state, ts.reward.sum() + ts.obs.sum()
        return jax.lax.scan(body, state, jax.random.split(key, T))[1].sum()
    f = jax.jit(run).lower(jax.random.key(0)).compile()
    f(jax.random.key(1)).block_until_ready()
    t = time.perf_counter(); f(jax.random.key(2)).block_until_ready(); dt = time.perf_counter() - t
    print(json.dumps(dict(envs=n, env_steps_per_second=n * T / dt)))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total-steps", type=int, default=500_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    p.add_argument("--out", default="scripts/results/bench_ppo.json")
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    rows = [median_run(CHILD, a.repeats, "train", n, a.total_steps) for n in a.seeds]
    raw = [run_child(CHILD, "raw", n, 0) for n in (1, 16, 256)]
    result = dict(benchmark="ppo_cartpole", total_steps=a.total_steps, machine=platform.machine(),
                  cpus=os.cpu_count(), time=time.strftime("%Y-%m-%d %H:%M:%S"),
                  rejax_reference={"1": 137_000, "16": 180_000, "compile_seconds": 7.0},
                  ppo=rows, raw_env=raw)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"PPO CartPole-v1, {a.total_steps:,} steps per seed")
    for c in ("seeds", "env-steps/s (median)", "range", "× rejax 0.1.3", "compile s", "train s",
              "final train return"):
        t.add_column(c, justify="right")
    for r in rows:
        ref = result["rejax_reference"].get(str(r["seeds"]))
        runs = r["env_steps_per_second_runs"]
        t.add_row(str(r["seeds"]), f"{r['env_steps_per_second']:,.0f}", f"{min(runs):,.0f}–{max(runs):,.0f}",
                  f"{r['env_steps_per_second'] / ref:.2f}" if ref else "-",
                  f"{r['compile_seconds']:.2f}", f"{r['train_seconds']:.2f}",
                  f"{r['final_train_return']:.1f}")
    Console().print(t)
    t2 = Table(title="raw CartPole-v1 stepping (auto-reset, random actions)")
    t2.add_column("envs", justify="right")
    t2.add_column("env-steps/s", justify="right")
    for r in raw:
        t2.add_row(str(r["envs"]), f"{r['env_steps_per_second']:,.0f}")
    Console().print(t2)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

"""PPO throughput on CartPole-v1: env-steps/s at 1 and 16 seeds, compile time, raw env rate.

    python scripts/bench_ppo.py [--total-steps 500000] [--repeats 3] [--out scripts/results/bench_ppo.json]
    python scripts/bench_ppo.py --repeats 5 --rejax-python "$(bash scripts/rejax_env.sh)"

Settings as in the foundation issue: 16 envs × 128 steps, 4 epochs, 4
minibatches, 64-64 tanh MLPs. Each configuration runs in a fresh process so
compile times do not share caches; with ``--repeats k`` each row is the median of
k processes (the range is printed: one-core timings vary by ±10% here). Writes JSON
and prints a table.

With ``--rejax-python`` (an interpreter with rejax 0.1.3, which needs jax 0.9.2 and
gymnax < 1: ``scripts/rejax_env.sh`` builds one) each repeat also trains rejax's PPO
at the same settings, right after rlx's run, so both see the same machine state;
the ``× rejax`` column is then the median of those side-by-side ratios rather than
a ratio to the reference figures measured when the issue was written.
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

# rejax 0.1.3's PPO at the same settings (run by the rejax environment's interpreter),
# several seeds vmapped as in its README; its evaluation callback is replaced by a
# no-op, as rlx's timed run evaluates nothing.
REJAX_CHILD = r"""
import json, sys, time
import jax, jax.numpy as jnp
from rejax import PPO
seeds, total = int(sys.argv[1]), int(sys.argv[2])
algo = PPO.create(env="CartPole-v1", num_envs=16, num_steps=128, num_epochs=4, num_minibatches=4,
                  total_timesteps=total, eval_freq=total, skip_initial_evaluation=True,
                  agent_kwargs=dict(hidden_layer_sizes=(64, 64), activation="tanh"))
algo = algo.replace(eval_callback=lambda algo, ts, rng: jnp.zeros(()))
keys = jax.random.split(jax.random.PRNGKey(0), seeds)
if seeds == 1:  # one seed unvmapped, as one would run it (the faster form here)
    keys = keys[0]
t = time.perf_counter()
train = jax.jit(algo.train if seeds == 1 else jax.vmap(algo.train)).lower(keys).compile()
compile_s = time.perf_counter() - t
t = time.perf_counter()
jax.block_until_ready(train(keys))
dt = time.perf_counter() - t
print(json.dumps(dict(seeds=seeds, env_steps_per_second=seeds * total / dt, compile_seconds=compile_s,
                      train_seconds=dt, jax=jax.__version__)))
"""


def side_by_side(repeats: int, seeds: int, total: int, rejax_python: str) -> tuple[dict, dict]:
    """``repeats`` alternating rlx and rejax runs: rlx's median row with its runs, and
    rejax's runs with the median of the per-pair throughput ratios."""
    pairs = [(run_child(CHILD, "train", seeds, total),
              run_child(REJAX_CHILD, seeds, total, python=rejax_python)) for _ in range(max(1, repeats))]
    key = "env_steps_per_second"
    ours = sorted((p[0] for p in pairs), key=lambda r: r[key])
    ratios = sorted(p[0][key] / p[1][key] for p in pairs)
    theirs = sorted((p[1] for p in pairs), key=lambda r: r[key])
    rejax = {**theirs[len(theirs) // 2], f"{key}_runs": [r[key] for r in theirs],
             "ratio_runs": ratios, "ratio_median": ratios[len(ratios) // 2]}
    return {**ours[len(ours) // 2], f"{key}_runs": [r[key] for r in ours]}, rejax


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--total-steps", type=int, default=500_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    p.add_argument("--out", default="scripts/results/bench_ppo.json")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--rejax-python", default=None,
                   help="interpreter of an environment with rejax 0.1.3 (scripts/rejax_env.sh): time it side by side")
    a = p.parse_args()
    if a.rejax_python:
        rows, rejax = zip(*(side_by_side(a.repeats, n, a.total_steps, a.rejax_python) for n in a.seeds))
        for r, x in zip(rows, rejax):
            r["rejax_side_by_side"] = x
    else:
        rows = [median_run(CHILD, a.repeats, "train", n, a.total_steps) for n in a.seeds]
    raw = [run_child(CHILD, "raw", n, 0) for n in (1, 16, 256)]
    result = dict(benchmark="ppo_cartpole", total_steps=a.total_steps, machine=platform.machine(),
                  cpus=os.cpu_count(), time=time.strftime("%Y-%m-%d %H:%M:%S"),
                  rejax_reference={"1": 137_000, "16": 180_000, "compile_seconds": 7.0},
                  ppo=list(rows), raw_env=raw)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"PPO CartPole-v1, {a.total_steps:,} steps per seed")
    side = bool(a.rejax_python)
    columns = ["seeds", "env-steps/s (median)", "range"]
    columns += ["rejax env-steps/s (median)", "× rejax, side by side (range)", "rejax compile s"] if side \
        else ["× rejax 0.1.3 (reference figures)"]
    for c in columns + ["compile s", "train s", "final train return"]:
        t.add_column(c, justify="right")
    for r in rows:
        runs = r["env_steps_per_second_runs"]
        cells = [str(r["seeds"]), f"{r['env_steps_per_second']:,.0f}", f"{min(runs):,.0f}–{max(runs):,.0f}"]
        if side:
            x = r["rejax_side_by_side"]
            cells += [f"{x['env_steps_per_second']:,.0f}",
                      f"{x['ratio_median']:.2f} ({min(x['ratio_runs']):.2f}–{max(x['ratio_runs']):.2f})",
                      f"{x['compile_seconds']:.2f}"]
        else:
            ref = result["rejax_reference"].get(str(r["seeds"]))
            cells.append(f"{r['env_steps_per_second'] / ref:.2f}" if ref else "-")
        t.add_row(*cells, f"{r['compile_seconds']:.2f}", f"{r['train_seconds']:.2f}",
                  f"{r['final_train_return']:.1f}")
    console = Console(width=max(Console().width, 150))  # the side-by-side table is wide
    console.print(t)
    t2 = Table(title="raw CartPole-v1 stepping (auto-reset, random actions)")
    t2.add_column("envs", justify="right")
    t2.add_column("env-steps/s", justify="right")
    for r in raw:
        t2.add_row(str(r["envs"]), f"{r['env_steps_per_second']:,.0f}")
    console.print(t2)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

"""Evolution-strategy throughput on CartPole-v1 and population memory, each in a fresh process.

    python scripts/bench_es.py [--generations 200] [--scale 4096 16384] [--out scripts/results/bench_es.json]

Throughput: population 256, a 4-32-2 tanh MLP, one 500-step episode per member
(every rollout runs the full 500 steps; env-steps/s counts them all, the upper
bound evosax's figure uses). Three programs, one seed each:

* ``rlx es``: rlx's own OpenAI-ES through ``rlx.train``;
* ``rlx evosax``: evosax's ``Open_ES`` through rlx's adapter (``rlx.train("evosax")``);
* ``evosax alone``: evosax's ``Open_ES`` ask/evaluate/tell on gymnax's
  CartPole-v1 (rlx's CartPole when gymnax is absent), the generations either
  fused in one ``fori_loop`` or one jitted generation per Python loop iteration
  (as evosax's examples do).

evosax 0.3.2's Open_ES on gymnax CartPole-v1 ran 22.9 generations/s on a 2-core
machine (compile 1.7 s); the goals are ≥ 1.5× that for rlx's ES and the adapter
within 10% of evosax alone.

Memory: population 4096 with a 100k-parameter policy (a 4-256-256-128-2 MLP),
256 members at a time: XLA's temporary buffer size for one generation and the
process's peak resident set over a few generations, against the 1.6 GB the
population's perturbation matrix would take.
"""

from __future__ import annotations

import argparse
import os

from _child import run_child, write_results

EVOSAX_GPS = 22.9

RLX = r"""
import json, sys
import rlx
algo, gens, pop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
over = dict(population=pop, hidden=(32,), activation="tanh")
if algo == "evosax":
    over.update(strategy="Open_ES", sigma=0.1, lr=0.03)
r = rlx.train(algo, "CartPole-v1", total_steps=pop * 500 * gens, chunks=4, eval_episodes=0,
              show_progress=False, overrides=over)
s = r.summary
print(json.dumps(dict(generations_per_second=s["updates"] / s["train_seconds"],
                      env_steps_per_second=s["env_steps_per_second"],
                      compile_seconds=s["compile_seconds"], final_return=s["train_return_mean"])))
"""

EVOSAX_ALONE = r"""
import json, sys, time
import jax, jax.numpy as jnp, optax
from evosax.algorithms import Open_ES
from flax import linen as nn
from jax.flatten_util import ravel_pytree
gens, mode = int(sys.argv[1]), sys.argv[2]
try:
    import gymnax
    env, env_params = gymnax.make("CartPole-v1")
    source = "gymnax"
    reset = lambda k: env.reset(k, env_params)
    def step(k, s, a):  # gymnax >= 1.0: obs, state, reward, terminated, truncated, info
        obs, s, r, term, trunc, _ = env.step(k, s, a, env_params)
        return obs, s, r, term | trunc
except ImportError:
    import rlx
    env, env_params = rlx.make("CartPole-v1")
    source = "rlx"
    def reset(k):
        s, ts = env.reset(k, env_params)
        return ts.obs, s
    def step(k, s, a):
        s, ts = env.step(k, s, a, env_params)
        return ts.obs, s, ts.reward, ts.done

class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(2)(nn.tanh(nn.Dense(32)(x)))

model = MLP()
flat, unravel = ravel_pytree(model.init(jax.random.key(0), jnp.zeros(4)))
es = Open_ES(256, flat, optimizer=optax.adam(0.03), std_schedule=optax.constant_schedule(0.1))
es_params = es.default_params

def episode(theta, key):
    k_reset, k_run = jax.random.split(key)
    obs, state = reset(k_reset)
    p = unravel(theta)
    def body(c, k):
        obs, state, ret, alive = c
        obs, state, r, done = step(k, state, jnp.argmax(model.apply(p, obs)))
        return (obs, state, ret + alive * r, alive * (1 - done)), None
    (_, _, ret, _), _ = jax.lax.scan(body, (obs, state, 0.0, 1.0), jax.random.split(k_run, 500))
    return ret

def generation(i, c):
    state, key = c
    key, k_ask, k_eval = jax.random.split(key, 3)
    x, state = es.ask(k_ask, state, es_params)
    f = jax.vmap(episode, in_axes=(0, None))(x, k_eval)
    state, _ = es.tell(k_ask, x, -f, state, es_params)
    return state, key

@jax.jit
def run(state, key, n):
    return jax.lax.fori_loop(0, n, generation, (state, key))

one = jax.jit(lambda state, key: generation(0, (state, key)))
state = es.init(jax.random.key(1), flat, es_params)
key = jax.random.key(2)
t = time.perf_counter()
if mode == "fused":  # all generations in one program
    compiled = run.lower(state, key, gens).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(compiled(state, key, 2))
    t = time.perf_counter()
    jax.block_until_ready(compiled(state, key, gens))
else:  # one jitted generation per Python loop iteration, as evosax's examples do
    jax.block_until_ready(one(state, key))
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(gens):
        state, key = one(state, key)
    jax.block_until_ready(state)
dt = time.perf_counter() - t
print(json.dumps(dict(generations_per_second=gens / dt, env_steps_per_second=gens * 256 * 500 / dt,
                      compile_seconds=compile_s, env_source=source)))
"""

MEMORY = r"""
import json, resource, sys
import jax, rlx
from rlx.algos import es
env, params = rlx.make("CartPole-v1")
cfg = es.ESConfig(population=4096, chunk=256, hidden=(256, 256, 128))
agent = es.build(cfg, env, params, 10**9)
state = jax.jit(agent.init)(jax.random.key(0), cfg)
n = state.theta.shape[0]
update = jax.jit(agent.update, donate_argnums=0).lower(state).compile()
temp = update.memory_analysis().temp_size_in_bytes
for _ in range(int(sys.argv[1])):
    state, m = update(state)
jax.block_until_ready(state)
print(json.dumps(dict(population=4096, chunk=256, parameters=int(n), backend=jax.default_backend(),
                      population_matrix_bytes=4096 * int(n) * 4, xla_temp_bytes=int(temp),
                      peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      episode_return=float(m["episode_return"]))))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--memory-generations", type=int, default=1)
    ap.add_argument("--scale", type=int, nargs="*", default=[],
                    help="also time rlx's ES at these populations (e.g. 4096 16384 on an accelerator)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bench_es.json"))
    args = ap.parse_args()
    rows = {
        "rlx es": run_child(RLX, "es", args.generations, 256),
        "rlx evosax (Open_ES)": run_child(RLX, "evosax", args.generations, 256),
    }
    try:
        rows["evosax alone (Open_ES), fused"] = run_child(EVOSAX_ALONE, args.generations, "fused")
        rows["evosax alone (Open_ES), Python loop"] = run_child(EVOSAX_ALONE, args.generations, "loop")
    except Exception as e:  # evosax not installed
        print(f"evosax alone skipped: {e}")
    for r in rows.values():
        r["vs_evosax_reference"] = r["generations_per_second"] / EVOSAX_GPS
    scale = {pop: run_child(RLX, "es", max(args.generations * 256 // pop, 20), pop) for pop in args.scale}
    memory = run_child(MEMORY, args.memory_generations)
    lines = ["| program | generations/s | env-steps/s | × evosax reference (22.9) | compile s |",
             "|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['generations_per_second']:.1f} | {r['env_steps_per_second']:,.0f} | "
                     f"{r['vs_evosax_reference']:.2f} | {r['compile_seconds']:.1f} |")
    fused = rows.get("evosax alone (Open_ES), fused")
    if fused:
        ratio = rows["rlx evosax (Open_ES)"]["generations_per_second"] / fused["generations_per_second"]
        lines.append(f"\nrlx's evosax adapter / evosax alone (fused): {ratio:.2f}; rlx es / evosax alone "
                     f"(fused): {rows['rlx es']['generations_per_second'] / fused['generations_per_second']:.2f} "
                     f"(evosax alone on {fused['env_source']}'s CartPole)")
    for pop, r in scale.items():
        lines.append(f"\nrlx es, population {pop}: {r['generations_per_second']:.1f} generations/s, "
                     f"{r['env_steps_per_second']:,.0f} env-steps/s, compile {r['compile_seconds']:.1f} s")
    m = memory
    lines.append(f"\nMemory, population {m['population']} × {m['parameters']:,} parameters, "
                 f"{m['chunk']} members at a time: XLA temporaries {m['xla_temp_bytes'] / 2**20:,.0f} MiB, "
                 f"peak RSS {m['peak_rss_bytes'] / 2**20:,.0f} MiB; the population matrix would be "
                 f"{m['population_matrix_bytes'] / 2**20:,.0f} MiB.")
    write_results(args.out, dict(generations=args.generations, evosax_reference_generations_per_second=EVOSAX_GPS,
                                 backend=memory["backend"], throughput=rows, scale=scale, memory=memory), lines)


if __name__ == "__main__":
    main()

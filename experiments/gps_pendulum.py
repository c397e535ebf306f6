"""Guided policy search on Pendulum-v1 and CartPole swing-up: the policy against the iLQR-MPC expert.

    python experiments/gps_pendulum.py [--out experiments/results/gps_pendulum] [--seeds 3]
                                       [--eval-episodes 32] [--tasks pendulum cartpole]

``rlx.algos.gps.gps``: N trajectories from N fixed start states (the reset
distribution), alternating iLQR on ``c(x, u) + (ρ/2)‖u − π(o(x))‖²`` (warm-started) with
Adam regression of an MLP policy (64-64 tanh) onto the optimised controls, plus 8
perturbed states per step labelled by iLQR's feedback gains; all iterations and seeds of
one task in one compiled program (``vmap`` over seeds × ρ settings).

Variants (ρ and its growth are pytree leaves: one compile per task):

* ``GPS``: the task's penalty schedule — Pendulum ``ρ = 0.1`` (constant), CartPole
  swing-up ``ρ_i = min(1·1.5^i, 10)`` (the ``GPSConfig`` default);
* the other task's schedule, for comparison;
* ``ρ = 0``: no coupling — the same initial iLQR trajectories, never pulled towards the
  policy (regression onto fixed optimal trajectories with feedback labels).

References on the same evaluation episodes (common start states from the reset
distribution; Pendulum 200 steps, CartPole swing-up 500 steps):

* iLQR-MPC expert: receding-horizon iLQR on the same model cost (``gps.receding_horizon``,
  horizon 20 / 50, 30 iterations, warm-started by the shifted plan) — the planner that
  initialises GPS's trajectories. Both tasks are deterministic and rlx's model is the
  environment's own step, so its closed-loop plan replayed in the environment is its return;
* a uniformly random policy.

CartPole swing-up (``CartPoleSwingUp-v0``: continuous force in [−1, 1], reward
``½(1 + cos θ)``, terminates off the track) plans with the model-only shaping
``gps.cartpole_swingup_penalty`` (``0.1·x² + 0.01·u²``) and trajectories of 200 steps,
evaluated over 500 steps. Writes results.json, results.md and gps_learning_curves.png to --out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import rlx
from rlx.algos import gps as G
from rlx.algos import imitation as im

from _report import write_report

TASKS = {
    "pendulum": dict(env="Pendulum-v1", steps=200, penalty=None,
                     config=dict(num_trajectories=16, horizon=100, init_horizon=20, iterations=10),
                     gps=("ρ = 0.1", 0.1, 1.0)),
    "cartpole": dict(env="CartPoleSwingUp-v0", steps=500, penalty=G.cartpole_swingup_penalty,
                     config=dict(num_trajectories=16, horizon=200, init_horizon=50, iterations=10),
                     gps=("ρ = min(1.5^i, 10)", 1.0, 1.5)),
}
SCHEDULES = [("ρ = 0.1", 0.1, 1.0), ("ρ = min(1.5^i, 10)", 1.0, 1.5), ("ρ = 0 (no coupling)", 0.0, 1.0)]


def stack(configs):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x, jnp.float32) for x in xs]), *configs)


def replay_returns(env, params, key, episodes, U):
    """Returns of the control sequences ``U [E, T, m]`` from the start states that
    ``imitation.evaluate(..., key, episodes, T)`` uses (no reward after termination)."""
    k_reset, _ = jax.random.split(key)
    states, _ = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_reset, episodes), params)

    def step(carry, u):
        s, alive, R = carry
        s, ts = jax.vmap(env.step, in_axes=(None, 0, 0, None))(jax.random.key(0), s, u, params)
        return (s, alive & ~ts.done, R + jnp.where(alive, ts.reward, 0.0)), None

    init = (states, jnp.ones((episodes,), bool), jnp.zeros((episodes,)))
    return jax.lax.scan(step, init, jnp.swapaxes(U, 0, 1))[0][2]


def run_task(name, a, key):
    t_task = time.perf_counter()
    spec_ = TASKS[name]
    env, params = rlx.make(spec_["env"])
    spec = im.action_spec(env.action_space(params))
    T_eval = spec_["steps"]
    k_eval, k_seeds = jax.random.split(key)
    base = G.GPSConfig(**spec_["config"], eval_episodes=a.eval_episodes, eval_steps=T_eval)
    configs = [G.GPSConfig(**spec_["config"], eval_episodes=a.eval_episodes, eval_steps=T_eval, rho=r, rho_growth=g)
               for _, r, g in SCHEDULES]
    G.validate(base)
    for c in configs:
        G.validate(c)
    stacked = stack(configs)
    seeds = jax.random.split(k_seeds, a.seeds)
    low, high = jnp.asarray(spec.low), jnp.asarray(spec.high)

    def one(cfg, k):  # the policy is evaluated after every iteration on the common evaluation episodes
        return G.gps(k, env, params, cfg, penalty=spec_["penalty"], eval_key=k_eval)[1]

    t = time.perf_counter()
    metrics = jax.jit(jax.vmap(jax.vmap(one, (None, 0)), (0, None)))(stacked, seeds)  # [configs, seeds, ...]
    jax.block_until_ready(metrics)
    t_gps = time.perf_counter() - t
    print(f"{name}: GPS {len(SCHEDULES)} schedules × {a.seeds} seeds in {t_gps:.0f} s")

    # references on the same evaluation episodes
    t = time.perf_counter()
    dynamics, cost = G.model(env, params, spec_["penalty"])
    k_reset, _ = jax.random.split(k_eval)
    x0 = jax.vmap(lambda k: env.unwrapped.reset(k, params)[0])(jax.random.split(k_reset, a.eval_episodes))
    mpc = jax.jit(jax.vmap(lambda x: G.receding_horizon(cost, dynamics, x, T_eval, horizon=base.init_horizon,
                                                        u_low=low, u_high=high, max_iters=base.ilqr_iters)[1]))
    R_expert = np.asarray(replay_returns(env, params, k_eval, a.eval_episodes, mpc(x0)))
    t_expert = time.perf_counter() - t

    def random_policy(obs, k):
        return jax.random.uniform(k, spec.shape, minval=low, maxval=high)
    R_random = np.asarray(im.evaluate(env, params, random_policy, k_eval, a.eval_episodes, T_eval))

    rows = []
    for i, (label, r, g) in enumerate(SCHEDULES):
        m = {k: np.asarray(v[i]) for k, v in metrics.items()}
        per_seed = m["policy_return"][:, -1]
        rows.append(dict(schedule=label, rho=r, rho_growth=g, is_gps=label == spec_["gps"][0],
                         return_mean=float(per_seed.mean()), return_std_over_seeds=float(per_seed.std()),
                         returns_per_seed=per_seed.tolist(),
                         fraction_of_expert=float((per_seed.mean() - R_random.mean())
                                                  / (R_expert.mean() - R_random.mean())),
                         init_cost=float(m["init_cost"].mean()), final_traj_cost=float(m["traj_cost"][:, -1].mean()),
                         final_policy_cost=float(m["policy_cost"][:, -1].mean()),
                         final_gap=float(m["gap"][:, -1].mean()),
                         curve=m["policy_return"].mean(0).tolist(), curve_std=m["policy_return"].std(0).tolist()))
        print(f"  {label}: return {per_seed.mean():.1f} ± {per_seed.std():.1f} (seeds {np.round(per_seed, 1)})")
    print(f"  iLQR-MPC expert {R_expert.mean():.1f}, random {R_random.mean():.1f}")
    return dict(env=spec_["env"], eval_steps=T_eval, config={k: v for k, v in spec_["config"].items()},
                penalty=getattr(spec_["penalty"], "__name__", None), expert_return=float(R_expert.mean()),
                expert_return_std=float(R_expert.std()), expert_horizon=base.init_horizon,
                random_return=float(R_random.mean()), rows=rows,
                timing=dict(gps_s=t_gps, expert_s=t_expert, total_s=time.perf_counter() - t_task))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/gps_pendulum")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--eval-episodes", type=int, default=32)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {name: run_task(name, a, jax.random.fold_in(jax.random.key(0), i))
               for i, name in enumerate(a.tasks)}
    total = time.perf_counter() - t0

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 4.2), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        for row in r["rows"]:
            y, s = np.array(row["curve"]), np.array(row["curve_std"])
            x = np.arange(1, len(y) + 1)
            ax.plot(x, y, marker="o", label=row["schedule"] + (" (GPS)" if row["is_gps"] else ""))
            ax.fill_between(x, y - s, y + s, alpha=0.15)
        ax.axhline(r["expert_return"], color="k", ls="--", lw=1, label=f"iLQR-MPC expert ({r['expert_return']:.0f})")
        ax.axhline(r["random_return"], color="grey", ls=":", lw=1, label=f"random ({r['random_return']:.0f})")
        ax.set_xlabel("GPS iteration")
        ax.set_ylabel(f"policy return ({a.eval_episodes} episodes, {r['eval_steps']} steps)")
        ax.set_title(r["env"])
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "gps_learning_curves.png", dpi=120)

    lines = [f"Guided policy search (`rlx.algos.gps`), {a.seeds} seeds per row; returns are means over "
             f"{a.eval_episodes} evaluation episodes from the reset distribution (the same start states for every "
             "policy), then over seeds (± the standard deviation across seeds); "
             "fraction = (R − R_random) / (R_expert − R_random).", ""]
    for name, r in results.items():
        c = r["config"]
        lines += [f"**{r['env']}** ({r['eval_steps']} steps; {c['num_trajectories']} trajectories of "
                  f"{c['horizon']} steps, {c['iterations']} iterations"
                  + (f", model shaping `{r['penalty']}`" if r["penalty"] else "") + "). "
                  f"iLQR-MPC expert (horizon {r['expert_horizon']}) {r['expert_return']:.1f} ± "
                  f"{r['expert_return_std']:.1f}; uniformly random {r['random_return']:.1f}.", "",
                  "| ρ schedule | policy return | fraction of expert | per seed | initial → final trajectory cost "
                  "| policy's cost on the model | final ‖u − π‖² |", "|---|---|---|---|---|---|---|"]
        for row in r["rows"]:
            tag = " **(GPS)**" if row["is_gps"] else ""
            lines.append(f"| {row['schedule']}{tag} | {row['return_mean']:.1f} ± {row['return_std_over_seeds']:.1f} | "
                         f"{row['fraction_of_expert']:.2f} | {', '.join(f'{x:.0f}' for x in row['returns_per_seed'])} | "
                         f"{row['init_cost']:.1f} → {row['final_traj_cost']:.1f} | {row['final_policy_cost']:.1f} | "
                         f"{row['final_gap']:.4f} |")
        tm = r["timing"]
        lines += ["", f"Wall time (s, 2 shared CPU cores, compile included): GPS {tm['gps_s']:.0f} "
                  f"({len(SCHEDULES)} schedules × {a.seeds} seeds, one program), expert {tm['expert_s']:.0f}, "
                  f"task total {tm['total_s']:.0f}.", ""]
    lines += ["Learning curves (`gps_learning_curves.png`): the policy's return after each iteration on the same "
              f"evaluation episodes, mean ± std over seeds. Total wall time {total:.0f} s."]
    write_report(out, dict(results=results, total_s=total, device=str(jax.devices()[0]), args=vars(a)), lines)


if __name__ == "__main__":
    main()

"""Imitation learning on Pendulum-v1 swing-up: BC, noisy-expert BC and DAgger from an MPC expert.

    python experiments/imitation_pendulum.py [--out experiments/results/imitation_pendulum] [--seeds 3]
                                             [--save-demos demos.npz]

Expert: ``rlx.algos.imitation.pendulum_expert()`` — CEM (horizon 25, 100 samples,
10 elites, 6 iterations) on rlx's own Pendulum dynamics with the negative reward as
cost, planning from scratch at every step from the observed state. Every episode
starts from gymnasium's reset distribution (θ ~ U[−π, π], θ̇ ~ U[−1, 1]) and lasts
200 steps; a demonstration is one episode (200 expert labels).

Learners (an MLP 64-64 tanh, MSE on the expert's torque, 2000 Adam steps) are
compared by the number of expert labels they consumed:

* BC: cloned from the first n of ``--demos`` clean expert demonstrations;
* noisy-expert BC: the expert's taken torques perturbed by N(0, ``--noise``²) (clipped
  to ±2), every visited state labelled with the expert's clean torque; the first n;
* DAgger: ``--dagger-iterations`` iterations of ``--dagger-episodes`` mixture rollouts
  each, β_i = 0.5^i (iteration 0: pure expert), refitting on the aggregate.

Score. Pendulum's returns are negative, so "% of the expert" is the normalised score
``(R − R_random) / (R_expert − R_random)``: 0 for the uniformly random torque policy,
1 for the expert, both measured on the same evaluation episodes (common start
states) as the learners. Targets (issue 8): BC ≥ 0.8 with 20 demonstrations, DAgger
≥ 0.95 within 10 iterations. Learner figures are means over ``--seeds`` seeds; each
seed has its own demonstrations (clean and noisy) and its own DAgger run.

Writes results.json, results.md and return_vs_labels.png to --out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import rlx
from rlx.algos import imitation as im

from _report import write_report

STEPS = 200


def random_torque(obs, key):
    return jax.random.uniform(key, (1,), minval=-2.0, maxval=2.0)


def first_episodes(ds: im.Dataset, n: int) -> im.Dataset:
    """``ds`` with only its first ``n`` episodes valid (same shapes: one compile for every n)."""
    keep = jnp.arange(ds.valid.shape[0])[:, None] < n
    return im.Dataset(ds.obs, ds.action, ds.taken, ds.reward, ds.valid & keep, ds.returns,
                      env_name=ds.env_name, expert_name=ds.expert_name, spec=ds.spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/imitation_pendulum")
    p.add_argument("--demos", type=int, default=20)
    p.add_argument("--noise", type=float, default=0.5)
    p.add_argument("--dagger-iterations", type=int, default=10)
    p.add_argument("--dagger-episodes", type=int, default=2)
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--save-demos", default=None, help="write seed 0's clean demonstrations to this .npz")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timing = {}

    env, params = rlx.make("Pendulum-v1")
    expert = im.pendulum_expert()
    spec = im.action_spec(env.action_space(params))
    cfg = im.BCConfig()
    k_demo, k_noisy, k_eval, k_train = jax.random.split(jax.random.key(0), 4)

    # -- reference returns on the common evaluation episodes
    t = time.perf_counter()
    eval_returns = jax.jit(lambda pol_params, k: im.evaluate(
        env, params, im.bc_policy(pol_params, cfg, spec), k, a.eval_episodes, STEPS))
    R_random = float(im.evaluate(env, params, random_torque, k_eval, a.eval_episodes, STEPS).mean())
    R_expert_eps = np.asarray(jax.jit(lambda k: im.evaluate(env, params, expert, k, a.eval_episodes, STEPS))(k_eval))
    R_expert = float(R_expert_eps.mean())
    timing["expert_eval_s"] = time.perf_counter() - t
    score = lambda R: (R - R_random) / (R_expert - R_random)  # noqa: E731
    print(f"expert {R_expert:.1f} ± {R_expert_eps.std():.1f}, random {R_random:.1f} over {a.eval_episodes} episodes")

    # -- demonstrations, one clean and one noisy set per seed
    t = time.perf_counter()
    seed_keys = jax.random.split(k_train, a.seeds)
    demos = [im.collect(env, params, expert, jax.random.fold_in(k_demo, s), a.demos, STEPS) for s in range(a.seeds)]
    noisy = [im.collect(env, params, expert, jax.random.fold_in(k_noisy, s), a.demos, STEPS, action_noise=a.noise)
             for s in range(a.seeds)]
    if a.save_demos:
        print(f"wrote {im.save_dataset(a.save_demos, demos[0])}")
    timing["collect_s"] = time.perf_counter() - t
    demo_return = float(np.mean([d.returns.mean() for d in demos]))
    noisy_return = float(np.mean([d.returns.mean() for d in noisy]))
    print(f"demos: return {demo_return:.1f}; noisy expert (σ = {a.noise}) {noisy_return:.1f}")

    # -- BC and noisy-expert BC against the number of demonstrations (seed s: its own demonstrations)
    t = time.perf_counter()
    counts = sorted({n for n in (1, 2, 4, 8, 12, 16, a.demos) if n <= a.demos})
    curves = {}
    for label, sets in (("BC", demos), ("noisy-expert BC", noisy)):
        rows = []
        for n in counts:
            R = [float(eval_returns(im.bc_train(k, first_episodes(data, n), cfg), k_eval).mean())
                 for k, data in zip(seed_keys, sets)]
            rows.append(dict(demos=n, labels=n * STEPS, return_mean=float(np.mean(R)), return_std=float(np.std(R)),
                             returns_per_seed=R, score=score(float(np.mean(R)))))
            print(f"{label} {n:2d} demos: {np.mean(R):.1f} (score {score(np.mean(R)):.3f})")
        curves[label] = rows
    timing["bc_s"] = time.perf_counter() - t

    # -- DAgger
    t = time.perf_counter()
    dcfg = im.DAggerConfig(iterations=a.dagger_iterations, episodes=a.dagger_episodes, max_steps=STEPS,
                           beta0=1.0, beta_decay=0.5, eval_episodes=a.eval_episodes)
    runs = [im.dagger(jax.random.fold_in(k, 1), env, params, expert, dcfg, eval_key=k_eval) for k in seed_keys]
    eval_curve = np.stack([np.asarray(m["eval_return"]) for _, _, m in runs])  # [seeds, iterations]
    labels = np.asarray(runs[0][2]["labels"])
    curves["DAgger"] = [dict(iteration=i, labels=int(labels[i]), beta=float(runs[0][2]["beta"][i]),
                             return_mean=float(eval_curve[:, i].mean()), return_std=float(eval_curve[:, i].std()),
                             returns_per_seed=eval_curve[:, i].tolist(), score=score(float(eval_curve[:, i].mean())),
                             rollout_return=float(np.mean([m["rollout_return"][i] for _, _, m in runs])))
                        for i in range(a.dagger_iterations)]
    for r in curves["DAgger"]:
        print(f"DAgger iteration {r['iteration']} (β = {r['beta']:.3f}, {r['labels']} labels): "
              f"{r['return_mean']:.1f} (score {r['score']:.3f})")
    timing["dagger_s"] = time.perf_counter() - t
    timing["total_s"] = time.perf_counter() - t_start

    # -- plot
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, rows in curves.items():
        x = np.array([r["labels"] for r in rows])
        y = np.array([r["return_mean"] for r in rows])
        s = np.array([r["return_std"] for r in rows])
        ax.plot(x, y, marker="o", label=label)
        ax.fill_between(x, y - s, y + s, alpha=0.2)
    ax.axhline(R_expert, color="k", ls="--", lw=1, label=f"expert ({R_expert:.0f})")
    ax.axhline(R_random + 0.8 * (R_expert - R_random), color="grey", ls=":", lw=1, label="score 0.8")
    ax.axhline(R_random + 0.95 * (R_expert - R_random), color="grey", ls="-.", lw=1, label="score 0.95")
    ax.set_xlabel("expert labels")
    ax.set_ylabel(f"mean return ({a.eval_episodes} episodes)")
    ax.set_title(f"Pendulum-v1 swing-up, imitation of CEM-MPC (random: {R_random:.0f})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "return_vs_labels.png", dpi=120)

    bc20, nbc20 = curves["BC"][-1], curves["noisy-expert BC"][-1]
    dag = curves["DAgger"][-1]
    summary = dict(
        expert=expert.__name__, expert_return=R_expert, expert_return_std=float(R_expert_eps.std()),
        random_return=R_random, demo_return=demo_return, noisy_demo_return=noisy_return,
        noise=a.noise, bc_return=bc20["return_mean"], bc_score=bc20["score"], noisy_bc_return=nbc20["return_mean"],
        noisy_bc_score=nbc20["score"], dagger_return=dag["return_mean"], dagger_score=dag["score"],
        dagger_labels=dag["labels"],
        bc_labels=bc20["labels"], targets=dict(bc_score=0.8, dagger_score=0.95),
        bc_meets_target=bc20["score"] >= 0.8, dagger_meets_target=dag["score"] >= 0.95)
    lines = [f"Pendulum-v1 swing-up from gymnasium's reset distribution, {STEPS}-step episodes; expert "
             f"`{expert.__name__}` (planning from scratch each step). Returns are means over {a.eval_episodes} "
             f"evaluation episodes (the same start states for every policy) and {a.seeds} seeds (each with its "
             "own demonstrations, or its own DAgger run); "
             "score = (R − R_random) / (R_expert − R_random).", "",
             f"Expert {R_expert:.1f} ± {R_expert_eps.std():.1f}; uniformly random torque {R_random:.1f}. "
             f"Clean demonstrations {summary['demo_return']:.1f}; noisy expert (σ = {a.noise}) "
             f"{summary['noisy_demo_return']:.1f}.", "",
             "| learner | expert labels | return | score | target |", "|---|---|---|---|---|",
             f"| BC, {bc20['demos']} demos | {bc20['labels']} | {bc20['return_mean']:.1f} ± "
             f"{bc20['return_std']:.1f} | "
             f"{bc20['score']:.3f} | ≥ 0.8 {'✓' if summary['bc_meets_target'] else '✗'} |",
             f"| noisy-expert BC, {nbc20['demos']} demos | {nbc20['labels']} | {nbc20['return_mean']:.1f} ± "
             f"{nbc20['return_std']:.1f} | {nbc20['score']:.3f} | |",
             f"| DAgger, {a.dagger_iterations} iterations × {a.dagger_episodes} episodes | {dag['labels']} | "
             f"{dag['return_mean']:.1f} ± {dag['return_std']:.1f} | {dag['score']:.3f} | ≥ 0.95 "
             f"{'✓' if summary['dagger_meets_target'] else '✗'} |", "",
             "Return against expert labels (`return_vs_labels.png`):", "",
             "| labels | BC | noisy-expert BC | DAgger (iteration) |", "|---|---|---|---|"]
    by_labels = {}
    for label, rows in curves.items():
        for r in rows:
            by_labels.setdefault(r["labels"], {})[label] = r
    for n in sorted(by_labels):
        row = by_labels[n]
        cell = lambda k: (f"{row[k]['return_mean']:.1f} ({row[k]['score']:.2f})" if k in row else "")  # noqa: E731
        dag_cell = cell("DAgger") + (f" (it {row['DAgger']['iteration']})" if "DAgger" in row else "")
        lines.append(f"| {n} | {cell('BC')} | {cell('noisy-expert BC')} | {dag_cell} |")
    lines += ["", "Wall time (s, 2 shared CPU cores, compiles included): " +
              ", ".join(f"{k[:-2]} {v:.0f}" for k, v in timing.items())]
    write_report(out, dict(summary=summary, curves=curves, timing=timing, device=str(jax.devices()[0]),
                           args=vars(a)), lines)


if __name__ == "__main__":
    main()

"""Domain randomisation for robustness: PPO on Pendulum-v1 trained on the nominal physics or on
randomised masses and lengths, both evaluated on shifted physics.

    python experiments/domain_randomization.py [--out experiments/results/domain_randomization]
                                               [--seeds 8] [--steps 2000000]

Training. rlx's PPO preset for Pendulum-v1, ``--steps`` environment steps per seed, either on the
nominal pendulum (m = 1 kg, l = 1 m) or with ``rlx.envs.DomainRandomization`` drawing
``m ~ m₀·U(0.5, 1.5)`` and ``l ~ l₀·U(0.7, 1.3)`` at every episode's reset (the policy sees only
the usual observation, so it must be robust, not adaptive).

Evaluation. The final deterministic policy of every seed runs 32 episodes (gymnasium's start
distribution, 200 steps) on each shifted pendulum: masses ×{0.5 … 2.0} at the nominal length
and lengths ×{0.6 … 1.4} at the nominal mass; the same start states for both policies. The
table gives mean ± std over seeds of the mean return; the "gain" column is DR − nominal.

Writes results.json, results.md, robustness.png and the two run folders to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import jax
import numpy as np

import rlx
from rlx.envs import DomainRandomization, register, scale_fields
from rlx.envs.classic_control import Pendulum
from rlx.run.evaluate import evaluate

from _report import write_report

RANGES = dict(m=0.5, l=0.3)
MASS_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
LENGTH_SCALES = (0.6, 0.8, 1.0, 1.2, 1.4)
EPISODES = 32

register("Pendulum-v1-DR", lambda: DomainRandomization(Pendulum(), scale_fields(**RANGES)), max_steps=200)


def shifted_returns(result, env, params, field: str, scales) -> np.ndarray:
    """``[len(scales), seeds]`` mean evaluation returns with ``params.field`` scaled."""
    agent, states = result.agent, result.state
    pp = jax.vmap(agent.policy_params)(states)
    seeds = jax.tree_util.tree_leaves(pp)[0].shape[0]

    @jax.jit
    def run(pp, p):
        keys = jax.random.split(jax.random.key(123), seeds)  # the same start states for every policy
        return jax.vmap(lambda q, k: evaluate(agent.act, q, env, p, k, EPISODES).mean())(pp, keys)

    return np.stack([np.asarray(run(pp, dataclasses.replace(params, **{field: getattr(params, field) * s})))
                     for s in scales])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/domain_randomization")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--steps", type=int, default=2_000_000)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    config = rlx.algos.get("ppo").default_config("Pendulum-v1")
    env, params = rlx.make("Pendulum-v1")
    results = {}
    for name, env_name in (("nominal", "Pendulum-v1"), ("randomised", "Pendulum-v1-DR")):
        r = rlx.train("ppo", env_name, config, num_seeds=a.seeds, total_steps=a.steps, out=out / name)
        results[name] = dict(mass=shifted_returns(r, env, params, "m", MASS_SCALES),
                             length=shifted_returns(r, env, params, "l", LENGTH_SCALES),
                             wall_seconds=r.summary["wall_seconds"])
    rows = []
    lines = ["| physics | nominal-trained | DR-trained | gain |", "|---|---|---|---|"]
    for field, label, scales in (("mass", "m", MASS_SCALES), ("length", "l", LENGTH_SCALES)):
        for i, s in enumerate(scales):
            nom, dr = results["nominal"][field][i], results["randomised"][field][i]
            rows.append(dict(field=field, scale=s, nominal=nom.tolist(), randomised=dr.tolist(),
                             nominal_mean=float(nom.mean()), randomised_mean=float(dr.mean())))
            lines.append(f"| {label} × {s:g} | {nom.mean():.1f} ± {nom.std():.1f} | "
                         f"{dr.mean():.1f} ± {dr.std():.1f} | {dr.mean() - nom.mean():+.1f} |")
    lines.append("")
    lines.append(f"PPO (Pendulum-v1 preset), {a.seeds} seeds × {a.steps:,} steps; DR ranges "
                 f"m ×U(1 ± {RANGES['m']}), l ×U(1 ± {RANGES['l']}); {EPISODES} evaluation episodes per seed and "
                 f"physics. Training wall time: nominal {results['nominal']['wall_seconds']:.0f} s, randomised "
                 f"{results['randomised']['wall_seconds']:.0f} s.")
    write_report(out, rows, lines)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (field, scales) in zip(axes, (("mass", MASS_SCALES), ("length", LENGTH_SCALES))):
        for name in ("nominal", "randomised"):
            v = results[name][field]
            ax.errorbar(scales, v.mean(1), yerr=v.std(1), marker="o", capsize=3, label=f"{name}-trained")
        ax.axvline(1.0, color="k", lw=0.8, ls=":")
        ax.set_xlabel(f"{field} scale (evaluation physics / nominal)")
        ax.legend()
    axes[0].set_ylabel("mean return (32 episodes)")
    fig.suptitle(f"PPO on Pendulum-v1: robustness to shifted physics ({a.seeds} seeds)")
    fig.tight_layout()
    fig.savefig(out / "robustness.png", dpi=120)


if __name__ == "__main__":
    main()

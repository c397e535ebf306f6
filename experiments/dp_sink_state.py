"""Discounting as a sink state: the undiscounted value of the sink-state MDP
equals the discounted value of the original.

    python experiments/dp_sink_state.py [--out experiments/results/dp_sink_state]

For each MDP and γ, ``rlx.dp.with_sink_state(mdp, γ)`` adds an absorbing,
zero-reward state entered with probability 1 − γ from every transition. Its
*undiscounted* values are computed two ways and compared with the discounted
optimum ``V*_γ`` of the original MDP (value iteration):

* optimal control: undiscounted backward induction (``finite_horizon``, γ = 1)
  over H steps with γ^H < 1e-12, so the mass not yet absorbed is negligible;
* a fixed policy (the discounted optimum π*): the exact linear solve of the
  absorbing chain ``(I − Q_π) V = r_π`` over the non-terminal states, against
  the discounted policy evaluation ``(I − γ P_π) V = R_π``.

It also reports the expected number of steps until absorption from the start
state under π* (at most 1/(1 − γ): the sink is the "effective horizon").
Everything runs in float64 (x64 enabled), so agreement is to rounding.
Writes ``<out>.md`` and ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import rlx.dp as dp  # noqa: E402

GAMMAS = (0.5, 0.9, 0.99, 0.999)


def mdps() -> dict[str, tuple[dp.MDP, int]]:
    """name: (MDP in float64, start state)."""
    f64 = lambda m: dp.MDP(jnp.asarray(m.P, jnp.float64), jnp.asarray(m.R, jnp.float64), m.terminal)
    return {
        "FrozenLake 4x4 (slippery)": (f64(dp.frozen_lake("4x4")), 0),
        "FrozenLake 8x8 (slippery)": (f64(dp.frozen_lake("8x8")), 0),
        "AIMA 4x3 world (slip 0.2, -0.04/step)": (f64(dp.gridworld(
            ["...G", ".#.X", "S..."], slip=0.2, rewards={"G": 1.0, "X": -1.0}, step_reward=-0.04,
            terminal="GX")), 8),
        "random MDP (S=50, A=4, Dirichlet(1))": (f64(dp.random_mdp(jax.random.key(0), 50, 4)), 0),
    }


def absorbing_values(mdp: dp.MDP, policy, reward=True) -> jax.Array:
    """Undiscounted value of a policy in an absorbing chain: solve ``(I − Q_π) V = r_π``
    on the non-terminal states (terminal ones have value 0); ``reward=False`` gives the
    expected number of steps before absorption instead."""
    live = ~np.asarray(mdp.terminal)
    s = np.arange(len(live))
    Q = np.asarray(mdp.P)[s, policy][np.ix_(live, live)]
    r = np.asarray(mdp.R)[s, policy][live] if reward else np.ones(live.sum())
    V = np.zeros(len(live))
    V[live] = np.linalg.solve(np.eye(live.sum()) - Q, r)
    return V


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/dp_sink_state")
    a = p.parse_args()
    rows = []
    for name, (mdp, start) in mdps().items():
        S = mdp.P.shape[0]
        for gamma in GAMMAS:
            t0 = time.perf_counter()
            vi = dp.value_iteration(mdp, gamma, tol=1e-12)
            sink = dp.with_sink_state(mdp, gamma)
            H = int(np.ceil(np.log(1e-12) / np.log(gamma)))
            fh = dp.finite_horizon(sink, H)  # undiscounted
            policy = np.asarray(vi.policy)
            v_pi = np.asarray(dp.policy_evaluation(mdp, policy, gamma))
            sink_policy = np.append(policy, 0)
            v_sink_pi = absorbing_values(sink, sink_policy)[:S]
            steps = absorbing_values(sink, sink_policy, reward=False)[start]
            rows.append(dict(
                mdp=name, states=S, gamma=gamma, start=start,
                v_discounted=float(vi.values[start]), v_sink=float(fh.values[0, start]),
                max_abs_diff_optimal=float(np.abs(np.asarray(fh.values[0, :S]) - np.asarray(vi.values)).max()),
                max_abs_diff_policy=float(np.abs(v_sink_pi - v_pi).max()),
                horizon=H, vi_iterations=int(vi.iterations), expected_steps_to_absorption=float(steps),
                effective_horizon=1.0 / (1.0 - gamma), seconds=time.perf_counter() - t0,
            ))
            r = rows[-1]
            print(f"{name:40s} γ={gamma:<6} V*_γ(s0)={r['v_discounted']:.6f} sink={r['v_sink']:.6f} "
                  f"Δopt={r['max_abs_diff_optimal']:.1e} Δπ={r['max_abs_diff_policy']:.1e}")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Discounting as a sink state",
        "",
        "Discounted optimal value `V*_γ` (value iteration, tol 1e-12) against the undiscounted value of",
        "`with_sink_state(mdp, γ)`: backward induction over H steps (γ^H < 1e-12) for the optimum, and the",
        "exact absorbing-chain solve for the fixed policy π*. float64. `E[steps]`: expected steps from the",
        "start state until absorption (sink, hole, goal) under π*, at most 1/(1−γ).",
        "",
        "| MDP | S | γ | V*_γ(start) | sink V(start) | max abs diff, optimal | max abs diff, π* | H | E[steps] "
        "| 1/(1−γ) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mdp']} | {r['states']} | {r['gamma']} | {r['v_discounted']:.6g} | {r['v_sink']:.6g} | "
            f"{r['max_abs_diff_optimal']:.1e} | {r['max_abs_diff_policy']:.1e} | {r['horizon']:,} | "
            f"{r['expected_steps_to_absorption']:.1f} | {r['effective_horizon']:.0f} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

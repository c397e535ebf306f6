"""Sampling planners: optimality on an LQ problem and MPC swing-up of Pendulum-v1.

    python experiments/planners_pendulum.py [--out experiments/results/planners_pendulum] [--episodes 16]

1. LQ: a double integrator (dt = 0.1, Q = diag(1, 0.1), R = 0.01, T = 20, x0 = (1, 0))
   whose exact open-loop optimum J* comes from the stacked linear system; each planner
   runs from U = 0 with 50 keys (vmapped) and its cost is compared with J*.
2. Pendulum-v1 swing-up: receding-horizon MPC (horizon 30, 200 steps, the plan
   shifted by one step as the next warm start) with rlx's Pendulum dynamics and the
   negative reward as cost. Episodes start hanging (θ = π, θ̇ = 0) and from
   gymnasium's reset distribution (θ ~ U[-π, π], θ̇ ~ U[-1, 1]). Upright means
   |θ| < 0.1 (wrapped) and |θ̇| < 0.5; success = upright at some step and balanced
   (|θ| < 0.2) at every step after it. The action applied is the first of the
   returned plan ``U`` (the cheapest evaluated); the warm start is the shifted
   sampling mean.

Writes results.json and results.md to --out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import rlx  # noqa: F401  (XLA defaults)
from rlx.control.planners import cem, mppi, random_shooting, shift_plan
from rlx.envs.classic_control import Pendulum, PendulumParams

from _report import write_report

# ----------------------------------------------------------------------------- LQ

DT, T = 0.1, 20
A = np.array([[1.0, DT], [0.0, 1.0]], np.float32)
B = np.array([[0.5 * DT**2], [DT]], np.float32)
Q = np.diag([1.0, 0.1]).astype(np.float32)
R = np.array([[0.01]], np.float32)
X0 = jnp.array([1.0, 0.0])


def lq_dyn(x, u, t):
    return A @ x + B @ u


def lq_cost(x, u, t):
    return x @ Q @ x + u @ R @ u


def lq_optimum():
    n, m = B.shape
    Phi = np.zeros(((T + 1) * n, n))
    G = np.zeros(((T + 1) * n, T * m))
    for t in range(T + 1):
        Phi[t * n:(t + 1) * n] = np.linalg.matrix_power(A.astype(float), t)
        for s in range(t):
            G[t * n:(t + 1) * n, s * m:(s + 1) * m] = np.linalg.matrix_power(A.astype(float), t - 1 - s) @ B
    Qb, Rb = np.kron(np.eye(T + 1), Q), np.kron(np.eye(T), R)
    x0 = np.asarray(X0, float)
    U = -np.linalg.solve(G.T @ Qb @ G + Rb, G.T @ Qb @ Phi @ x0)
    X = Phi @ x0 + G @ U
    return float(X @ Qb @ X + U @ Rb @ U)


BOX = dict(action_low=-10.0, action_high=10.0)
U0 = jnp.zeros((T, 1))
LQ_PLANNERS = {
    "random shooting N=1000": lambda k: random_shooting(lq_cost, lq_dyn, X0, k, horizon=T, num_samples=1000,
                                                        action_dim=1, **BOX),
    "random shooting N=10000": lambda k: random_shooting(lq_cost, lq_dyn, X0, k, horizon=T, num_samples=10000,
                                                         action_dim=1, **BOX),
    "CEM N=200 E=20 it=20 σ0=2 α=0.1": lambda k: cem(lq_cost, lq_dyn, X0, U0, k, num_samples=200, num_elites=20,
                                          iterations=20, init_std=2.0, **BOX),
    "CEM N=200 E=20 it=30 σ0=3 α=0.3": lambda k: cem(lq_cost, lq_dyn, X0, U0, k, num_samples=200, num_elites=20,
                                                     iterations=30, init_std=3.0, alpha=0.3, **BOX),
    "CEM N=500 E=50 it=30 σ0=3 α=0.3": lambda k: cem(lq_cost, lq_dyn, X0, U0, k, num_samples=500, num_elites=50,
                                                     iterations=30, init_std=3.0, alpha=0.3, **BOX),
    "MPPI N=200 it=20 λ=0.1 σ=1": lambda k: mppi(lq_cost, lq_dyn, X0, U0, k, num_samples=200, iterations=20,
                                                 temperature=0.1, noise_std=1.0, **BOX),
    "MPPI N=500 it=30 λ=0.1 σ=1": lambda k: mppi(lq_cost, lq_dyn, X0, U0, k, num_samples=500, iterations=30,
                                                 temperature=0.1, noise_std=1.0, **BOX),
}


def _timed(f, *args):
    t = time.perf_counter()
    out = jax.block_until_ready(f(*args))
    return out, time.perf_counter() - t


def _best_of(n, f, *args):
    """Fastest of ``n`` timed calls (the CPU may be shared)."""
    return min(_timed(f, *args)[1] for _ in range(n))


def lq_table(keys: int):
    J_star = lq_optimum()
    rows = []
    for name, plan in LQ_PLANNERS.items():
        batched = jax.jit(jax.vmap(lambda k: plan(k).cost))
        single = jax.jit(lambda k: plan(k).cost)
        ks = jax.random.split(jax.random.key(0), keys)
        costs, first = _timed(batched, ks)
        _, once = _timed(single, ks[0])
        per_call = _best_of(5, single, ks[1])
        gaps = np.asarray(costs) / J_star - 1
        rows.append(dict(planner=name, J_star=J_star, gap_mean=float(gaps.mean()), gap_max=float(gaps.max()),
                         compile_s=once - per_call, ms_per_call=1e3 * per_call))
        print(f"LQ {name}: gap {100 * gaps.mean():.2f}% (max {100 * gaps.max():.2f}%), "
              f"{1e3 * per_call:.1f} ms per call")
    return rows


# ----------------------------------------------------------------------------- Pendulum MPC

PEND, PARAMS = Pendulum(), PendulumParams()
_KEY = jax.random.key(0)  # Pendulum.step ignores it
H, STEPS, TAIL = 30, 200, 50
PBOX = dict(action_low=-2.0, action_high=2.0)


def pend_dyn(x, u, t):
    return PEND.step(_KEY, x, u, PARAMS)[0]


def wrap(th):
    return (th + jnp.pi) % (2 * jnp.pi) - jnp.pi


def pend_cost(x, u, t):
    return wrap(x[0]) ** 2 + 0.1 * x[1] ** 2 + 0.001 * u[0] ** 2


MPC_PLANNERS = {
    "CEM N=100 E=10 it=5": lambda x, U, k: cem(pend_cost, pend_dyn, x, U, k, num_samples=100, num_elites=10,
                                               iterations=5, init_std=1.0, **PBOX),
    "MPPI N=100 it=3 λ=1 σ=1": lambda x, U, k: mppi(pend_cost, pend_dyn, x, U, k, num_samples=100, iterations=3,
                                                    temperature=1.0, noise_std=1.0, **PBOX),
    "MPPI N=100 it=1 λ=1 σ=1": lambda x, U, k: mppi(pend_cost, pend_dyn, x, U, k, num_samples=100, iterations=1,
                                                    temperature=1.0, noise_std=1.0, **PBOX),
    "MPPI N=100 it=3 λ=0.1 σ=0.5": lambda x, U, k: mppi(pend_cost, pend_dyn, x, U, k, num_samples=100,
                                                        iterations=3, temperature=0.1, noise_std=0.5, **PBOX),
    "random shooting N=500, Gaussian σ=1 around the shifted plan": lambda x, U, k: random_shooting(
        pend_cost, pend_dyn, x, k, horizon=H, num_samples=500, mean=U, std=1.0, **PBOX),
    "random shooting N=500, uniform": lambda x, U, k: random_shooting(
        pend_cost, pend_dyn, x, k, horizon=H, num_samples=500, action_dim=1, **PBOX),
}


def episode(plan, x0, key):
    def step(carry, k):
        x, U = carry
        r = plan(x, U, k)
        u = r.U[0]
        return (pend_dyn(x, u, 0), shift_plan(r.mean)), (x, u, pend_cost(x, u, 0))

    _, (xs, us, cs) = jax.lax.scan(step, (x0, jnp.zeros((H, 1))), jax.random.split(key, STEPS))
    return xs, us, cs


def pendulum_table(episodes: int):
    k_start, k_run = jax.random.split(jax.random.key(1))
    x0s = jax.random.uniform(k_start, (episodes, 2), minval=jnp.array([-jnp.pi, -1.0]),
                             maxval=jnp.array([jnp.pi, 1.0]))
    x0s = x0s.at[0].set(jnp.array([jnp.pi, 0.0]))  # episode 0 starts hanging at rest
    keys = jax.random.split(k_run, episodes)
    rows = []
    for name, plan in MPC_PLANNERS.items():
        batched = jax.jit(jax.vmap(lambda x0, k: episode(plan, x0, k)))
        single = jax.jit(lambda x0, k: episode(plan, x0, k))
        (xs, us, cs), batch_s = _timed(batched, x0s, keys)
        _, once = _timed(single, x0s[0], keys[0])
        single_s = _best_of(3, single, x0s[0], keys[0])
        th, thd = np.asarray(wrap(xs[..., 0])), np.asarray(xs[..., 1])
        upright = (np.abs(th) < 0.1) & (np.abs(thd) < 0.5)
        first = np.where(upright.any(1), upright.argmax(1), -1)
        after = np.arange(STEPS)[None] >= np.where(first >= 0, first, STEPS)[:, None]
        success = (first >= 0) & np.all(~after | (np.abs(th) < 0.2), axis=1)
        tail = upright[:, -TAIL:].mean()
        returns = -np.asarray(cs).sum(1)
        rows.append(dict(planner=name, episodes=episodes, success=int(success.sum()),
                         hanging_success=bool(success[0]), hanging_first_upright=int(first[0]),
                         first_upright_median=float(np.median(first[first >= 0])) if (first >= 0).any() else None,
                         return_mean=float(returns.mean()), return_std=float(returns.std()),
                         hanging_return=float(returns[0]), last_steps_upright=float(tail),
                         ms_per_mpc_step=1e3 * single_s / STEPS, batch_wall_s=batch_s,
                         max_abs_u=float(np.abs(np.asarray(us)).max())))
        print(f"Pendulum {name}: {success.sum()}/{episodes} upright, return {returns.mean():.1f} ± "
              f"{returns.std():.1f}, {1e3 * single_s / STEPS:.2f} ms per MPC step")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/planners_pendulum")
    p.add_argument("--episodes", type=int, default=16)
    p.add_argument("--keys", type=int, default=50)
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lq = lq_table(a.keys)
    pend = pendulum_table(a.episodes)
    lines = [f"LQ double integrator (T = {T}, J* = {lq[0]['J_star']:.4f}), {a.keys} keys:", "",
             "| planner | J / J* − 1 (mean) | max | ms per call | compile s |", "|---|---|---|---|---|"]
    for r in lq:
        lines.append(f"| {r['planner']} | {100 * r['gap_mean']:.2f}% | {100 * r['gap_max']:.2f}% | "
                     f"{r['ms_per_call']:.1f} | {r['compile_s']:.1f} |")
    lines += ["", f"Pendulum-v1 swing-up, MPC horizon {H}, {STEPS} steps, {a.episodes} episodes "
              "(episode 0 hanging at rest, the rest from the reset distribution); success = upright "
              "(|θ| < 0.1, |θ̇| < 0.5) at some step and |θ| < 0.2 at every later step; "
              f"last {TAIL}: fraction of the last {TAIL} steps upright; return = Σ reward over the {STEPS} steps:", "",
              f"| planner | success | last {TAIL} upright | hanging: upright from step | return (mean ± std) | "
              "hanging return | ms per MPC step | batch wall s (incl. compile) |", "|---|---|---|---|---|---|---|---|"]
    for r in pend:
        first = r["hanging_first_upright"] if r["hanging_success"] else "never"
        lines.append(f"| {r['planner']} | {r['success']}/{r['episodes']} | {100 * r['last_steps_upright']:.0f}% | "
                     f"{first} | {r['return_mean']:.1f} ± "
                     f"{r['return_std']:.1f} | {r['hanging_return']:.1f} | {r['ms_per_mpc_step']:.2f} | "
                     f"{r['batch_wall_s']:.1f} |")
    write_report(out, dict(lq=lq, pendulum=pend, device=str(jax.devices()[0])), lines)


if __name__ == "__main__":
    main()

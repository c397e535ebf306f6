"""Control benchmark: iLQR swing-ups (single and 64 vmapped initial states) and
LQR/DARE against scipy.

    python scripts/bench_control.py [--batch 64] [--out scripts/results/bench_control.json]

For the torque-limited pendulum (Pendulum-v1's model, |u| ≤ 2, 100 steps of
0.05 s) and the continuous cart-pole (CartPoleSwingUp-v0's model, |F| ≤ 10 N,
150 steps of 0.02 s) it reports compile and solve seconds, iterations, whether
the final state is upright (|θ| < 0.1 rad and |θ̇| < 0.1 rad/s, θ wrapped), and
the time of 64 vmapped solves over one solve from the hanging state (goal ≤ 8×;
single and batched times are medians of 21 and 5 runs). A vmapped ``while_loop``
runs until its slowest member stops, so ``max_iters`` (100 and 150) caps the tail.

It also measures a floor for that ratio: the line search alone rolls the
dynamics out once per step size per iteration, 64 × 8 rollouts, so the batched
solve costs at least (time of 512 open-loop rollouts) × (its iterations). The
rollouts replay each problem's optimised plan in the layout most favourable to
SIMD (states ``[n, 512]``, the batch on the minor axis, one ``scan``); the floor
divided by one whole solve bounds the ratio from below for this algorithm.

The DARE is timed against ``scipy.linalg.solve_discrete_are`` on random systems,
in float64.
"""

from __future__ import annotations

import argparse
import inspect
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

import rlx  # noqa: F401  (XLA defaults before JAX starts)
from rlx.control import dare, ilqr
from rlx.envs.classic_control import CartPoleParams, PendulumParams, cartpole_euler

from _child import write_results


def pendulum_problem():
    p, T = PendulumParams(), 100

    def dynamics(x, u, t):
        thd = x[1] + (3 * p.g / (2 * p.l) * jnp.sin(x[0]) + 3.0 / (p.m * p.l**2) * u[0]) * p.dt
        return jnp.stack([x[0] + thd * p.dt, thd])

    def cost(x, u, t):  # quadratic in the unwrapped angle, θ = 0 upright
        final = 100 * (x[0] ** 2 + 0.1 * x[1] ** 2)
        return jnp.where(t == T, final, 0.1 * x[0] ** 2 + 0.01 * x[1] ** 2 + 0.01 * u[0] ** 2)

    def starts(key, n):
        return jax.random.uniform(key, (n, 2), minval=jnp.array([-jnp.pi, -1.0]), maxval=jnp.array([jnp.pi, 1.0]))

    return dict(name="pendulum swing-up", T=T, m=1, dynamics=dynamics, cost=cost, limit=2.0,
                hanging=jnp.array([jnp.pi, 0.0]), starts=starts, angle=0, max_iters=100)


def cartpole_problem():
    p, T = CartPoleParams(), 150

    def dynamics(x, u, t):
        return cartpole_euler(x, p.force_mag * u[0], p)

    def cost(x, u, t):  # the goal at the horizon (unwrapped θ = 0, cart centred), effort on the way
        final = 100 * (x[0] ** 2 + x[2] ** 2 + 0.1 * (x[1] ** 2 + x[3] ** 2))
        return jnp.where(t == T, final, 0.001 * u[0] ** 2)

    def starts(key, n):
        return jnp.array([0.0, 0.0, jnp.pi, 0.0]) + jax.random.uniform(key, (n, 4), minval=-0.2, maxval=0.2)

    return dict(name="cart-pole swing-up", T=T, m=1, dynamics=dynamics, cost=cost, limit=1.0,
                hanging=jnp.array([0.0, 0.0, jnp.pi, 0.0]), starts=starts, angle=2, max_iters=150)


ILQR_ALPHAS = inspect.signature(ilqr).parameters["alphas"].default  # the line search's step sizes


def timed(fn, *args, repeats: int = 1):
    """``(output, seconds)``: the median of ``repeats`` timed calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def upright(X, angle):
    """Whether the final state is within 0.1 rad and 0.1 rad/s of upright (θ wrapped)."""
    th = (X[..., -1, angle] + jnp.pi) % (2 * jnp.pi) - jnp.pi
    return (jnp.abs(th) < 0.1) & (jnp.abs(X[..., -1, angle + 1]) < 0.1)


def rollout_seconds(dynamics, x0s, Us) -> float:
    """Median seconds of the open-loop rollouts ``x0s [L, n]``, ``Us [L, T, m]`` with the
    states batch-minor: both problems' dynamics are elementwise in ``x[i]``, ``u[0]``,
    so they take ``x [n, L]``, ``u [m, L]`` as they are (checked against ``vmap``).
    The cheapest form of the line search's rollouts XLA compiles here."""
    x0, U = x0s.T, jnp.moveaxis(Us, 0, -1)  # [n, L], [T, m, L]

    def run(x0, U):
        def step(x, tu):
            x = dynamics(x, tu[1], tu[0])
            return x, x
        return jax.lax.scan(step, x0, (jnp.arange(U.shape[0]), U))[1]

    reference = jax.vmap(dynamics, in_axes=(1, 1, None), out_axes=1)(x0, U[0], 0)
    np.testing.assert_allclose(dynamics(x0, U[0], 0), reference, rtol=1e-5, atol=1e-6)
    f = jax.jit(run).lower(x0, U).compile()
    jax.block_until_ready(f(x0, U))
    return timed(f, x0, U, repeats=21)[1]


def bench_ilqr(prob, batch: int, key) -> dict:
    U0 = jnp.full((prob["T"], prob["m"]), 0.01)

    def solve(x0):
        return ilqr(prob["cost"], prob["dynamics"], x0, U0, u_low=-prob["limit"], u_high=prob["limit"],
                    max_iters=prob["max_iters"])

    single = jax.jit(solve)
    batched = jax.jit(jax.vmap(solve))
    t = time.perf_counter()
    single_c = single.lower(prob["hanging"]).compile()
    compile_single = time.perf_counter() - t
    x0s = prob["starts"](key, batch)
    t = time.perf_counter()
    batched_c = batched.lower(x0s).compile()
    compile_batched = time.perf_counter() - t
    r, _ = timed(single_c, prob["hanging"])
    r, run_single = timed(single_c, prob["hanging"], repeats=21)
    # single solves of every batch member, one after another, for a fair per-problem time
    per = [timed(single_c, x0s[i]) for i in range(batch)]
    rb, _ = timed(batched_c, x0s)
    rb, run_batched = timed(batched_c, x0s, repeats=5)
    # the line search's rollouts: every problem's optimised plan once per step size
    lanes = batch * len(ILQR_ALPHAS)
    floor = int(rb.iterations.max()) * rollout_seconds(
        prob["dynamics"], jnp.repeat(x0s, len(ILQR_ALPHAS), 0), jnp.repeat(rb.U, len(ILQR_ALPHAS), 0))
    return dict(
        problem=prob["name"], horizon=prob["T"], batch=batch,
        compile_single_s=compile_single, compile_batched_s=compile_batched,
        hanging=dict(solve_s=run_single, iterations=int(r.iterations), converged=bool(r.converged),
                     cost=float(r.cost), upright=bool(upright(r.X, prob["angle"]))),
        single_mean_solve_s=float(np.mean([p[1] for p in per])),
        single_mean_iterations=float(np.mean([int(p[0].iterations) for p in per])),
        batched_solve_s=run_batched,
        batched_iterations_max=int(rb.iterations.max()),
        batched_converged=int(rb.converged.sum()),
        batched_upright=int(upright(rb.X, prob["angle"]).sum()),
        batched_over_single=run_batched / run_single,
        batched_over_mean_single=run_batched / float(np.mean([p[1] for p in per])),
        rollout_floor_lanes=lanes, rollout_floor_s=floor, floor_over_single=floor / run_single,
    )


def bench_dare(sizes, repeats: int = 20) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    with jax.enable_x64(True):
        solve = jax.jit(dare)
        for n, m in sizes:
            A, B = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, m))  # spectral radius ~1
            L, M = rng.normal(size=(n, n)), rng.normal(size=(m, m))
            Q, R = L @ L.T + 0.1 * np.eye(n), M @ M.T + 0.1 * np.eye(m)
            args = tuple(map(jnp.asarray, (A, B, Q, R)))
            t = time.perf_counter()
            jax.block_until_ready(solve(*args))
            compile_s = time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(repeats):
                r = jax.block_until_ready(solve(*args))
            ours = (time.perf_counter() - t) / repeats
            t = time.perf_counter()
            for _ in range(repeats):
                P = scipy.linalg.solve_discrete_are(A, B, Q, R)
            theirs = (time.perf_counter() - t) / repeats
            rows.append(dict(n=n, m=m, rlx_s=ours, scipy_s=theirs, compile_s=compile_s,
                             iterations=int(r.iterations),
                             rel_err=float(np.abs(np.asarray(r.P) - P).max() / np.abs(P).max())))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bench_control.json"))
    args = ap.parse_args()
    key = jax.random.key(0)
    ilqr_rows = [bench_ilqr(p, args.batch, k) for p, k in
                 zip((pendulum_problem(), cartpole_problem()), jax.random.split(key))]
    dare_rows = bench_dare([(4, 2), (16, 4), (64, 8)])
    result = dict(device=jax.devices()[0].device_kind, backend=jax.default_backend(),
                  ilqr=ilqr_rows, dare=dare_rows)
    lines = ["| problem | compile s (1 / batch) | hanging: iters, solve s, upright | "
             f"{args.batch} starts: solve s, max iters, converged, upright | batch / single | "
             f"batch / {args.batch} single solves | floor: rollouts alone / single |",
             "|---|---|---|---|---|---|---|"]
    for r in ilqr_rows:
        h = r["hanging"]
        lines.append(f"| {r['problem']} (T={r['horizon']}) | {r['compile_single_s']:.1f} / "
                     f"{r['compile_batched_s']:.1f} | {h['iterations']}, {h['solve_s']:.3f}, {h['upright']} | "
                     f"{r['batched_solve_s']:.3f}, {r['batched_iterations_max']}, {r['batched_converged']}, "
                     f"{r['batched_upright']}/{r['batch']} | ×{r['batched_over_single']:.2f} | "
                     f"×{r['batched_solve_s'] / (r['batch'] * r['single_mean_solve_s']):.2f} | "
                     f"×{r['floor_over_single']:.1f} |")
    lines += ["", "| DARE n×m | rlx (doubling) ms | scipy ms | iterations | max rel. diff |", "|---|---|---|---|---|"]
    for r in dare_rows:
        lines.append(f"| {r['n']}×{r['m']} | {1e3 * r['rlx_s']:.3f} | {1e3 * r['scipy_s']:.3f} | "
                     f"{r['iterations']} | {r['rel_err']:.1e} |")
    write_results(args.out, result, lines)


if __name__ == "__main__":
    main()

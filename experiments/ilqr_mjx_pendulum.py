"""iLQR through MuJoCo physics: a torque-limited MuJoCo pendulum swings up, with the
dynamics ``mjx.step`` itself (differentiated by JAX), and the plan replayed on C MuJoCo.

    python experiments/ilqr_mjx_pendulum.py [--horizon 60] [--frame-skip 2] [--out experiments/results/ilqr_mjx_pendulum]

The model is ``rlx.control.physics.PENDULUM_XML`` (a 1 kg, 0.5 m pole on a damped
hinge, θ = 0 hanging, θ = π upright, torque limited to ±3 N·m). ``mjx_dynamics``
makes ``dynamics(x, u, t)`` from ``frame_skip`` MJX steps; iLQR linearises it by
autodiff through MJX. The cost is quadratic in θ − π along the way and heavily
weighted at the horizon. The optimised open-loop controls are then replayed on C
MuJoCo (``mj_step``): since MJX implements MuJoCo's own dynamics, the replay
reaches the top too. Writes ``results.json`` and ``results.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from rlx.control import ilqr
from rlx.control.physics import PENDULUM_XML, mjx_dynamics

from _report import write_report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizon", type=int, default=60)
    p.add_argument("--frame-skip", type=int, default=2)
    p.add_argument("--out", default="experiments/results/ilqr_mjx_pendulum")
    a = p.parse_args()
    T, skip = a.horizon, a.frame_skip
    model = mujoco.MjModel.from_xml_string(PENDULUM_XML)
    dynamics = mjx_dynamics(model, frame_skip=skip)
    limit = float(model.actuator_ctrlrange[0, 1])

    def cost(x, u, t):
        e = x[0] - jnp.pi
        return jnp.where(t == T, 100 * (e**2 + 0.1 * x[1] ** 2), 0.1 * e**2 + 0.01 * x[1] ** 2 + 0.01 * u[0] ** 2)

    solve = jax.jit(lambda x0: ilqr(cost, dynamics, x0, jnp.full((T, 1), 0.1), u_low=-limit, u_high=limit))
    x0 = jnp.zeros(2)
    t = time.perf_counter()
    compiled = solve.lower(x0).compile()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    r = jax.block_until_ready(compiled(x0))
    solve_s = time.perf_counter() - t

    d = mujoco.MjData(model)  # the same controls on C MuJoCo
    for u in np.asarray(r.U):
        d.ctrl[:] = u
        for _ in range(skip):
            mujoco.mj_step(model, d)
    dt = float(model.opt.timestep) * skip
    data = dict(horizon=T, frame_skip=skip, seconds_simulated=T * dt, torque_limit=limit,
                compile_s=compile_s, solve_s=solve_s, iterations=int(r.iterations),
                converged=bool(r.converged), cost=float(r.cost),
                mjx_final=dict(theta=float(r.X[-1, 0]), theta_dot=float(r.X[-1, 1])),
                mujoco_replay_final=dict(theta=float(d.qpos[0]), theta_dot=float(d.qvel[0])),
                max_abs_torque=float(jnp.abs(r.U).max()),
                upright=bool(abs(float(r.X[-1, 0]) - np.pi) < 0.1 and abs(float(r.X[-1, 1])) < 0.1))
    lines = [f"iLQR through MJX, MuJoCo pendulum swing-up from hanging ({T} steps of {dt:.2f} s, |u| ≤ {limit:g} N·m)",
             "", "| | θ at the end (π upright) | θ̇ at the end | |", "|---|---|---|---|",
             f"| MJX plan | {data['mjx_final']['theta']:.4f} | {data['mjx_final']['theta_dot']:.4f} | "
             f"{data['iterations']} iterations, converged {data['converged']}, compile {compile_s:.1f} s, "
             f"solve {solve_s:.2f} s |",
             f"| replayed on C MuJoCo | {data['mujoco_replay_final']['theta']:.4f} | "
             f"{data['mujoco_replay_final']['theta_dot']:.4f} | max torque {data['max_abs_torque']:.2f} N·m |"]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    write_report(out, data, lines)


if __name__ == "__main__":
    main()

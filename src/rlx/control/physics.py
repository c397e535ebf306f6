"""MuJoCo physics as ``dynamics(x, u, t)`` for the planners: MJX (MuJoCo XLA) steps are
JAX functions, so iLQR differentiates straight through them.

    model = mujoco.MjModel.from_xml_string(PENDULUM_XML)
    dynamics = mjx_dynamics(model)          # x = [qpos, qvel], u = ctrl
    result = rlx.control.ilqr(cost, dynamics, x0, U0)
    # a full demo: python experiments/ilqr_mjx_pendulum.py

Needs the optional ``mjx`` extra (``pip install "rlx[mjx]"``: mujoco and
mujoco-mjx of the same release).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

PENDULUM_XML = """
<mujoco model="pendulum">
  <option timestep="0.02" integrator="Euler"/>
  <worldbody>
    <body name="pole" pos="0 0 0">
      <joint name="hinge" type="hinge" axis="0 1 0" damping="0.05"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.04" mass="1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hinge" gear="1" ctrlrange="-3 3" ctrllimited="true"/>
  </actuator>
</mujoco>
"""
"""A 0.5 m, 1 kg pole on a damped hinge (θ = 0 hanging, θ = π upright), torque in
[-3, 3] N·m: a little above the 2.45 N·m gravity exerts at horizontal
(1 kg · 9.81 m/s² · 0.25 m), so the limit binds during a quick swing-up
(``experiments/ilqr_mjx_pendulum.py``)."""


def _mjx():
    try:
        from mujoco import mjx
    except ImportError:
        raise ImportError("MuJoCo dynamics need the mjx extra: pip install \"rlx[mjx]\"") from None
    return mjx


def mjx_dynamics(model, frame_skip: int = 1):
    """``dynamics(x, u, t)`` with ``x = [qpos, qvel]`` and ``u = ctrl``: ``frame_skip``
    ``mjx.step`` calls from a fresh ``mjx.Data`` (so the map is a pure function of
    ``(x, u)``; warm-start fields and contacts are recomputed each step)."""
    mjx = _mjx()
    m = mjx.put_model(model)
    nq = model.nq

    def dynamics(x, u, t=0):
        d = mjx.make_data(m).replace(qpos=x[:nq], qvel=x[nq:], ctrl=u)
        d = jax.lax.fori_loop(0, frame_skip, lambda _, d: mjx.step(m, d), d)
        return jnp.concatenate([d.qpos, d.qvel])

    return dynamics

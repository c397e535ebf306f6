"""iLQR through differentiable MJX physics: a torque-limited MuJoCo pendulum swings up."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")
pytest.importorskip("mujoco.mjx")

from rlx.control import ilqr  # noqa: E402
from rlx.control.physics import PENDULUM_XML, mjx_dynamics  # noqa: E402

T, SKIP = 60, 2


def test_ilqr_through_mjx_swings_the_pendulum_up():
    model = mujoco.MjModel.from_xml_string(PENDULUM_XML)
    dynamics = mjx_dynamics(model, frame_skip=SKIP)

    def cost(x, u, t):  # θ = π is upright in the model
        e = x[0] - jnp.pi
        return jnp.where(t == T, 100 * (e**2 + 0.1 * x[1] ** 2), 0.1 * e**2 + 0.01 * x[1] ** 2 + 0.01 * u[0] ** 2)

    r = jax.jit(lambda x0: ilqr(cost, dynamics, x0, jnp.full((T, 1), 0.1), u_low=-3.0, u_high=3.0))(
        jnp.zeros(2))
    assert bool(r.converged)
    assert abs(float(r.X[-1, 0]) - np.pi) < 0.1 and abs(float(r.X[-1, 1])) < 0.1
    assert float(jnp.abs(r.U).max()) == pytest.approx(3.0)  # the torque limit binds

    # the same open-loop controls on C MuJoCo reach the top too (MJX = MuJoCo's dynamics)
    d = mujoco.MjData(model)
    for u in np.asarray(r.U):
        d.ctrl[:] = u
        for _ in range(SKIP):
            mujoco.mj_step(model, d)
    assert abs(d.qpos[0] - np.pi) < 0.05 and abs(d.qvel[0]) < 0.1

"""Guided policy search (``rlx.algos.gps``): the augmented cost, the regression step, the
penalty's effect on iLQR, learning on Pendulum-v1, a CartPole swing-up smoke run, config errors.

Small configurations only: the Pendulum learning run (16 trajectories of 100 steps, 3
iterations) compiles and runs in about 15 s on 2 CPU cores.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx
from rlx.algos import gps as G
from rlx.algos import imitation as im
from rlx.algos.base import ConfigError
from rlx.control.ilqr import ilqr
from rlx.envs.classic_control import Pendulum


@pytest.fixture(scope="module")
def pendulum():
    return rlx.make("Pendulum-v1")


# ----------------------------------------------------------------------------- the augmented cost


def test_augmented_cost_hand_computed():
    """c̃ = c + λ_tᵀ(u − π(o(x))) + (ρ/2)‖u − π(o(x))‖², with c = ‖x‖² + ‖u‖², π(o) = Wo + b,
    o(x) = 2x, ρ = 2, at x = (1, −1), u = (0.5, 0.0), t = 1, λ_1 = (0.1, −0.2)."""
    W = jnp.array([[1.0, 0.5], [0.0, -1.0]])
    b = jnp.array([0.1, 0.2])
    cost = lambda x, u, t: jnp.sum(x ** 2) + jnp.sum(u ** 2)  # noqa: E731
    policy = lambda o: W @ o + b  # noqa: E731
    observe = lambda x: 2.0 * x  # noqa: E731
    lam = jnp.array([[9.0, 9.0], [0.1, -0.2], [9.0, 9.0]])  # T = 3; only λ_1 is used at t = 1
    c = G.augmented_cost(cost, policy, observe, 2.0, 3, lam)
    x, u = jnp.array([1.0, -1.0]), jnp.array([0.5, 0.0])
    # o = (2, −2); π = (2 − 1 + 0.1, 2 + 0.2) = (1.1, 2.2); r = u − π = (−0.6, −2.2)
    # c = 2 + 0.25; λᵀr = −0.06 + 0.44 = 0.38; (ρ/2)‖r‖² = 0.36 + 4.84 = 5.2
    assert float(c(x, u, 1)) == pytest.approx(2.25 + 0.38 + 5.2, rel=1e-6)
    # ∂c̃/∂u = 2u + λ + ρr = (1 + 0.1 − 1.2, 0 − 0.2 − 4.4) = (−0.1, −4.6)
    np.testing.assert_allclose(jax.grad(c, argnums=1)(x, u, 1), [-0.1, -4.6], rtol=1e-6)
    # ∂c̃/∂x = 2x − 2Wᵀ(λ + ρr) = (2, −2) − 2Wᵀ(−1.1, −4.6) = (2 + 2.2, −2 + 1.1 − 9.2) = (4.2, −10.1)
    np.testing.assert_allclose(jax.grad(c, argnums=0)(x, u, 1), [4.2, -10.1], rtol=1e-6)
    # ∂²c̃/∂u² = 2I + ρI
    np.testing.assert_allclose(jax.hessian(c, argnums=1)(x, u, 1), 4.0 * np.eye(2), rtol=1e-6)
    # the terminal cost (t = T, u = 0) carries no penalty; without λ only the quadratic one
    assert float(c(x, jnp.zeros(2), 3)) == pytest.approx(2.0)
    assert float(G.augmented_cost(cost, policy, observe, 2.0, 3)(x, u, 1)) == pytest.approx(7.45, rel=1e-6)


def test_policy_regression_fits_least_squares():
    """With a linear policy class (``hidden=()``) the regression step converges to the
    least-squares fit that numpy computes."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(512, 3)).astype(np.float32) * np.array([1.0, 2.0, 0.5], np.float32)
    A = np.array([[0.7], [-0.3], [1.5]], np.float32)
    y = (obs @ A + 0.2 + 0.3 * rng.normal(size=(512, 1))).astype(np.float32)
    X1 = np.concatenate([obs, np.ones((512, 1), np.float32)], 1)
    coef = np.linalg.lstsq(X1, y, rcond=None)[0]
    cfg = G.GPSConfig(hidden=(), steps=4000, lr=2e-3, batch_size=512)
    spec = im.ActionSpec((1,), 0, (-10.0,), (10.0,))
    pp = im.init_policy(jax.random.key(0), cfg, spec, (3,))
    pp, loss = jax.jit(G.policy_regression, static_argnames=("config", "spec"))(
        jax.random.key(1), pp, jnp.asarray(obs), jnp.asarray(y), config=cfg, spec=spec)
    pred = jax.vmap(G.gps_policy(pp, cfg, spec))(jnp.asarray(obs), jnp.zeros(512))
    np.testing.assert_allclose(np.asarray(pred), X1 @ coef, atol=0.03)
    residual = float(np.mean((X1 @ coef - y) ** 2))
    assert float(loss) == pytest.approx(residual, rel=0.1)


# ----------------------------------------------------------------------------- the penalty


def test_penalty_pulls_the_plan_to_the_policy(pendulum):
    """ρ = 0: iLQR's plain solution; large ρ: controls close to the policy's along the plan."""
    env, params = pendulum
    dynamics, cost = G.model(env, params)
    observe = G.state_observer(env)
    assert observe is Pendulum._obs
    policy = lambda o: jnp.clip(jnp.array([-1.5 * o[1] - 0.5 * o[2]]), -2.0, 2.0)  # noqa: E731
    x0, T = jnp.array([2.5, 0.5]), 40
    U0 = jnp.zeros((T, 1))

    @jax.jit
    def solve(rho):
        aug = G.augmented_cost(cost, policy, observe, rho, T)
        r = ilqr(aug, dynamics, x0, U0, u_low=-2.0, u_high=2.0, max_iters=50)
        gap = jnp.max(jnp.abs(r.U - jax.vmap(lambda x: policy(observe(x)))(r.X[:-1])))
        return r.U, gap

    plain = ilqr(cost, dynamics, x0, U0, u_low=-2.0, u_high=2.0, max_iters=50).U
    U_0, gap_0 = solve(0.0)
    np.testing.assert_allclose(U_0, plain, atol=1e-5)
    _, gap_big = solve(1e4)
    assert float(gap_0) > 0.5 and float(gap_big) < 0.01, (float(gap_0), float(gap_big))


# ----------------------------------------------------------------------------- learning


PENDULUM = G.GPSConfig(iterations=3, rho=0.1, rho_growth=1.0, eval_episodes=4)


@pytest.fixture(scope="module")
def pendulum_run(pendulum):
    env, params = pendulum
    return G.gps(jax.random.key(0), env, params, PENDULUM)


def random_torque(obs, key):
    return jax.random.uniform(key, (1,), minval=-2.0, maxval=2.0)


def test_gps_learns_pendulum(pendulum, pendulum_run):
    """From gymnasium's reset distribution (200 steps) the GPS policy swings up and holds the
    pendulum: mean return about −200 (3 seeds: −194 to −209), random torques about −1200."""
    env, params = pendulum
    pp, m = pendulum_run
    spec = im.action_spec(env.action_space(params))
    key = jax.random.key(123)
    R = float(im.evaluate(env, params, G.gps_policy(pp, PENDULUM, spec), key, 16, 200).mean())
    R_random = float(im.evaluate(env, params, random_torque, key, 16, 200).mean())
    assert R_random < -1000 and R > -400, (R, R_random)


def test_gps_metrics(pendulum_run):
    _, m = pendulum_run
    for k in ("rho", "traj_cost", "gap_before", "gap", "fit_loss", "policy_cost", "dual", "ilqr_iterations",
              "policy_return"):
        assert m[k].shape == (3,) and bool(jnp.all(jnp.isfinite(m[k]))), k
    np.testing.assert_allclose(m["rho"], 0.1)
    np.testing.assert_allclose(m["dual"], 0.0)  # dual_step = 0: the penalty method
    # the penalised trajectories cost at most a little more than the plain (ρ = 0) ones
    assert float(m["traj_cost"][-1]) < 1.05 * float(m["init_cost"])
    # the regression brings the policy onto the trajectories; later trajectories start close to it
    assert float(m["gap"][0]) < float(m["gap_before"][0])
    assert float(m["gap_before"][-1]) < 0.25 * float(m["gap_before"][0])


CARTPOLE = G.GPSConfig(iterations=2, num_trajectories=3, horizon=40, init_horizon=0, ilqr_iters=8,
                       init_ilqr_iters=15, steps=20, batch_size=64, perturbations=2, hidden=(16,),
                       eval_episodes=2, eval_steps=40, dual_step=1.0)


def test_gps_cartpole_swingup_smoke_vmapped_over_seeds():
    """CartPoleSwingUp-v0 (continuous force) with its model shaping, two seeds in one vmap."""
    env, params = rlx.make("CartPoleSwingUp-v0")
    run = jax.jit(jax.vmap(lambda k: G.gps(k, env, params, CARTPOLE, penalty=G.cartpole_swingup_penalty)))
    pp, m = run(jax.random.split(jax.random.key(0), 2))
    assert pp["obs_mean"].shape == (2, 5)
    for k, v in m.items():
        assert v.shape == ((2,) if k == "init_cost" else (2, 2)) and bool(jnp.all(jnp.isfinite(v))), k
    assert bool(jnp.all(m["dual"][:, -1] > 0))  # ADMM multipliers moved
    assert not np.allclose(m["traj_cost"][0], m["traj_cost"][1])  # different seeds, different start states
    with pytest.raises(ConfigError, match="discrete actions"):
        G.gps(jax.random.key(0), *rlx.make("CartPole-v1"), CARTPOLE)


# ----------------------------------------------------------------------------- validation


def test_config_errors_are_one_line():
    for bad, match in ((dict(rho=-1.0), "--rho=-1.0"), (dict(rho_growth=0.5), "--rho-growth=0.5"),
                       (dict(rho=2.0, rho_max=1.0), "--rho-max=1.0"),
                       (dict(horizon=0), "--horizon=0"), (dict(num_trajectories=0), "--num-trajectories=0"),
                       (dict(steps=0), "--steps=0"), (dict(perturb_std=-0.1), "--perturb-std=-0.1"),
                       (dict(rho=0.0, dual_step=1.0), "--dual-step=1.0"), (dict(hidden=(0,)), "--hidden"),
                       (dict(activation="sigmoid"), "--activation=sigmoid"), (dict(lr=0.0), "--lr=0.0")):
        with pytest.raises(ConfigError, match=match) as e:
            G.validate(G.GPSConfig(**bad))
        assert "\n" not in str(e.value)
    G.validate(G.GPSConfig(hidden=()))  # a linear policy is allowed
    env, params = rlx.make("MountainCar-v0")
    with pytest.raises(ConfigError, match="discrete actions"):
        G.gps(jax.random.key(0), env, params, G.GPSConfig())

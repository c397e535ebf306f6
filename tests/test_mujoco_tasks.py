"""The MuJoCo v5 tasks on MJX against gymnasium's (C MuJoCo, float64): observations, rewards and
their terms, terminations; reset distributions; domain randomisation.

Tolerances (measured with random actions from gymnasium's own reset states, float32 MJX vs
float64 MuJoCo): the pendulums, Reacher, Hopper, Walker2d and Humanoid stay within 1e-6–2e-4
on observations for as long as compared; HalfCheetah matches to 1e-5 for its first steps, then
its feet's contacts make the trajectories drift apart (4e-3 by step 10); Ant's first touchdown
already differs (MJX keeps a contact C MuJoCo drops at the margin), so it is checked one step
at a time from gymnasium's exact state: most steps agree to 1e-5, a few differ in the contact
forces, and the rewards stay within 0.25.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("mujoco.mjx")
gym = pytest.importorskip("gymnasium")
pytest.importorskip("imageio")  # gymnasium's MuJoCo envs import it

import rlx  # noqa: E402
from rlx.envs.mujoco_tasks import physics_sampler, randomize_physics  # noqa: E402


@functools.cache
def task(name):
    """(env, params, jitted reset_to, jitted step) — compiled once per task for this module."""
    env, params = rlx.make(name)
    base = env.unwrapped
    return base, params, jax.jit(base.reset_to), jax.jit(base.step)


# name, steps compared, action scale (a fraction of the control range), obs tolerance, reward tolerance
TRAJECTORIES = [
    ("InvertedPendulum-v5", 60, 0.05, 1e-4, 1e-6),
    ("InvertedDoublePendulum-v5", 60, 0.02, 1e-4, 1e-4),
    ("Reacher-v5", 50, 1.0, 1e-4, 1e-5),
    ("Hopper-v5", 60, 1.0, 1e-4, 1e-5),
    ("HalfCheetah-v5", 6, 1.0, 1e-4, 1e-5),
    ("Walker2d-v5", 60, 1.0, 1e-3, 1e-4),
    ("Humanoid-v5", 60, 0.3, 5e-3, 1e-3),  # contact forces of up to ~2000 N from a float32 solver
]


def reward_sum(info):
    return sum(v for k, v in info.items() if k.startswith(("reward_", "distance_", "velocity_")))


@pytest.mark.parametrize("name,steps,scale,obs_tol,rew_tol", TRAJECTORIES)
def test_trajectory_matches_gymnasium(name, steps, scale, obs_tol, rew_tol):
    env, params, reset_to, step = task(name)
    g = gym.make(name).unwrapped
    obs_g, _ = g.reset(seed=3)
    state, ts = reset_to(g.data.qpos.copy(), g.data.qvel.copy(), params)
    np.testing.assert_allclose(ts.obs, obs_g, atol=1e-6)
    rng = np.random.default_rng(0)
    low, high = g.action_space.low, g.action_space.high
    for t in range(steps):
        a = (scale * rng.uniform(low, high)).astype(np.float32)
        obs_g, r_g, term_g, _, info_g = g.step(a)
        state, ts = step(jax.random.key(t), state, a, params)
        assert ts.obs.shape == obs_g.shape and ts.obs.dtype == jnp.float32
        np.testing.assert_allclose(ts.obs, obs_g, atol=obs_tol, rtol=obs_tol, err_msg=f"{name} step {t + 1}")
        assert float(ts.reward) == pytest.approx(r_g, abs=rew_tol), f"{name} step {t + 1}"
        assert bool(ts.terminated) == term_g and not bool(ts.truncated)
        for k in set(info_g) & set(ts.info):  # every reward term gymnasium reports
            assert float(ts.info[k]) == pytest.approx(float(info_g[k]), abs=10 * rew_tol), k
        assert float(reward_sum(ts.info)) == pytest.approx(float(ts.reward), abs=1e-5)
        if term_g:
            break
    assert t >= 4  # compared over several steps, not just the first


def test_ant_steps_from_gymnasium_states():
    env, params, reset_to, step = task("Ant-v5")
    g = gym.make("Ant-v5").unwrapped
    g.reset(seed=3)
    rng = np.random.default_rng(0)
    obs_err, rew_err = [], []
    for t in range(60):
        state, _ = reset_to(g.data.qpos.copy(), g.data.qvel.copy(), params)
        # gymnasium's positions are those at the start of its last physics step: copy them too
        data = state.data.replace(xpos=jnp.asarray(g.data.xpos, jnp.float32),
                                  qacc_warmstart=jnp.asarray(g.data.qacc_warmstart, jnp.float32))
        a = rng.uniform(g.action_space.low, g.action_space.high).astype(np.float32)
        obs_g, r_g, term_g, _, info_g = g.step(a)
        _, ts = step(jax.random.key(t), state._replace(data=data), a, params)
        assert bool(ts.terminated) == term_g
        obs_err.append(np.abs(np.asarray(ts.obs) - obs_g).max())
        rew_err.append(abs(float(ts.reward) - r_g))
        assert float(reward_sum(ts.info)) == pytest.approx(float(ts.reward), abs=1e-5)
        if term_g:
            g.reset(seed=t)
    assert np.median(obs_err) < 1e-4 and np.mean(np.array(obs_err) < 1e-3) > 0.7
    assert max(rew_err) < 0.25 and np.median(rew_err) < 1e-4


def test_termination_rules():
    env, params, reset_to, step = task("Hopper-v5")
    q0 = env.init_qpos
    zero = np.zeros(3, np.float32)

    def terminated(qpos):
        _, ts = step(jax.random.key(0), reset_to(qpos, np.zeros(6), params)[0], zero, params)
        return bool(ts.terminated), float(ts.info["reward_survive"])

    assert terminated(q0) == (False, 1.0)
    assert terminated(q0 + np.array([0, -0.6, 0, 0, 0, 0])) == (True, 0.0)  # z = 0.65 < 0.7
    assert terminated(q0 + np.array([0, 0, 0.3, 0, 0, 0])) == (True, 0.0)  # torso angle > 0.2

    env, params, reset_to, step = task("InvertedPendulum-v5")
    for theta, ended in [(0.0, False), (0.25, True), (-0.25, True)]:
        _, ts = step(jax.random.key(0), reset_to(np.array([0.0, theta]), np.zeros(2), params)[0],
                     np.zeros(1, np.float32), params)
        assert bool(ts.terminated) == ended and float(ts.reward) == (0.0 if ended else 1.0)


def test_time_limits_match_gymnasium():
    for name in ("InvertedPendulum-v5", "Reacher-v5", "Hopper-v5", "Humanoid-v5"):
        assert rlx.envs.spec(name).max_steps == gym.spec(name).max_episode_steps


def test_batched_resets_draw_fresh_states_with_gymnasiums_noise():
    n = 4096
    keys = jax.random.split(jax.random.key(0), n)
    env, params, _, _ = task("HalfCheetah-v5")
    state, ts = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    dq = np.asarray(state.data.qpos) - env.init_qpos
    assert np.abs(dq).max() <= 0.1 and np.abs(dq).max() > 0.099  # U(±0.1)
    assert abs(dq.std() - 0.1 / np.sqrt(3)) < 2e-3
    assert abs(np.asarray(state.data.qvel).std() - 0.1) < 2e-3  # 0.1·N(0, 1)
    assert len(np.unique(np.asarray(ts.obs), axis=0)) == n  # every environment its own state

    env, params, _, _ = task("Reacher-v5")
    state, ts = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    goal = np.asarray(state.data.qpos)[:, 2:]
    radius = np.linalg.norm(goal, axis=1)
    assert radius.max() < 0.2 and abs(np.mean(radius < 0.1) - 0.25) < 0.03  # uniform on the disc
    assert np.all(np.asarray(state.data.qvel)[:, 2:] == 0)
    np.testing.assert_allclose(ts.obs[:, 4:6], goal, atol=1e-6)


def test_environments_vmap_by_the_thousand():
    env, params = rlx.make("InvertedPendulum-v5")
    n = 2048
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def run(key):
        state, _ = reset(jax.random.split(key, n), params)
        state, ts = step(jax.random.split(key, n), state, jnp.zeros((n, 1)), params)
        return ts

    ts = run(jax.random.key(1))
    assert ts.obs.shape == (n, 4) and bool(jnp.all(ts.reward == 1.0))


def test_domain_randomisation_changes_the_dynamics():
    env, params, reset_to, step = task("InvertedPendulum-v5")
    phys = jax.vmap(randomize_physics, in_axes=(0, None))(jax.random.split(jax.random.key(0), 512), params.physics)
    ratio = np.asarray(phys.body_mass)[:, 1:] / np.asarray(params.physics.body_mass)[1:]
    assert ratio.min() >= 0.8 - 1e-6 and ratio.max() <= 1.2 + 1e-6 and ratio.std() > 0.1
    np.testing.assert_allclose(np.asarray(phys.body_inertia)[:, 1:] / np.asarray(params.physics.body_inertia)[1:],
                               ratio[:, :, None] * np.ones(3), rtol=1e-5)  # densities kept
    gains = np.asarray(phys.actuator_gainprm)[:, 0, 0] / float(params.physics.actuator_gainprm[0, 0])
    assert 0.9 - 1e-6 <= gains.min() and gains.max() <= 1.1 + 1e-6

    # the same state and push under two draws of the physics end in different places
    state, _ = reset_to(np.zeros(2), np.zeros(2), params)
    push = np.ones(1, np.float32)
    p0 = type(params)(jax.tree_util.tree_map(lambda x: x[0], phys), params.task)
    p1 = type(params)(jax.tree_util.tree_map(lambda x: x[1], phys), params.task)
    _, a = step(jax.random.key(0), state, push, p0)
    _, b = step(jax.random.key(0), state, push, p1)
    _, c = step(jax.random.key(0), state, push, params)
    assert np.abs(np.asarray(a.obs) - np.asarray(b.obs)).max() > 1e-3
    assert np.abs(np.asarray(a.obs) - np.asarray(c.obs)).max() > 1e-3


def test_domain_randomisation_wrapper_draws_physics_per_environment_and_episode():
    env, params = rlx.make("InvertedPendulum-v5")
    dr = rlx.envs.for_training(rlx.envs.DomainRandomization(env, physics_sampler()))
    n = 8
    reset = jax.jit(jax.vmap(dr.reset, in_axes=(0, None)))
    step = jax.jit(jax.vmap(dr.step, in_axes=(0, 0, 0, None)))
    state, _ = reset(jax.random.split(jax.random.key(0), n), params)
    masses = np.asarray(state.env_state.params.physics.body_mass)  # EpisodeStats ⊃ AutoReset ⊃ DR
    assert len(np.unique(masses[:, 2])) == n
    ended = np.zeros(n, bool)
    for t in range(200):  # a hard push ends every episode within a few steps
        state, ts = step(jax.random.split(jax.random.key(t), n), state, np.full((n, 1), 3.0, np.float32), params)
        ended |= np.asarray(ts.done)
    new = np.asarray(state.env_state.params.physics.body_mass)
    assert ended.all() and np.all(new[:, 2] != masses[:, 2])  # redrawn at each reset


def test_unknown_option_is_a_clear_error():
    with pytest.raises(TypeError, match="unknown option 'ctrl_weight'.*ctrl_cost_weight"):
        rlx.make("Hopper-v5", ctrl_weight=0.1)
    env, params = rlx.make("Hopper-v5", ctrl_cost_weight=0.5)
    assert float(params.task["ctrl_cost_weight"]) == 0.5

"""Gymnasium's MuJoCo v5 tasks on MJX (MuJoCo XLA): pure, jittable, vmappable.

    env, params = rlx.make("Hopper-v5")          # also InvertedPendulum, InvertedDoublePendulum,
    state, ts = env.reset(key, params)           # Reacher, HalfCheetah, Walker2d, Ant, Humanoid
    state, ts = env.step(key, state, action, params)

Each task loads gymnasium's own MJCF model (from the installed gymnasium package: the
``mjx`` extra) and reproduces its v5 definition: observation, reward with its terms in
``ts.info`` (``reward_forward``, ``reward_ctrl``, ...), termination rule, frame skip, reset
noise and time limit. A step sets ``ctrl = action`` (MuJoCo clamps it to the control range;
the control cost uses the action as given, as gymnasium does) and calls ``mjx.step``
``frame_skip`` times; like ``mj_step``, that leaves the derived quantities (body positions,
``cinert``, ...) at the start of the last physics step, so rewards that read them agree with
gymnasium's. ``cfrc_ext`` comes from ``mjx.rne_postconstraint`` as in gymnasium.

Differences from C MuJoCo, measured in ``tests/test_mujoco_tasks.py``: MJX computes in
float32; Humanoid's PGS solver is not in MJX, so it uses Newton (the same constrained
optimum); the solver's iteration caps default to ``iterations=ls_iterations=10`` (Newton
converges in a few; MJX under ``vmap`` runs every batch member until the slowest stops, and
the models' caps of 100/50 make contact tasks 3–4× slower for no measured change); MJX's
contact detection differs from C MuJoCo's near the contact margin, so trajectories of the
contact-rich tasks drift apart after the first touchdowns.

``params.physics`` holds the physical constants that domain randomisation varies: body
masses and inertias, centres of mass, friction, actuator gains and joint damping
(``randomize_physics``; ``rlx.envs.DomainRandomization(env, physics_sampler(**ranges))``
draws new physics at every reset). ``params.task`` holds the reward weights and health ranges (gymnasium's
constructor arguments, which ``rlx.make(name, **kwargs)`` overrides).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rlx.core.pytree import pytree_dataclass
from rlx.envs import spaces
from rlx.envs.core import Environment, TimeStep
from rlx.envs.registry import register

# MuJoCo picks its OpenGL backend when it is first imported: default to headless EGL for
# ``rlx render`` (MUJOCO_GL=glfw or osmesa, set before importing rlx, takes precedence)
os.environ.setdefault("MUJOCO_GL", "egl")


def _mujoco():
    try:
        import mujoco
        from mujoco import mjx
    except ImportError:
        raise ImportError('the MuJoCo tasks need the mjx extra: pip install "rlx[mjx]"') from None
    return mujoco, mjx


def asset_path(xml: str) -> str:
    """Path of gymnasium's MJCF file ``xml`` (gymnasium is found without importing it)."""
    spec = importlib.util.find_spec("gymnasium")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('the MuJoCo tasks load gymnasium\'s models: pip install "rlx[mjx]"')
    return os.path.join(spec.submodule_search_locations[0], "envs", "mujoco", "assets", xml)


@pytree_dataclass
class Physics:
    """The randomisable constants of an ``mjx.Model``."""

    body_mass: jax.Array  # [nbody]
    body_inertia: jax.Array  # [nbody, 3] principal moments
    body_ipos: jax.Array  # [nbody, 3] centre of mass in the body frame
    geom_friction: jax.Array  # [ngeom, 3] sliding, torsional, rolling
    actuator_gainprm: jax.Array  # [nu, 10]; a motor's force is gainprm[0] · gear · ctrl
    dof_damping: jax.Array  # [nv]


@pytree_dataclass
class MujocoParams:
    physics: Physics
    task: dict  # reward weights, health ranges, reset noise: floats, vmappable


class MujocoState(NamedTuple):
    data: Any  # mjx.Data


class MujocoTask(Environment):
    """One gymnasium v5 task. Subclasses set the class attributes and define
    ``observation(data, p)``, ``rewards(before, after, action, p) -> (reward, terminated, info)``
    and, where it is not gymnasium's usual uniform/normal noise, ``initial_state``."""

    xml: str
    frame_skip: int
    max_steps: int = 1000
    defaults: dict = {}  # gymnasium's constructor arguments (floats) → params.task
    qvel_noise: str = "uniform"  # or "normal": how reset perturbs qvel (scale: reset_noise_scale)
    forward_on_reset: bool = True  # the observation reads derived quantities (positions, forces)
    contact_forces: bool = False  # the observation/reward reads cfrc_ext
    camera: dict = {}  # gymnasium's default camera (rlx render), tracking a moving body

    def __init__(self, iterations: int = 10, ls_iterations: int = 10, **task):
        unknown = sorted(set(task) - set(self.defaults))
        if unknown:
            raise TypeError(f"{self.name}: unknown option {unknown[0]!r}; options: {', '.join(self.defaults)}")
        mujoco, mjx = _mujoco()
        model = mujoco.MjModel.from_xml_path(asset_path(self.xml))
        if model.opt.solver == mujoco.mjtSolver.mjSOL_PGS:  # not in MJX; Newton reaches the same optimum
            model.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON
        model.opt.iterations = min(int(model.opt.iterations), iterations)
        model.opt.ls_iterations = min(int(model.opt.ls_iterations), ls_iterations)
        self.mj_model = model
        self.mx = mjx.put_model(model)
        self._mjx = mjx
        self.task_params = {**self.defaults, **task}
        self.init_qpos = np.asarray(model.qpos0, np.float32)
        self.dt = float(model.opt.timestep) * self.frame_skip

    # ------------------------------------------------------------------ API
    def default_params(self) -> MujocoParams:
        m = self.mx
        physics = Physics(m.body_mass, m.body_inertia, m.body_ipos, m.geom_friction, m.actuator_gainprm,
                          m.dof_damping)
        return MujocoParams(physics, {k: jnp.asarray(v, jnp.float32) for k, v in self.task_params.items()})

    def model(self, params: MujocoParams):
        """The ``mjx.Model`` with ``params.physics`` in place."""
        return self.mx.replace(**{k: getattr(params.physics, k) for k in Physics.__dataclass_fields__})

    def reset(self, key, params):
        qpos, qvel = self.initial_state(key, params)
        return self.reset_to(qpos, qvel, params)

    def initial_state(self, key, params):
        """gymnasium's reset: ``qpos0 + U(±s)`` and ``0 + U(±s)`` (or ``s·N(0, 1)``), ``s`` the reset noise scale."""
        s = params.task["reset_noise_scale"]
        k_pos, k_vel = jax.random.split(key)
        m = self.mj_model
        qpos = self.init_qpos + jax.random.uniform(k_pos, (m.nq,), jnp.float32, -s, s)
        if self.qvel_noise == "normal":
            qvel = s * jax.random.normal(k_vel, (m.nv,), jnp.float32)
        else:
            qvel = jax.random.uniform(k_vel, (m.nv,), jnp.float32, -s, s)
        return qpos, qvel

    def reset_to(self, qpos, qvel, params) -> tuple[MujocoState, TimeStep]:
        """The state at ``(qpos, qvel)`` (gymnasium's ``set_state``: ``mj_forward`` after setting them)."""
        m = self.model(params)
        qpos, qvel = jnp.asarray(qpos, jnp.float32), jnp.asarray(qvel, jnp.float32)
        data = self._mjx.make_data(m).replace(qpos=qpos, qvel=qvel)
        if self.forward_on_reset:  # (not rne_postconstraint: cfrc_ext stays 0 at reset, as in gymnasium)
            data = self._mjx.forward(m, data).replace(qpos=qpos)  # MJX normalises quaternions; MuJoCo only on step
        zeros = jnp.zeros(self.mj_model.nu, jnp.float32)
        _, _, info = self.rewards(data, data, zeros, params)  # the info keys, with the step's structure
        info = jax.tree_util.tree_map(jnp.zeros_like, info)
        false = jnp.zeros((), bool)
        return MujocoState(data), TimeStep(self.observation(data, params), jnp.zeros((), jnp.float32), false,
                                           false, info)

    def step(self, key, state, action, params):
        m = self.model(params)
        action = jnp.asarray(action, jnp.float32)
        data = state.data.replace(ctrl=action)
        data = jax.lax.fori_loop(0, self.frame_skip, lambda _, d: self._mjx.step(m, d), data)
        if self.contact_forces:
            data = self._mjx.rne_postconstraint(m, data)
        reward, terminated, info = self.rewards(state.data, data, action, params)
        obs = self.observation(data, params)
        return MujocoState(data), TimeStep(obs, jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool),
                                           jnp.zeros((), bool), info)

    def observation_space(self, params):
        size = self.observation(self._mjx.make_data(self.mx), params).shape
        return spaces.box(-np.inf, np.inf, size)

    def action_space(self, params):
        low, high = self.mj_model.actuator_ctrlrange.T
        return spaces.box(low, high)

    # ------------------------------------------------------------------ task
    def observation(self, data, params) -> jax.Array:
        raise NotImplementedError

    def rewards(self, before, after, action, params):
        raise NotImplementedError


def _ctrl_cost(weight, action):
    return weight * jnp.sum(jnp.square(action))


def _inside(x, low, high):
    return (low < x) & (x < high)


def _locomotion(forward_weight, x_velocity, ctrl_cost, healthy_reward, terminated):
    """``reward_forward + reward_survive + reward_ctrl`` as gymnasium's walkers report them."""
    forward = forward_weight * x_velocity
    info = dict(reward_forward=forward, reward_ctrl=-ctrl_cost, reward_survive=healthy_reward,
                x_velocity=x_velocity)
    return forward + healthy_reward - ctrl_cost, terminated, info


# --------------------------------------------------------------------------- the tasks


class InvertedPendulum(MujocoTask):
    """Cart-pole on a rail; obs ``[qpos, qvel]``; reward 1 while ``|θ| ≤ 0.2``, then it terminates."""

    name, xml, frame_skip = "InvertedPendulum-v5", "inverted_pendulum.xml", 2
    camera = dict(distance=2.04)
    defaults = dict(reset_noise_scale=0.01)
    forward_on_reset = False

    def observation(self, d, p):
        return jnp.concatenate([d.qpos, d.qvel])

    def rewards(self, before, after, action, p):
        obs = self.observation(after, p)
        terminated = ~jnp.all(jnp.isfinite(obs)) | (jnp.abs(obs[1]) > 0.2)
        reward = jnp.where(terminated, 0.0, 1.0)
        return reward, terminated, dict(reward_survive=reward)

    def reward_from_obs(self, obs, action, next_obs, params):
        """Exact: the rule reads the next observation only."""
        terminated = ~jnp.all(jnp.isfinite(next_obs)) | (jnp.abs(next_obs[1]) > 0.2)
        return jnp.where(terminated, 0.0, 1.0), terminated


class InvertedDoublePendulum(MujocoTask):
    """Two poles on a cart; reward ``10·alive − (0.01 x² + (y − 2)²) − (0.001 ω₁² + 0.005 ω₂²)`` at
    the tip ``(x, y)``; terminates when ``y ≤ 1``."""

    name, xml, frame_skip = "InvertedDoublePendulum-v5", "inverted_double_pendulum.xml", 5
    camera = dict(distance=4.1225, lookat=(0.0, 0.0, 0.1225))
    defaults = dict(healthy_reward=10.0, reset_noise_scale=0.1)
    qvel_noise = "normal"

    def observation(self, d, p):
        return jnp.concatenate([d.qpos[:1], jnp.sin(d.qpos[1:]), jnp.cos(d.qpos[1:]), jnp.clip(d.qvel, -10, 10),
                                jnp.clip(d.qfrc_constraint, -10, 10)[:1]])

    def rewards(self, before, after, action, p):
        x, y = after.site_xpos[0, 0], after.site_xpos[0, 2]
        terminated = y <= 1
        v1, v2 = after.qvel[1], after.qvel[2]
        dist = 0.01 * x**2 + (y - 2) ** 2
        vel = 1e-3 * v1**2 + 5e-3 * v2**2
        alive = jnp.where(terminated, 0.0, p.task["healthy_reward"])
        return alive - dist - vel, terminated, dict(reward_survive=alive, distance_penalty=-dist,
                                                    velocity_penalty=-vel)


class Reacher(MujocoTask):
    """A two-link arm reaching a random target in the disc of radius 0.2; reward
    ``−w_d‖fingertip − target‖ − w_c‖a‖²``; never terminates (50 steps)."""

    name, xml, frame_skip, max_steps = "Reacher-v5", "reacher.xml", 2, 50
    defaults = dict(reward_dist_weight=1.0, reward_control_weight=1.0)

    def initial_state(self, key, params):
        """Joints ``qpos0 + U(±0.1)``, target uniform in the disc ‖g‖ < 0.2 (gymnasium draws it by
        rejection from the square), velocities ``U(±0.005)`` with the target's at 0."""
        k_pos, k_r, k_a, k_vel = jax.random.split(key, 4)
        m = self.mj_model
        qpos = self.init_qpos + jax.random.uniform(k_pos, (m.nq,), jnp.float32, -0.1, 0.1)
        r = 0.2 * jnp.sqrt(jax.random.uniform(k_r, ()))
        angle = jax.random.uniform(k_a, (), jnp.float32, 0.0, 2 * jnp.pi)
        qpos = qpos.at[-2:].set(jnp.stack([r * jnp.cos(angle), r * jnp.sin(angle)]))
        qvel = jax.random.uniform(k_vel, (m.nv,), jnp.float32, -0.005, 0.005).at[-2:].set(0.0)
        return qpos, qvel

    def _fingertip_to_target(self, d):
        return d.xpos[self.mj_model.body("fingertip").id] - d.xpos[self.mj_model.body("target").id]

    def observation(self, d, p):
        theta = d.qpos[:2]
        return jnp.concatenate([jnp.cos(theta), jnp.sin(theta), d.qpos[2:], d.qvel[:2],
                                self._fingertip_to_target(d)[:2]])

    def rewards(self, before, after, action, p):
        dist = -jnp.linalg.norm(self._fingertip_to_target(after)) * p.task["reward_dist_weight"]
        ctrl = -_ctrl_cost(p.task["reward_control_weight"], action)
        return dist + ctrl, jnp.zeros((), bool), dict(reward_dist=dist, reward_ctrl=ctrl)


class Hopper(MujocoTask):
    """One-legged hopper; reward ``ẋ + 1·healthy − 0.001‖a‖²``; terminates unless
    ``z > 0.7``, ``|angle| < 0.2`` and every other state entry lies in (−100, 100)."""

    name, xml, frame_skip = "Hopper-v5", "hopper.xml", 4
    camera = dict(trackbodyid=2, distance=3.0, lookat=(0.0, 0.0, 1.15), elevation=-20.0)
    defaults = dict(forward_reward_weight=1.0, ctrl_cost_weight=1e-3, healthy_reward=1.0,
                    healthy_z_min=0.7, healthy_angle=0.2, healthy_state=100.0, reset_noise_scale=5e-3)
    forward_on_reset = False

    def observation(self, d, p):
        return jnp.concatenate([d.qpos[1:], jnp.clip(d.qvel, -10, 10)])

    def rewards(self, before, after, action, p):
        t = p.task
        z, angle = after.qpos[1], after.qpos[2]
        state = jnp.concatenate([after.qpos, after.qvel])[2:]
        healthy = (jnp.all(_inside(state, -t["healthy_state"], t["healthy_state"])) & (z > t["healthy_z_min"])
                   & _inside(angle, -t["healthy_angle"], t["healthy_angle"]))
        x_velocity = (after.qpos[0] - before.qpos[0]) / self.dt
        return _locomotion(t["forward_reward_weight"], x_velocity, _ctrl_cost(t["ctrl_cost_weight"], action),
                           healthy * t["healthy_reward"], ~healthy)


class HalfCheetah(MujocoTask):
    """Planar cheetah; reward ``ẋ − 0.1‖a‖²``; never terminates."""

    name, xml, frame_skip = "HalfCheetah-v5", "half_cheetah.xml", 5
    camera = dict(trackbodyid=1, distance=4.0)
    defaults = dict(forward_reward_weight=1.0, ctrl_cost_weight=0.1, reset_noise_scale=0.1)
    qvel_noise = "normal"
    forward_on_reset = False

    def observation(self, d, p):
        return jnp.concatenate([d.qpos[1:], d.qvel])

    def rewards(self, before, after, action, p):
        t = p.task
        x_velocity = (after.qpos[0] - before.qpos[0]) / self.dt
        forward = t["forward_reward_weight"] * x_velocity
        ctrl = _ctrl_cost(t["ctrl_cost_weight"], action)
        return forward - ctrl, jnp.zeros((), bool), dict(reward_forward=forward, reward_ctrl=-ctrl,
                                                         x_velocity=x_velocity)

    def reward_from_obs(self, obs, action, next_obs, params):
        """Approximate: the forward velocity is the next observation's ``qvel[0]`` (index 8), the
        velocity at the end of the step, where gymnasium uses the step's mean ``Δx / dt``."""
        t = params.task
        return (t["forward_reward_weight"] * next_obs[8] - _ctrl_cost(t["ctrl_cost_weight"], action),
                jnp.zeros((), bool))


class Walker2d(MujocoTask):
    """Planar biped; reward ``ẋ + 1·healthy − 0.001‖a‖²``; terminates unless ``0.8 < z < 2``
    and ``|angle| < 1``."""

    name, xml, frame_skip = "Walker2d-v5", "walker2d_v5.xml", 4
    camera = dict(trackbodyid=2, distance=4.0, lookat=(0.0, 0.0, 1.15), elevation=-20.0)
    defaults = dict(forward_reward_weight=1.0, ctrl_cost_weight=1e-3, healthy_reward=1.0, healthy_z_min=0.8,
                    healthy_z_max=2.0, healthy_angle=1.0, reset_noise_scale=5e-3)
    forward_on_reset = False

    def observation(self, d, p):
        return jnp.concatenate([d.qpos[1:], jnp.clip(d.qvel, -10, 10)])

    def rewards(self, before, after, action, p):
        t = p.task
        healthy = (_inside(after.qpos[1], t["healthy_z_min"], t["healthy_z_max"])
                   & _inside(after.qpos[2], -t["healthy_angle"], t["healthy_angle"]))
        x_velocity = (after.qpos[0] - before.qpos[0]) / self.dt
        return _locomotion(t["forward_reward_weight"], x_velocity, _ctrl_cost(t["ctrl_cost_weight"], action),
                           healthy * t["healthy_reward"], ~healthy)


class Ant(MujocoTask):
    """Quadruped; reward ``ẋ_torso + 1·healthy − 0.5‖a‖² − 5·10⁻⁴‖clip(cfrc_ext, ±1)‖²``;
    terminates unless the state is finite and ``0.2 ≤ z ≤ 1``. The observation ends with
    the clipped external contact forces of every body but the world."""

    name, xml, frame_skip = "Ant-v5", "ant.xml", 5
    camera = dict(trackbodyid=1, distance=4.0)
    defaults = dict(forward_reward_weight=1.0, ctrl_cost_weight=0.5, contact_cost_weight=5e-4, healthy_reward=1.0,
                    healthy_z_min=0.2, healthy_z_max=1.0, contact_force_max=1.0, reset_noise_scale=0.1)
    qvel_noise = "normal"
    contact_forces = True

    def _contact(self, d, p):
        c = p.task["contact_force_max"]
        return jnp.clip(d._impl.cfrc_ext, -c, c)

    def observation(self, d, p):
        return jnp.concatenate([d.qpos[2:], d.qvel, self._contact(d, p)[1:].ravel()])

    def rewards(self, before, after, action, p):
        t = p.task
        state = jnp.concatenate([after.qpos, after.qvel])
        healthy = jnp.all(jnp.isfinite(state)) & (t["healthy_z_min"] <= state[2]) & (state[2] <= t["healthy_z_max"])
        xy_velocity = (after.xpos[1, :2] - before.xpos[1, :2]) / self.dt
        forward = t["forward_reward_weight"] * xy_velocity[0]
        survive = healthy * t["healthy_reward"]
        ctrl = _ctrl_cost(t["ctrl_cost_weight"], action)
        contact = t["contact_cost_weight"] * jnp.sum(jnp.square(self._contact(after, p)))
        info = dict(reward_forward=forward, reward_ctrl=-ctrl, reward_contact=-contact, reward_survive=survive,
                    x_velocity=xy_velocity[0], y_velocity=xy_velocity[1])
        return forward + survive - ctrl - contact, ~healthy, info


class Humanoid(MujocoTask):
    """3-D humanoid; reward ``1.25·ẋ_com + 5·healthy − 0.1‖ctrl‖² − min(5·10⁻⁷‖cfrc_ext‖², 10)``;
    terminates unless ``1 < z < 2``. The observation appends ``cinert``, ``cvel``,
    ``qfrc_actuator`` and ``cfrc_ext`` (as gymnasium v5: 348 numbers)."""

    name, xml, frame_skip = "Humanoid-v5", "humanoid.xml", 5
    camera = dict(trackbodyid=1, distance=4.0, lookat=(0.0, 0.0, 2.0), elevation=-20.0)
    defaults = dict(forward_reward_weight=1.25, ctrl_cost_weight=0.1, contact_cost_weight=5e-7,
                    contact_cost_max=10.0, healthy_reward=5.0, healthy_z_min=1.0, healthy_z_max=2.0,
                    reset_noise_scale=1e-2)
    contact_forces = True

    def observation(self, d, p):
        i = d._impl
        return jnp.concatenate([d.qpos[2:], d.qvel, i.cinert[1:].ravel(), d.cvel[1:].ravel(),
                                d.qfrc_actuator[6:], i.cfrc_ext[1:].ravel()])

    def _mass_center(self, d, p):
        mass = p.physics.body_mass
        return (mass @ d.xipos / jnp.sum(mass))[:2]

    def rewards(self, before, after, action, p):
        t = p.task
        healthy = _inside(after.qpos[2], t["healthy_z_min"], t["healthy_z_max"])
        xy_velocity = (self._mass_center(after, p) - self._mass_center(before, p)) / self.dt
        forward = t["forward_reward_weight"] * xy_velocity[0]
        survive = healthy * t["healthy_reward"]
        ctrl = _ctrl_cost(t["ctrl_cost_weight"], action)
        contact = jnp.minimum(t["contact_cost_weight"] * jnp.sum(jnp.square(after._impl.cfrc_ext)),
                              t["contact_cost_max"])
        info = dict(reward_forward=forward, reward_ctrl=-ctrl, reward_contact=-contact, reward_survive=survive,
                    x_velocity=xy_velocity[0], y_velocity=xy_velocity[1])
        return forward + survive - ctrl - contact, ~healthy, info


TASKS = (InvertedPendulum, InvertedDoublePendulum, Reacher, Hopper, HalfCheetah, Walker2d, Ant, Humanoid)
for _task in TASKS:
    register(_task.name, _task, max_steps=_task.max_steps)


# --------------------------------------------------------------------------- domain randomisation


def randomize_physics(key, physics: Physics, mass=0.2, com=0.02, friction=0.3, gain=0.1, damping=0.2) -> Physics:
    """Physics drawn around ``physics``: masses (and inertias, keeping densities) scaled by
    ``U(1 ± mass)``, centres of mass shifted by ``U(± com)`` metres per axis, sliding friction
    scaled by ``U(1 ± friction)``, actuator gains by ``U(1 ± gain)``, damping by ``U(1 ± damping)``
    (each body, geom, actuator and joint drawn independently). ``vmap`` over keys for a batch."""
    k = jax.random.split(key, 5)

    def scale(k, x, r):
        return x * jax.random.uniform(k, x.shape, jnp.float32, 1 - r, 1 + r)

    s = jax.random.uniform(k[0], physics.body_mass.shape, jnp.float32, 1 - mass, 1 + mass)
    return Physics(
        body_mass=physics.body_mass * s,
        body_inertia=physics.body_inertia * s[:, None],
        body_ipos=physics.body_ipos + jax.random.uniform(k[1], physics.body_ipos.shape, jnp.float32, -com, com),
        geom_friction=physics.geom_friction.at[:, 0].set(scale(k[2], physics.geom_friction[:, 0], friction)),
        actuator_gainprm=physics.actuator_gainprm.at[:, 0].set(scale(k[3], physics.actuator_gainprm[:, 0], gain)),
        dof_damping=scale(k[4], physics.dof_damping, damping),
    )


def physics_sampler(**ranges):
    """A ``rlx.envs.DomainRandomization`` sampler: ``MujocoParams`` with physics from
    ``randomize_physics(key, params.physics, **ranges)`` and the task settings unchanged."""
    def sample(key, params: MujocoParams) -> MujocoParams:
        return MujocoParams(randomize_physics(key, params.physics, **ranges), params.task)
    return sample

"""Model-based RL (rlx.algos.mbrl): model formulas, ensemble learning on a known linear system,
planning on the learned model against LQR, the agent in the runner."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rlx
from rlx.algos import ConfigError, mbrl
from rlx.control.lqr import lqr
from rlx.core import running_stats as rs

# a stable, controllable 2-D system x' = A x + B u
A = np.array([[1.0, 0.1], [-0.1, 0.95]], np.float32)
B = np.array([[0.0], [0.5]], np.float32)


def true_step(x, a):
    """The agent's action ``a`` in [−1, 1] is the control ``u = 2a``."""
    return x @ A.T + (2.0 * a) @ B.T


def linear_data(key, n):
    k1, k2 = jax.random.split(key)
    x = jax.random.uniform(k1, (n, 2), minval=-2.0, maxval=2.0)
    a = jax.random.uniform(k2, (n, 1), minval=-1.0, maxval=1.0)
    return x, a, true_step(x, a)


@pytest.fixture(scope="module")
def linear_model():
    """A deterministic 3-member ensemble fitted to 4096 transitions of the linear system;
    returns it with its held-out errors before and after training."""
    ens = mbrl.Ensemble(mbrl.DynamicsNet(2, (64, 64), "silu", False), 3)
    model = ens.init(jax.random.key(0), 2, 1)
    x, u, x2 = linear_data(jax.random.key(1), 4096)
    stats = mbrl.update_stats(mbrl.init_stats(2, 1), x, u, x2, jnp.ones(4096, bool))
    hx, hu, hx2 = linear_data(jax.random.key(2), 512)
    valid = jnp.ones((512, 1), bool)

    def heldout(model):
        return mbrl.heldout_errors(ens, model, stats, hx[:, None], hu[:, None], hx2[:, None], valid, 1)[0]

    tx = optax.adamw(optax.cosine_decay_schedule(3e-3, 2000), weight_decay=0.0)

    @jax.jit
    def train(model, key):
        def step(carry, k):
            model, opt = carry
            idx = jax.random.randint(k, (3, 128), 0, 4096)
            model, opt, loss, _ = mbrl.fit_step(ens, tx, model, opt, stats, x[idx], u[idx], x2[idx],
                                                jnp.ones((3, 128)))
            return (model, opt), loss
        (model, _), losses = jax.lax.scan(step, (model, tx.init(model)), jax.random.split(key, 2000))
        return model, losses

    before = heldout(model)
    model, losses = train(model, jax.random.key(3))
    return ens, model, stats, before, heldout(model), losses


def test_gaussian_nll_by_hand():
    mean, logvar, y = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, np.log(4.0)]]), jnp.array([[2.0, 1.0]])
    # (1 − 2)² e⁰ + 0 + (0 − 1)² / 4 + log 4
    np.testing.assert_allclose(mbrl.gaussian_nll(mean, logvar, y), [1.0 + 0.25 + np.log(4.0)], rtol=1e-6)


def test_update_stats_matches_numpy_over_valid_rows():
    rng = np.random.default_rng(0)
    o, a, o2 = rng.normal(size=(50, 3)), rng.normal(size=(50, 1)), rng.normal(size=(50, 3))
    valid = rng.random(50) < 0.7
    stats = mbrl.init_stats(3, 1)
    stats = mbrl.update_stats(stats, o[:20], a[:20], o2[:20], valid[:20])
    stats = mbrl.update_stats(stats, o[20:], a[20:], o2[20:], valid[20:])
    x = np.concatenate([o, a], 1)[valid]
    np.testing.assert_allclose(stats.inputs.mean, x.mean(0), atol=1e-5)
    np.testing.assert_allclose(stats.inputs.var, x.var(0), atol=1e-5)
    np.testing.assert_allclose(stats.deltas.mean, (o2 - o)[valid].mean(0), atol=1e-5)
    np.testing.assert_allclose(stats.deltas.var, (o2 - o)[valid].var(0), atol=1e-5)
    same = mbrl.update_stats(stats, o[:5], a[:5], o2[:5], np.zeros(5, bool))  # nothing valid: unchanged
    np.testing.assert_array_equal(same.inputs.mean, stats.inputs.mean)


def test_member_prediction_denormalises():
    """With the network's output fixed at (m, v), ŝ' = s + μ_Δ + σ_Δ m and std = e^{v/2} σ_Δ."""
    net = mbrl.DynamicsNet(2, (4,), "tanh", True)
    ens = mbrl.Ensemble(net, 1)
    params = jax.tree_util.tree_map(jnp.zeros_like, ens.init(jax.random.key(0), 2, 1))
    p = jax.tree_util.tree_map(lambda w: w[0], params)
    p["params"]["MLP_0"]["Dense_1"]["bias"] = jnp.array([0.5, -1.0, 0.0, 0.0])  # raw log-var 0
    p["params"]["max_logvar"], p["params"]["min_logvar"] = jnp.full(2, 0.5), jnp.full(2, -10.0)
    stats = mbrl.ModelStats(rs.RunningStats(jnp.zeros(3), jnp.ones(3), jnp.ones(())),
                            rs.RunningStats(jnp.array([1.0, 2.0]), jnp.array([4.0, 9.0]), jnp.ones(())))
    mean, std = ens.member(p, stats, jnp.array([0.0, 1.0]), jnp.array([0.3]))
    np.testing.assert_allclose(mean, [0.0 + 1.0 + 2.0 * 0.5, 1.0 + 2.0 + 3.0 * -1.0], rtol=1e-5)
    # the soft bounds [−10, 0.5] map raw 0 to 0.5 − softplus(0.5), then −10 + softplus(· + 10)
    v = 0.5 - np.log1p(np.exp(0.5))
    v = -10.0 + np.log1p(np.exp(v + 10.0))
    np.testing.assert_allclose(std, np.exp(0.5 * v) * np.array([2.0, 3.0]), rtol=1e-5)


def test_training_reduces_heldout_error_on_a_linear_system(linear_model):
    ens, model, stats, before, after, losses = linear_model
    assert before.shape == (3,)
    assert float(losses[-100:].mean()) < 0.05 * float(losses[:10].mean())
    assert np.all(np.asarray(after) < 0.01 * np.asarray(before)), (before, after)
    assert np.all(np.asarray(after) < 1e-3)


def test_heldout_rollouts_skip_windows_that_cross_an_episode_end(linear_model):
    ens, model, stats, _, _, _ = linear_model
    # 12 rows, horizon 4 → windows rows 0–3, 4–7, 8–11; an episode ends at row 4 and a new one
    # (another start) runs through rows 5–11, so window 1 mixes two episodes
    u = np.full((12, 1, 1), 0.5, np.float32)

    def episode(x0, n):
        xs = [np.array([x0], np.float32)]
        for t in range(n):
            xs.append(np.asarray(true_step(xs[-1], u[t])))
        return np.stack(xs)

    first, second = episode([1.0, -0.5], 5), episode([-1.5, 0.5], 7)
    obs = np.concatenate([first[:-1], second[:-1]])  # [12, 1, 2]
    nxt = np.concatenate([first[1:], second[1:]])
    done = np.zeros((12, 1), bool)
    done[4] = True
    _, err = mbrl.heldout_errors(ens, model, stats, obs, u, nxt, done, 4)
    _, err_w0 = mbrl.heldout_errors(ens, model, stats, obs[:4], u[:4], nxt[:4], done[:4], 4)
    _, err_w2 = mbrl.heldout_errors(ens, model, stats, obs[8:], u[8:], nxt[8:], done[8:], 4)
    np.testing.assert_allclose(err, (err_w0 + err_w2) / 2, rtol=1e-5, atol=1e-9)
    assert float(err) < 1e-2
    _, err_blind = mbrl.heldout_errors(ens, model, stats, obs, u, nxt, np.zeros_like(done), 4)
    assert float(err_blind) > 10 * float(err) + 0.1  # the mixed window, if counted, is far off
    nan_obs = obs.copy()
    nan_obs[9] = np.nan  # a non-finite observation leaves its transition and window out
    per_member, err_nan = mbrl.heldout_errors(ens, model, stats, nan_obs, u, nxt, done, 4)
    assert np.all(np.isfinite(per_member))
    np.testing.assert_allclose(err_nan, err_w0, rtol=1e-5, atol=1e-9)


def test_cem_on_the_learned_model_recovers_the_lqr_action(linear_model):
    ens, model, stats, _, _, _ = linear_model
    T = 10
    Q, R = np.diag([1.0, 0.1]).astype(np.float32), np.array([[0.3]], np.float32)

    def reward(x, u, x2):  # −ℓ(x, u) = −(½xᵀQx + ½uᵀRu)
        return -(0.5 * x @ Q @ x + 0.5 * u @ R @ u), jnp.zeros((), bool)

    sol = lqr(jnp.broadcast_to(A, (T, 2, 2)), jnp.broadcast_to(B, (T, 2, 1)),
              jnp.concatenate([jnp.broadcast_to(Q, (T, 2, 2)), jnp.zeros((1, 2, 2))]), jnp.broadcast_to(R, (T, 1, 1)))
    cfg = mbrl.MBRLConfig(ensemble_size=3, particles=3, horizon=T, num_samples=400, num_elites=40,
                          iterations=12, init_std=0.5)
    to_env = lambda a: 2.0 * a  # the model's (and the plan's) actions in [−1, 1] → u in [−2, 2]
    for x0 in ([1.0, 0.0], [-1.0, -0.5]):
        x0 = jnp.array(x0, jnp.float32)
        u_lqr = float((sol.K[0] @ x0)[0])
        assert abs(u_lqr) < 1.9  # inside the box
        a, warm, predicted = mbrl.plan_action(cfg, ens, model, stats, reward, to_env, x0,
                                              jnp.zeros((T, 1)), jax.random.key(0))
        assert abs(float(to_env(a)[0]) - u_lqr) < 0.1 * max(abs(u_lqr), 0.3), (to_env(a), u_lqr)
        assert warm.shape == (T, 1)
        # the predicted return is minus the LQR cost-to-go ½x₀ᵀP₀x₀ (up to the plan's suboptimality)
        np.testing.assert_allclose(-predicted, 0.5 * x0 @ sol.P[0] @ x0, rtol=0.05)


def test_reward_from_obs_matches_the_environment():
    for name in ("Pendulum-v1", "MountainCarContinuous-v0"):
        env, params = rlx.make(name)
        state, ts = env.reset(jax.random.key(1), params)
        key = jax.random.key(2)
        for t in range(30):
            key, k = jax.random.split(key)
            action = jax.random.uniform(k, (1,), minval=-3.0, maxval=3.0)
            new_state, ts2 = env.step(k, state, action, params)
            r, term = env.unwrapped.reward_from_obs(ts.obs, action, ts2.obs, params)
            np.testing.assert_allclose(r, ts2.reward, rtol=1e-5, atol=1e-5)
            assert bool(term) == bool(ts2.terminated)
            state, ts = new_state, ts2


def test_reward_from_obs_terminations():
    """MountainCarContinuous at the goal (the +100 branch) equals the step's reward and termination;
    InvertedPendulum-v5's and HalfCheetah-v5's rules against hand-computed values."""
    env, params = rlx.make("MountainCarContinuous-v0")
    state = jnp.array([0.44, 0.06], jnp.float32)
    _, ts = env.unwrapped.step(jax.random.key(0), state, jnp.array([1.0]), params)
    assert bool(ts.terminated)
    r, term = env.unwrapped.reward_from_obs(state, jnp.array([1.0]), ts.obs, params)
    assert bool(term) and float(r) == pytest.approx(float(ts.reward)) and float(r) == pytest.approx(99.9)
    if not _has_mjx():
        return
    # InvertedPendulum-v5: reward 1 until |θ| = |obs[1]| > 0.2 (or a non-finite observation), then 0
    env, params = rlx.make("InvertedPendulum-v5")
    rule = env.unwrapped.reward_from_obs
    o = jnp.zeros(4)
    for nxt, want in (([0.1, 0.19, 0.0, 0.0], (1.0, False)), ([0.1, -0.21, 0.0, 0.0], (0.0, True)),
                      ([np.nan, 0.0, 0.0, 0.0], (0.0, True))):
        r, term = rule(o, jnp.array([0.5]), jnp.array(nxt, jnp.float32), params)
        assert (float(r), bool(term)) == want
    # HalfCheetah-v5: ẋ at the end of the step (qvel[0] = obs[8]) − 0.1‖a‖²
    env, params = rlx.make("HalfCheetah-v5")
    nxt = jnp.zeros(17).at[8].set(2.5)
    r, term = env.unwrapped.reward_from_obs(jnp.zeros(17), jnp.full(6, 0.5), nxt, params)
    assert float(r) == pytest.approx(2.5 - 0.1 * 6 * 0.25) and not bool(term)


class Line(rlx.envs.Environment):
    """x' = x + a/2 from x = 0, terminating once x > 1 (for the terminal-transition test)."""

    name = "Line"

    def default_params(self):
        return None

    def reset(self, key, params):
        x = jnp.zeros((1,), jnp.float32)
        false = jnp.zeros((), bool)
        return x, rlx.envs.TimeStep(x, jnp.zeros(()), false, false, {})

    def step(self, key, state, action, params):
        x = state + 0.5 * action
        term = x[0] > 1.0
        return x, rlx.envs.TimeStep(x, term.astype(jnp.float32), term, jnp.zeros((), bool), {})

    def observation_space(self, params):
        return rlx.envs.spaces.box(-np.inf, np.inf, (1,))

    def action_space(self, params):
        return rlx.envs.spaces.box(-1.0, 1.0, (1,))

    def reward_from_obs(self, obs, action, next_obs, params):
        term = next_obs[0] > 1.0
        return term.astype(jnp.float32), term


def test_the_dataset_keeps_terminal_transitions():
    """Every stored transition is (s, a, s') with the true successor — also where the episode
    terminated (not the next episode's first observation, which the buffer's next slot holds)."""
    env = rlx.envs.TimeLimit(Line(), 30)
    cfg = mbrl.MBRLConfig(hidden=(8,), ensemble_size=2, particles=2, num_samples=4, num_elites=2, iterations=1,
                          horizon=3, model_steps=1, collect_steps=200, random_steps=10_000, num_envs=2,
                          heldout_horizon=5)
    agent = mbrl.build(cfg, env, None, 400)
    state, _ = jax.jit(agent.update)(agent.init(jax.random.key(0), cfg))
    buf = state.buffer
    pairs, a = np.asarray(buf.obs[:200]), np.asarray(buf.action[:200])  # [200, 2, 2, 1], [200, 2, 1]
    terminated = np.asarray(buf.terminated[:200])
    assert terminated.sum() >= 5  # random ±0.5 steps cross x = 1 several times in 400 steps
    np.testing.assert_allclose(pairs[:, :, 1], pairs[:, :, 0] + 0.5 * a, atol=1e-6)
    assert np.all(pairs[terminated][:, 1, 0] > 1.0)


def test_wrappers_that_change_observations_are_refused():
    env, params = rlx.make("Pendulum-v1")
    with pytest.raises(ConfigError, match="ClipReward") as e:
        mbrl.build(mbrl.MBRLConfig(), rlx.envs.ClipReward(env), params, 1000)
    assert "\n" not in str(e.value)
    dr = rlx.envs.DomainRandomization(env, rlx.envs.scale_fields(m=0.2))
    mbrl.build(mbrl.MBRLConfig(), dr, params, 1000)  # randomised physics keeps the observations


def test_config_errors_are_one_line():
    env, params = rlx.make("Pendulum-v1")
    for bad, field in [(dict(planner="ilqr"), "--planner"), (dict(num_elites=500), "--num-elites"),
                       (dict(ensemble_size=0), "--ensemble-size"), (dict(alpha=1.0), "--alpha"),
                       (dict(heldout_horizon=300), "--heldout-horizon")]:
        with pytest.raises(ConfigError, match=field) as e:
            mbrl.build(mbrl.MBRLConfig(**bad), env, params, 1000)
        assert "\n" not in str(e.value)
    cartpole, cp = rlx.make("CartPole-v1")
    with pytest.raises(ConfigError, match="Box"):
        mbrl.build(mbrl.MBRLConfig(), cartpole, cp, 1000)
    acrobot_like, p = rlx.make("InvertedDoublePendulum-v5") if _has_mjx() else (None, None)
    if acrobot_like is not None:
        with pytest.raises(ConfigError, match="reward_from_obs"):
            mbrl.build(mbrl.MBRLConfig(), acrobot_like, p, 1000)


def _has_mjx():
    try:
        import mujoco.mjx  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory):
    """Three episodes (600 steps: one random, two planned), one update per chunk, checkpointed."""
    out = tmp_path_factory.mktemp("mbrl") / "run"
    return rlx.train("mbrl", "Pendulum-v1", total_steps=600, eval_episodes=4, chunks=3, checkpoint_every=1,
                     keep_checkpoints=3, show_progress=False, out=out)


def test_mbrl_learns_pendulum(pendulum_run):
    """The planner on the learned model swings the pendulum up: evaluation return above −400
    (a random policy: about −1200)."""
    r = pendulum_run
    assert r.summary["final_return_mean"] > -400, r.summary
    m = r.metrics
    assert m["heldout_mse"][-1, 0] < m["heldout_mse"][0, 0]
    assert np.isfinite(m["rollout_mse"]).all()


def test_mbrl_resumes_bit_for_bit(pendulum_run, tmp_path):
    """Losing the last checkpoint and resuming reproduces the uninterrupted run's metrics (the
    state holds the replay buffer, the normalising statistics and the plans' warm starts)."""
    import shutil

    from rlx.run.runner import resume

    out = tmp_path / "resumed"
    shutil.copytree(pendulum_run.run_dir, out)
    ckpts = sorted(int(p.name) for p in (out / "checkpoints").iterdir() if p.name.isdigit())
    assert ckpts == [1, 2, 3]
    shutil.rmtree(out / "checkpoints" / "3")
    (out / "summary.json").unlink()
    resumed = resume(out, show_progress=False)
    for k in ("episode_return", "heldout_mse", "rollout_mse", "model_loss", "predicted_return"):
        np.testing.assert_array_equal(resumed.metrics[k], pendulum_run.metrics[k])
    assert resumed.summary["final_return_mean"] == pendulum_run.summary["final_return_mean"]

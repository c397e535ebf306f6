"""Formulas in rlx.core against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlx.core import distributions as D
from rlx.core import running_stats
from rlx.core.returns import discounted_returns, gae, reverse_linear_recurrence
from rlx.core.shuffle import permutations


def test_gae_hand_computed_with_termination_and_truncation():
    # One env, 4 steps. Step 1 terminates (no bootstrap); step 2 is truncated and
    # bootstraps from V(final obs) = 10; the rollout is cut after step 3 (V = 2).
    gamma, lam = 0.9, 0.5
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    v = jnp.array([0.5, 1.0, 1.5, 2.5])
    next_v = jnp.array([1.0, 0.0, 10.0, 2.0])
    term = jnp.array([0.0, 1.0, 0.0, 0.0])
    done = jnp.array([0.0, 1.0, 1.0, 0.0])
    adv, target = gae(r, v, next_v, gamma * (1 - term), done, lam)
    d3 = 4 + 0.9 * 2 - 2.5
    d2 = 3 + 0.9 * 10 - 1.5  # truncation: bootstrap, but no flow from step 3
    d1 = 2 - 1.0  # terminal
    d0 = 1 + 0.9 * 1.0 - 0.5
    a3, a2, a1 = d3, d2, d1
    a0 = d0 + 0.9 * 0.5 * a1
    np.testing.assert_allclose(adv, [a0, a1, a2, a3], rtol=1e-6)
    np.testing.assert_allclose(target, np.array([a0, a1, a2, a3]) + v, rtol=1e-6)


def test_gae_lambda_one_is_monte_carlo_minus_value():
    rng = np.random.default_rng(0)
    r, v = jnp.asarray(rng.normal(size=(6, 3))), jnp.asarray(rng.normal(size=(6, 3)))
    zeros = jnp.zeros_like(r)
    next_v = jnp.concatenate([v[1:], jnp.zeros((1, 3))])
    adv, _ = gae(r, v, next_v, 0.97 * jnp.ones_like(r), zeros, 1.0)
    g = discounted_returns(r, 0.97 * jnp.ones_like(r), zeros, jnp.zeros(3))
    np.testing.assert_allclose(adv, g - v, rtol=1e-5, atol=1e-6)


def test_gae_lambda_zero_is_td_error():
    r = jnp.array([1.0, -1.0, 0.5])
    v = jnp.array([0.2, 0.3, 0.4])
    nv = jnp.array([0.3, 0.4, 0.9])
    adv, _ = gae(r, v, nv, jnp.full(3, 0.99), jnp.zeros(3), 0.0)
    np.testing.assert_allclose(adv, r + 0.99 * nv - v, rtol=1e-6)


def test_discounted_returns_restart_at_episode_end():
    r = jnp.array([1.0, 1.0, 1.0, 1.0])
    done = jnp.array([0.0, 1.0, 0.0, 0.0])
    disc = 0.5 * (1 - done)
    g = discounted_returns(r, disc, done, jnp.asarray(8.0))
    # episode 1: [1 + .5*1, 1]; episode 2: [1 + .5*(1 + .5*8), 1 + .5*8]
    np.testing.assert_allclose(g, [1.5, 1.0, 3.5, 5.0])


def test_categorical_formulas():
    logits = jnp.array([1.0, 2.0, 3.0])
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    np.testing.assert_allclose(D.categorical_log_prob(logits, jnp.array(2)), np.log(p[2]), rtol=1e-6)
    np.testing.assert_allclose(D.categorical_entropy(logits), -(p * np.log(p)).sum(), rtol=1e-6)
    assert int(D.categorical_mode(logits)) == 2
    samples = jax.vmap(lambda k: D.categorical_sample(k, logits))(jax.random.split(jax.random.key(0), 20000))
    freq = np.bincount(np.asarray(samples), minlength=3) / 20000
    np.testing.assert_allclose(freq, p, atol=0.015)
    g = jax.random.gumbel(jax.random.key(1), (20000, 3))
    freq = np.bincount(np.asarray(D.categorical_sample_gumbel(logits, g)), minlength=3) / 20000
    np.testing.assert_allclose(freq, p, atol=0.015)  # Gumbel-max from noise drawn up front


def test_gaussian_formulas():
    mean, log_std, x = jnp.array([0.5, -1.0]), jnp.log(jnp.array([2.0, 0.5])), jnp.array([1.0, 0.0])
    expected = sum(
        -0.5 * ((xi - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
        for xi, m, s in [(1.0, 0.5, 2.0), (0.0, -1.0, 0.5)]
    )
    np.testing.assert_allclose(D.gaussian_log_prob(mean, log_std, x), expected, rtol=1e-6)
    h = sum(0.5 * math.log(2 * math.pi * math.e * s**2) for s in (2.0, 0.5))
    np.testing.assert_allclose(D.gaussian_entropy(log_std), h, rtol=1e-6)
    np.testing.assert_allclose(D.gaussian_sample_noise(mean, log_std, jnp.array([1.0, -2.0])), [2.5, -2.0])


@pytest.mark.parametrize("kind", ["clip", "tanh"])
def test_squash_maps_into_box(kind):
    x = jnp.array([-100.0, 0.0, 100.0])
    y = D.squash(x, jnp.array(-2.0), jnp.array(2.0), kind)
    np.testing.assert_allclose(y, [-2.0, 0.0, 2.0], atol=1e-5)
    with pytest.raises(ValueError, match="unknown squash"):
        D.squash(x, -1.0, 1.0, "sigmoid")


def test_running_stats_match_numpy_over_batches():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, size=(5, 100, 2))
    s = running_stats.init((2,))
    for b in data:
        s = running_stats.update(s, jnp.asarray(b))
    flat = data.reshape(-1, 2)
    np.testing.assert_allclose(s.mean, flat.mean(0), rtol=1e-4)
    np.testing.assert_allclose(s.var, flat.var(0), rtol=1e-3)
    z = running_stats.normalize(s, jnp.asarray(flat))
    np.testing.assert_allclose(np.asarray(z).mean(0), 0.0, atol=1e-3)


def test_ppo_clip_loss_hand_computed():
    from rlx.core.losses import ppo_clip_loss

    old = jnp.log(jnp.array([0.5, 0.5, 0.5, 0.5]))
    new = jnp.log(jnp.array([0.75, 0.55, 0.25, 0.3]))  # ratios 1.5, 1.1, 0.5, 0.6
    adv = jnp.array([1.0, 1.0, 2.0, -1.0])
    loss, frac = ppo_clip_loss(new, old, adv, 0.2)
    # min(ρA, clip(ρ)A): 1.2 (clipped), 1.1, 2*0.5=1.0 (unclipped is smaller), -0.8 (clip, pessimistic)
    np.testing.assert_allclose(loss, -np.mean([1.2, 1.1, 1.0, -0.8]), rtol=1e-6)
    np.testing.assert_allclose(frac, 0.75)


def test_value_and_pg_losses_hand_computed():
    from rlx.core.losses import normalize_advantages, policy_gradient_loss, value_loss

    v, t, old = jnp.array([1.0, 3.0]), jnp.array([2.0, 0.0]), jnp.array([1.5, 2.0])
    np.testing.assert_allclose(value_loss(v, t), 0.5 * (1 + 9) / 2)
    # clipped at ±0.2 around old: 1.3 -> (0.7)²=0.49 < 1 keeps 1; 2.2 -> 4.84 < 9 keeps 9
    np.testing.assert_allclose(value_loss(v, t, old, 0.2), 0.5 * (1 + 9) / 2)
    # v jumped from old=0 onto the target 1: the clipped value 0.2 is still 0.8 away, and max keeps it
    np.testing.assert_allclose(value_loss(jnp.array([1.0]), jnp.array([1.0]), jnp.array([0.0]), 0.2),
                               0.5 * 0.8**2, rtol=1e-6)
    logp, adv = jnp.array([-1.0, -2.0]), jnp.array([2.0, -1.0])
    np.testing.assert_allclose(policy_gradient_loss(logp, adv), -(-2.0 + 2.0) / 2)
    g = jax.grad(lambda lp: policy_gradient_loss(lp, adv))(logp)
    np.testing.assert_allclose(g, -adv / 2)
    z = normalize_advantages(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(z, np.array([-1, 0, 1]) / np.std([1, 2, 3]), rtol=1e-6)


@pytest.mark.parametrize("n", [5, 2048, 5000])
def test_permutations_are_uniform_permutations(n):
    """Every row is a permutation (packed keys for n <= 4096, argsort beyond); the
    position of each item is uniform (chi-square over 2000 rows of n = 5), and two
    keys give different shuffles, one key the same."""
    perms = np.asarray(permutations(jax.random.key(0), 2000 if n == 5 else 3, n))
    assert perms.dtype == np.int32
    assert all((np.sort(row) == np.arange(n)).all() for row in perms)
    if n == 5:
        counts = np.stack([np.bincount(perms[:, i], minlength=5) for i in range(5)])  # [position, item]
        chi2 = ((counts - 400.0) ** 2 / 400.0).sum()
        assert chi2 < 46.0  # 16 degrees of freedom: P(chi2 > 46) < 1e-4
    again = np.asarray(permutations(jax.random.key(0), perms.shape[0], n))
    other = np.asarray(permutations(jax.random.key(1), perms.shape[0], n))
    assert (again == perms).all() and (other != perms).any()
    with pytest.raises(ValueError, match="num >= 1"):
        permutations(jax.random.key(0), 0, n)


def test_reverse_linear_recurrence_matches_a_loop():
    """The associative scan behind GAE and reward-to-go equals the sequential loop
    y_t = a_t + c_t y_{t+1} (T = 37, not a power of two; c_t = 0 at episode ends)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(37, 3)).astype(np.float32)
    c = (0.97 * (rng.random((37, 3)) > 0.1)).astype(np.float32)
    last = rng.normal(size=3).astype(np.float32)
    y, expected = last.astype(np.float64), np.zeros((37, 3))
    for t in reversed(range(37)):
        y = a[t] + c[t] * y
        expected[t] = y
    np.testing.assert_allclose(reverse_linear_recurrence(jnp.asarray(a), jnp.asarray(c), jnp.asarray(last)),
                               expected, rtol=1e-5, atol=1e-5)


def test_mlp_and_actor_critic_against_numpy():
    """``MLP``: tanh(x W₀ + b₀) → … → linear head; ``ActorCritic``: separate policy and
    value MLPs, a state-independent log σ for continuous actions."""
    from rlx.nets import MLP, ActorCritic

    x = jax.random.normal(jax.random.key(0), (5, 3))
    net = MLP((8, 6), 2, "tanh")
    p = net.init(jax.random.key(1), x)["params"]
    h = np.asarray(x)
    for i in range(2):
        h = np.tanh(h @ np.asarray(p[f"Dense_{i}"]["kernel"]) + np.asarray(p[f"Dense_{i}"]["bias"]))
    want = h @ np.asarray(p["Dense_2"]["kernel"]) + np.asarray(p["Dense_2"]["bias"])
    np.testing.assert_allclose(net.apply({"params": p}, x), want, rtol=1e-5, atol=1e-6)

    ac = ActorCritic(action_dim=2, continuous=True, hidden=(8, 6))
    v = ac.init(jax.random.key(2), x)
    (mean, log_std), value = ac.apply(v, x)
    assert mean.shape == (5, 2) and log_std.shape == (5, 2) and value.shape == (5,)
    np.testing.assert_array_equal(log_std, 0.0)  # σ = 1 at the start
    np.testing.assert_allclose(mean, MLP((8, 6), 2).apply({"params": v["params"]["actor"]}, x), rtol=1e-6)
    np.testing.assert_allclose(value, MLP((8, 6), 1).apply({"params": v["params"]["critic"]}, x)[:, 0], rtol=1e-6)


def test_mlp_initial_weight_scales():
    """Glorot-uniform × gain: Var W = gain² · 2 / (fan_in + fan_out); hidden gain √2,
    policy head 0.01, value head 1; biases zero."""
    from rlx.nets import ActorCritic

    ac = ActorCritic(action_dim=256, continuous=False, hidden=(256, 256))
    p = ac.init(jax.random.key(0), jnp.zeros((1, 256)))["params"]
    for net, gain_out in (("actor", 0.01), ("critic", 1.0)):
        for layer, gain in (("Dense_0", math.sqrt(2)), ("Dense_1", math.sqrt(2)), ("Dense_2", gain_out)):
            w = np.asarray(p[net][layer]["kernel"])
            want = gain**2 * 2 / sum(w.shape)
            assert abs(w.var() / want - 1) < 0.05, (net, layer, w.var(), want)
            assert np.all(np.asarray(p[net][layer]["bias"]) == 0)


def test_episode_metrics_average_the_finished_envs():
    from rlx.envs.core import EpisodeStatsState, episode_metrics

    z = jnp.zeros(3)
    s = EpisodeStatsState(None, z, z, last_return=jnp.array([9.0, 3.0, 7.0]),
                          last_length=jnp.array([90, 30, 70]), episodes=jnp.array([0, 2, 1]))
    m = episode_metrics(s)  # env 0 has not finished an episode: left out
    assert float(m["episode_return"]) == 5.0 and float(m["episode_length"]) == 50.0
    none = episode_metrics(s._replace(episodes=jnp.zeros(3, int)))
    assert float(none["episode_return"]) == 0.0 and float(none["episode_length"]) == 0.0

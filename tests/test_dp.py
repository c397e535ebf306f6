"""rlx.dp: tabular dynamic programming against closed forms, float64 references,
each other, gymnasium's FrozenLake and the sink-state construction."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlx.dp as dp
from rlx.envs.toy_text import RIGHT

GAMMAS = (0.5, 0.9, 0.99)


def _float64(mdp):
    """(P, R, terminal) as float64 numpy arrays (not through jnp, which may be float32)."""
    P, R = np.asarray(mdp[0], np.float64), np.asarray(mdp[1], np.float64)
    T = np.zeros(P.shape[0], bool) if len(mdp) < 3 or mdp[2] is None else np.asarray(mdp[2], bool)
    return P, R, T


def reference_vi(mdp, gamma, iters=100_000):
    """Float64 value iteration to a fixed point (the ground truth)."""
    P, R, T = _float64(mdp)
    P, R = np.where(T[:, None, None], 0, P), np.where(T[:, None], 0, R)
    V = np.zeros(P.shape[0])
    for _ in range(iters):
        V_new = (R + gamma * P @ V).max(1)
        if np.abs(V_new - V).max() < 1e-13:
            break
        V = V_new
    return V_new


def policy_value64(mdp, policy, gamma):
    """Float64 exact evaluation: solve (I − γ P_π) V = R_π (γ = 1 needs a proper policy)."""
    P, R, T = _float64(mdp)
    P, R = np.where(T[:, None, None], 0, P), np.where(T[:, None], 0, R)
    s = np.arange(P.shape[0])
    policy = np.asarray(policy)
    return np.linalg.solve(np.eye(len(s)) - gamma * P[s, policy], R[s, policy])


# --------------------------------------------------------------------------- closed forms


def two_state_chain(p=0.5):
    """States 0, 1; actions 0 = stay, 1 = go.
    State 0: stay earns 1 and stays; go earns 0 and reaches 1 with probability p (else stays in 0).
    State 1: stay earns 2 and stays; go earns 0 and moves to 0."""
    P = np.zeros((2, 2, 2), np.float32)
    P[0, 0, 0] = 1.0
    P[0, 1, 1], P[0, 1, 0] = p, 1 - p
    P[1, 0, 1] = 1.0
    P[1, 1, 0] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 0.0]], np.float32)
    return dp.MDP(P, R)


def two_state_closed_form(gamma, p=0.5):
    # State 1: staying forever earns 2/(1−γ), leaving earns 0 now and can at best come back,
    # so V*(1) = 2/(1−γ) with π*(1) = stay.
    # State 0: staying forever gives 1/(1−γ). Going: V = γ[p V*(1) + (1−p) V] solves to
    #   V_go = γ p V*(1) / (1 − γ(1−p)) = 2γp / ((1−γ)(1 − γ(1−p))).
    # V*(0) = max(1/(1−γ), V_go); with p = 1/2: going wins iff 2γ·½ > 1 − γ/2, i.e. γ > 2/3.
    # γ = 0.5: V*(0) = 2 (stay), V*(1) = 4; γ = 0.9: V*(0) = 0.9/(0.1·0.55) = 180/11, V*(1) = 20.
    v1 = 2.0 / (1.0 - gamma)
    v_go = 2.0 * gamma * p / ((1.0 - gamma) * (1.0 - gamma * (1.0 - p)))
    v0 = max(1.0 / (1.0 - gamma), v_go)
    return np.array([v0, v1]), np.array([int(v_go > 1.0 / (1.0 - gamma)), 0])


SOLVERS = {
    "vi": dp.value_iteration,
    "qvi": dp.q_value_iteration,
    "pi": dp.policy_iteration,
    "mpi": functools.partial(dp.policy_iteration, evaluation="iterative", eval_iters=5),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("gamma", [0.5, 0.6, 0.7, 0.9, 0.99])
def test_two_state_chain_closed_form(solver, gamma):
    V, policy = two_state_closed_form(gamma)
    assert two_state_closed_form(0.9)[0][0] == pytest.approx(180 / 11)
    r = SOLVERS[solver](two_state_chain(), gamma)
    assert bool(r.converged)
    np.testing.assert_allclose(r.values, V, rtol=1e-5)
    np.testing.assert_array_equal(r.policy, policy)
    P, R, _ = two_state_chain()
    np.testing.assert_allclose(r.q_values, R + gamma * P @ V, rtol=1e-5)
    assert float(r.residual) <= 1e-6 * (1 - gamma) / (2 * gamma) + 1e-6 * V.max()


def test_terminal_states_have_zero_value_and_go_nowhere():
    # 0 -> 1 -> 2 (terminal), reward 1 for entering 2: V = (γ, 1, 0). State 2's rows are
    # garbage on purpose (huge reward, a row summing to 0): they must be ignored.
    P = np.zeros((3, 1, 3), np.float32)
    P[0, 0, 1] = P[1, 0, 2] = 1.0
    R = np.array([[0.0], [1.0], [100.0]], np.float32)
    mdp = dp.MDP(P, R, np.array([False, False, True]))
    for solve in SOLVERS.values():
        np.testing.assert_allclose(solve(mdp, 0.9).values, [0.9, 1.0, 0.0], rtol=1e-6)
    fh = dp.finite_horizon(mdp, 3)
    np.testing.assert_allclose(fh.values, [[1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(fh.q_values[:, 2], 0.0)


def test_gridworld_corridors():
    # One row "S..G": entering G earns 1 and ends: V = (γ², γ, 1, 0).
    g = 0.9
    r = dp.value_iteration(dp.gridworld(["S..G"]), g)
    np.testing.assert_allclose(r.values, [g**2, g, 1, 0], rtol=1e-6)
    assert list(r.policy[:3]) == [RIGHT] * 3
    # A wall between S and G: S(0,0) -> (1,0) -> (1,1) -> (1,2) -> G(0,2), four moves: V(S) = γ³.
    r = dp.value_iteration(dp.gridworld(["S#G", "..."]), g)
    assert float(r.values[0]) == pytest.approx(g**3, rel=1e-6)
    assert float(r.values[1]) == 0.0  # the wall cell: unreachable, terminal
    # A cost of living instead of a goal reward: V(S) = −(1 + γ + γ²).
    r = dp.value_iteration(dp.gridworld(["S..G"], rewards={}, step_reward=-1.0), g)
    assert float(r.values[0]) == pytest.approx(-(1 + g + g**2), rel=1e-6)



def test_russell_norvig_4x3_world():
    # AIMA (3rd ed.) Fig. 17.2-17.3: 0.8 intended, 0.1 each side, reward −0.04 per non-terminal
    # state, terminals +1 / −1, γ = 1. AIMA's reward is collected *in* a state, ours on entering
    # one, so with G/X worth 1.04/−0.96 on entry our V equals AIMA's utility U + 0.04 off the
    # terminals. Backward induction over a long horizon reaches the γ = 1 fixed point.
    m = dp.gridworld(["...G", ".#.X", "S..."], slip=0.2, rewards={"G": 1.04, "X": -0.96},
                     step_reward=-0.04, terminal="GX")
    fh = dp.finite_horizon(m, 2000)
    live = ~np.asarray(m.terminal)
    U = np.where(live, np.asarray(fh.values[0]) - 0.04, 0.0).reshape(3, 4)
    aima = [[0.812, 0.868, 0.918, 0], [0.762, 0, 0.660, 0], [0.705, 0.655, 0.611, 0.388]]
    np.testing.assert_allclose(U, aima, atol=5e-4)
    L, Rt, Up = 0, 2, 3
    assert np.asarray(fh.policy[0]).reshape(3, 4)[live.reshape(3, 4)].tolist() == \
        [Rt, Rt, Rt, Up, Up, Up, L, L, L]  # AIMA's policy: the long way round from (4, 1)


def test_gridworld_transitions():
    m = dp.gridworld(["S#", ".G"], slip=0.2)
    P = np.asarray(m.P)
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-6)
    # From S (0) going RIGHT: the wall keeps it in 0 (0.8); perpendicular UP stays (0.1), DOWN to 2 (0.1).
    np.testing.assert_allclose(P[0, 2], [0.9, 0, 0.1, 0], atol=1e-6)
    # From 2 going RIGHT into G (3): 0.8, UP back to S 0.1, DOWN stays 0.1; expected reward 0.8.
    np.testing.assert_allclose(P[2, 2], [0.1, 0, 0.1, 0.8], atol=1e-6)
    assert float(m.R[2, 2]) == pytest.approx(0.8)
    assert list(np.asarray(m.terminal)) == [False, True, False, True]


def test_gridworld_is_frozen_lake_with_slip_two_thirds():
    lake = dp.frozen_lake("4x4")
    grid = dp.gridworld(["SFFF", "FHFH", "FFFH", "HFFG"], slip=2 / 3, terminal="GH")
    live = ~np.asarray(lake.terminal)
    np.testing.assert_array_equal(grid.terminal, lake.terminal)
    np.testing.assert_allclose(np.asarray(grid.P)[live], np.asarray(lake.P)[live], atol=1e-6)
    np.testing.assert_allclose(np.asarray(grid.R)[live], np.asarray(lake.R)[live], atol=1e-6)


# --------------------------------------------------------------------------- solvers agree


def _mdps():
    keys = jax.random.split(jax.random.key(0), 3)
    out = {f"random{i}": dp.random_mdp(k, 12, 3) for i, k in enumerate(keys)}
    out["sparse"] = dp.random_mdp(jax.random.key(7), 20, 4, concentration=0.1)
    out["lake4"] = dp.frozen_lake("4x4")
    out["lake8"] = dp.frozen_lake("8x8")
    out["lake4-det"] = dp.frozen_lake("4x4", is_slippery=False)
    return out


MDPS = _mdps()


@pytest.mark.parametrize("name", sorted(MDPS))
@pytest.mark.parametrize("gamma", GAMMAS)
def test_solvers_agree_with_float64_reference(name, gamma):
    mdp = MDPS[name]
    V_ref = reference_vi(mdp, gamma)
    scale = max(1.0, np.abs(V_ref).max())
    tol = 1e-4 * scale
    for solver, solve in SOLVERS.items():
        r = solve(mdp, gamma, tol=tol)
        assert bool(r.converged), solver
        np.testing.assert_allclose(r.values, V_ref, atol=tol / 2 + 2e-6 * scale, err_msg=solver)
        # The returned policy is tol-optimal (evaluated exactly, in float64).
        V_pi = policy_value64(mdp, r.policy, gamma)
        assert np.all(V_pi >= V_ref - tol - 1e-9 * scale), solver
        assert float(r.residual) < tol * (1 - gamma) / (2 * gamma) + 2e-6 * scale, solver
    # Exact policy evaluation agrees with float64.
    np.testing.assert_allclose(dp.policy_evaluation(mdp, r.policy, gamma), V_pi, atol=2e-5 * scale)


def test_iteration_counts_follow_the_contraction_bound():
    # Sweep j gives δ_j = ‖V_j − V_{j−1}‖∞ <= γ^(j−1) δ_1 with δ_1 = ‖max_a R‖∞ (V_0 = 0), so the
    # test δ_j < tol(1−γ)/(2γ) holds by j = log(threshold/δ_1)/log γ + 2 at the latest.
    mdp = MDPS["random0"]
    delta1 = float(np.abs(np.asarray(mdp.R).max(1)).max())
    for gamma in GAMMAS:
        r = dp.value_iteration(mdp, gamma, tol=1e-3)
        bound = np.log(1e-3 * (1 - gamma) / (2 * gamma) / delta1) / np.log(gamma) + 2
        assert 1 <= int(r.iterations) <= bound and bool(r.converged)
    # Policy iteration with exact evaluation takes a handful of improvement steps.
    assert int(dp.policy_iteration(mdp, 0.99).iterations) <= 10
    # γ = 0: one backup is exact.
    r = dp.value_iteration(mdp, 0.0)
    assert int(r.iterations) == 1 and bool(r.converged)
    np.testing.assert_allclose(r.values, np.asarray(mdp.R).max(1))


# --------------------------------------------------------------------------- FrozenLake numbers


def test_frozen_lake_optimal_success_rates():
    lake4, lake8 = dp.frozen_lake("4x4"), dp.frozen_lake("8x8")
    # Within gymnasium's time limits (its registry notes "optimum = 0.74" and "0.91"):
    # the optimal probability of reaching G from S within 100 (200) steps.
    assert float(dp.finite_horizon(lake4, 100).values[0, 0]) == pytest.approx(0.7441903, abs=1e-5)
    assert float(dp.finite_horizon(lake8, 200).values[0, 0]) == pytest.approx(0.9132202, abs=1e-5)
    # Without a time limit (γ = 1, infinite horizon) the optimum for 4x4 is 14/17 ≈ 0.8235: the
    # stationary policy of a long backward induction, evaluated exactly (float64 linear solve of
    # the absorbing chain; the policy is proper, so γ = 1 is solvable for it).
    # The probabilities are multiples of 1/3: rounded back from float32 so that the γ = 1 chain,
    # which is sensitive to them (1/3 in float32 moves V by ~1e-6), is exact.
    thirds = lambda m: dp.MDP(*(np.round(np.asarray(x, np.float64) * 3) / 3 for x in m[:2]), m.terminal)
    fh = dp.finite_horizon(lake4, 5000)
    assert float(fh.values[0, 0]) == pytest.approx(14 / 17, abs=1e-5)
    v = policy_value64(thirds(lake4), fh.policy[0], 1.0)
    assert v[0] == pytest.approx(14 / 17, abs=1e-12)
    # 8x8 can reach G with probability 1 (given unlimited time).
    v8 = policy_value64(thirds(lake8), dp.finite_horizon(lake8, 5000).policy[0], 1.0)
    assert v8[0] == pytest.approx(1.0, abs=1e-9)
    # Discounted optimum approaches it as γ → 1 (float64 reference values).
    for gamma, expected in [(0.9, 0.0688909), (0.99, 0.5420259), (0.999, 0.7855333)]:
        r = dp.value_iteration(lake4, gamma)
        assert bool(r.converged) and float(r.values[0]) == pytest.approx(expected, abs=5e-6)


# --------------------------------------------------------------------------- sink state


@pytest.mark.parametrize("name", ["random0", "lake4", "lake8"])
@pytest.mark.parametrize("gamma", GAMMAS)
def test_sink_state_undiscounted_equals_discounted(name, gamma):
    mdp = MDPS[name]
    S = mdp.P.shape[0]
    sink = dp.with_sink_state(mdp, gamma)
    dp.check_mdp(sink, 1.0, finite_horizon=True)
    assert sink.P.shape == (S + 1, mdp.P.shape[1], S + 1) and bool(sink.terminal[S])
    V = reference_vi(mdp, gamma)
    scale = max(1.0, np.abs(V).max())
    # Undiscounted backward induction in the sink MDP: the remaining error after H steps is
    # at most γ^H·‖V*‖ (the probability of not yet being absorbed), so pick γ^H < 1e-7.
    H = int(np.ceil(np.log(1e-7) / np.log(gamma)))
    fh = dp.finite_horizon(sink, H)
    np.testing.assert_allclose(fh.values[0, :S], V, atol=2e-5 * scale)
    assert float(fh.values[0, S]) == 0.0
    # And the discounted finite horizon of the original MDP gives the same numbers.
    np.testing.assert_allclose(dp.finite_horizon(mdp, H, gamma).values[0], V, atol=2e-5 * scale)
    # A fixed policy: the absorbing chain's undiscounted value equals the discounted value.
    policy = dp.value_iteration(mdp, gamma).policy
    sink_policy = np.append(np.asarray(policy), 0)
    np.testing.assert_allclose(policy_value64(sink, sink_policy, 1.0)[:S], policy_value64(mdp, policy, gamma),
                               atol=1e-5 * scale)


# --------------------------------------------------------------------------- jit and vmap


def test_vmap_over_mdps_equals_loop():
    keys = jax.random.split(jax.random.key(3), 5)
    batch = jax.vmap(lambda k: dp.random_mdp(k, 10, 3))(keys)
    dp.check_mdp(batch, 0.95)
    for solve in SOLVERS.values():
        out = jax.vmap(lambda m: solve(m, 0.95))(batch)
        for i, k in enumerate(keys):
            one = solve(dp.random_mdp(k, 10, 3), 0.95)
            np.testing.assert_allclose(out.values[i], one.values, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(out.policy[i], one.policy)
            assert bool(out.converged[i])
    fh = jax.vmap(lambda m: dp.finite_horizon(m, 7, 0.9))(batch)
    assert fh.values.shape == (5, 8, 10)
    np.testing.assert_allclose(fh.values[2], dp.finite_horizon(dp.random_mdp(keys[2], 10, 3), 7, 0.9).values,
                               rtol=1e-6)


def test_vmap_over_gamma_equals_loop():
    mdp = MDPS["lake4"]
    gammas = jnp.array([0.0, 0.5, 0.9, 0.99, 0.999])
    dp.check_gamma(gammas)
    for solve in SOLVERS.values():
        out = jax.vmap(solve, in_axes=(None, 0))(mdp, gammas)
        for i, g in enumerate(gammas.tolist()):
            one = solve(mdp, g)
            np.testing.assert_allclose(out.values[i], one.values, atol=1e-6)
            assert bool(out.converged[i]) and bool(one.converged)
    sinks = jax.vmap(dp.with_sink_state, in_axes=(None, 0))(mdp, gammas)
    np.testing.assert_allclose(sinks.P[3], dp.with_sink_state(mdp, 0.99).P)


def test_jit_over_the_whole_solver():
    mdp = MDPS["random1"]
    jitted = jax.jit(lambda m, g: dp.policy_iteration(m, g, evaluation="iterative", eval_iters=3))
    np.testing.assert_allclose(jitted(mdp, 0.9).values, dp.value_iteration(mdp, 0.9).values, atol=1e-4)


# --------------------------------------------------------------------------- bad input


def _one_line_error(fn, match):
    with pytest.raises(ValueError, match=match) as e:
        fn()
    assert "\n" not in str(e.value)


def test_bad_inputs_are_one_line_errors():
    P, R = np.asarray(MDPS["random0"].P), np.asarray(MDPS["random0"].R)
    _one_line_error(lambda: dp.value_iteration((P[0], R), 0.9), r"P must have shape \[S, A, S\]")
    _one_line_error(lambda: dp.value_iteration((P[:, :, :5], R), 0.9), r"P must have shape")
    _one_line_error(lambda: dp.value_iteration((P, R[:, :2]), 0.9), r"R must have shape \[S, A\] = \(12, 3\)")
    _one_line_error(lambda: dp.value_iteration((P, R, np.zeros(3, bool)), 0.9), r"terminal must have shape")
    _one_line_error(lambda: dp.value_iteration(P, 0.9), r"expected an MDP or a \(P, R\)")
    _one_line_error(lambda: dp.value_iteration(P[0], R, 0.9), r"P must have shape \[S, A, S\]")
    nan_r = R.copy()
    nan_r[3, 1] = np.nan
    _one_line_error(lambda: dp.value_iteration((P, nan_r), 0.9), "R has non-finite entries")
    bad = P.copy()
    bad[4, 1] *= 0.9
    _one_line_error(lambda: dp.value_iteration((bad, R), 0.9), r"rows of P must sum to 1 .*P\[4, 1\].*normalise")
    neg = P.copy()
    neg[2, 0, :2] = [-0.5, neg[2, 0, 0] + neg[2, 0, 1] + 0.5]
    _one_line_error(lambda: dp.check_mdp((neg, R)), r"negative probabilities: P\[2, 0, 0\]")
    _one_line_error(lambda: dp.value_iteration((P, R), 1.0), r"gamma = 1 with an infinite horizon.*finite_horizon")
    _one_line_error(lambda: dp.policy_iteration((P, R), 1.0), r"gamma = 1 with an infinite horizon")
    _one_line_error(lambda: dp.value_iteration((P, R), 1.5), r"gamma must be in \[0, 1\), got 1.5")
    _one_line_error(lambda: dp.q_value_iteration((P, R), -0.1), r"gamma must be in \[0, 1\)")
    _one_line_error(lambda: dp.check_gamma(np.array([0.9, 1.0])), r"gamma = 1 with an infinite horizon")
    _one_line_error(lambda: dp.finite_horizon((P, R), 10, 1.1), r"gamma must be in \[0, 1\]")
    _one_line_error(lambda: dp.finite_horizon((P, R), 0), r"horizon must be a positive int")
    _one_line_error(lambda: dp.policy_iteration((P, R), 0.9, evaluation="lu"), r"'exact' or 'iterative'")
    _one_line_error(lambda: dp.policy_iteration((P, R), 0.9, evaluation="iterative", eval_iters=0), "eval_iters")
    _one_line_error(lambda: dp.value_iteration((P, R), 0.9, tol=0.0), "tol must be positive")
    _one_line_error(lambda: dp.value_iteration((P, R), 0.9, max_iters=0), "max_iters")
    _one_line_error(lambda: jax.jit(lambda p: dp.check_mdp((p, R)))(P), "outside jit")
    _one_line_error(lambda: dp.gridworld(["S.", "."]), "equal length")
    _one_line_error(lambda: dp.gridworld(["S.G"], rewards={"X": 1}), r"letters \['X'\]")
    _one_line_error(lambda: dp.gridworld(["S.G"], slip=1.5), r"slip must be in \[0, 1\]")
    # γ = 1 is fine for a finite horizon, and γ in range passes.
    dp.finite_horizon((P, R), 3, 1.0)
    dp.check_mdp((P, R), 0.99)


def test_solvers_take_the_tensors_themselves():
    """``solver(P, R, ...)`` is ``solver((P, R), ...)``, also under vmap."""
    P, R = MDPS["random0"].P, MDPS["random0"].R
    for a, b in [(dp.value_iteration(P, R, 0.9), dp.value_iteration((P, R), 0.9)),
                 (dp.q_value_iteration(P, R, gamma=0.9), dp.q_value_iteration((P, R), 0.9)),
                 (dp.policy_iteration(P, R, 0.9, evaluation="iterative"),
                  dp.policy_iteration((P, R), 0.9, evaluation="iterative")),
                 (dp.finite_horizon(P, R, 7), dp.finite_horizon((P, R), 7))]:
        jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
    Ps, Rs = jnp.stack([P, P[::-1]]), jnp.stack([R, -R])
    batched = jax.vmap(dp.value_iteration, in_axes=(0, 0, None))(Ps, Rs, 0.9)
    np.testing.assert_allclose(batched.values[1], dp.value_iteration((P[::-1], -R), 0.9).values, rtol=1e-6)


def test_under_jit_only_shapes_are_checked():
    P, R = np.asarray(MDPS["random0"].P), np.asarray(MDPS["random0"].R)
    with pytest.raises(ValueError, match="R must have shape"):
        jax.jit(lambda p, r: dp.value_iteration((p, r), 0.9))(P, R[:, :2])
    # Values are not checked on tracers (documented): this runs; check_mdp outside jit catches it.
    jax.jit(lambda g: dp.value_iteration((P, R), g))(1.0)
    with pytest.raises(ValueError, match="gamma = 1"):
        dp.check_mdp((P, R), 1.0)


# --------------------------------------------------------------------------- exporter


def test_to_tabular_errors_for_non_tabular_envs():
    _one_line_error(lambda: dp.to_tabular("CartPole-v1"), r"CartPole-v1 has no tabular model.*FrozenLake-v1")
    import rlx
    env, params = rlx.make("FrozenLake-v1", map_name="8x8")
    m = dp.to_tabular(env, params)
    assert m.P.shape == (64, 4, 64)
    _one_line_error(lambda: dp.to_tabular(env, is_slippery=False), "registered name")
    det = dp.to_tabular("FrozenLake8x8-v1", is_slippery=False)
    assert float(np.asarray(det.P).max()) == 1.0 and det.P.shape == (64, 4, 64)

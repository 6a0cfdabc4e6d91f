"""Value iteration, policy iteration and the Bellman linear solve: exact answers and known optima."""
import gymnasium as gym
import mdptoolbox.mdp  # pymdptoolbox 4.0b3 imports and runs on numpy 2 as is
import numpy as np
import pytest
import scipy.sparse as sp

from gymlab.agents import (Solution, evaluate_policy, evaluate_q, finite_horizon_value, policy_iteration, solve_mrp,
                    value_iteration)
from gymlab.envs.gridworld import gridworld, toward_goal_policy
from gymlab.envs.tabular import from_gymnasium, random_mdp


def brute_force_value(mdp, policy):
    """V^pi by numpy.linalg.solve on (I - gamma P^pi) built entry by entry from P[s, a, s']."""
    P = mdp.P.toarray().reshape(mdp.S, mdp.A, mdp.S) if mdp.is_sparse else mdp.P
    pi = np.eye(mdp.A)[policy] if np.ndim(policy) == 1 else policy
    Ppi = np.zeros((mdp.S, mdp.S))
    Rpi = np.zeros(mdp.S)
    for s in range(mdp.S):
        if mdp.terminal[s]:
            continue
        for a in range(mdp.A):
            Ppi[s] += pi[s, a] * P[s, a]
            Rpi[s] += pi[s, a] * mdp.R[s, a]
    return np.linalg.solve(np.eye(mdp.S) - mdp.gamma * Ppi, Rpi)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("seed,gamma", [(0, 0.9), (1, 0.99), (2, 0.999)])
def test_value_iteration_policy_iteration_and_linear_solve_agree(seed, gamma, sparse):
    mdp = random_mdp(150, 4, 8, seed=seed, gamma=gamma, sparse=sparse)
    vi = value_iteration(mdp, tol=1e-10)
    pi = policy_iteration(mdp)
    assert isinstance(vi, Solution) and vi.converged and pi.converged
    assert vi.V.shape == (150,) and vi.Q.shape == (150, 4) and vi.policy.shape == (150,)
    np.testing.assert_allclose(vi.V, pi.V, rtol=0, atol=1e-8)
    np.testing.assert_allclose(evaluate_policy(mdp, pi.policy), pi.V, rtol=0, atol=1e-8)
    np.testing.assert_allclose(evaluate_policy(mdp, vi.policy), pi.V, rtol=0, atol=1e-8)
    np.testing.assert_allclose(vi.Q, pi.Q, rtol=0, atol=1e-8)
    assert vi.residual < 1e-8 and pi.residual < 1e-8
    assert pi.iterations < 20


def test_linear_solve_matches_numpy_solve_for_deterministic_and_stochastic_policies():
    rng = np.random.default_rng(0)
    for mdp in (random_mdp(80, 3, 80, seed=5), random_mdp(300, 5, 10, seed=6),
                from_gymnasium("FrozenLake-v1"), from_gymnasium("Taxi-v4", sparse=True)):
        det = rng.integers(0, mdp.A, size=mdp.S)
        sto = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
        for policy in (det, sto):
            np.testing.assert_allclose(evaluate_policy(mdp, policy), brute_force_value(mdp, policy), rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["auto", "iterative", "direct"])
def test_large_sparse_linear_solve_paths(method):
    mdp = random_mdp(1500, 4, 10, seed=7)  # above the dense threshold: GMRES or SuperLU
    policy = np.random.default_rng(1).integers(0, 4, size=1500)
    V = evaluate_policy(mdp, policy, method=method)
    np.testing.assert_allclose(V, brute_force_value(mdp, policy), rtol=0, atol=1e-9)


def test_q_of_a_policy():
    mdp = random_mdp(50, 3, 5, seed=2)
    policy = np.random.default_rng(0).integers(0, 3, size=50)
    V, Q = evaluate_policy(mdp, policy), evaluate_q(mdp, policy)
    np.testing.assert_allclose(Q[np.arange(50), policy], V, atol=1e-10)  # Q^pi(s, pi(s)) = V^pi(s)
    star = policy_iteration(mdp)
    np.testing.assert_allclose(evaluate_q(mdp, star.policy), star.Q, atol=1e-10)


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")  # inside pymdptoolbox's checks
@pytest.mark.parametrize("sparse", [False, True])
def test_pymdptoolbox_policy_iteration_gives_the_same_values(sparse):
    mdp = random_mdp(200, 4, 10, seed=11, gamma=0.95, sparse=sparse)
    P = [sp.csr_matrix(mdp.transition_matrix(a)) if sparse else mdp.transition_matrix(a) for a in range(mdp.A)]
    peer = mdptoolbox.mdp.PolicyIteration(P, mdp.R, mdp.gamma)
    peer.run()
    ours = policy_iteration(mdp)
    np.testing.assert_allclose(np.array(peer.V), ours.V, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(np.array(peer.policy), ours.policy)
    vi = mdptoolbox.mdp.ValueIteration(P, mdp.R, mdp.gamma, epsilon=1e-6)
    vi.run()
    np.testing.assert_array_equal(np.array(vi.policy), ours.policy)


def test_span_rule_is_tol_optimal_and_stops_hundreds_of_sweeps_before_the_sup_norm_rule():
    mdp = random_mdp(300, 5, 10, seed=3, gamma=0.99)
    exact = policy_iteration(mdp)
    tol = 1e-3
    span = value_iteration(mdp, tol=tol)
    sup = value_iteration(mdp, tol=tol, rule="sup")
    assert span.iterations + 300 < sup.iterations
    for sol in (span, sup):
        assert np.abs(sol.V - exact.V).max() < tol  # V within tol of V*
        assert (exact.V - evaluate_policy(mdp, sol.policy)).max() < tol  # the greedy policy is tol-optimal


def test_value_iteration_warm_start_splits_a_run():
    mdp = random_mdp(100, 3, 10, seed=9)
    whole = value_iteration(mdp, tol=1e-9)
    part = value_iteration(mdp, tol=1e-9, max_iterations=5)
    assert not part.converged and part.iterations == 5
    rest = value_iteration(mdp, tol=1e-9, V0=part.V)
    assert rest.iterations + 5 == whole.iterations
    np.testing.assert_array_equal(rest.V, whole.V)


def test_solver_errors():
    mdp = random_mdp(20, 2, 3, seed=0)
    with pytest.raises(ValueError, match=r"value_iteration needs 0 <= gamma < 1.*got gamma=1.0"):
        value_iteration(mdp.with_gamma(1.0))
    with pytest.raises(ValueError, match=r"policy_iteration needs 0 <= gamma < 1"):
        policy_iteration(mdp.with_gamma(1.0))
    with pytest.raises(ValueError, match="tol must be > 0"):
        value_iteration(mdp, tol=0)
    with pytest.raises(ValueError, match="rule must be one of span, sup"):
        value_iteration(mdp, rule="max")
    with pytest.raises(ValueError, match="method must be one of"):
        evaluate_policy(mdp, np.zeros(20, dtype=int), method="cholesky")
    # gamma = 1 without terminal states: the undiscounted value is infinite
    with pytest.raises(ValueError, match="singular: with gamma = 1 the policy must reach a terminal state"):
        evaluate_policy(mdp.with_gamma(1.0), np.zeros(20, dtype=int))
    with pytest.raises(TypeError, match="takes a TabularMDP"):
        value_iteration("FrozenLake-v1")


# ------------------------------------------------------------------ known optima
def test_frozenlake_optimal_policy_succeeds_74_percent_within_100_steps():
    mdp = from_gymnasium("FrozenLake-v1")
    sol = value_iteration(mdp, tol=1e-10)
    np.testing.assert_array_equal(sol.policy, policy_iteration(mdp).policy)
    # exact probability of reaching the goal within the env's 100 steps (gamma = 1, reward 1 at the goal)
    success = mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), sol.policy, horizon=100)
    assert success == pytest.approx(0.74, abs=0.02)
    assert (mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), sol.policy)) == pytest.approx(0.8235, abs=1e-3)  # no limit
    # and in the real env: 3,000 episodes
    env = gym.make("FrozenLake-v1")
    wins = 0
    for i in range(3000):
        s, _ = env.reset(seed=i)
        while True:
            s, r, term, trunc, _ = env.step(int(sol.policy[s]))
            if term or trunc:
                break
        wins += r > 0
    se = np.sqrt(success * (1 - success) / 3000)
    assert abs(wins / 3000 - success) < 4 * se
    assert wins / 3000 == pytest.approx(0.74, abs=0.02)


def test_taxi_optimal_mean_return_over_all_starts():
    mdp = from_gymnasium("Taxi-v4")
    sol = policy_iteration(mdp)
    V1 = evaluate_policy(mdp.with_gamma(1.0), sol.policy)  # proper policy: exact undiscounted returns
    assert mdp.initial @ V1 == pytest.approx(7.93, abs=1e-9)  # "about 7.9"
    np.testing.assert_allclose(V1, evaluate_policy(mdp.with_gamma(1.0), sol.policy, horizon=200), atol=1e-9)
    vi = value_iteration(mdp, tol=1e-8)  # ties between equally short routes: compare values, not actions
    assert mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), vi.policy) == pytest.approx(7.93, abs=1e-9)


def test_cliffwalking_optimal_path_along_the_cliff():
    mdp = from_gymnasium("CliffWalking-v1")
    sol = value_iteration(mdp, tol=1e-10)
    assert evaluate_policy(mdp.with_gamma(1.0), sol.policy)[36] == pytest.approx(-13.0)
    env = gym.make("CliffWalking-v1")
    s, _ = env.reset(seed=0)
    total, path = 0, [s]
    for _ in range(20):
        s, r, term, trunc, _ = env.step(int(sol.policy[s]))
        total += r
        path.append(s)
        if term:
            break
    assert total == -13 and path == [36, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 47]


def test_gridworld_values_match_the_closed_form():
    n, gamma = 40, 0.99
    mdp = gridworld(n, slip=0.0, gamma=gamma)
    r, c = np.divmod(np.arange(n * n), n)
    d = (n - 1 - r) + (n - 1 - c)  # Manhattan distance to the goal
    closed = -(1 - gamma**d) / (1 - gamma)
    np.testing.assert_allclose(value_iteration(mdp, tol=1e-10).V, closed, atol=1e-8)
    np.testing.assert_allclose(policy_iteration(mdp).V, closed, atol=1e-8)
    # the toward-goal policy is optimal without slip: the sparse solve gives the same values
    np.testing.assert_allclose(evaluate_policy(mdp, toward_goal_policy(n), method="direct"), closed, atol=1e-9)


def test_finite_horizon_value_is_backward_induction():
    mdp = random_mdp(30, 2, 4, seed=1, gamma=0.9)
    policy = np.zeros(30, dtype=int)
    m = mdp.induced_mrp(policy)
    P = m.P.toarray() if m.is_sparse else m.P
    V = np.zeros(30)
    for _ in range(7):
        V = m.R + 0.9 * P @ V
    np.testing.assert_allclose(finite_horizon_value(m, 7), V, atol=1e-12)
    np.testing.assert_allclose(finite_horizon_value(m, 2000), solve_mrp(m), atol=1e-8)


def test_a_mostly_zero_dense_model_is_backed_up_sparse_with_the_dense_values(monkeypatch):
    """A dense P with few non-zeros (S = 400, 5 successors: 1.25% dense) is backed up through a CSR copy,
    whatever form the user built it in; the values and policies are those of the dense products."""
    import gymlab.envs.tabular as tabular

    dense = random_mdp(400, 4, 5, seed=3, gamma=0.95, sparse=False)
    assert not dense.is_sparse and sp.issparse(dense.backup_matrix) and dense.backup_matrix.nnz == dense.nnz
    vi, pi = value_iteration(dense, tol=1e-10), policy_iteration(dense)
    assert sp.issparse(dense.induced_mrp(pi.policy).P)
    monkeypatch.setattr(tabular, "SPARSE_DENSITY", 0.0)  # the dense products, for reference
    ref = random_mdp(400, 4, 5, seed=3, gamma=0.95, sparse=False)
    assert isinstance(ref.backup_matrix, np.ndarray)
    vi_ref, pi_ref = value_iteration(ref, tol=1e-10), policy_iteration(ref)
    np.testing.assert_allclose(vi.V, vi_ref.V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pi.V, pi_ref.V, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(vi.policy, vi_ref.policy)
    np.testing.assert_array_equal(pi.policy, pi_ref.policy)
    assert vi.iterations == vi_ref.iterations
    # small or denser models keep their dense array
    assert isinstance(random_mdp(40, 4, 5, seed=0, sparse=False).backup_matrix, np.ndarray)
    monkeypatch.setattr(tabular, "SPARSE_DENSITY", 0.1)
    assert isinstance(random_mdp(400, 4, 60, seed=0, sparse=False).backup_matrix, np.ndarray)

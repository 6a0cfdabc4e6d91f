"""The tabular model: construction, validation errors, gymnasium tables, MRPs, builders, simulator."""
import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp

from gymlab.envs.gridworld import gridworld, toward_goal_policy
from gymlab.envs.tabular import MRP, TabularMDP, from_gymnasium, make_env, random_mdp


def small_mdp():
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.5, 0.5, 0.0]
    P[0, 1] = [0.0, 0.0, 1.0]
    P[1, 0] = [1.0, 0.0, 0.0]
    P[1, 1] = [0.2, 0.3, 0.5]
    P[2, :, 2] = 1.0
    R = np.array([[1.0, 0.0], [2.0, -1.0], [5.0, 5.0]])
    return P, R


# ------------------------------------------------------------------ validation
def test_rows_that_do_not_sum_to_one_name_the_state_and_action():
    P, R = small_mdp()
    P[1, 1] = [0.2, 0.3, 0.4]
    with pytest.raises(ValueError, match=r"P\[s=1, a=1, :\] sums to 0.9, not 1"):
        TabularMDP(P, R, 0.9)
    with pytest.raises(ValueError, match=r"P\[s=1, a=1, :\] sums to 0.9, not 1"):
        TabularMDP(sp.csr_array(P.reshape(6, 3)), R, 0.9)


def test_negative_probabilities_are_rejected():
    P, R = small_mdp()
    P[0, 0] = [1.2, -0.2, 0.0]
    with pytest.raises(ValueError, match=r"negative probability -0.2 at P\[s=0, a=0, s'=1\]"):
        TabularMDP(P, R, 0.9)
    with pytest.raises(ValueError, match=r"negative probability -0.2 at P\[s=0, a=0, s'=1\]"):
        TabularMDP(sp.csr_array(P.reshape(6, 3)), R, 0.9)


def test_shape_mismatches_are_rejected():
    P, R = small_mdp()
    with pytest.raises(ValueError, match=r"P must have shape \(S, A, S\) = \(3, 3, 3\)"):
        TabularMDP(P, np.zeros((3, 3)), 0.9)
    with pytest.raises(ValueError, match=r"R must have shape \(S, A\)"):
        TabularMDP(P, np.zeros(3), 0.9)
    with pytest.raises(ValueError, match=r"sparse P must have shape \(S\*A, S\) = \(6, 3\)"):
        TabularMDP(sp.csr_array(P.reshape(3, 6)), R, 0.9)
    with pytest.raises(ValueError, match="non-finite"):
        TabularMDP(P, np.full((3, 2), np.nan), 0.9)
    with pytest.raises(ValueError, match=r"terminal must be a boolean mask of shape \(3,\)"):
        TabularMDP(P, R, 0.9, terminal=np.array([True, False]))
    with pytest.raises(ValueError, match="terminal holds a state outside 0..2"):
        TabularMDP(P, R, 0.9, terminal=[5])
    with pytest.raises(ValueError, match="initial must be a probability distribution"):
        TabularMDP(P, R, 0.9, initial=[0.5, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"MRP must have shape \(S, S\) = \(3, 3\)"):
        MRP(np.eye(2), np.zeros(3), 0.9)


@pytest.mark.parametrize("gamma", [-0.1, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma):
    P, R = small_mdp()
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        TabularMDP(P, R, gamma)


def test_policy_validation():
    mdp = TabularMDP(*small_mdp(), 0.9)
    with pytest.raises(ValueError, match=r"actions in 0..1"):
        mdp.induced_mrp(np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=r"must have shape \(3,\) \(actions\) or \(3, 2\)"):
        mdp.induced_mrp(np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"pi\[s=1, :\] must be a distribution"):
        mdp.induced_mrp(np.array([[1.0, 0.0], [0.6, 0.6], [0.5, 0.5]]))


def test_env_without_a_model_and_unknown_ids_give_clear_errors():
    with pytest.raises(ValueError, match="CartPole-v1 has no tabular model"):
        from_gymnasium("CartPole-v1")
    with pytest.raises(ValueError, match="cannot make 'Taxi-v3'.*Taxi-v4"):
        from_gymnasium("Taxi-v3")


# ------------------------------------------------------------------ the model
def test_dense_and_sparse_forms_agree():
    dense = random_mdp(60, 4, 5, seed=3, sparse=False)
    sparse = random_mdp(60, 4, 5, seed=3, sparse=True)
    assert not dense.is_sparse and sparse.is_sparse
    assert np.array_equal(sparse.P.toarray().reshape(60, 4, 60), dense.P)
    V = np.random.default_rng(0).normal(size=60)
    np.testing.assert_allclose(sparse.q_values(V), dense.q_values(V), atol=1e-13)
    np.testing.assert_allclose(dense.q_values(V), dense.R + dense.gamma * np.einsum("sat,t->sa", dense.P, V), atol=1e-13)
    for a in range(4):
        np.testing.assert_array_equal(sparse.transition_matrix(a).toarray(), dense.P[:, a, :])
    np.testing.assert_array_equal(sparse.to_dense().P, dense.P)


def test_terminal_states_have_zero_value_in_backups():
    P, R = small_mdp()
    mdp = TabularMDP(P, R, 0.9, terminal=[2])
    Q = mdp.q_values(np.array([1.0, 2.0, 100.0]))
    np.testing.assert_allclose(Q[2], 0.0)
    np.testing.assert_allclose(Q[0, 1], 0.0 + 0.9 * 100.0)  # entering the terminal state sees its V as given
    assert mdp.initial.tolist() == [0.5, 0.5, 0.0]  # default start: uniform over non-terminal states


def test_induced_mrp_deterministic_stochastic_dense_sparse():
    dense = random_mdp(40, 3, 6, seed=1, sparse=False)
    sparse = dense.to_sparse()
    rng = np.random.default_rng(0)
    det = rng.integers(0, 3, size=40)
    sto = rng.dirichlet(np.ones(3), size=40)
    for mdp in (dense, sparse):
        m = mdp.induced_mrp(det)
        P = m.P.toarray() if m.is_sparse else m.P
        for s in range(40):
            np.testing.assert_allclose(P[s], dense.P[s, det[s]])
            assert m.R[s] == dense.R[s, det[s]]
        m = mdp.induced_mrp(sto)
        P = m.P.toarray() if m.is_sparse else m.P
        for s in (0, 17, 39):
            np.testing.assert_allclose(P[s], sum(sto[s, a] * dense.P[s, a] for a in range(3)), atol=1e-14)
            np.testing.assert_allclose(m.R[s], sto[s] @ dense.R[s])
        np.testing.assert_allclose(P.sum(axis=1), 1.0)


# ------------------------------------------------------------------ builders
def test_from_gymnasium_frozenlake_matches_the_env_table():
    mdp = from_gymnasium("FrozenLake-v1")
    table = gym.make("FrozenLake-v1").unwrapped.P
    assert (mdp.S, mdp.A, mdp.grid_shape, mdp.gamma) == (16, 4, (4, 4), 0.99)
    assert sorted(np.flatnonzero(mdp.terminal)) == [5, 7, 11, 12, 15]  # the holes and the goal
    for s in range(16):
        for a in range(4):
            row = np.zeros(16)
            for p, s2, r, _ in table[s][a]:
                row[s2] += p
            np.testing.assert_allclose(mdp.P[s, a], row)
    assert mdp.R[14, 1] == pytest.approx(1 / 3) and mdp.R[14, 2] == pytest.approx(1 / 3)
    assert mdp.initial[0] == 1.0


def test_from_gymnasium_other_envs():
    taxi = from_gymnasium("Taxi-v4", gamma=0.9)
    assert (taxi.S, taxi.A, int(taxi.terminal.sum()), taxi.gamma) == (500, 6, 4, 0.9)
    assert np.count_nonzero(taxi.initial) == 300
    cliff = from_gymnasium(gym.make("CliffWalking-v1"))
    assert (cliff.S, cliff.A, cliff.grid_shape) == (48, 4, (4, 12))
    assert np.flatnonzero(cliff.terminal).tolist() == [47]
    assert cliff.R[36, 0] == -1 and cliff.R[36, 1] == -100  # up; right steps into the cliff
    big = from_gymnasium("FrozenLake8x8-v1", sparse=True)
    assert big.is_sparse and big.S == 64 and big.grid_shape == (8, 8)


def test_random_mdp_has_the_requested_branching_and_is_sparse():
    mdp = random_mdp(1000, 8, 10, seed=0)
    assert mdp.is_sparse and mdp.nnz == 1000 * 8 * 10
    assert mdp.nnz / (1000 * 8 * 1000) == pytest.approx(0.01)  # 99% zeros
    assert np.all(np.diff(mdp.P.indptr) == 10)  # 10 distinct successors in every row
    again = random_mdp(1000, 8, 10, seed=0)
    assert np.array_equal(again.P.data, mdp.P.data) and np.array_equal(again.R, mdp.R)
    assert not random_mdp(20, 2, 10, seed=0).is_sparse
    with pytest.raises(ValueError, match="branching must be in 1..S=5"):
        random_mdp(5, 2, 6)


def test_gridworld_structure_and_scale():
    g = gridworld(3, slip=0.2)
    assert g.S == 9 and g.grid_shape == (3, 3) and g.terminal.tolist() == [False] * 8 + [True]
    P = g.P.toarray().reshape(9, 4, 9)
    np.testing.assert_allclose(P[4, 2], np.eye(9)[5] * 0.8 + np.eye(9)[7] * 0.1 + np.eye(9)[1] * 0.1)  # right
    np.testing.assert_allclose(P[0, 0], np.eye(9)[0] * 0.9 + np.eye(9)[3] * 0.1)  # left into the wall
    big = gridworld(1000)  # 10^6 states, validated on construction
    assert big.S == 10**6 and big.is_sparse and big.nnz <= 12 * 10**6
    pi = toward_goal_policy(1000)
    assert pi.shape == (10**6,)
    with pytest.raises(ValueError, match="slip must be a probability"):
        gridworld(4, slip=1.5)


# ------------------------------------------------------------------ simulator
def test_tabular_env_samples_the_model():
    mdp = random_mdp(6, 2, 3, seed=4, sparse=True)
    env = make_env(mdp, max_steps=50)
    env.reset(seed=0)
    counts = np.zeros((6, 2, 6))
    env.unwrapped.s = 0
    rng = np.random.default_rng(1)
    for _ in range(30_000):
        s, a = env.unwrapped.s, int(rng.integers(2))
        s2, r, term, trunc, _ = env.step(a)
        assert r == mdp.R[s, a] and not term
        counts[s, a, s2] += 1
        if trunc:
            env.reset()
    P = mdp.P.toarray().reshape(6, 2, 6)
    n = counts.sum(axis=2, keepdims=True)
    freq = counts / np.maximum(n, 1)
    se = np.sqrt(P * (1 - P) / np.maximum(n, 1))
    assert np.all(np.abs(freq - P) <= 5 * se + 1e-12)
    assert np.all(counts[P == 0] == 0)

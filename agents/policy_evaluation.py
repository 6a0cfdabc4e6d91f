"""Exact policy evaluation: the Bellman linear solve.

For a policy pi the value V^pi solves the Bellman expectation equation, a linear system:

    V = R^pi + gamma P^pi V    <=>    (I - gamma P^pi) V = R^pi    <=>    V = (I - gamma P^pi)^-1 R^pi

and Q^pi(s, a) = R(s, a) + gamma sum_s' P(s, a, s') V^pi(s'). Terminal states have V = 0: their
rows of the system are replaced by V(s) = 0. With gamma < 1 the matrix is invertible; with
gamma = 1 it is when the policy reaches a terminal state with probability 1 (a proper policy),
and V^pi is then the expected undiscounted return.

Solvers (``method=``): "dense", LAPACK's LU (``scipy.linalg.solve``), for small or dense models;
"iterative", GMRES (fast when P^pi mixes quickly, as in random MDPs, where a sparse LU fills in),
falling back to "direct", SuperLU's sparse LU (``scipy.sparse.linalg.spsolve``; fast on grid worlds,
where GMRES is slow) when GMRES has not converged after one restart cycle. "auto": dense for dense
models and sparse ones up to 200 states; above, direct when the matrix is banded (non-zeros within 0.1 S of the diagonal, as
in grid worlds), else iterative with the fallback.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

# scipy.linalg and scipy.sparse.linalg are imported by the solvers that use them: their import is a large part of
# a run's start-up, and deep-RL runs (which import this package) never solve a linear system.

from gymlab.envs.tabular import MRP, TabularMDP

DENSE_MAX_STATES = 200  # a sparse model this small is solved densely
METHODS = ("auto", "dense", "direct", "iterative")


def bellman_system(mrp: MRP):
    """The matrix (I - gamma P^pi) with identity rows at terminal states, and the right-hand side R^pi."""
    keep = ~mrp.terminal
    b = np.where(keep, mrp.R, 0.0)
    if mrp.is_sparse:
        P = sp.diags_array(keep.astype(np.float64)) @ mrp.P if mrp.terminal.any() else mrp.P
        A = sp.eye_array(mrp.S, format="csr") - mrp.gamma * P
    else:
        A = np.eye(mrp.S) - mrp.gamma * np.where(keep[:, None], mrp.P, 0.0)
    return A, b


def solve_mrp(mrp: MRP, method: str = "auto", tol: float = 1e-12) -> np.ndarray:
    """V = (I - gamma P)^-1 R for a Markov reward process; returns V as an (S,) array."""
    import scipy.linalg
    import scipy.sparse.linalg as spla

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    A, b = bellman_system(mrp)
    if method == "auto":
        if not mrp.is_sparse or mrp.S <= DENSE_MAX_STATES:
            method = "dense"
        else:  # a narrow band (grids: sqrt(S)) factorises with little fill-in; a wide one (random) does not
            method = "direct" if bandwidth(A) <= 0.1 * mrp.S else "iterative"
    if method == "dense":
        A = A.toarray() if sp.issparse(A) else A
        try:
            with warnings.catch_warnings():  # an ill-conditioned system is caught by the residual check below
                warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
                V = scipy.linalg.solve(A, b, check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            V = None
        if V is None or not np.all(np.isfinite(V)) or _bad(A, V, b, tol):
            raise _singular(mrp)
        return V
    A = sp.csr_array(A)
    if method == "iterative":
        V = _gmres(A, b, tol)
        if V is not None:
            return V
    # SuperLU direct factorisation: exact up to rounding, for any sparsity pattern
    with warnings.catch_warnings():
        warnings.simplefilter("error", spla.MatrixRankWarning)
        try:
            V = spla.spsolve(A.tocsc(), b, permc_spec="MMD_AT_PLUS_A")
        except (spla.MatrixRankWarning, RuntimeError):
            raise _singular(mrp) from None
    if not np.all(np.isfinite(V)) or _bad(A, V, b, tol):
        raise _singular(mrp)
    return V


def bandwidth(A) -> int:
    """max |i - j| over the non-zeros A[i, j] of a CSR matrix."""
    A = sp.csr_array(A)
    rows = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(A.indptr))
    return int(np.abs(A.indices.astype(np.int64) - rows).max()) if A.nnz else 0


def _gmres(A, b, tol, restart: int = 40, cycles: int = 5):
    """GMRES(restart) in cycles; gives up (None) after the first cycle if the residual has not fallen
    below 1e-3 of ||b|| (slow mixing, e.g. a large grid: a direct solve is then faster)."""
    import scipy.sparse.linalg as spla

    norm_b = max(np.linalg.norm(b), 1e-300)
    V = np.zeros_like(b)
    for cycle in range(cycles):
        V, _ = spla.gmres(A, b, x0=V, rtol=tol, atol=0.0, restart=min(restart, A.shape[0]), maxiter=1)
        if not np.all(np.isfinite(V)):
            return None
        rel = np.linalg.norm(A @ V - b) / norm_b
        if rel <= tol:
            return V
        if cycle == 0 and rel > 1e-3:
            return None
    return None


def _bad(A, V, b, tol) -> bool:
    return np.abs(A @ V - b).max() > max(1e-6, 1e4 * tol) * max(np.abs(b).max(), 1.0)


def _singular(mrp: MRP) -> ValueError:
    if mrp.gamma >= 1.0:
        return ValueError("I - gamma P^pi is singular: with gamma = 1 the policy must reach a terminal state with "
                          "probability 1 from every state (its undiscounted value is infinite otherwise); use gamma < 1")
    return ValueError("the Bellman linear system could not be solved (it should be invertible for gamma < 1)")


def finite_horizon_value(mrp: MRP, horizon: int) -> np.ndarray:
    """The expected (discounted) reward of the first ``horizon`` steps: V_h = R + gamma P V_{h-1}, V_0 = 0.

    With an env's step limit as the horizon this is what an episode actually collects (e.g. the
    probability of reaching FrozenLake's goal within 100 steps, with gamma = 1)."""
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0; got {horizon}")
    keep = ~mrp.terminal
    R = np.where(keep, mrp.R, 0.0)
    V = np.zeros(mrp.S)
    for _ in range(int(horizon)):
        V = R + mrp.gamma * np.where(keep, mrp.P @ V, 0.0)
    return V


def evaluate_policy(mdp: TabularMDP, policy, *, method: str = "auto", horizon: int | None = None) -> np.ndarray:
    """V^pi = (I - gamma P^pi)^-1 R^pi for a deterministic (S,) or stochastic (S, A) policy; an (S,) array.

    With ``horizon=H`` the value of the first H steps instead (backward induction, any gamma in [0, 1])."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"evaluate_policy takes a TabularMDP; got {type(mdp).__name__} (use solve_mrp for an MRP)")
    if horizon is not None:
        return finite_horizon_value(mdp.induced_mrp(policy), horizon)
    return solve_mrp(mdp.induced_mrp(policy), method=method)


def evaluate_q(mdp: TabularMDP, policy, *, method: str = "auto") -> np.ndarray:
    """Q^pi(s, a) = R(s, a) + gamma sum_s' P(s, a, s') V^pi(s'), an (S, A) array (zero at terminal states)."""
    return mdp.q_values(evaluate_policy(mdp, policy, method=method))

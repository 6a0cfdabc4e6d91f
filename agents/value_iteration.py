"""Value iteration: repeat the Bellman optimality backup V <- max_a [R(s, a) + gamma sum_s' P(s, a, s') V(s')].

Stopping rule (span seminorm; Puterman 1994, sec. 6.6). Let D = T V - V after a backup, with
m = min D and M = max D, and sp(D) = M - m. Because T is monotone and T(V + c) = T V + gamma c,

    T V + gamma m / (1 - gamma)  <=  V^pi  <=  V*  <=  T V + gamma M / (1 - gamma)

for pi greedy with respect to T V (or V). So the greedy policy is tol-optimal as soon as
gamma sp(D) / (1 - gamma) < tol, and V = T V + gamma (m + M) / (2 (1 - gamma)) is within tol / 2
of V*. The span ignores the part of D that is the same in every state, which shrinks only
like gamma^k; at gamma = 0.99 this stops hundreds of sweeps before the sup-norm rule
||D||_inf < tol (1 - gamma) / (2 gamma) (``rule="sup"``, kept for comparison).

Sparse transition models, and dense ones that are mostly zeros (``TabularMDP.backup_matrix``), are
backed up with a sparse matrix-vector product: O(nnz) a sweep.
"""
from __future__ import annotations

import numpy as np

from gymlab.agents.solution import Solution
from gymlab.envs.tabular import TabularMDP

RULES = ("span", "sup")


def check_discounted(mdp: TabularMDP, who: str) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{who} takes a TabularMDP; got {type(mdp).__name__}")
    if not 0.0 <= mdp.gamma < 1.0:
        raise ValueError(f"{who} needs 0 <= gamma < 1 (an infinite-horizon discounted MDP); got gamma={mdp.gamma}")


def bellman_optimality_backup(mdp: TabularMDP, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sweep: Q = R + gamma P V and (T V)(s) = max_a Q(s, a). Returns (T V, Q)."""
    Q = mdp.q_values(V)
    return Q.max(axis=1), Q


def value_iteration(mdp: TabularMDP, tol: float = 1e-8, *, max_iterations: int = 100_000, V0=None,
                    rule: str = "span") -> Solution:
    """Backups until the greedy policy is guaranteed ``tol``-optimal; V corrected to within tol of V*.

    ``V0`` warm-starts the sweeps (a run split into chunks is the same run). When ``max_iterations``
    runs out first, the last iterate is returned uncorrected with ``converged=False``.
    """
    check_discounted(mdp, "value_iteration")
    if tol <= 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    gamma = mdp.gamma
    V = np.zeros(mdp.S) if V0 is None else np.array(V0, dtype=np.float64)
    if V.shape != (mdp.S,):
        raise ValueError(f"V0 must have shape ({mdp.S},); got {V.shape}")
    # gamma * sp(D) / (1 - gamma) < tol  (span);  gamma * ||D|| / (1 - gamma) < tol / 2  (sup norm)
    threshold = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    if rule == "sup":
        threshold /= 2
    history, converged, it = [], False, 0
    for it in range(1, max_iterations + 1):
        TV, _ = bellman_optimality_backup(mdp, V)
        D = TV - V
        lo, hi = D.min(), D.max()
        stat = hi - lo if rule == "span" else max(hi, -lo)
        history.append(float(stat))
        if stat < threshold:
            if rule == "span" and gamma > 0:
                V = TV + gamma * (lo + hi) / (2 * (1 - gamma))
            else:
                V = TV
            converged = True
            break
        V = TV
    Q = mdp.q_values(V)
    residual = float(np.abs(Q.max(axis=1) - V).max())
    return Solution(V=V, Q=Q, policy=Q.argmax(axis=1), iterations=it, residual=residual,
                    converged=converged, history=history)

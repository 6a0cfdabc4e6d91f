"""Policy iteration: evaluate the policy exactly (the Bellman linear solve), improve it greedily, repeat.

    V^pi_k = (I - gamma P^pi_k)^-1 R^pi_k                       (evaluation)
    pi_{k+1}(s) = argmax_a R(s, a) + gamma sum_s' P(s, a, s') V^pi_k(s')   (improvement)

until pi_{k+1} = pi_k; then pi_k is optimal and V^pi_k = V*. Each step improves the policy
(policy improvement theorem) and there are finitely many policies, so it stops, typically in a
handful of steps. Ties keep the current action, so the loop cannot cycle between equal actions.
"""
from __future__ import annotations

import numpy as np

from gymlab.agents.policy_evaluation import evaluate_policy
from gymlab.agents.solution import Solution
from gymlab.agents.value_iteration import check_discounted
from gymlab.envs.tabular import TabularMDP


def policy_improvement(mdp: TabularMDP, V: np.ndarray, policy: np.ndarray, tie_tol: float = 1e-12):
    """Greedy improvement: switch to argmax_a Q(s, a) where it is strictly better than pi(s).
    Returns (new policy, Q, number of states that changed action)."""
    Q = mdp.q_values(V)
    best = Q.argmax(axis=1)
    rows = np.arange(mdp.S)
    # keep the current action unless another is strictly better (no cycling on ties)
    better = Q[rows, best] > Q[rows, policy] + tie_tol * np.maximum(1.0, np.abs(V))
    return np.where(better, best, policy), Q, int(better.sum())


def policy_iteration(mdp: TabularMDP, *, policy0=None, max_iterations: int = 1000, method: str = "auto",
                     tie_tol: float = 1e-12) -> Solution:
    """Howard's policy iteration from ``policy0`` (default: greedy on the immediate reward)."""
    check_discounted(mdp, "policy_iteration")
    if policy0 is None:
        policy = mdp.R.argmax(axis=1)
    else:
        policy = mdp.check_policy(policy0)
        if policy.ndim != 1:
            raise ValueError("policy0 must be a deterministic policy, an int array of shape (S,)")
    history, converged, it = [], False, 0
    for it in range(1, max_iterations + 1):
        V = evaluate_policy(mdp, policy, method=method)
        new, Q, changed = policy_improvement(mdp, V, policy, tie_tol)
        history.append(changed)
        if changed == 0:
            converged = True
            break
        policy = new
    else:
        V = evaluate_policy(mdp, policy, method=method)
        Q = mdp.q_values(V)
    residual = float(np.abs(Q.max(axis=1) - V).max())
    return Solution(V=V, Q=Q, policy=policy.copy(), iterations=it, residual=residual,
                    converged=converged, history=history)

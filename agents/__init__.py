"""Pluggable agents: planners and learners (plain NumPy/PyTorch/gymnasium).

Tabular planners and learners are exported here; deep-RL agents live in their own modules
(``agents.<name>``).
"""
from gymlab.agents.policy_evaluation import evaluate_policy, evaluate_q, finite_horizon_value, solve_mrp
from gymlab.agents.policy_iteration import policy_improvement, policy_iteration
from gymlab.agents.q_learning import QLearning, linear_schedule, q_learning
from gymlab.agents.solution import Solution
from gymlab.agents.value_iteration import bellman_optimality_backup, value_iteration

__all__ = [
    "Solution",
    "value_iteration",
    "bellman_optimality_backup",
    "policy_iteration",
    "policy_improvement",
    "evaluate_policy",
    "evaluate_q",
    "solve_mrp",
    "finite_horizon_value",
    "QLearning",
    "q_learning",
    "linear_schedule",
]

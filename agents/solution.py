"""What a tabular planner or learner returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Solution:
    """A solved (or learned) tabular control problem.

    V: (S,) state values; Q: (S, A) action values; policy: (S,) greedy actions argmax_a Q(s, a);
    iterations: sweeps (value iteration), improvement steps (policy iteration) or environment
    steps (Q-learning); residual: the Bellman optimality residual max_s |max_a Q(s, a) - V(s)| of
    the returned V (the planners), or the last TD error's running size (Q-learning);
    converged: whether the stopping rule fired (rather than the iteration budget running out).
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int
    residual: float
    converged: bool = True
    history: list = field(default_factory=list)  # per-iteration stopping quantity, for plots

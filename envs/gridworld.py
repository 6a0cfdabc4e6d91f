"""A slippery n x n grid world as a sparse TabularMDP, for scaling studies (up to 10^6 states and beyond).

State s = row * n + col (row-major); actions as in FrozenLake: 0 left, 1 down, 2 right, 3 up.
The agent moves the way it chose with probability 1 - slip and to each of the two perpendicular
directions with probability slip / 2; a move into the border leaves it in place. Every step costs
-1 until the goal (the bottom-right cell, terminal) is reached; episodes start at the top-left.
So V*(s) is minus the discounted expected time to the goal: -(1 - gamma^T) / (1 - gamma) when
the grid is deterministic (slip = 0) and T is the Manhattan distance.

Each state-action has at most 3 successors: P has <= 12 n^2 non-zeros, stored as CSR.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gymlab.envs.tabular import TabularMDP

# (d_row, d_col) of the actions 0 left, 1 down, 2 right, 3 up
MOVES = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]])
ARROWS = ["\u2190", "\u2193", "\u2192", "\u2191"]


def gridworld(n: int, *, slip: float = 0.1, gamma: float = 0.99, step_reward: float = -1.0) -> TabularMDP:
    """The n x n slippery grid world (n*n states, 4 actions, goal at the bottom-right corner)."""
    n = int(n)
    if n < 2:
        raise ValueError(f"gridworld needs n >= 2; got n={n}")
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"slip must be a probability in [0, 1]; got {slip}")
    S, A = n * n, 4
    idx_t = np.int32 if S * 4 < 2**31 else np.int64
    r, c = np.divmod(np.arange(S, dtype=idx_t), n)

    def target(a):  # (S,) next state when the move a happens
        nr = np.clip(r + MOVES[a, 0], 0, n - 1)
        nc = np.clip(c + MOVES[a, 1], 0, n - 1)
        return (nr * n + nc).astype(idx_t)

    targets = [target(a) for a in range(A)]
    if slip == 0.0:
        cols = np.stack(targets, axis=1).ravel()  # row s*A + a
        data = np.ones(S * A)
        k = 1
    else:
        # intended move, then the two perpendicular ones (a +- 1 mod 4)
        cols = np.stack([np.stack([targets[a], targets[(a + 1) % 4], targets[(a + 3) % 4]], axis=1)
                         for a in range(A)], axis=1).reshape(-1)
        data = np.tile(np.array([1.0 - slip, slip / 2, slip / 2]), S * A)
        k = 3
    indptr = np.arange(0, S * A * k + 1, k, dtype=idx_t if S * A * k < 2**31 else np.int64)
    P = sp.csr_array((data, cols, indptr), shape=(S * A, S))
    R = np.full((S, A), float(step_reward))
    terminal = np.zeros(S, dtype=bool)
    terminal[S - 1] = True
    initial = np.zeros(S)
    initial[0] = 1.0
    return TabularMDP(P, R, gamma, terminal=terminal, initial=initial, grid_shape=(n, n), name=f"gridworld-{n}")


def toward_goal_policy(n: int) -> np.ndarray:
    """A deterministic policy for ``gridworld(n)``: go down in even columns until the last row, else right.
    Every state reaches the goal with it (a proper policy)."""
    r, c = np.divmod(np.arange(n * n), n)
    down = (r < n - 1) & ((c % 2 == 0) | (c == n - 1))
    return np.where(down, 1, 2).astype(np.int64)

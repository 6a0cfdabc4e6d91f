"""Figures of agents learning and of tabular solutions (matplotlib Figures, for a notebook or a run's media).

    return_curve(episodes, evals, title)          training episodes' returns (and a running mean) against env
                                                  steps, evaluations with their std as error bars
    episode_returns(returns, title)               returns of training episodes, averaged in ~100 groups
    value_map(mdp, V, policy, title, env_name)    V as a heat map on the grid with the policy's arrows (FrozenLake's
                                                  holes H and goal G, CliffWalking's cliff C); a histogram off-grid
    convergence(history, ylabel, title, log)      a solver's per-iteration quantity (log scale when positive)
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gymlab.envs.gridworld import ARROWS
from gymlab.envs.tabular import TabularMDP


def return_curve(episodes, evals, title: str):
    """``episodes``: (env step, return) of training episodes; ``evals``: (env step, mean, std) of evaluations."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if episodes:
        steps, rets = np.array([e[0] for e in episodes]), np.array([e[1] for e in episodes])
        ax.plot(steps, rets, ".", ms=2, alpha=0.3, color="tab:blue", label="training episodes")
        k = max(1, len(rets) // 50)
        ax.plot(steps[k - 1:], np.convolve(rets, np.ones(k) / k, mode="valid"), color="tab:blue", lw=1)
    if evals:
        s, m, sd = (np.array(x) for x in zip(*evals))
        ax.errorbar(s, m, yerr=sd, color="tab:red", marker="o", ms=3, capsize=2, label="evaluation (mean, std)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return fig


def episode_returns(returns, title: str):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    r = np.asarray(returns)
    k = max(1, len(r) // 100)
    ax.plot(np.arange(len(r) // k) * k, r[: len(r) // k * k].reshape(-1, k).mean(axis=1))
    ax.set_xlabel("episode")
    ax.set_ylabel(f"return (mean of {k})")
    ax.set_title(title)
    return fig


def _cell_labels(env_name: str):
    """FrozenLake's map (S F H G) or CliffWalking's cliff (C), None elsewhere."""
    if env_name.startswith("FrozenLake"):
        import gymnasium as gym

        return np.asarray(gym.make(env_name).unwrapped.desc).astype(str)
    if env_name == "CliffWalking-v1":
        import gymnasium as gym

        return np.where(gym.make(env_name).unwrapped._cliff, "C", ".")
    return None


def value_map(mdp: TabularMDP, V: np.ndarray, policy: np.ndarray | None, title: str, env_name: str = ""):
    """``policy``: an (S,) array of actions drawn as arrows (None: none; grids up to 2500 cells)."""
    if mdp.grid_shape is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.hist(V, bins=50, color="tab:blue")
        ax.set_xlabel("V(s)")
        ax.set_ylabel("states")
        ax.set_title(f"{title}: values of the {mdp.S} states")
        return fig
    rows, cols = mdp.grid_shape
    scale = min(12.0, max(4.0, 0.6 * cols))
    fig, ax = plt.subplots(figsize=(scale, scale * rows / cols + 0.6))
    im = ax.imshow(V.reshape(rows, cols), cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="V(s)")
    if policy is not None and rows * cols <= 2500:
        labels = _cell_labels(env_name)
        for s in range(mdp.S):
            r, c = divmod(s, cols)
            if labels is not None and labels[r, c] in "HGC":
                text = labels[r, c]
            elif mdp.terminal[s]:
                text = "G"
            else:
                text = ARROWS[int(policy[s])]
            ax.text(c, r, text, ha="center", va="center", color="white", fontsize=max(5, 14 - cols // 4))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}: V and greedy policy ({mdp.name})")
    return fig


def convergence(history, ylabel: str, title: str, log: bool = True):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(history) + 1), history, marker="." if len(history) < 50 else None)
    if log and len(history) and min(history) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig

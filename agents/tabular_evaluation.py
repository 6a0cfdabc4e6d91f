"""How good a tabular policy is, two ways: sampled episodes in an env, and the exact expected return of
the same episodes from the model.

    rollout(env, policy, episodes, seed, env_name)   eval/mean_return, eval/std_return, and where the env
                                                     defines success eval/success_rate with its Wilson interval
    exact_episode_return(mdp, policy, horizon)       initial . V_h with gamma = 1: V_h = R^pi + P^pi V_{h-1}

A policy is deterministic, an (S,) array of actions, or stochastic, an (S, A) array of probabilities.
"""
from __future__ import annotations

import numpy as np

from gymlab.agents.policy_evaluation import finite_horizon_value
from gymlab.agents.stats import wilson_interval
from gymlab.envs.tabular import TabularMDP

EXACT_BUDGET = 2e9  # exact_episode_return gives None above this many multiply-adds (non-zeros x horizon)


def is_success(env_name: str, terminated: bool, last_reward: float) -> bool | None:
    """FrozenLake: the goal pays 1 (holes also terminate); Taxi, CliffWalking, gridworld: termination
    is the goal; random MDPs define no success (None)."""
    if env_name.startswith("FrozenLake"):
        return terminated and last_reward > 0
    if env_name == "random":
        return None
    return terminated


def rollout(env, policy: np.ndarray, episodes: int, seed: int, env_name: str) -> dict:
    """Episodes of a deterministic (S,) or stochastic (S, A) policy; episode i is reset with seed
    ``seed * 1_000_003 + 7919 + i``, and a stochastic policy's actions come from a generator of ``seed``."""
    if policy.ndim == 2:  # sample a ~ pi(.|s) by inverting the cumulative distribution of the row
        rng, cum = np.random.default_rng([seed, 424242]), np.cumsum(policy, axis=1)

        def act(s):
            return min(int(np.searchsorted(cum[s], rng.random() * cum[s][-1], side="right")), cum.shape[1] - 1)
    else:
        def act(s):
            return int(policy[s])
    returns, successes = np.zeros(episodes), []
    for i in range(episodes):
        obs, _ = env.reset(seed=int(seed) * 1_000_003 + 7919 + i)
        total = 0.0
        while True:
            obs, r, term, trunc, _ = env.step(act(int(obs)))
            total += r
            if term or trunc:
                break
        returns[i] = total
        ok = is_success(env_name, term, r)
        if ok is not None:
            successes.append(ok)
    out = {"eval/mean_return": float(returns.mean()), "eval/std_return": float(returns.std())}
    if successes:  # with its Wilson interval, as the deep RL evaluation reports it
        iv = wilson_interval(int(np.sum(successes)), len(successes))
        out.update({"eval/success_rate": float(np.mean(successes)), "eval/success_rate_ci_low": iv.low,
                    "eval/success_rate_ci_high": iv.high})
    return out


def exact_episode_return(mdp: TabularMDP, policy: np.ndarray, horizon: int) -> float | None:
    """The expected undiscounted return of an episode of at most ``horizon`` steps, from the model
    (None when that would take more than EXACT_BUDGET multiply-adds)."""
    if mdp.nnz * horizon > EXACT_BUDGET:
        return None
    return float(mdp.initial @ finite_horizon_value(mdp.with_gamma(1.0).induced_mrp(policy), horizon))

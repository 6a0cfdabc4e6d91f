"""Rollouts of a tabular policy against the model's exact expected episode return (agents.tabular_evaluation)."""
import numpy as np

from gymlab.agents import policy_iteration
from gymlab.agents.tabular_evaluation import exact_episode_return, is_success, rollout
from gymlab.envs.gridworld import toward_goal_policy
from gymlab.envs.tabular import env_by_name, mdp_by_name


def test_a_deterministic_grid_returns_exactly_what_the_model_says():
    mdp = mdp_by_name("gridworld", size=5, slip=0.0)
    policy = toward_goal_policy(5)
    out = rollout(env_by_name("gridworld", mdp), policy, 5, seed=0, env_name="gridworld")
    assert out["eval/mean_return"] == exact_episode_return(mdp, policy, 1000) == -8.0  # 8 steps of -1
    assert out["eval/std_return"] == 0 and out["eval/success_rate"] == 1.0


def test_frozenlake_rollouts_agree_with_the_exact_success_probability_and_repeat_by_seed():
    mdp = mdp_by_name("FrozenLake-v1", 0.99)
    policy = policy_iteration(mdp).policy
    exact = exact_episode_return(mdp, policy, 100)
    env = env_by_name("FrozenLake-v1", mdp)
    a, b = rollout(env, policy, 400, 3, "FrozenLake-v1"), rollout(env, policy, 400, 3, "FrozenLake-v1")
    assert a == b and a["eval/success_rate"] == a["eval/mean_return"]
    assert abs(a["eval/mean_return"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 400)
    assert a["eval/success_rate_ci_low"] < a["eval/success_rate"] < a["eval/success_rate_ci_high"]
    uniform = np.full((mdp.S, mdp.A), 1 / mdp.A)  # a stochastic policy is sampled
    assert 0 <= rollout(env, uniform, 50, 0, "FrozenLake-v1")["eval/mean_return"] < 0.3


def test_success_rules_and_the_exact_budget():
    assert is_success("FrozenLake-v1", True, 1.0) and not is_success("FrozenLake-v1", True, 0.0)
    assert is_success("Taxi-v4", True, 20.0) and not is_success("Taxi-v4", False, -1.0)
    assert is_success("random", True, 1.0) is None
    big = mdp_by_name("gridworld", size=300)
    assert exact_episode_return(big, np.zeros(big.S, dtype=int), 10**6) is None

"""Q-learning: learns near-optimal greedy policies on FrozenLake and Taxi in a fixed small budget."""
import gymnasium as gym
import numpy as np
import pytest

from gymlab.agents import QLearning, evaluate_policy, linear_schedule, q_learning
from gymlab.envs.tabular import from_gymnasium, make_env, random_mdp


def test_frozenlake_greedy_policy_succeeds_at_least_70_percent():
    steps = 100_000
    sol = q_learning(gym.make("FrozenLake-v1"), steps=steps, gamma=0.99, seed=0,
                     alpha=linear_schedule(0.1, 0.01, steps), epsilon=linear_schedule(1.0, 0.05, steps // 2))
    assert sol.iterations >= steps and sol.Q.shape == (16, 4)
    mdp = from_gymnasium("FrozenLake-v1")
    # exact success probability of the greedy policy within the env's 100 steps (optimum 0.740)
    success = mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), sol.policy, horizon=100)
    assert success >= 0.70
    untrained = mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), np.zeros(16, dtype=int), horizon=100)
    assert untrained < 0.1


def test_taxi_greedy_policy_returns_at_least_7():
    steps = 60_000
    sol = q_learning(gym.make("Taxi-v4"), steps=steps, gamma=0.99, seed=0,
                     alpha=linear_schedule(1.0, 0.1, steps), epsilon=linear_schedule(1.0, 0.02, steps // 2))
    mdp = from_gymnasium("Taxi-v4")
    # exact mean return over all 300 start states within the env's 200 steps (optimum 7.93)
    mean_return = mdp.initial @ evaluate_policy(mdp.with_gamma(1.0), sol.policy, horizon=200)
    assert mean_return >= 7.0
    env = gym.make("Taxi-v4")
    returns = []
    for i in range(200):
        s, _ = env.reset(seed=i)
        total = 0
        while True:
            s, r, term, trunc, _ = env.step(int(sol.policy[s]))
            total += r
            if term or trunc:
                break
        returns.append(total)
    assert np.mean(returns) >= 6.5


def test_learning_in_chunks_equals_one_run():
    env = make_env(random_mdp(20, 3, 4, seed=0), max_steps=30)
    kw = dict(gamma=0.9, alpha=linear_schedule(0.5, 0.05, 2000), epsilon=linear_schedule(1.0, 0.1, 1000), seed=3)
    one = QLearning(env, **kw)
    one.learn(episodes=60)
    two = QLearning(env, **kw)
    two.learn(episodes=25)
    state = two.state_dict()
    three = QLearning(env, **kw)
    three.load_state_dict(state)
    three.learn(episodes=35)
    np.testing.assert_array_equal(one.Q, three.Q)
    assert one.steps == three.steps == 60 * 30


def test_q_learning_update_rule_on_a_one_step_env():
    """A bandit-like model whose episode ends after one step: Q(s0, a) -> R(s0, a) exactly with alpha = 1."""
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    from gymlab.envs.tabular import TabularMDP

    mdp = TabularMDP(P, np.array([[1.0, 3.0], [0.0, 0.0]]), 0.9, terminal=[1], initial=[1.0, 0.0])
    sol = q_learning(make_env(mdp), episodes=50, alpha=1.0, epsilon=1.0, seed=0)
    np.testing.assert_allclose(sol.Q[0], [1.0, 3.0])
    assert sol.policy[0] == 1


def test_schedules_and_errors():
    f = linear_schedule(1.0, 0.1, 100)
    assert f(0) == 1.0 and f(50) == pytest.approx(0.55) and f(100) == f(10_000) == 0.1
    with pytest.raises(ValueError, match="needs Discrete observation and action spaces"):
        QLearning(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        QLearning(gym.make("FrozenLake-v1"), alpha=2.0)
    with pytest.raises(ValueError, match="needs a budget"):
        QLearning(gym.make("FrozenLake-v1")).learn()

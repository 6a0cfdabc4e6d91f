"""REINFORCE: the gradient estimate on a two-armed bandit is the analytic policy gradient; it learns CartPole."""
import gymnasium as gym
import numpy as np
import torch

from gymlab.agents.reinforce import REINFORCE, discounted_returns

MEANS = np.array([1.0, 0.4])  # expected reward of each arm
LOGITS = torch.tensor([0.3, -0.2])  # the policy's parameters: pi = softmax(LOGITS)


class Bandit(gym.Env):
    """Two arms, one-step episodes, reward ~ N(MEANS[a], 0.5^2); a constant observation."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, a):
        return np.zeros(1, np.float32), float(MEANS[a] + 0.5 * self.np_random.normal()), True, False, {}


def bandit_agent(n: int) -> REINFORCE:
    agent = REINFORCE(Bandit, seed=0, n_envs=n, net_arch=[], baseline=False, normalize_advantages=False)
    with torch.no_grad():  # logits = W * 0 + b: the bias is the logit vector
        agent.policy.pi_head.linear.bias.copy_(LOGITS)
    return agent


def test_gradient_matches_the_estimator_and_the_analytic_policy_gradient():
    n = 2000
    agent = bandit_agent(n)
    ep = agent.collect_episodes()
    loss, _ = agent.loss(ep)
    loss.backward()
    grad = -agent.policy.pi_head.linear.bias.grad.numpy()  # the loss is -J_hat

    pi = torch.softmax(LOGITS, 0).numpy()
    a = ep.actions[0].numpy().astype(int)
    r = ep.rewards[0].numpy()
    score = np.eye(2)[a] - pi  # grad_logits log pi(a) = e_a - pi
    per_episode = r[:, None] * score
    np.testing.assert_allclose(grad, per_episode.mean(0), rtol=1e-5, atol=1e-6)  # exactly the REINFORCE estimator

    analytic = pi * (MEANS - pi @ MEANS)  # dJ/dlogit_b = pi_b (mu_b - J)
    stderr = per_episode.std(0) / np.sqrt(n)
    assert np.all(np.abs(grad - analytic) < 4 * stderr), (grad, analytic, stderr)
    assert np.abs(analytic).min() > 10 * stderr.max()  # the test can tell a wrong gradient from the right one


def test_reward_to_go_and_full_return():
    r = torch.tensor([[1.0], [2.0], [3.0], [9.0]])
    mask = torch.tensor([[1.0], [1.0], [1.0], [0.0]])  # the last step is past the episode's end
    g = 0.5
    togo = discounted_returns(r, mask, g, reward_to_go=True)[:, 0]
    full = discounted_returns(r, mask, g, reward_to_go=False)[:, 0]
    np.testing.assert_allclose(togo, [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3, 0])
    np.testing.assert_allclose(full, [2.75, 2.75, 2.75, 0])


def test_reinforce_learns_cartpole():
    agent = REINFORCE("CartPole-v1", seed=0)
    agent.learn(25_000)
    score = agent.evaluate(n_episodes=10)["mean_return"]
    assert score >= 150, score  # a random policy scores about 22

"""PPO: learns CartPole, runs Gaussian policies on Pendulum, refuses Dict observations, resumes exactly."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab.agents.ppo import PPO
from gymlab.testing import assert_solves


def test_ppo_learns_cartpole():
    agent = PPO("CartPole-v1", seed=0)
    agent.learn(30_000)
    assert_solves(agent, "CartPole-v1", threshold=150, episodes=10)  # the 95% CI's lower bound; random: about 22


def test_gaussian_policy_on_pendulum():
    agent = PPO("Pendulum-v1", seed=0, n_envs=2, n_steps=64, batch_size=64, n_epochs=2)
    obs = torch.as_tensor(agent._obs)
    dist = agent.policy.dist(obs)
    a = dist.sample()
    logp, ent, _ = agent.policy.evaluate_actions(obs, a)
    mu, sigma = dist.mean, agent.policy.pi_head.log_std.exp()
    manual = (-0.5 * ((a - mu) / sigma) ** 2 - torch.log(sigma) - 0.5 * np.log(2 * np.pi)).sum(-1)
    torch.testing.assert_close(logp, manual)
    torch.testing.assert_close(ent, (0.5 + 0.5 * np.log(2 * np.pi) + torch.log(sigma)).sum().expand(2))
    agent.learn(256)
    assert agent.num_timesteps == 256
    act, _ = agent.predict(agent._obs)
    assert act.shape == (2, 1) and np.all(np.abs(act) <= 2.0)  # clipped to the Box bounds


def test_dict_observations_are_refused():
    def make():
        return gym.wrappers.TransformObservation(
            gym.make("CartPole-v1"), lambda o: {"x": o},
            gym.spaces.Dict({"x": gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)}))

    with pytest.raises(TypeError, match=r"ppo does not accept the observation space Dict.*sb3-ppo"):
        PPO(make, n_envs=1)


def test_state_dict_resumes_training_exactly():
    def fresh(seed=0):
        torch.manual_seed(0)
        agent = PPO("CartPole-v1", seed=seed, n_envs=4, n_steps=16, batch_size=32, n_epochs=2)
        agent.total_timesteps = 256  # the budget the schedules span
        return agent

    def train_until(agent, steps):
        while agent.num_timesteps < steps:
            agent.train_iteration()

    a = fresh()
    train_until(a, 256)
    b = fresh()
    train_until(b, 128)
    state, rng = b.state_dict(), torch.get_rng_state()
    c = fresh(seed=5)  # another seed and fresh envs, then restored from b's state
    c.load_state_dict(state)
    torch.set_rng_state(rng)
    train_until(c, 256)
    assert c.num_timesteps == a.num_timesteps
    for p, q in zip(a.policy.parameters(), c.policy.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)

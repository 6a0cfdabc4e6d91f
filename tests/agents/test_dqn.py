"""DQN: TD targets (plain and double), the replay buffer, the target net's refresh, learning on CartPole and from
pixels on Catch, clear errors."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import gymlab.envs.catch  # noqa: F401  (registers gymlab/Catch-v0)
from gymlab.agents.buffers import ReplayBuffer
from gymlab.agents.dqn import DQN
from gymlab.envs.pixels import pixel_env


def test_td_target_dqn_and_double_dqn():
    for double in (False, True):
        agent = DQN("CartPole-v1", seed=0, double_q=double, net_arch=[8], buffer_size=100)
        torch.manual_seed(1)
        with torch.no_grad():  # make the target net differ from the online net
            for p in agent.q_target.parameters():
                p.add_(torch.randn_like(p))
        obs, nxt = torch.randn(5, 4), torch.randn(5, 4)
        a, r = torch.tensor([0, 1, 1, 0, 1]), torch.randn(5)
        term = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])
        loss = agent.td_loss(obs, a, r, nxt, term)
        with torch.no_grad():
            qt, qo = agent.q_target(nxt), agent.q(nxt)
            v = qt[torch.arange(5), qo.argmax(1)] if double else qt.max(1).values
            y = r + 0.99 * (1 - term) * v
            q = agent.q(obs)[torch.arange(5), a]
        torch.testing.assert_close(loss, torch.nn.functional.smooth_l1_loss(q, y))
    assert not torch.equal(qt.max(1).values, qt[torch.arange(5), qo.argmax(1)])  # the two targets differ here


def test_replay_buffer_is_a_ring_and_samples_whole_phases_at_once():
    buf = ReplayBuffer(5, (2,), np.float32)
    for start, n in ((0, 3), (3, 4), (7, 1)):  # 8 transitions into 5 slots: the oldest 3 are overwritten
        k = np.arange(start, start + n)
        buf.add(np.stack([k, k], 1), k, k * 10.0, np.stack([k, k], 1) + 1, k % 2)
    assert buf.size == 5 and buf.pos == 3
    np.testing.assert_array_equal(buf.actions, [5, 6, 7, 3, 4])
    np.testing.assert_array_equal(buf.next_obs[:, 0], buf.obs[:, 0] + 1)
    obs, a, r, nxt, term = buf.sample(4, np.random.default_rng(0), "cpu", n_batches=3)
    assert obs.shape == (3, 4, 2) and a.shape == r.shape == term.shape == (3, 4)
    torch.testing.assert_close(r, a.float() * 10)
    torch.testing.assert_close(term, (a % 2).float())
    assert set(a.flatten().tolist()) <= {3, 4, 5, 6, 7}


def test_target_net_is_a_copy_of_q_after_each_refresh_also_after_a_resume():
    small = dict(buffer_size=1000, learning_starts=0, train_freq=32, gradient_steps=4, batch_size=16,
                 target_update_interval=16, net_arch=[16])
    same = lambda a: all(torch.equal(p, t) for p, t in zip(a.q.parameters(), a.q_target.parameters()))  # noqa: E731
    agent = DQN("CartPole-v1", seed=0, **small)
    agent.total_timesteps = 1000
    agent.train_iteration()
    assert not same(agent)  # Q trained at the end of the iteration; the target refreshes during the next one
    resumed = DQN("CartPole-v1", seed=0, **small)
    resumed.load_state_dict(agent.state_dict())
    for a in (agent, resumed):
        a.cfg.gradient_steps = 0  # collect only: the refresh, no training after it
        a.train_iteration()
        assert same(a)
    torch.testing.assert_close(agent.q_target.state_dict(), resumed.q_target.state_dict())


def test_epsilon_schedule():
    agent = DQN("CartPole-v1", seed=0, buffer_size=100, exploration_fraction=0.5, exploration_initial_eps=1.0, exploration_final_eps=0.1)
    agent.total_timesteps = 1000
    assert agent.epsilon() == 1.0
    agent.num_timesteps = 250
    assert agent.epsilon() == pytest.approx(0.55)
    agent.num_timesteps = 900
    assert agent.epsilon() == pytest.approx(0.1)


def test_dqn_learns_cartpole():
    agent = DQN("CartPole-v1", seed=0, exploration_fraction=0.2)  # the defaults, epsilon decayed over 2400 steps
    agent.learn(12_000)
    score = agent.evaluate(n_episodes=10)["mean_return"]
    assert score >= 120, score  # random: about 22


def test_dqn_learns_catch_from_pixels():
    make = pixel_env("gymlab/Catch-v0", size=(10, 5))  # one pixel per board cell
    agent = DQN(make, seed=0, n_envs=1, learning_starts=500, train_freq=16, gradient_steps=4, batch_size=32,
                target_update_interval=250, exploration_fraction=0.3, net_arch=[64], lr=1e-3)
    assert agent.observation_space.shape == (10, 5, 1) and agent.observation_space.dtype == np.uint8
    agent.learn(3_000)
    score = agent.evaluate(make, n_episodes=50)["mean_return"]
    assert score >= 0.5, score  # random play catches about 1 ball in 5 (return about -0.6); perfect play is 1


def test_continuous_actions_are_refused_with_the_agents_that_accept_them():
    with pytest.raises(TypeError, match=r"dqn does not accept the action space Box.*it takes Discrete actions; agents that accept it: actor-critic, ppo, reinforce"):
        DQN("Pendulum-v1")

"""DQN: TD targets (plain and double), the replay buffer, the target net's refresh, learning on CartPole and from
pixels on Catch, clear errors."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import gymlab.envs.catch  # noqa: F401  (registers gymlab/Catch-v0)
from gymlab.agents.buffers import NStepReturns, ReplayBuffer
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
    obs, a, r, nxt, term, n = buf.sample(4, np.random.default_rng(0), "cpu", n_batches=3)
    assert obs.shape == (3, 4, 2) and a.shape == r.shape == term.shape == n.shape == (3, 4)
    assert torch.all(n == 1)  # one-step transitions unless said otherwise
    torch.testing.assert_close(r, a.float() * 10)
    torch.testing.assert_close(term, (a % 2).float())
    assert set(a.flatten().tolist()) <= {3, 4, 5, 6, 7}


def test_n_step_returns_by_hand_with_a_termination_and_a_truncation_inside_the_n_steps():
    nstep, g = NStepReturns(3, 0.5, n_envs=2), 0.5
    # env 0: rewards 1, 2, 4, 8, terminated at its 4th step (t=3), then a reset step (t=4, not a transition);
    # env 1: rewards 1, 1, truncated at its 2nd step (t=1), then a reset step and a new episode (reward 3 at t=3)
    rewards = np.array([[1, 1], [2, 1], [4, 0], [8, 3], [0, 0]], dtype=np.float64)
    terminated = np.array([[0, 0], [0, 0], [0, 0], [1, 0], [0, 0]], bool)
    truncated = np.array([[0, 0], [0, 1], [0, 0], [0, 0], [0, 0]], bool)
    valid = np.array([[1, 1], [1, 1], [1, 0], [1, 1], [0, 1]], bool)
    out = []
    for t in range(5):
        obs = np.array([[10 * t, 0], [10 * t, 1]], np.float32)  # s_t of env i: (10 t, i); s_{t+1} = (10 (t+1), i)
        got = nstep.push(obs, np.array([t, t]), rewards[t], obs + [[10, 0], [10, 0]], terminated[t], truncated[t],
                         valid[t])
        out += [] if got is None else list(zip(*got))
    seen = {(int(o[1]), int(o[0]) // 10): (r, int(nxt[0]) // 10, term, n) for o, a, r, nxt, term, n in out}
    assert seen == {
        (0, 0): (1 + g * 2 + g * g * 4, 3, 0.0, 3),  # full n steps, bootstrapped from s_3
        (0, 1): (2 + g * 4 + g * g * 8, 4, 1.0, 3),  # the episode terminates at the 3rd step: no bootstrap
        (0, 2): (4 + g * 8, 4, 1.0, 2),              # cut at the termination
        (0, 3): (8.0, 4, 1.0, 1),
        (1, 0): (1 + g * 1, 2, 0.0, 2),              # cut at the truncation, bootstrapped from the final obs
        (1, 1): (1.0, 2, 0.0, 1),
    }
    assert [len(q) for q in nstep.pending] == [0, 2]  # env 1's new episode (t=3, 4) waits for its 3rd step

    agent = DQN("CartPole-v1", seed=0, net_arch=[8], buffer_size=100, n_steps=3, gamma=0.5)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in agent.q_target.parameters():
            p.add_(torch.randn_like(p))
    s, nxt = torch.randn(4, 4), torch.randn(4, 4)
    a, r = torch.tensor([0, 1, 1, 0]), torch.randn(4)
    term, n = torch.tensor([0.0, 1.0, 0.0, 0.0]), torch.tensor([3.0, 2.0, 1.0, 2.0])
    with torch.no_grad():
        y = r + 0.5 ** n * (1 - term) * agent.q_target(nxt).max(1).values
        q = agent.q(s)[torch.arange(4), a]
    torch.testing.assert_close(agent.td_loss(s, a, r, nxt, term, n), torch.nn.functional.smooth_l1_loss(q, y))


def test_n_step_dqn_stores_every_step_once():
    agent = DQN("CartPole-v1", seed=0, n_steps=3, buffer_size=10_000, learning_starts=0, train_freq=64,
                gradient_steps=2, net_arch=[16])
    agent.total_timesteps = 2000
    for _ in range(3):
        agent.train_iteration()
    pending = sum(len(q) for q in agent._n_step.pending)
    assert agent.buffer.size + pending == agent.num_timesteps and pending <= 4 * 2
    assert set(np.unique(agent.buffer.n_steps[:agent.buffer.size])) == {1.0, 2.0, 3.0}
    resumed = DQN("CartPole-v1", seed=1, n_steps=3, buffer_size=10_000, net_arch=[16])
    resumed.load_state_dict(agent.state_dict())  # the pending steps travel with the checkpoint
    for q, r in zip(agent._n_step.pending, resumed._n_step.pending):
        assert len(q) == len(r) and all(np.array_equal(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(q, r))


def test_torch_init_is_nn_linears_default():
    agent = DQN("CartPole-v1", seed=0, init="torch")
    w = agent.q.trunk[2].weight  # the second hidden layer, 256 x 256
    assert w.abs().max() <= 1 / np.sqrt(w.shape[1])  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)); orthogonal(sqrt 2) exceeds it
    assert DQN("CartPole-v1", seed=0).q.trunk[2].weight.abs().max() > 1 / np.sqrt(w.shape[1])
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        DQN("CartPole-v1", init="xavier")


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

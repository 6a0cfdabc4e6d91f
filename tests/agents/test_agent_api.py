"""The shared agent API: save, load and evaluate give the same actions; clear errors; evaluate's seeds."""
import numpy as np
import pytest
import torch

from gymlab.agents.actor_critic import A2C
from gymlab.agents.base import evaluate
from gymlab.agents.dqn import DQN
from gymlab.agents.ppo import PPO
from gymlab.agents.reinforce import REINFORCE

SMALL = {A2C: dict(n_envs=2, n_steps=8), PPO: dict(n_envs=2, n_steps=16, batch_size=16, n_epochs=1),
         DQN: dict(n_envs=1, buffer_size=500, learning_starts=10, train_freq=16, gradient_steps=2, net_arch=[16]),
         REINFORCE: dict(n_envs=2)}


@pytest.mark.parametrize("cls", [A2C, PPO, DQN, REINFORCE], ids=lambda c: c.name)
def test_save_load_evaluate_give_the_same_actions(cls, tmp_path):
    agent = cls("CartPole-v1", seed=3, **SMALL[cls])
    agent.learn(100)
    path = agent.save(tmp_path / "agent.pt")
    loaded = cls.load(path)  # no env: predict and evaluate only
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    assert agent.evaluate(n_episodes=3, seed=7) == loaded.evaluate(n_episodes=3, seed=7)
    one, _ = loaded.predict(obs[0], deterministic=True)
    assert np.ndim(one) == 0 and one == agent.predict(obs[:1], deterministic=True)[0][0]
    assert loaded.num_timesteps == agent.num_timesteps and loaded.cfg == agent.cfg
    with pytest.raises(ValueError, match="holds a"):
        (PPO if cls is not PPO else A2C).load(path)


def test_evaluate_uses_its_own_seeds():
    class Fixed:
        def predict(self, obs, state=None, episode_start=None, deterministic=False):
            return int(obs[2] > 0), None  # push toward the pole's lean

    a = evaluate(Fixed(), "CartPole-v1", n_episodes=4, seed=123)
    b = evaluate(Fixed(), "CartPole-v1", n_episodes=4, seed=123)
    c = evaluate(Fixed(), "CartPole-v1", n_episodes=4, seed=999)
    assert a == b and a["returns"] != c["returns"]
    assert a["mean_return"] == pytest.approx(np.mean(a["returns"])) and a["mean_length"] == a["mean_return"]


def test_unknown_option_is_a_clear_error_and_sb3_names_are_aliases():
    with pytest.raises(TypeError, match="unknown option 'learnig_rate'.*valid: n_envs"):
        PPO("CartPole-v1", learnig_rate=1e-3)
    for cls in (PPO, A2C, DQN, REINFORCE):  # SB3's name for the learning rate
        assert cls("CartPole-v1", learning_rate=1e-4, **SMALL[cls]).cfg.lr == 1e-4
    with pytest.raises(TypeError, match="'learning_rate' is another name for 'lr'"):
        PPO("CartPole-v1", lr=1e-3, learning_rate=1e-3)


def test_learn_callback_can_stop_and_counts_real_steps():
    agent = A2C("CartPole-v1", seed=0, n_envs=4, n_steps=5)
    seen = []
    agent.learn(10_000, callback=lambda a, m: seen.append(m["train/env_steps"]) or len(seen) < 3)
    assert len(seen) == 3 and seen[-1] == agent.num_timesteps <= 60
    assert sum(e[2] for e in agent.episodes) <= agent.num_timesteps
    torch.testing.assert_close(torch.tensor(float(agent.iterations)), torch.tensor(3.0))


def test_agents_declare_action_spaces_and_steps_per_iteration():
    import gymnasium as gym

    assert DQN.supported_action_spaces == (gym.spaces.Discrete,)
    for cls in (A2C, PPO, REINFORCE):
        assert set(cls.supported_action_spaces) == {gym.spaces.Discrete, gym.spaces.Box}
    sizes = {A2C: 2 * 8, PPO: 2 * 16, DQN: 16 * 1, REINFORCE: None}
    for cls, size in sizes.items():
        agent = cls("Pendulum-v1" if cls is not DQN else "CartPole-v1", seed=0, **SMALL[cls])
        assert agent.steps_per_iteration == size
        if size is not None and cls is not DQN:  # Pendulum's 200-step episodes: no reset step in one iteration
            agent.train_iteration()
            assert agent.num_timesteps == size

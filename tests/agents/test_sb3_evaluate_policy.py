"""Our agents under Stable-Baselines3's own evaluation: ``evaluate_policy(agent, env)`` runs them, and on
the same seeds it gives our ``evaluate``'s returns episode by episode."""
import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import DummyVecEnv

from gymlab.agents.actor_critic import A2C
from gymlab.agents.base import evaluate
from gymlab.agents.dqn import DQN
from gymlab.agents.ppo import PPO
from gymlab.agents.q_learning import QLearning
from gymlab.agents.reinforce import REINFORCE

SMALL = {A2C: dict(n_envs=2, n_steps=8), PPO: dict(n_envs=2, n_steps=16, batch_size=16, n_epochs=1),
         DQN: dict(buffer_size=500, learning_starts=10, train_freq=16, gradient_steps=2, net_arch=[16]),
         REINFORCE: dict(n_envs=2)}
SEED, N = 500, 4


def sb3_returns_one_episode_per_seed(agent, env_id, n=N):
    """SB3's evaluate_policy, one episode per seed SEED + i (DummyVecEnv.seed seeds the next reset)."""
    returns, lengths = [], []
    for i in range(n):
        venv = DummyVecEnv([lambda: gym.make(env_id)])
        venv.seed(SEED + i)
        r, n = evaluate_policy(agent, venv, n_eval_episodes=1, deterministic=True, return_episode_rewards=True,
                               warn=False)
        returns += r
        lengths += n
    return returns, lengths


@pytest.mark.parametrize("cls,env_id", [(A2C, "CartPole-v1"), (PPO, "CartPole-v1"), (DQN, "CartPole-v1"),
                                        (REINFORCE, "CartPole-v1"), (PPO, "Pendulum-v1")],
                         ids=lambda x: getattr(x, "name", x))
def test_sb3_evaluate_policy_matches_ours_episode_by_episode(cls, env_id):
    agent = cls(env_id, seed=1, **SMALL[cls])
    agent.learn(200)
    ours = evaluate(agent, env_id, n_episodes=N, seed=SEED)
    returns, lengths = sb3_returns_one_episode_per_seed(agent, env_id)
    np.testing.assert_allclose(returns, ours["returns"], rtol=1e-5)  # SB3 sums float32 rewards
    assert list(lengths) == ours["lengths"]
    # batched: N envs seeded SEED + i, one episode each (SB3 lists them in the order they finish)
    venv = DummyVecEnv([lambda: gym.make(env_id)] * N)
    venv.seed(SEED)
    r, n = evaluate_policy(agent, venv, n_eval_episodes=N, deterministic=True, return_episode_rewards=True, warn=False)
    assert sorted(zip(n, np.round(r, 3))) == sorted(zip(ours["lengths"], np.round(ours["returns"], 3)))


def test_predict_has_sb3_signature_and_returns_the_state():
    agent = PPO("CartPole-v1", seed=0, **SMALL[PPO])
    obs = np.zeros((3, 4), np.float32)
    action, state = agent.predict(obs, state="h", episode_start=np.ones(3, bool), deterministic=True)
    assert action.shape == (3,) and state == "h"


def test_dqn_explores_at_sb3s_exploration_rate():
    agent = DQN("CartPole-v1", seed=0, **SMALL[DQN])
    schedule = LinearSchedule(agent.cfg.exploration_initial_eps, agent.cfg.exploration_final_eps,
                             agent.cfg.exploration_fraction)  # SB3 DQN's exploration schedule
    agent.total_timesteps = 1000
    for t in (0, 50, 160, 600):
        agent.num_timesteps = t
        assert agent.exploration_rate == pytest.approx(schedule(1 - t / 1000))
    obs = np.random.default_rng(0).normal(size=(4000, 4)).astype(np.float32)
    greedy, _ = agent.predict(obs, deterministic=True)
    for t, eps in ((0, 1.0), (600, agent.cfg.exploration_final_eps)):
        agent.num_timesteps = t
        acted, _ = agent.predict(obs)  # deterministic=False by default, as in SB3
        # a uniformly random action with probability eps: it differs from the greedy one w.p. eps (n - 1) / n
        assert np.mean(acted != greedy) == pytest.approx(eps / 2, abs=0.03)
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0], greedy)


def test_tabular_q_learning_under_sb3_evaluate_policy():
    env_id = "Taxi-v4"
    learner = QLearning(gym.make(env_id), gamma=0.99, alpha=0.5, epsilon=0.1, seed=0)
    learner.learn(episodes=1500)
    ours = evaluate(learner, env_id, n_episodes=8, seed=SEED)
    returns, lengths = sb3_returns_one_episode_per_seed(learner, env_id, n=8)
    assert returns == ours["returns"] and list(lengths) == ours["lengths"]
    assert len(set(ours["returns"])) > 2 and min(ours["returns"]) > 0  # solved, from different start states
    assert learner.predict(3, deterministic=True)[0] == learner.policy[3]
    learner.epsilon = lambda t: 1.0
    actions, _ = learner.predict(np.zeros(2000, int))
    assert np.mean(actions != learner.policy[0]) == pytest.approx(5 / 6, abs=0.04)  # 6 actions

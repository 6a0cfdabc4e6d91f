"""Deep RL experiments: `reinforce`, `actor-critic` (alias `a2c`), `dqn`, `ppo` on any gymnasium env, on the
RL template (runners.templates.rl: envs, ``timesteps=`` budget, evaluation, solved-run stopping, media).

One train_step is one iteration of the agent (a rollout and its update; for REINFORCE a batch of
episodes; for DQN ``train_freq`` env steps and their gradient steps). ``pixels=true`` makes the agent
learn from rendered frames (a conv encoder from ``vision.nn.encoders``). The agent's config
(``agents.<agent>.<Agent>Config``) is the group ``agent``: ``agent.lr=3e-4`` or ``lr=3e-4``, ``n_envs=4``, ...
(``learning_rate=`` is accepted for ``lr``, as the sb3-* experiments take it).
Metrics: eval/mean_return, eval/std_return, eval/mean_length, train/env_steps (real transitions: not the vector
envs' reset steps), time/env_steps_per_s (training only). Media: a GIF of one evaluation episode, the return curve.
"""
from __future__ import annotations

from dataclasses import dataclass

from gymlab.agents.actor_critic import A2C, A2CConfig
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.ppo import PPO, PPOConfig
from gymlab.agents.reinforce import REINFORCE, REINFORCEConfig
from gymlab.runners.config import group
from gymlab.runners.registry import register
from gymlab.runners.templates.rl import RL, RLConfig


@dataclass
class ReinforceRunConfig(RLConfig):
    steps: int = 250  # a batch of n_envs episodes each
    eval_every: int = 25
    agent: REINFORCEConfig = group(REINFORCEConfig)  # agents.reinforce's keys


@dataclass
class ActorCriticRunConfig(RLConfig):
    steps: int = 800  # 128 env steps each
    eval_every: int = 40
    agent: A2CConfig = group(A2CConfig)  # agents.actor_critic's keys


@dataclass
class DQNRunConfig(RLConfig):
    steps: int = 200  # 256 env steps each
    eval_every: int = 8  # every 2048 env steps: a solved policy is caught soon after it appears
    agent: DQNConfig = group(DQNConfig)  # agents.dqn's keys


@dataclass
class PPORunConfig(RLConfig):
    steps: int = 200  # 512 env steps each
    eval_every: int = 10
    agent: PPOConfig = group(PPOConfig)  # agents.ppo's keys


@register("reinforce", data="CartPole-v1", metric="eval/mean_return",
          description="REINFORCE: Monte Carlo policy gradient, learned baseline, reward-to-go")
class ReinforceExperiment(RL):
    agent_cls, Config = REINFORCE, ReinforceRunConfig


@register("a2c", data="CartPole-v1", metric="eval/mean_return",
          description="advantage actor-critic (alias of actor-critic)")
@register("actor-critic", data="CartPole-v1", metric="eval/mean_return",
          description="A2C: vector envs, n-step returns / GAE, entropy bonus")
class ActorCriticExperiment(RL):
    agent_cls, Config = A2C, ActorCriticRunConfig


@register("dqn", data="CartPole-v1", metric="eval/mean_return",
          description="DQN: replay buffer, target network, epsilon-greedy, n-step returns, double DQN option")
class DQNExperiment(RL):
    agent_cls, Config = DQN, DQNRunConfig


@register("ppo", data="CartPole-v1", metric="eval/mean_return",
          description="PPO: clipped surrogate, GAE, minibatch epochs")
class PPOExperiment(RL):
    agent_cls, Config = PPO, PPORunConfig

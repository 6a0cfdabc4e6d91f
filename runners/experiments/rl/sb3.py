"""Stable-Baselines3 experiments `sb3-a2c`, `sb3-ppo`, `sb3-dqn`: SB3's agents on the RL template, with the
rl-baselines3-zoo hyperparameters for the env by default (``zoo=false``: SB3's defaults), evaluated
exactly like ours (same env, seeds, metrics and media), so that

    gymlab compare actor-critic sb3-a2c env=CartPole-v1 seeds=5

judges us against SB3. One train_step is one SB3 rollout and its update. The group ``agent`` holds the keys
that override the zoo's values when set: n_envs, learning_rate (or lr, our agents' name), gamma, policy and,
where the algorithm has them, n_steps, batch_size, ent_coef.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from gymlab.agents.sb3 import POLICIES, SB3Agent
from gymlab.runners.config import group
from gymlab.runners.registry import register
from gymlab.runners.templates.rl import RL, RLConfig, env_factory


@dataclass
class SB3Config:
    zoo: bool = True  # rl-baselines3-zoo hyperparameters when the zoo has the env (false: SB3's defaults)
    n_envs: Optional[int] = None  # None: the zoo's (1 without it)
    learning_rate: Optional[float] = None
    gamma: Optional[float] = None
    policy: Optional[Literal[POLICIES]] = None  # MultiInputPolicy for Dict observations; None: the zoo's (MlpPolicy)


@dataclass
class SB3A2CConfig(SB3Config):
    n_steps: Optional[int] = None  # steps per env per update
    ent_coef: Optional[float] = None


@dataclass
class SB3PPOConfig(SB3A2CConfig):
    batch_size: Optional[int] = None  # minibatch size of the epochs


@dataclass
class SB3DQNConfig(SB3Config):
    batch_size: Optional[int] = None  # transitions per gradient step


class SB3Experiment(RL):
    algo = ""

    def make_agent(self, cfg, ctx):
        env = env_factory(cfg) if cfg.pixels else cfg.env
        return SB3Agent(self.algo, env, seed=cfg.seed, device=str(ctx.device), **vars(cfg.agent))

    def nominal_chunk(self) -> int:
        return self.agent.chunk


@dataclass
class SB3A2CRunConfig(RLConfig):
    steps: int = 2500  # 8 envs x 5 steps: 100k env steps
    eval_every: int = 125
    agent: SB3A2CConfig = group(SB3A2CConfig)


@dataclass
class SB3PPORunConfig(RLConfig):
    steps: int = 390  # 8 envs x 32 steps: 100k env steps
    eval_every: int = 20
    agent: SB3PPOConfig = group(SB3PPOConfig)


@dataclass
class SB3DQNRunConfig(RLConfig):
    steps: int = 200  # 256 env steps each: 51k env steps
    eval_every: int = 8  # every 2048 env steps, as our dqn: `gymlab compare dqn sb3-dqn` stops both alike
    agent: SB3DQNConfig = group(SB3DQNConfig)


@register("sb3-a2c", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 A2C, zoo hyperparameters")
class SB3A2C(SB3Experiment):
    algo, Config = "a2c", SB3A2CRunConfig


@register("sb3-ppo", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 PPO, zoo hyperparameters")
class SB3PPO(SB3Experiment):
    algo, Config = "ppo", SB3PPORunConfig


@register("sb3-dqn", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 DQN, zoo hyperparameters")
class SB3DQN(SB3Experiment):
    algo, Config = "dqn", SB3DQNRunConfig

"""Stable-Baselines3 experiments `sb3-a2c`, `sb3-ppo`, `sb3-dqn`: SB3's agents in our runner, with the
rl-baselines3-zoo hyperparameters for the env by default (``zoo=false``: SB3's defaults), evaluated
exactly like ours (same env, seeds, metrics and media), so that

    gymlab compare actor-critic sb3-a2c env=CartPole-v1 seeds=5

judges us against SB3. One train_step is one SB3 rollout and its update. The keys n_envs,
learning_rate (or lr, our agents' name), gamma, n_steps, batch_size, ent_coef override the zoo's values when set;
``policy`` picks SB3's policy (MultiInputPolicy for Dict observations, CnnPolicy for images).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from gymlab.agents.sb3 import POLICIES, SB3Agent
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments.rl.deep_rl import DeepRLConfig, RLExperiment, env_factory
from gymlab.runners.registry import register


@dataclass
class SB3Config:
    zoo: bool = True  # rl-baselines3-zoo hyperparameters when the zoo has the env
    n_envs: Optional[int] = None
    learning_rate: Optional[float] = None
    gamma: Optional[float] = None
    n_steps: Optional[int] = None  # a2c, ppo
    batch_size: Optional[int] = None  # ppo, dqn
    ent_coef: Optional[float] = None  # a2c, ppo
    policy: Optional[str] = None  # MlpPolicy | CnnPolicy | MultiInputPolicy (Dict observations); None: the zoo's


class SB3Experiment(RLExperiment):
    algo = ""

    def make_agent(self, cfg, ctx):
        over = {k: getattr(cfg, k) for k in ("learning_rate", "gamma", "n_steps", "batch_size", "ent_coef")}
        if self.algo == "dqn" and (cfg.n_steps is not None or cfg.ent_coef is not None):
            raise GymlabError("sb3-dqn has no n_steps or ent_coef; "
                              "valid overrides: n_envs, learning_rate, gamma, batch_size")
        if self.algo == "a2c" and cfg.batch_size is not None:
            raise GymlabError("sb3-a2c has no batch_size; "
                              "valid overrides: n_envs, learning_rate, gamma, n_steps, ent_coef")
        if cfg.policy is not None and cfg.policy not in POLICIES:
            raise GymlabError(f"bad value for 'policy': {cfg.policy!r}; valid: {', '.join(POLICIES)}")
        env = env_factory(cfg) if cfg.pixels else cfg.env
        return SB3Agent(self.algo, env, seed=cfg.seed, device=str(ctx.device), zoo=cfg.zoo, n_envs=cfg.n_envs,
                        policy=cfg.policy, **over)

    def nominal_chunk(self) -> int:
        return self.agent.chunk



@dataclass
class SB3A2CConfig(SB3Config, DeepRLConfig):
    aliases: ClassVar[dict] = {"lr": "learning_rate"}  # our agents' name for it
    steps: int = 2500  # 8 envs x 5 steps: 100k env steps
    eval_every: int = 125


@register("sb3-a2c", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 A2C, zoo hyperparameters")
class SB3A2C(SB3Experiment):
    algo = "a2c"
    Config = SB3A2CConfig


@dataclass
class SB3PPOConfig(SB3Config, DeepRLConfig):
    aliases: ClassVar[dict] = {"lr": "learning_rate"}  # our agents' name for it
    steps: int = 390  # 8 envs x 32 steps: 100k env steps
    eval_every: int = 20


@register("sb3-ppo", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 PPO, zoo hyperparameters")
class SB3PPO(SB3Experiment):
    algo = "ppo"
    Config = SB3PPOConfig


@dataclass
class SB3DQNConfig(SB3Config, DeepRLConfig):
    aliases: ClassVar[dict] = {"lr": "learning_rate"}  # our agents' name for it
    steps: int = 200  # 256 env steps each: 51k env steps
    eval_every: int = 20


@register("sb3-dqn", data="CartPole-v1", metric="eval/mean_return",
          description="Stable-Baselines3 DQN, zoo hyperparameters")
class SB3DQN(SB3Experiment):
    algo = "dqn"
    Config = SB3DQNConfig

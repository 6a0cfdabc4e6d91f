"""Advantage actor-critic (A2C): synchronous rollouts from a gymnasium vector env.

Each iteration runs the policy for ``n_steps`` steps in each of ``n_envs`` envs, computes
advantages A_t (GAE; ``gae_lambda=1`` gives the notes' n-step advantage
A_t = sum_{t'=t}^{t+n-1} gamma^(t'-t) r_t' + gamma^n V(s_{t+n}) - V(s_t)), and takes one gradient step on

    L = - mean_t A_t log pi_theta(a_t|s_t)            actor: the policy gradient with advantage A_t
        + vf_coef mean_t (R_t - V_phi(s_t))^2           critic: regression on the returns R_t = A_t + V(s_t)
        - ent_coef mean_t H[pi_theta(.|s_t)]            entropy bonus (exploration)

The actor and the critic share their encoder and hidden layers (``shared=True``) or are two
networks (the default, as in SB3). The update is SB3's A2C line by line. The defaults (``A2CConfig``)
are gymlab's, found by a random search with ``benchmarks/tune_rl.py`` on CartPole-v1 on tuning seeds,
never the benchmark's; the zoo's setting for SB3's A2C on CartPole is ``n_envs=8 n_steps=5 lr=7e-4
gamma=0.99 gae_lambda=1 normalize_advantage=false vf_coef=0.5``. How the two compare is measured in
``benchmarks/results/rl.md`` and ``benchmarks/results/rl_defaults.md``.
"""
from dataclasses import dataclass, field
from typing import List

import gymnasium as gym
import torch
from torch import nn

from gymlab.agents.base import Agent
from gymlab.agents.buffers import collect_rollout, gae
from gymlab.agents.policies import ActorCritic
from gymlab.vision.nn.optim import make_optimizer

__all__ = ["A2C", "A2CConfig"]


@dataclass
class A2CConfig:
    n_envs: int = 8
    n_steps: int = 16  # steps per env per update
    gamma: float = 0.995
    gae_lambda: float = 0.95  # 1: n-step returns; < 1: GAE(lambda)
    lr: float = 3.5e-3
    lr_schedule: str = "constant"  # constant | linear (to 0 over the budget)
    optimizer: str = "rmsprop"  # rmsprop (as in A2C/SB3) | adam
    ent_coef: float = 0.0
    vf_coef: float = 1.0
    max_grad_norm: float = 0.5
    normalize_advantage: bool = True
    shared: bool = False  # one trunk for actor and critic
    net_arch: List[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    log_std_init: float = 0.0  # Gaussian policies: initial log sigma


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


class A2C(Agent):
    """Synchronous advantage actor-critic."""

    name = "actor-critic"
    Config = A2CConfig
    supported_action_spaces = (gym.spaces.Discrete, gym.spaces.Box)

    @property
    def steps_per_iteration(self) -> int:
        return self.cfg.n_steps * self.num_envs  # n_steps in each env

    def _setup_model(self):
        c = self.cfg
        self.policy = ActorCritic(self.observation_space, self.action_space, c.net_arch, c.activation,
                                  shared=c.shared, log_std_init=c.log_std_init).to(self.device)
        self.optimizer = make_optimizer(self.policy.parameters(), c.optimizer, c.lr, eps=1e-5, fused=True)

    def loss(self, ro):
        """The A2C loss on a rollout (terms masked to real transitions); returns (loss, metrics).

        One batched pass gives log pi(a_t|s_t), the entropies and V(s_t); the advantages use V(s_t)
        detached (the parameters have not changed since the rollout, so these are its values)."""
        c, mask = self.cfg, ro.valid.float().reshape(-1)
        T, N = ro.rewards.shape
        flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731
        logp, ent, v = self.policy.evaluate_actions(flat(ro.obs), flat(ro.actions))
        with torch.no_grad():
            last_value = self.policy.value(self.obs_tensor(self._obs))
        adv, ret = gae(ro.rewards, v.detach().reshape(T, N), last_value, ro.terminated, ro.dones, c.gamma,
                       c.gae_lambda)
        adv, ret = adv.reshape(-1), ret.reshape(-1)
        if c.normalize_advantage:
            m = masked_mean(adv, mask)
            adv = (adv - m) / (masked_mean((adv - m) ** 2, mask).sqrt() + 1e-8)
        pg = -masked_mean(adv * logp, mask)
        vf = masked_mean((ret - v) ** 2, mask)
        entropy = masked_mean(ent, mask)
        return pg + c.vf_coef * vf - c.ent_coef * entropy, {
            "train/policy_loss": pg.item(), "train/value_loss": vf.item(), "train/entropy": entropy.item()}

    def train_iteration(self) -> dict:
        c, start = self.cfg, self.num_timesteps
        for g in self.optimizer.param_groups:
            g["lr"] = self._lr(c.lr)
        ro = collect_rollout(self, c.n_steps, critic=False)
        loss, metrics = self.loss(ro)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm:
            nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.iterations += 1
        return {"train/env_steps": self.num_timesteps, **metrics, **self.recent_episodes(start)}

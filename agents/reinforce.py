"""REINFORCE (Williams 1992): the Monte Carlo policy gradient.

    grad J(theta) = E_tau[ sum_t grad log pi_theta(a_t|s_t) Psi_t ]

estimated from a batch of complete episodes (one per env per iteration) by

    g = (1/E) sum_episodes sum_t grad log pi_theta(a_t|s_t) Psi_t,   with

    Psi_t = G_0 = sum_t' gamma^t' r_t'                    (``reward_to_go=False``: the whole return)
    Psi_t = G_t = sum_{t'>=t} gamma^(t'-t) r_t'           (``reward_to_go=True``: only what follows a_t)
    Psi_t = G_t - V_phi(s_t)                               (``baseline=True``: a learned state-value baseline,
                                                            fitted by regression of V_phi(s_t) on G_t)

and optionally normalised to zero mean and unit variance over the batch (``normalize_advantages``).
Baselines and reward-to-go leave the expectation unchanged and cut the variance.
"""
from dataclasses import dataclass, field
from typing import List

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from gymlab.agents.base import Agent
from gymlab.agents.policies import ActorCritic
from gymlab.vision.nn.optim import make_optimizer

__all__ = ["REINFORCE", "REINFORCEConfig", "discounted_returns"]


@dataclass
class REINFORCEConfig:
    n_envs: int = 8  # episodes per update
    gamma: float = 0.99
    lr: float = 1e-2
    lr_schedule: str = "constant"
    optimizer: str = "adam"
    reward_to_go: bool = True
    baseline: bool = True
    baseline_lr: float = 1e-2
    normalize_advantages: bool = True
    ent_coef: float = 0.0
    max_grad_norm: float = 0.0  # 0: no clipping
    net_arch: List[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    log_std_init: float = 0.0
    max_episode_steps: int = 10_000  # guard for envs without a time limit


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma: float, reward_to_go: bool) -> torch.Tensor:
    """Psi (T, N) for episodes laid out along T (each column one episode, ``mask`` its steps)."""
    T = rewards.shape[0]
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        running = rewards[t] * mask[t] + gamma * running
        out[t] = running
    if not reward_to_go:
        out = out[:1].expand_as(out).clone()  # G_0 for every step
    return out * mask


@dataclass
class Episodes:
    obs: torch.Tensor      # (T, N, *obs_shape)
    actions: torch.Tensor  # (T, N, ...)
    rewards: torch.Tensor  # (T, N)
    mask: torch.Tensor     # (T, N) 1 on the steps of each env's first episode


class REINFORCE(Agent):
    """Monte Carlo policy gradient with optional baseline, reward-to-go and advantage normalisation."""

    name = "reinforce"
    Config = REINFORCEConfig
    supported_action_spaces = (gym.spaces.Discrete, gym.spaces.Box)

    @property
    def steps_per_iteration(self) -> None:
        return None  # one whole episode per env: no fixed number of steps

    def _setup_model(self):
        c = self.cfg
        self.policy = ActorCritic(self.observation_space, self.action_space, c.net_arch, c.activation,
                                  shared=False, value_head=c.baseline, log_std_init=c.log_std_init).to(self.device)
        actor = [p for n, p in self.policy.named_parameters() if n.startswith("pi_")]
        groups = [{"params": actor, "lr": c.lr}]
        if c.baseline:
            groups.append({"params": [p for n, p in self.policy.named_parameters() if n.startswith("v_")],
                           "lr": c.baseline_lr})
        self.optimizer = make_optimizer(groups, c.optimizer, c.lr, eps=1e-5, fused=True)

    def collect_episodes(self) -> Episodes:
        """Reset every env and run until each has finished one episode; later steps are masked out."""
        if self.iterations > 0 or self._autoreset.any() or self._ep_length.any():
            self._obs, _ = self.envs.reset()
            self._reset_episode_stats()
        obs_l, act_l, rew_l, mask_l = [], [], [], []
        active = np.ones(self.num_envs, dtype=bool)
        with torch.no_grad():
            while active.any() and len(obs_l) < self.cfg.max_episode_steps:
                obs = self.obs_tensor(self._obs)
                a = self.policy.dist(obs).sample()
                _, r, term, trunc, valid = self._env_step(a.cpu().numpy())
                obs_l.append(obs), act_l.append(a), rew_l.append(r), mask_l.append(active.copy())
                active &= ~(term | trunc)
        to_t = lambda xs: torch.as_tensor(np.stack(xs), dtype=torch.float32, device=self.device)  # noqa: E731
        return Episodes(torch.stack(obs_l), torch.stack(act_l), to_t(rew_l), to_t(mask_l))

    def loss(self, ep: Episodes):
        """Surrogate whose gradient is the REINFORCE estimate: -(1/E) sum log pi(a_t|s_t) Psi_t (+ baseline loss)."""
        c = self.cfg
        T, N = ep.mask.shape
        psi = discounted_returns(ep.rewards, ep.mask, c.gamma, c.reward_to_go)
        dist, v = self.policy(ep.obs.reshape(T * N, *ep.obs.shape[2:]))
        logp = self.policy.pi_head.log_prob(dist, ep.actions.reshape(T * N, *ep.actions.shape[2:])).reshape(T, N)
        ent = self.policy.pi_head.entropy(dist).reshape(T, N)
        adv, metrics = psi, {}
        if c.baseline:
            v = v.reshape(T, N)
            target = discounted_returns(ep.rewards, ep.mask, c.gamma, True)  # V regresses on G_t
            vf = ((v - target) ** 2 * ep.mask).sum() / ep.mask.sum()
            adv = psi - v.detach()
            metrics["train/value_loss"] = vf.item()
        if c.normalize_advantages:
            m = (adv * ep.mask).sum() / ep.mask.sum()
            s = (((adv - m) ** 2 * ep.mask).sum() / ep.mask.sum()).sqrt()
            adv = (adv - m) / (s + 1e-8)
        pg = -(logp * adv * ep.mask).sum() / N
        entropy = (ent * ep.mask).sum() / ep.mask.sum()
        loss = pg - c.ent_coef * entropy + (vf if c.baseline else 0.0)
        metrics.update({"train/policy_loss": pg.item(), "train/entropy": entropy.item()})
        return loss, metrics

    def train_iteration(self) -> dict:
        c, start = self.cfg, self.num_timesteps
        self.optimizer.param_groups[0]["lr"] = self._lr(c.lr)
        ep = self.collect_episodes()
        loss, metrics = self.loss(ep)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm:
            nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.iterations += 1
        return {"train/env_steps": self.num_timesteps, **metrics, **self.recent_episodes(start)}

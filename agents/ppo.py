"""Proximal policy optimisation (Schulman et al. 2017) with the clipped surrogate objective.

Each iteration collects ``n_steps`` x ``n_envs`` transitions with the current policy pi_old, computes
GAE advantages A_t, then runs ``n_epochs`` passes of minibatch gradient steps on

    r_t(theta) = pi_theta(a_t|s_t) / pi_old(a_t|s_t)
    L_clip     = - mean_t min( r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t )
    L          = L_clip + vf_coef mean_t (R_t - V(s_t))^2 - ent_coef mean_t H[pi_theta(.|s_t)]

with advantages normalised per minibatch. The clip keeps the new policy near the one that collected the
data, so the same rollout can be reused for several epochs. The defaults (``PPOConfig``) are gymlab's,
found by a random search with ``benchmarks/tune_rl.py`` on CartPole-v1 on tuning seeds, never the
benchmark's; the rl-baselines3-zoo's setting for SB3's PPO on CartPole is ``n_envs=8 n_steps=32
n_epochs=20 batch_size=256 lr=1e-3 gae_lambda=0.8 clip_range=0.2``. How the two compare is measured in
``benchmarks/results/rl.md`` and ``benchmarks/results/rl_defaults.md``.
"""
from dataclasses import dataclass, field
from typing import List, Optional

import gymnasium as gym
import torch
from torch import nn

from gymlab.agents.base import Agent
from gymlab.agents.buffers import collect_rollout, gae
from gymlab.agents.policies import ActorCritic
from gymlab.vision.nn.optim import make_optimizer

__all__ = ["PPO", "PPOConfig"]


@dataclass
class PPOConfig:
    n_envs: int = 8
    n_steps: int = 64
    batch_size: int = 128
    n_epochs: int = 8
    gamma: float = 0.98
    gae_lambda: float = 0.9
    lr: float = 3e-3
    lr_schedule: str = "linear"  # constant | linear
    clip_range: float = 0.3
    clip_schedule: str = "linear"  # constant | linear
    clip_range_vf: Optional[float] = None  # clip V around V_old too (None: no)
    target_kl: Optional[float] = None  # stop the epochs early when the approximate KL exceeds it
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantage: bool = True
    shared: bool = False
    net_arch: List[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    log_std_init: float = 0.0
    optimizer: str = "adam"


class PPO(Agent):
    """PPO-clip with GAE and minibatch epochs."""

    name = "ppo"
    Config = PPOConfig
    supported_action_spaces = (gym.spaces.Discrete, gym.spaces.Box)

    @property
    def steps_per_iteration(self) -> int:
        return self.cfg.n_steps * self.num_envs  # n_steps in each env

    def _setup_model(self):
        c = self.cfg
        self.policy = ActorCritic(self.observation_space, self.action_space, c.net_arch, c.activation,
                                  shared=c.shared, log_std_init=c.log_std_init).to(self.device)
        self.optimizer = make_optimizer(self.policy.parameters(), c.optimizer, c.lr, eps=1e-5, fused=True)

    def train_iteration(self) -> dict:
        c, start = self.cfg, self.num_timesteps
        for g in self.optimizer.param_groups:
            g["lr"] = self._lr(c.lr)
        clip = c.clip_range * (self.progress() if c.clip_schedule == "linear" else 1.0)
        ro = collect_rollout(self, c.n_steps)
        adv, ret = gae(ro.rewards, ro.values, ro.last_value, ro.terminated, ro.dones, c.gamma, c.gae_lambda)
        keep = ro.valid.reshape(-1)  # drop the sub-envs' reset steps
        flat = lambda x: x.reshape(-1, *x.shape[2:])[keep]  # noqa: E731
        obs, actions, logp_old, v_old = flat(ro.obs), flat(ro.actions), flat(ro.logp), flat(ro.values)
        adv, ret = flat(adv), flat(ret)
        n = len(adv)
        stats = {"pg": [], "vf": [], "ent": [], "kl": [], "clipfrac": []}
        stop = False
        for _ in range(c.n_epochs):
            perm = torch.randperm(n, device=self.device)
            for i in range(0, n, c.batch_size):
                idx = perm[i:i + c.batch_size]
                if len(idx) < 2:
                    continue
                logp, ent, v = self.policy.evaluate_actions(obs[idx], actions[idx])
                a = adv[idx]
                if c.normalize_advantage:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                log_ratio = logp - logp_old[idx]
                ratio = log_ratio.exp()
                pg = -torch.min(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a).mean()
                if c.clip_range_vf is not None:
                    v = v_old[idx] + (v - v_old[idx]).clamp(-c.clip_range_vf, c.clip_range_vf)
                vf = ((ret[idx] - v) ** 2).mean()
                entropy = ent.mean()
                loss = pg + c.vf_coef * vf - c.ent_coef * entropy
                with torch.no_grad():
                    kl = ((ratio - 1) - log_ratio).mean().item()  # the k3 estimator of KL(old || new)
                if c.target_kl is not None and kl > 1.5 * c.target_kl:
                    stop = True
                    break
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.max_grad_norm:
                    nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm)
                self.optimizer.step()
                stats["pg"].append(pg.item()), stats["vf"].append(vf.item()), stats["ent"].append(entropy.item())
                stats["kl"].append(kl), stats["clipfrac"].append(((ratio - 1).abs() > clip).float().mean().item())
            if stop:
                break
        self.iterations += 1
        mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
        return {"train/env_steps": self.num_timesteps, "train/policy_loss": mean(stats["pg"]),
                "train/value_loss": mean(stats["vf"]), "train/entropy": mean(stats["ent"]),
                "train/approx_kl": mean(stats["kl"]), "train/clip_fraction": mean(stats["clipfrac"]),
                **self.recent_episodes(start)}

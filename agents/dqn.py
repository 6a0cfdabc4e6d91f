"""Deep Q-learning (Mnih et al. 2015) with a replay buffer, a target network and epsilon-greedy actions.

    y      = r + gamma (1 - terminated) max_a' Q_target(s', a')                       (DQN)
    y      = r + gamma (1 - terminated) Q_target(s', argmax_a' Q(s', a'))              (double DQN: the online
                                                                                    net picks, the target net rates)
    y      = sum_{k<m} gamma^k r_{t+k} + gamma^m (1 - terminated) max_a' Q_target(s_{t+m}, a')   (n-step returns,
                                                          ``n_steps=n``: m = n, or fewer when the episode ends first)
    L(w)   = mean Huber( Q_w(s, a) - y )    over minibatches drawn uniformly from the replay buffer

The target network is a copy of Q refreshed every ``target_update_interval`` env steps; epsilon
decays linearly from ``exploration_initial_eps`` to ``exploration_final_eps`` over the first
``exploration_fraction`` of the budget. Each iteration takes ``train_freq`` steps per env, then
``gradient_steps`` gradient steps, whose minibatches are drawn together at the start of the phase
(the buffer does not change during it). Defaults: the rl-baselines3-zoo CartPole-v1 hyperparameters
(net, lr, gamma, target refresh, learning_starts, final epsilon, buffer) with 4 envs of 64 steps per phase,
64 gradient steps of 128 transitions on 3-step returns and epsilon decayed over 10% of the budget, chosen on
CartPole-v1 seeds 100-109 with ``benchmarks/tune_rl.py`` (``score dqn``; a [64, 64] net, cheaper per step,
stalled on two of the check seeds 200-219; 3-step returns and the doubled gradient steps each alone did not cut
the env steps to 475, together they did) and confirmed on seeds 110-119. Discrete actions only.
"""
import copy
from dataclasses import dataclass, field
from typing import List

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from gymlab.agents.base import Agent
from gymlab.agents.buffers import NStepReturns, ReplayBuffer
from gymlab.agents.policies import QNetwork
from gymlab.vision.nn.optim import make_optimizer

__all__ = ["DQN", "DQNConfig"]


@dataclass
class DQNConfig:
    n_envs: int = 4
    buffer_size: int = 100_000
    learning_starts: int = 1000
    batch_size: int = 128
    lr: float = 2.3e-3
    lr_schedule: str = "constant"
    gamma: float = 0.99
    train_freq: int = 64  # env steps per env between training phases (64 x 4 envs: the zoo's 256 per phase)
    gradient_steps: int = 64
    target_update_interval: int = 10  # env steps
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.04
    max_grad_norm: float = 10.0
    n_steps: int = 3  # n-step returns, as SB3's n_steps (the module's third target); 1: one-step DQN
    adam_eps: float = 1e-5  # Adam's epsilon (torch's and SB3's default: 1e-8)
    init: str = "orthogonal"  # Q-net weights: "orthogonal" (policies.py's) or "torch" (nn.Linear's default, SB3's)
    double_q: bool = False
    net_arch: List[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"


class DQN(Agent):
    """DQN, or double DQN with ``double_q=True``."""

    name = "dqn"
    Config = DQNConfig
    supported_action_spaces = (gym.spaces.Discrete,)

    @property
    def steps_per_iteration(self) -> int:
        return self.cfg.train_freq * self.num_envs

    @property
    def exploration_rate(self) -> float:
        """SB3's name for the current epsilon (what ``predict(deterministic=False)`` explores with)."""
        return self.epsilon()

    def _setup_model(self):
        c = self.cfg
        if c.init not in ("orthogonal", "torch"):
            raise ValueError(f"dqn: unknown init {c.init!r}; valid: orthogonal, torch")
        self.q = QNetwork(self.observation_space, self.action_space, c.net_arch, c.activation).to(self.device)
        if c.init == "torch":
            for m in self.q.modules():
                if isinstance(m, (nn.Linear, nn.Conv2d)):
                    m.reset_parameters()
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.optimizer = make_optimizer(self.q.parameters(), "adam", c.lr, eps=c.adam_eps, fused=True)
        space = self.observation_space
        self.buffer = ReplayBuffer(c.buffer_size, space.shape, space.dtype)
        n_envs = self.envs.num_envs if getattr(self, "envs", None) is not None else c.n_envs  # None: loaded to predict
        self._n_step = NStepReturns(c.n_steps, c.gamma, n_envs) if c.n_steps > 1 else None
        self._last_target_update = 0
        self._q_changed = True  # Q trained since the target's last copy (False only when the two are equal)
        self._predict_rng = np.random.default_rng([self.seed, 1])  # predict's exploration, apart from training's

    def _predict(self, obs, deterministic):
        """argmax_a Q(s, a); with ``deterministic=False`` epsilon-greedy at the current exploration rate, as
        SB3's DQN.predict (a uniformly random action with probability epsilon, drawn for each observation
        from a generator of its own, so that predicting never changes the course of training)."""
        greedy = self.q(obs).argmax(-1)
        if deterministic:
            return greedy
        n = greedy.shape[0]
        explore = torch.as_tensor(self._predict_rng.random(n) < self.exploration_rate, device=greedy.device)
        random = torch.as_tensor(self._predict_rng.integers(0, self.action_space.n, size=n), device=greedy.device)
        return torch.where(explore, random, greedy)

    def epsilon(self) -> float:
        c = self.cfg
        frac = min((1.0 - self.progress()) / c.exploration_fraction, 1.0) if c.exploration_fraction > 0 else 1.0
        return c.exploration_initial_eps + frac * (c.exploration_final_eps - c.exploration_initial_eps)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Epsilon-greedy: a random action with probability epsilon, else argmax_a Q(s, a)."""
        eps = self.epsilon()
        explore = self.rng.random(self.num_envs) < eps
        actions = self.rng.integers(0, self.action_space.n, size=self.num_envs)
        if not explore.all():
            with torch.no_grad():
                greedy = self.q(self.obs_tensor(obs)).argmax(-1).cpu().numpy()
            actions = np.where(explore, actions, greedy)
        return actions

    def td_loss(self, obs, actions, rewards, next_obs, terminated, n_steps=None) -> torch.Tensor:
        """Huber loss of Q(s, a) against the TD target; ``rewards`` sum ``n_steps`` rewards (1 if None), so the
        bootstrap is discounted by gamma^n_steps."""
        c = self.cfg
        discount = c.gamma if n_steps is None else c.gamma ** n_steps
        with torch.no_grad():
            q_next = self.q_target(next_obs)
            if c.double_q:
                best = self.q(next_obs).argmax(-1, keepdim=True)
                v_next = q_next.gather(1, best).squeeze(1)
            else:
                v_next = q_next.max(-1).values
            y = rewards + discount * (1.0 - terminated) * v_next
        q = self.q(obs).gather(1, actions.long().reshape(-1, 1)).squeeze(1)
        return nn.functional.smooth_l1_loss(q, y)

    def train_iteration(self) -> dict:
        c, start = self.cfg, self.num_timesteps
        for _ in range(c.train_freq):
            obs = self._obs
            actions = self.act(obs)
            next_obs, r, term, trunc, valid = self._env_step(actions)
            if self._n_step is not None:
                finished = self._n_step.push(obs, actions, r, next_obs, term, trunc, valid)
                if finished is not None:
                    self.buffer.add(*finished)
            elif valid.all():  # next_obs is the final observation when an episode ends (next-step autoreset)
                self.buffer.add(obs, actions, r, next_obs, term)
            elif valid.any():
                self.buffer.add(obs[valid], actions[valid], r[valid], next_obs[valid], term[valid])
            if self.num_timesteps - self._last_target_update >= c.target_update_interval:
                if self._q_changed:  # the target is already a copy of Q when Q has not been trained since
                    self.q_target.load_state_dict(self.q.state_dict())
                    self._q_changed = False
                self._last_target_update = self.num_timesteps
        losses = []
        if self.num_timesteps > c.learning_starts and self.buffer.size >= c.batch_size and c.gradient_steps > 0:
            for g in self.optimizer.param_groups:
                g["lr"] = self._lr(c.lr)
            batches = self.buffer.sample(c.batch_size, self.rng, self.device, n_batches=c.gradient_steps)
            if self._n_step is None:  # one-step transitions: discount by gamma itself
                batches = batches[:5]
            params = list(self.q.parameters())
            for i in range(c.gradient_steps):
                loss = self.td_loss(*(x[i] for x in batches))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.max_grad_norm:
                    nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                self.optimizer.step()
                losses.append(loss.detach())
            self._q_changed = True
        self.iterations += 1
        out = {"train/env_steps": self.num_timesteps, "train/epsilon": self.epsilon(), **self.recent_episodes(start)}
        if losses:
            out["train/td_loss"] = torch.stack(losses).mean().item()
        return out

    def _extra_state(self):
        out = {"buffer": self.buffer.state_dict(), "last_target_update": self._last_target_update}
        if self._n_step is not None:
            out["n_step_pending"] = self._n_step.state_dict()
        return out

    def _load_extra_state(self, state):
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])
        if self._n_step is not None and "n_step_pending" in state:
            self._n_step.load_state_dict(state["n_step_pending"])
        self._last_target_update = state.get("last_target_update", 0)
        self._q_changed = True

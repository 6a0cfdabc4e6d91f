"""Experience storage: on-policy rollouts with GAE, and DQN's replay buffer.

Generalised advantage estimation (Schulman et al. 2016), for a rollout of T steps of N envs:

    delta_t = r_t + gamma (1 - terminated_t) V(s_{t+1}) - V(s_t)
    A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1},        R_t = A_t + V(s_t)  (the critic's target)

lambda = 1 gives the n-step return bootstrapped at the end of the rollout (the notes' advantage
A_t = sum_{t'>=t} gamma^(t'-t) r_t' - V(s_t), cut at the rollout's end), lambda = 0 the one-step TD
error. s_{t+1} is the next observation in the rollout: with next-step autoreset the observation
after a done is the episode's final observation, so a *truncated* episode (time limit) is
bootstrapped from V(final observation) while a *terminated* one is not. The sub-env's reset step
that follows is not a transition; ``valid`` masks it out of every loss.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["gae", "Rollout", "collect_rollout", "ReplayBuffer", "NStepReturns"]


def gae(rewards, values, last_value, terminated, dones, gamma: float, lam: float):
    """Advantages and returns (T, N) from rewards, values, terminated, dones (T, N) and V(s_T) (N,).

    The backward recursion runs in NumPy (rollouts are short; per-step tensor ops would dominate)."""
    r, v, last = (x.detach().cpu().double().numpy() for x in (rewards, values, last_value))
    not_term = 1.0 - terminated.cpu().numpy().astype(np.float64)
    not_done = 1.0 - dones.cpu().numpy().astype(np.float64)
    next_v = np.concatenate([v[1:], last[None]], 0)
    delta = r + gamma * not_term * next_v - v
    adv = np.zeros_like(r)
    running = np.zeros_like(last)
    for t in range(len(r) - 1, -1, -1):
        running = delta[t] + gamma * lam * not_done[t] * running
        adv[t] = running
    adv = torch.as_tensor(adv, dtype=values.dtype, device=values.device)
    return adv, adv + values


@dataclass
class Rollout:
    obs: torch.Tensor        # (T, N, *obs_shape)
    actions: torch.Tensor    # (T, N, *action_shape)
    logp: torch.Tensor       # (T, N) log pi_old(a|s) (None when collected without the critic)
    values: torch.Tensor     # (T, N) V_old(s) (None when collected without the critic)
    rewards: torch.Tensor    # (T, N)
    terminated: torch.Tensor  # (T, N) bool
    dones: torch.Tensor      # (T, N) bool: terminated or truncated
    valid: torch.Tensor      # (T, N) bool: a real transition (not a sub-env's reset step)
    last_value: torch.Tensor  # (N,) V(s_T) (None when collected without the critic)


def collect_rollout(agent, n_steps: int, critic: bool = True) -> Rollout:
    """Run ``agent.policy`` (an ActorCritic) for ``n_steps`` steps of every env of ``agent.envs``.

    ``critic=False`` runs the actor alone and leaves ``logp``, ``values`` and ``last_value`` as None
    (A2C recomputes them in its single update pass, with the same parameters)."""
    obs_l, act_l, logp_l, val_l, rew_l, term_l, done_l, valid_l = ([] for _ in range(8))
    policy = agent.policy
    with torch.no_grad():
        for _ in range(n_steps):
            obs = agent.obs_tensor(agent._obs)
            if critic:
                a, logp, v = policy.act(obs)
                logp_l.append(logp), val_l.append(v)
            else:
                a = policy.sample(obs)
            _, r, term, trunc, valid = agent._env_step(a.cpu().numpy())
            obs_l.append(obs), act_l.append(a)
            rew_l.append(r), term_l.append(term), done_l.append(term | trunc), valid_l.append(valid)
        last_value = policy.value(agent.obs_tensor(agent._obs)) if critic else None
    as_t = lambda xs, dt: torch.as_tensor(np.stack(xs), dtype=dt, device=agent.device)  # noqa: E731
    return Rollout(torch.stack(obs_l), torch.stack(act_l), torch.stack(logp_l) if critic else None,
                   torch.stack(val_l) if critic else None, as_t(rew_l, torch.float32), as_t(term_l, torch.bool),
                   as_t(done_l, torch.bool), as_t(valid_l, torch.bool), last_value)


class ReplayBuffer:
    """A ring buffer of transitions (s, a, r, s', terminated, n) in preallocated arrays, sampled uniformly at random.

    ``n`` is how many rewards ``r`` sums (1 for one-step transitions; see ``NStepReturns``): the TD target
    discounts the bootstrap by gamma^n."""

    def __init__(self, capacity: int, obs_shape, obs_dtype, action_shape=(), action_dtype=np.int64):
        self.capacity, self.size, self.pos = int(capacity), 0, 0
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.n_steps = np.ones(self.capacity, dtype=np.float32)

    def add(self, obs, actions, rewards, next_obs, terminated, n_steps=1) -> None:
        """Add a batch of transitions (first axis: one per env), in order, overwriting the oldest when full."""
        n = len(rewards)
        n_steps = np.broadcast_to(np.asarray(n_steps, dtype=np.float32), (n,))
        if n > self.capacity:  # only the newest ``capacity`` survive
            obs, actions, rewards, next_obs, terminated, n_steps = (
                x[-self.capacity:] for x in (obs, actions, rewards, next_obs, terminated, n_steps))
            n = self.capacity
        idx = (self.pos + np.arange(n)) % self.capacity if self.pos + n > self.capacity else slice(self.pos, self.pos + n)
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx], self.n_steps[idx] = next_obs, terminated, n_steps
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator, device, n_batches: int | None = None) -> tuple:
        """(obs, actions, rewards, next_obs, terminated, n_steps), indices drawn uniformly with replacement; with
        ``n_batches`` every tensor gets a leading axis of ``n_batches`` independent minibatches (one draw and one
        gather for a whole training phase)."""
        idx = rng.integers(0, self.size, size=batch_size if n_batches is None else (n_batches, batch_size))
        t = lambda x: torch.as_tensor(x[idx], device=device)  # noqa: E731
        return t(self.obs), t(self.actions), t(self.rewards), t(self.next_obs), t(self.terminated), t(self.n_steps)

    _FIELDS = ("obs", "next_obs", "actions", "rewards", "terminated", "n_steps")

    def state_dict(self) -> dict:
        n = self.size
        return {"pos": self.pos, "size": n, **{k: getattr(self, k)[:n].copy() for k in self._FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        n = state["size"]
        self.pos, self.size = state["pos"], n
        for k in self._FIELDS:
            if k in state:  # n_steps is absent from checkpoints made before n-step returns (all one-step)
                getattr(self, k)[:n] = state[k]
            elif k == "n_steps":
                self.n_steps[:n] = 1.0


class NStepReturns:
    """Turns each env's stream of one-step transitions into n-step ones, as SB3's ``NStepReplayBuffer``:

        (s_t, a_t, R = sum_{k<m} gamma^k r_{t+k}, s_{t+m}, terminated_{t+m-1}, m)

    with m = n, or fewer when the episode ends (terminated or truncated) within the n steps: the sum stops at
    the episode's last reward, a terminated end is not bootstrapped, a truncated one is (from its final
    observation). A transition leaves ``push`` once its n steps are known, or when its episode ends; the
    pending steps (fewer than n per env) are part of the agent's checkpoint (``state_dict``)."""

    def __init__(self, n: int, gamma: float, n_envs: int):
        self.n, self.discounts = int(n), gamma ** np.arange(int(n))
        self.pending = [deque() for _ in range(n_envs)]  # per env: (obs, action, reward) of its unfinished steps

    def push(self, obs, actions, rewards, next_obs, terminated, truncated, valid) -> tuple | None:
        """One vector-env step (arrays with one row per env; ``valid`` False for a reset step). Returns the
        finished n-step transitions as arrays (obs, actions, returns, next_obs, terminated, n_steps), or None."""
        out = []
        for i in np.flatnonzero(valid):
            q = self.pending[i]
            q.append((obs[i], actions[i], rewards[i]))
            if terminated[i] or truncated[i]:
                while q:
                    out.append(self._finish(q, next_obs[i], terminated[i]))
            elif len(q) == self.n:
                out.append(self._finish(q, next_obs[i], False))
        if not out:
            return None
        return tuple(np.stack(x) for x in zip(*out))

    def state_dict(self) -> list:
        """Each env's pending steps as plain data: [[obs, action, reward], ...] per env, oldest first."""
        return [[[np.asarray(o), np.asarray(a), float(r)] for o, a, r in q] for q in self.pending]

    def load_state_dict(self, state: list) -> None:
        self.pending = [deque((np.asarray(o), np.asarray(a), r) for o, a, r in q) for q in state]

    def _finish(self, q: deque, next_obs, terminated) -> tuple:
        """The n-step transition of the oldest pending step, which leaves ``q``."""
        m = len(q)
        ret = float(np.dot(self.discounts[:m], [step[2] for step in q]))
        s, a, _ = q.popleft()
        return s, a, ret, next_obs, float(terminated), m

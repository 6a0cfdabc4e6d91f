"""Tabular Q-learning (Watkins) on any gymnasium env with discrete observations and actions.

After each step (s, a, r, s') of an epsilon-greedy behaviour policy,

    Q(s, a) <- Q(s, a) + alpha_t [ r + gamma max_a' Q(s', a') - Q(s, a) ]     (no bootstrap if s' is terminal)

with epsilon_t and alpha_t following schedules of the global step t (e.g. linear decay). Q-learning
is off-policy: it learns Q* while exploring. The greedy policy argmax_a Q(s, a) is the result.

Episode i resets the env with a seed derived from (seed, i) and draws its exploration noise from
its own generator, so learning split into chunks of episodes (a resumed run) equals one long run.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np

from gymlab.agents.solution import Solution

Schedule = Union[float, Callable[[int], float]]


def linear_schedule(start: float, end: float, duration: int) -> Callable[[int], float]:
    """t -> start + (end - start) * min(t / duration, 1): linear decay, then constant."""
    if duration <= 0:
        raise ValueError(f"a schedule's duration must be > 0; got {duration}")

    def f(t: int) -> float:
        return end if t >= duration else start + (end - start) * (t / duration)

    f.__doc__ = f"linear {start} -> {end} over {duration} steps"
    return f


def _as_schedule(value: Schedule, name: str) -> Callable[[int], float]:
    if callable(value):
        return value
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1] or a schedule t -> value; got {value}")
    return lambda t: v


def _check_discrete(env) -> tuple[int, int]:
    import gymnasium as gym

    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Discrete) or not isinstance(act, gym.spaces.Discrete):
        raise ValueError("tabular Q-learning needs Discrete observation and action spaces; got "
                         f"{type(obs).__name__} observations and {type(act).__name__} actions")
    if int(obs.start) != 0 or int(act.start) != 0:
        raise ValueError("tabular Q-learning needs Discrete spaces that start at 0")
    return int(obs.n), int(act.n)


class QLearning:
    """Q-learning state (the table, the step and episode counters) and the learning loop."""

    def __init__(self, env, *, gamma: float = 0.99, alpha: Schedule = 0.1,
                 epsilon: Schedule = 0.1, seed: int = 0, q0: float = 0.0):
        self.S, self.A = _check_discrete(env)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1]; got {gamma}")
        self.env, self.gamma, self.seed = env, float(gamma), int(seed)
        self.alpha, self.epsilon = _as_schedule(alpha, "alpha"), _as_schedule(epsilon, "epsilon")
        self._q = [[float(q0)] * self.A for _ in range(self.S)]  # lists: fast scalar access
        self.steps = 0
        self.episodes = 0
        self.td_error = 0.0  # running mean |TD error|
        self._predict_rng = np.random.default_rng([self.seed, 1])  # predict's exploration, apart from learning's

    # ------------------------------------------------------------- the table
    @property
    def Q(self) -> np.ndarray:
        return np.array(self._q, dtype=np.float64)

    @Q.setter
    def Q(self, value) -> None:
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (self.S, self.A):
            raise ValueError(f"Q must have shape ({self.S}, {self.A}); got {value.shape}")
        self._q = value.tolist()

    @property
    def policy(self) -> np.ndarray:
        return self.Q.argmax(axis=1)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """Stable-Baselines3's ``predict``: the greedy action argmax_a Q(s, a) (``deterministic=True``) or the
        epsilon-greedy one at the current epsilon, for one state or a batch; returns ``(action, state)``.
        Exploration draws from a generator of its own, so predicting never changes learning."""
        s = np.asarray(observation, dtype=np.int64)
        if s.min(initial=0) < 0 or s.max(initial=0) >= self.S:
            raise ValueError(f"states must be integers in [0, {self.S}); got {observation!r}")
        Q = self.Q
        action = Q[s].argmax(axis=-1)
        if not deterministic:
            explore = self._predict_rng.random(s.shape) < self.epsilon(self.steps)
            action = np.where(explore, self._predict_rng.integers(0, self.A, size=s.shape), action)
        return action, state

    def solution(self) -> Solution:
        Q = self.Q
        return Solution(V=Q.max(axis=1), Q=Q, policy=Q.argmax(axis=1), iterations=self.steps,
                        residual=self.td_error, converged=False)

    def state_dict(self) -> dict:
        return {"Q": self.Q, "steps": self.steps, "episodes": self.episodes, "td_error": self.td_error}

    def load_state_dict(self, state: dict) -> None:
        self.Q = state["Q"]
        self.steps, self.episodes = int(state["steps"]), int(state["episodes"])
        self.td_error = float(state["td_error"])

    # -------------------------------------------------------------- learning
    def run_episode(self) -> tuple[float, int, bool]:
        """One episode of epsilon-greedy Q-learning; returns (return, length, terminated)."""
        i = self.episodes
        rng = np.random.default_rng([self.seed, i])
        obs, _ = self.env.reset(seed=int(rng.integers(2**31)))
        s = int(obs)
        q, A, gamma, t = self._q, self.A, self.gamma, self.steps
        eps_f, alpha_f, step = self.epsilon, self.alpha, self.env.step
        total, n, term, td = 0.0, 0, False, self.td_error
        noise, k = rng.random(256), 0
        while True:
            if k >= 254:
                noise, k = rng.random(256), 0
            row = q[s]
            if noise[k] < eps_f(t):
                a = int(noise[k + 1] * A)
            else:
                a = row.index(max(row))
            k += 2
            obs, r, term, trunc, _ = step(a)
            s2 = int(obs)
            target = r if term else r + gamma * max(q[s2])
            err = target - row[a]
            row[a] += alpha_f(t) * err
            td += 0.001 * (abs(err) - td)
            total += r
            n += 1
            t += 1
            s = s2
            if term or trunc:
                break
        self.steps, self.episodes, self.td_error = t, i + 1, td
        return total, n, bool(term)

    def learn(self, episodes: int | None = None, steps: int | None = None) -> list[float]:
        """Run whole episodes until ``episodes`` more have run or ``steps`` more env steps are done."""
        if episodes is None and steps is None:
            raise ValueError("learn needs a budget: episodes=N or steps=N")
        returns, start = [], self.steps
        while (episodes is None or len(returns) < episodes) and (steps is None or self.steps - start < steps):
            returns.append(self.run_episode()[0])
        return returns


def q_learning(env, *, episodes: int | None = None, steps: int | None = None, gamma: float = 0.99,
               alpha: Schedule = 0.1, epsilon: Schedule = 0.1, seed: int = 0, q0: float = 0.0) -> Solution:
    """Learn Q on ``env`` for a budget of episodes or environment steps; returns a Solution whose
    ``Q`` is the table and ``policy`` the greedy policy (``iterations`` = env steps taken)."""
    learner = QLearning(env, gamma=gamma, alpha=alpha, epsilon=epsilon, seed=seed, q0=q0)
    learner.learn(episodes=episodes, steps=steps)
    return learner.solution()

"""Tabular RL experiments: `value-iteration`, `policy-iteration`, `bellman-solve`, `q-learning`.

``env=`` FrozenLake-v1 | FrozenLake8x8-v1 | CliffWalking-v1 | Taxi-v4 (models read from gymnasium),
``random`` (``states``, ``actions``, ``branching``; the model seed is ``seed``) or ``gridworld``
(``size`` x ``size`` cells, ``slip``). Planners do one sweep (value iteration) or one
evaluate-and-improve step (policy iteration) per train step and stop when converged; evaluation
rolls the greedy policy out in the env (the real gymnasium env where there is one) and also
reports the exact expected return of the same episodes from the model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Optional

import matplotlib.pyplot as plt
import numpy as np

from gymlab.agents import (QLearning, evaluate_policy, finite_horizon_value, linear_schedule,
                    policy_improvement, value_iteration)
from gymlab.agents.value_iteration import RULES
from gymlab.agents.stats import wilson_interval
from gymlab.agents.policy_evaluation import METHODS
from gymlab.envs.gridworld import ARROWS, gridworld
from gymlab.envs.tabular import GYMNASIUM_TABULAR, TabularMDP, from_gymnasium, make_env, random_mdp
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment

ENVS = GYMNASIUM_TABULAR + ("random", "gridworld")
DEFAULT_MAX_STEPS = {"random": 200, "gridworld": 1000, "CliffWalking-v1": 1000}  # where the env has no limit
EXACT_BUDGET = 2e9  # skip the exact finite-horizon return above this many multiply-adds


@dataclass
class TabularConfig(RunConfig):
    env: str = "FrozenLake-v1"
    gamma: float = 0.99
    states: int = 1000  # env=random
    actions: int = 8  # env=random
    branching: int = 10  # env=random: successors per state-action
    size: int = 10  # env=gridworld: size x size cells
    slip: float = 0.1  # env=gridworld
    # greedy rollouts per evaluation; None: 1000 (gymnasium envs), 100 (others); 0: none (exact values only)
    eval_episodes: Optional[int] = field(default=None, metadata={"range": (0, None, "0 (no rollouts) or more")})
    max_steps: int = 0  # episode step limit; 0: the env's own (FrozenLake 100/200, Taxi 200), else 200 (random), 1000


# ------------------------------------------------------------------ shared set-up
def build_mdp(cfg: TabularConfig) -> TabularMDP:
    if cfg.env not in ENVS:
        raise GymlabError(f"bad value for 'env': {cfg.env!r}; valid: {', '.join(ENVS)}")
    if not 0.0 <= cfg.gamma < 1.0:
        raise GymlabError(f"bad value for 'gamma': {cfg.gamma}; it must be in [0, 1)")
    try:
        if cfg.env == "random":
            return random_mdp(cfg.states, cfg.actions, cfg.branching, seed=cfg.seed, gamma=cfg.gamma)
        if cfg.env == "gridworld":
            return gridworld(cfg.size, slip=cfg.slip, gamma=cfg.gamma)
        return from_gymnasium(cfg.env, gamma=cfg.gamma)
    except ValueError as e:
        raise GymlabError(str(e)) from None


def episode_limit(cfg: TabularConfig) -> int:
    if cfg.max_steps < 0:
        raise GymlabError(f"bad value for 'max_steps': {cfg.max_steps}; use 0 (the env's own limit) or a positive number")
    if cfg.max_steps:
        return cfg.max_steps
    if cfg.env in GYMNASIUM_TABULAR:
        import gymnasium as gym

        return gym.spec(cfg.env).max_episode_steps or DEFAULT_MAX_STEPS[cfg.env]
    return DEFAULT_MAX_STEPS[cfg.env]


def eval_episodes(cfg: TabularConfig) -> int:
    if cfg.eval_episodes is None:
        return 1000 if cfg.env in GYMNASIUM_TABULAR else 100
    if cfg.eval_episodes < 0:
        raise GymlabError(f"bad value for 'eval_episodes': {cfg.eval_episodes}; it must be >= 0")
    return cfg.eval_episodes


def make_eval_env(cfg: TabularConfig, mdp: TabularMDP):
    """The real gymnasium env where there is one, else a simulator of the model; with the step limit."""
    limit = episode_limit(cfg)
    if cfg.env in GYMNASIUM_TABULAR:
        import gymnasium as gym

        return gym.make(cfg.env, max_episode_steps=limit)
    return make_env(mdp, limit)


def is_success(env_name: str, terminated: bool, last_reward: float) -> bool | None:
    """FrozenLake: the goal pays 1 (holes also terminate); Taxi, CliffWalking, gridworld: termination
    is the goal; random MDPs define no success."""
    if env_name.startswith("FrozenLake"):
        return terminated and last_reward > 0
    if env_name == "random":
        return None
    return terminated


def rollout(env, policy: np.ndarray, episodes: int, seed: int, env_name: str) -> dict:
    """Rollouts of a deterministic (S,) or stochastic (S, A) policy; episode i reset with seed (seed, i)."""
    if policy.ndim == 2:  # sample a ~ pi(.|s) by inverting the cumulative distribution of the row
        rng, cum = np.random.default_rng([seed, 424242]), np.cumsum(policy, axis=1)

        def act(s):
            return min(int(np.searchsorted(cum[s], rng.random() * cum[s][-1], side="right")), cum.shape[1] - 1)
    else:
        def act(s):
            return int(policy[s])
    returns, successes = np.zeros(episodes), []
    for i in range(episodes):
        obs, _ = env.reset(seed=int(seed) * 1_000_003 + 7919 + i)
        total = 0.0
        while True:
            obs, r, term, trunc, _ = env.step(act(int(obs)))
            total += r
            if term or trunc:
                break
        returns[i] = total
        ok = is_success(env_name, term, r)
        if ok is not None:
            successes.append(ok)
    out = {"eval/mean_return": float(returns.mean()), "eval/std_return": float(returns.std())}
    if successes:  # with its Wilson interval (gymlab.agents.stats), as the deep RL experiments report it
        iv = wilson_interval(int(np.sum(successes)), len(successes))
        out.update({"eval/success_rate": float(np.mean(successes)), "eval/success_rate_ci_low": iv.low,
                    "eval/success_rate_ci_high": iv.high})
    return out


def exact_episode_return(mdp: TabularMDP, policy: np.ndarray, horizon: int) -> float | None:
    """The expected undiscounted return of an episode of at most ``horizon`` steps, from the model."""
    if mdp.nnz * horizon > EXACT_BUDGET:
        return None
    return float(mdp.initial @ finite_horizon_value(mdp.with_gamma(1.0).induced_mrp(policy), horizon))


def episode_metrics(exp, policy: np.ndarray) -> dict:
    """Sampled episodes of ``policy`` on the experiment's eval env (if ``exp.episodes``), and the exact
    expected episode return from the model (when the model is small enough)."""
    out = rollout(exp.eval_env, policy, exp.episodes, exp.cfg.seed, exp.cfg.env) if exp.episodes else {}
    exact = exact_episode_return(exp.mdp, policy, exp.limit)
    if exact is not None:
        out["eval/exact_return"] = exact
    return out


# ------------------------------------------------------------------ media
def draw_values(mdp: TabularMDP, V: np.ndarray, policy: np.ndarray | None, title: str, env_name: str):
    """The value function as a heat map on the grid with the policy's arrows; a histogram elsewhere."""
    if mdp.grid_shape is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.hist(V, bins=50, color="tab:blue")
        ax.set_xlabel("V(s)")
        ax.set_ylabel("states")
        ax.set_title(f"{title}: values of the {mdp.S} states")
        return fig
    rows, cols = mdp.grid_shape
    scale = min(12.0, max(4.0, 0.6 * cols))
    fig, ax = plt.subplots(figsize=(scale, scale * rows / cols + 0.6))
    im = ax.imshow(V.reshape(rows, cols), cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="V(s)")
    if policy is not None and rows * cols <= 2500:
        labels = None  # FrozenLake's holes (H) and goal (G), CliffWalking's cliff (C)
        if env_name.startswith("FrozenLake"):
            import gymnasium as gym

            labels = np.asarray(gym.make(env_name).unwrapped.desc).astype(str)
        elif env_name == "CliffWalking-v1":
            import gymnasium as gym

            labels = np.where(gym.make(env_name).unwrapped._cliff, "C", ".")
        for s in range(mdp.S):
            r, c = divmod(s, cols)
            if labels is not None and labels[r, c] in "HGC":
                text = labels[r, c]
            elif mdp.terminal[s]:
                text = "G"
            else:
                text = ARROWS[int(policy[s])]
            ax.text(c, r, text, ha="center", va="center", color="white", fontsize=max(5, 14 - cols // 4))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}: V and greedy policy ({mdp.name})")
    return fig


def draw_history(history, ylabel: str, title: str, log: bool = True):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(history) + 1), history, marker="." if len(history) < 50 else None)
    if log and len(history) and min(history) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


# ------------------------------------------------------------------ planners
class _Planner(Experiment):
    """Shared by the planners: the model, evaluation of the current greedy policy, media."""

    def _setup(self, cfg, ctx):
        self.cfg = cfg
        self.mdp = build_mdp(cfg)
        self.limit = episode_limit(cfg)
        self.episodes = eval_episodes(cfg)
        self.eval_env = make_eval_env(cfg, self.mdp)
        self.V = np.zeros(self.mdp.S)
        self.policy = np.zeros(self.mdp.S, dtype=np.int64)
        self.iterations, self.seconds, self.residual = 0, 0.0, float("nan")
        self.history: list = []
        self.done = False

    def _evaluate_policy_metrics(self, policy) -> dict:
        return {"solver/iterations": self.iterations, "solver/seconds": self.seconds,
                "solver/bellman_residual": self.residual, "eval/expected_value": float(self.mdp.initial @ self.V),
                **episode_metrics(self, policy)}

    def evaluate(self):
        return self._evaluate_policy_metrics(self.policy)

    def state_dict(self):
        return {"V": self.V.copy(), "policy": self.policy.copy(), "iterations": self.iterations,
                "seconds": self.seconds, "residual": self.residual, "history": list(self.history), "done": self.done}

    def load_state_dict(self, state):
        self.V, self.policy = np.asarray(state["V"]), np.asarray(state["policy"])
        self.iterations, self.seconds, self.residual = state["iterations"], state["seconds"], state["residual"]
        self.history, self.done = list(state["history"]), state["done"]


@dataclass
class ValueIterationConfig(TabularConfig):
    steps: int = 100_000  # at most this many sweeps
    eval_every: int = 1000  # (the last sweep always evaluates)
    tol: float = 1e-8  # the greedy policy is tol-optimal when it stops
    rule: Literal[tuple(RULES)] = "span"  # span | sup (the stopping rule)
    sweeps_per_step: int = 1


@register("value-iteration", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="value iteration with the span-seminorm stopping rule (sparse-aware)")
class ValueIterationExperiment(_Planner):
    Config = ValueIterationConfig

    def setup(self, cfg, ctx):
        if cfg.tol <= 0 or cfg.sweeps_per_step < 1:
            raise GymlabError("bad value for 'tol' or 'sweeps_per_step': tol must be > 0 and sweeps_per_step >= 1")
        self._setup(cfg, ctx)

    def train_step(self):
        t0 = time.perf_counter()
        sol = value_iteration(self.mdp, self.cfg.tol, max_iterations=self.cfg.sweeps_per_step, V0=self.V,
                              rule=self.cfg.rule)
        self.seconds += time.perf_counter() - t0
        self.V, self.policy = sol.V, sol.policy
        self.iterations += sol.iterations
        self.residual = sol.residual
        self.history += sol.history
        self.done = sol.converged
        return {"solver/iterations": self.iterations, "solver/bellman_residual": self.residual,
                f"solver/{self.cfg.rule}": sol.history[-1], "solver/seconds": self.seconds}

    def media(self):
        return {"values": draw_values(self.mdp, self.V, self.policy, "value iteration", self.cfg.env),
                "convergence": draw_history(self.history, f"{self.cfg.rule}(TV - V)", "value iteration")}


@dataclass
class PolicyIterationConfig(TabularConfig):
    steps: int = 1000  # at most this many evaluate-and-improve steps
    eval_every: int = 10
    method: Literal[tuple(METHODS)] = "auto"  # the linear solver: auto | dense | direct | iterative


@register("policy-iteration", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="policy iteration: exact evaluation by linear solve, greedy improvement")
class PolicyIterationExperiment(_Planner):
    Config = PolicyIterationConfig

    def setup(self, cfg, ctx):
        self._setup(cfg, ctx)
        self.policy = self.mdp.R.argmax(axis=1)

    def train_step(self):
        t0 = time.perf_counter()
        self.V = evaluate_policy(self.mdp, self.policy, method=self.cfg.method)
        new, Q, changed = policy_improvement(self.mdp, self.V, self.policy)
        self.seconds += time.perf_counter() - t0
        self.residual = float(np.abs(Q.max(axis=1) - self.V).max())
        self.iterations += 1
        self.history.append(changed)
        self.done = changed == 0
        self.policy = new
        return {"solver/iterations": self.iterations, "solver/bellman_residual": self.residual,
                "solver/changed_states": changed, "solver/seconds": self.seconds}

    def media(self):
        return {"values": draw_values(self.mdp, self.V, self.policy, "policy iteration", self.cfg.env),
                "convergence": draw_history(self.history, "states whose action changed", "policy iteration", log=False)}


@dataclass
class BellmanSolveConfig(TabularConfig):
    steps: int = 1
    eval_every: int = 1
    policy: Literal["uniform", "optimal"] = "uniform"  # uniform (random actions) | optimal (found by policy iteration first)
    method: Literal[tuple(METHODS)] = "auto"


@register("bellman-solve", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="exact policy evaluation: V = (I - gamma P^pi)^-1 R^pi, checked against rollouts")
class BellmanSolveExperiment(_Planner):
    Config = BellmanSolveConfig

    def setup(self, cfg, ctx):
        self._setup(cfg, ctx)
        S, A = self.mdp.S, self.mdp.A
        if cfg.policy == "uniform":
            self.pi = np.full((S, A), 1.0 / A)
        else:
            from gymlab.agents import policy_iteration

            self.pi = policy_iteration(self.mdp, method=cfg.method).policy
        self.policy = self.pi if self.pi.ndim == 1 else np.zeros(S, dtype=np.int64)

    def train_step(self):
        t0 = time.perf_counter()
        self.V = evaluate_policy(self.mdp, self.pi, method=self.cfg.method)
        self.seconds += time.perf_counter() - t0
        mrp = self.mdp.induced_mrp(self.pi)
        keep = ~mrp.terminal
        self.residual = float(np.abs(np.where(keep, mrp.R + mrp.gamma * (mrp.P @ self.V), 0.0) - self.V).max())
        self.iterations += 1
        self.done = True
        return {"solver/bellman_residual": self.residual, "solver/seconds": self.seconds}

    def evaluate(self):
        return self._evaluate_policy_metrics(self.pi)  # deterministic (S,) or stochastic (S, A) alike

    def media(self):
        policy = self.pi if self.pi.ndim == 1 else None
        return {"values": draw_values(self.mdp, self.V, policy, f"V of the {self.cfg.policy} policy", self.cfg.env)}


# ------------------------------------------------------------------ Q-learning
@dataclass
class QLearningConfig(TabularConfig):
    steps: int = 100  # train steps, each at least env_steps_per_step environment steps (whole episodes)
    eval_every: int = 10
    env_steps_per_step: int = 1000
    alpha_start: float = 0.1
    alpha_end: float = 0.01
    alpha_decay_steps: int = 100_000  # env steps of linear learning-rate decay
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 50_000  # env steps of linear exploration decay


@register("q-learning", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="tabular Q-learning, epsilon-greedy with decay schedules")
class QLearningExperiment(Experiment):
    Config = QLearningConfig

    def setup(self, cfg, ctx):
        for key in ("alpha_start", "alpha_end", "epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(cfg, key) <= 1.0:
                raise GymlabError(f"bad value for {key!r}: {getattr(cfg, key)}; it must be in [0, 1]")
        for key in ("alpha_decay_steps", "epsilon_decay_steps", "env_steps_per_step"):
            if getattr(cfg, key) < 1:
                raise GymlabError(f"bad value for {key!r}: {getattr(cfg, key)}; it must be >= 1")
        self.cfg = cfg
        self.mdp = build_mdp(cfg)
        self.limit = episode_limit(cfg)
        if cfg.env in GYMNASIUM_TABULAR:
            import gymnasium as gym

            train_env = gym.make(cfg.env, max_episode_steps=self.limit)
        else:
            train_env = make_env(self.mdp, self.limit)
        self.eval_env = make_eval_env(cfg, self.mdp)
        self.episodes = eval_episodes(cfg)
        self.learner = QLearning(train_env, gamma=cfg.gamma, seed=cfg.seed,
                                 alpha=linear_schedule(cfg.alpha_start, cfg.alpha_end, cfg.alpha_decay_steps),
                                 epsilon=linear_schedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay_steps))
        self.returns: list = []

    def train_step(self):
        rets = self.learner.learn(steps=self.cfg.env_steps_per_step)
        self.returns += rets
        t = self.learner.steps
        return {"train/env_steps": t, "train/episodes": self.learner.episodes,
                "train/episode_return": float(np.mean(rets)), "train/epsilon": self.learner.epsilon(t),
                "train/alpha": self.learner.alpha(t), "train/td_error": self.learner.td_error}

    def evaluate(self):
        return {"train/env_steps": self.learner.steps, **episode_metrics(self, self.learner.policy)}

    def media(self):
        Q = self.learner.Q
        fig, ax = plt.subplots(figsize=(5, 3.2))
        r = np.asarray(self.returns)
        k = max(1, len(r) // 100)
        ax.plot(np.arange(len(r) // k) * k, r[: len(r) // k * k].reshape(-1, k).mean(axis=1))
        ax.set_xlabel("episode")
        ax.set_ylabel(f"return (mean of {k})")
        ax.set_title("Q-learning: training episodes")
        return {"values": draw_values(self.mdp, Q.max(axis=1), Q.argmax(axis=1), "Q-learning", self.cfg.env),
                "learning_curve": fig}

    def state_dict(self):
        return {"learner": self.learner.state_dict(), "returns": list(self.returns)}

    def load_state_dict(self, state):
        self.learner.load_state_dict(state["learner"])
        self.returns = list(state["returns"])

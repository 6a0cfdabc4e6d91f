"""Tabular RL experiments: `value-iteration`, `policy-iteration`, `bellman-solve` (on the planner template,
runners.templates.planner) and `q-learning`.

``env=`` FrozenLake-v1 | FrozenLake8x8-v1 | CliffWalking-v1 | Taxi-v4 (models read from gymnasium),
``random`` (``states``, ``actions``, ``branching``; the model seed is ``seed``) or ``gridworld``
(``size`` x ``size`` cells, ``slip``). Planners do one sweep (value iteration) or one
evaluate-and-improve step (policy iteration) per train step and stop when converged; evaluation
rolls the greedy policy out in the env (the real gymnasium env where there is one) and also
reports the exact expected return of the same episodes from the model (eval/exact_return).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from gymlab.agents import QLearning, evaluate_policy, linear_schedule, policy_improvement, policy_iteration, \
    value_iteration
from gymlab.agents.policy_evaluation import METHODS
from gymlab.agents.value_iteration import RULES
from gymlab.envs.tabular import env_by_name
from gymlab.runners.chart import Series, line_chart
from gymlab.runners.registry import register
from gymlab.runners.templates.planner import Planner, Tabular, TabularConfig
from gymlab.runners.value_image import value_image

UNIT = {"range": (0.0, 1.0, "in [0, 1]")}
POSITIVE = {"range": (1, None, ">= 1")}


@dataclass
class ValueIterationConfig(TabularConfig):
    steps: int = 100_000  # at most this many sweeps
    eval_every: int = 1000  # (the last sweep always evaluates)
    tol: float = field(default=1e-8, metadata={"range": (1e-300, None, "> 0")})  # the stop's greedy policy is tol-optimal
    rule: Literal[tuple(RULES)] = "span"  # span | sup (the stopping rule)
    sweeps_per_step: int = field(default=1, metadata=POSITIVE)  # sweeps per train step


@register("value-iteration", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="value iteration with the span-seminorm stopping rule (sparse-aware)")
class ValueIterationExperiment(Planner):
    Config, title, history_label = ValueIterationConfig, "value iteration", "{cfg.rule}(TV - V)"

    def solve_step(self):
        cfg = self.cfg
        sol = value_iteration(self.mdp, cfg.tol, max_iterations=cfg.sweeps_per_step, V0=self.V, rule=cfg.rule)
        self.V, self.policy, self.residual, self.done = sol.V, sol.policy, sol.residual, sol.converged
        self.history += sol.history
        return sol.iterations, {f"solver/{cfg.rule}": sol.history[-1]}


@dataclass
class PolicyIterationConfig(TabularConfig):
    steps: int = 1000  # at most this many evaluate-and-improve steps
    eval_every: int = 10
    method: Literal[tuple(METHODS)] = "auto"  # the linear solver: auto | dense | direct | iterative


@register("policy-iteration", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="policy iteration: exact evaluation by linear solve, greedy improvement")
class PolicyIterationExperiment(Planner):
    Config, title = PolicyIterationConfig, "policy iteration"
    history_label, history_log = "states whose action changed", False

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.policy = self.mdp.R.argmax(axis=1)

    def solve_step(self):
        self.V = evaluate_policy(self.mdp, self.policy, method=self.cfg.method)
        self.policy, Q, changed = policy_improvement(self.mdp, self.V, self.policy)
        self.residual = float(np.abs(Q.max(axis=1) - self.V).max())
        self.history.append(changed)
        self.done = changed == 0
        return 1, {"solver/changed_states": changed}


@dataclass
class BellmanSolveConfig(TabularConfig):
    steps: int = 1
    eval_every: int = 1
    policy: Literal["uniform", "optimal"] = "uniform"  # uniform (random actions) | optimal (found by policy iteration first)
    method: Literal[tuple(METHODS)] = "auto"


@register("bellman-solve", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="exact policy evaluation: V = (I - gamma P^pi)^-1 R^pi, checked against rollouts")
class BellmanSolveExperiment(Planner):
    Config = BellmanSolveConfig

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.title = f"V of the {cfg.policy} policy"
        S, A = self.mdp.S, self.mdp.A
        self.policy = np.full((S, A), 1.0 / A) if cfg.policy == "uniform" else \
            policy_iteration(self.mdp, method=cfg.method).policy

    def solve_step(self):
        self.V = evaluate_policy(self.mdp, self.policy, method=self.cfg.method)
        mrp = self.mdp.induced_mrp(self.policy)
        backup = np.where(~mrp.terminal, mrp.R + mrp.gamma * (mrp.P @ self.V), 0.0)
        self.residual, self.done = float(np.abs(backup - self.V).max()), True
        return 1, {}


def episode_returns_chart(returns, title: str) -> np.ndarray:
    """What ``agents.figures.episode_returns`` plots (training episodes' returns, averaged in groups of k for about
    100 points) as an image drawn without matplotlib (``runners.chart``)."""
    r = np.asarray(returns, dtype=np.float64)
    k = max(1, len(r) // 100)
    means = r[: len(r) // k * k].reshape(-1, k).mean(axis=1)
    return line_chart([Series(f"mean of {k} episodes", np.arange(len(means)) * k, means)], title, "episode",
                      f"return (mean of {k})", size=(500, 320))


@dataclass
class QLearningConfig(TabularConfig):
    steps: int = 100  # train steps, each at least env_steps_per_step environment steps (whole episodes)
    eval_every: int = 10
    env_steps_per_step: int = field(default=1000, metadata=POSITIVE)
    alpha_start: float = field(default=0.1, metadata=UNIT)  # learning rate, decayed linearly to alpha_end
    alpha_end: float = field(default=0.01, metadata=UNIT)
    alpha_decay_steps: int = field(default=100_000, metadata=POSITIVE)  # env steps of linear learning-rate decay
    epsilon_start: float = field(default=1.0, metadata=UNIT)  # exploration, decayed linearly to epsilon_end
    epsilon_end: float = field(default=0.05, metadata=UNIT)
    epsilon_decay_steps: int = field(default=50_000, metadata=POSITIVE)  # env steps of linear exploration decay


@register("q-learning", data="FrozenLake-v1", metric="eval/mean_return", mode="max",
          description="tabular Q-learning, epsilon-greedy with decay schedules")
class QLearningExperiment(Tabular):
    Config = QLearningConfig
    counters: ClassVar[tuple] = ("returns",)

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.learner = QLearning(env_by_name(cfg.env, self.mdp, cfg.max_steps), gamma=cfg.gamma, seed=cfg.seed,
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
        return {"train/env_steps": self.learner.steps, **self.episode_metrics(self.learner.policy)}

    def media(self):
        Q = self.learner.Q
        return {"values": value_image(self.mdp, Q.max(axis=1), Q.argmax(axis=1), "Q-learning", self.cfg.env),
                "learning_curve": episode_returns_chart(self.returns, "Q-learning: training episodes")}

    def state_dict(self):  # the learner's table and generator (not a torch module)
        return {**super().state_dict(), "learner": self.learner.state_dict()}

    def load_state_dict(self, state):
        state = dict(state)
        self.learner.load_state_dict(state.pop("learner"))
        super().load_state_dict(state)

"""The planner template: the experiment gives one step of a solver on a tabular MDP; the template owns the
model, the solver's bookkeeping, evaluation and media.

    solve_step() -> (iterations, metrics)   one sweep (value iteration) or one evaluate-and-improve step (policy
                                            iteration): updates ``V``, ``policy`` (an (S,) or (S, A) array),
                                            ``residual``, ``history``, and sets ``done`` when converged  (abstract)
    title, history_label, history_log       the media's title and the convergence plot's y axis (a format
                                            string of ``cfg``: "{cfg.rule}(TV - V)"; "": no convergence plot)

What the template does:
- ``setup`` (``Tabular``, shared with Q-learning): the model ``env`` names (envs.tabular.mdp_by_name: a
  gymnasium toy-text env's table, ``random``, ``gridworld``), the episode step limit and the env the
  evaluation plays (the real gymnasium env where there is one, else the model's simulator).
- ``train_step``: times ``solve_step`` and counts its iterations (solver/iterations, solver/seconds,
  solver/bellman_residual); the runner stops at ``done``.
- ``evaluate``: eval/expected_value = initial . V, ``eval_episodes`` rollouts of the policy (eval/mean_return,
  eval/success_rate with its Wilson interval) and their exact expected return from the model (eval/exact_return).
- ``media``: V as a heat map with the policy's arrows (a histogram off-grid; ``runners.value_image``), and the
  convergence history (``convergence_chart``), drawn with PIL: no matplotlib in a tabular run.
- Checkpoints: V, policy and the counters (gathered by ``Experiment``).
"""
from __future__ import annotations

import abc
import math
import time
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Optional

import numpy as np

from gymlab.agents.tabular_evaluation import exact_episode_return, rollout
from gymlab.envs.tabular import GYMNASIUM_TABULAR, TABULAR_ENVS, env_by_name, episode_limit, mdp_by_name
from gymlab.runners.chart import Series, line_chart
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.value_image import value_image


def convergence_chart(history, ylabel: str, title: str, log: bool = True) -> np.ndarray:
    """What ``agents.figures.convergence`` plots (a solver's per-iteration quantity against the iteration, a log
    scale when ``log`` and every value is positive), as an image drawn without matplotlib (``runners.chart``)."""
    h = np.asarray(history, dtype=np.float64)
    log_y = bool(log and h.size and (h > 0).all())
    return line_chart([Series(ylabel, np.arange(1, h.size + 1), h, style="markers" if h.size < 50 else "line")],
                      title, "iteration", ylabel, log_y=log_y)


@dataclass
class TabularConfig(RunConfig):
    env: Literal[TABULAR_ENVS] = "FrozenLake-v1"  # a gymnasium toy-text env, random or gridworld
    gamma: float = field(default=0.99, metadata={"range": (0.0, math.nextafter(1.0, 0.0), "in [0, 1)")})  # discount
    states: int = 1000  # env=random
    actions: int = 8  # env=random
    branching: int = 10  # env=random: successors per state-action
    size: int = 10  # env=gridworld: size x size cells
    slip: float = 0.1  # env=gridworld: probability of moving to a side instead
    eval_episodes: Optional[int] = field(  # rollouts per evaluation; None: 1000 (gymnasium envs), 100; 0: none
        default=None, metadata={"range": (0, None, "0 (no rollouts) or more")})
    max_steps: int = field(  # episode step limit; 0: the env's (FrozenLake 100/200, Taxi 200), random 200, 1000
        default=0, metadata={"range": (0, None, "0 (the env's own limit) or a positive number")})


class Tabular(Experiment):
    """The model, the evaluation env and the policy's episode metrics (planners and Q-learning)."""

    def setup(self, cfg, ctx):
        self.cfg = cfg
        try:
            self.mdp = mdp_by_name(cfg.env, cfg.gamma, seed=cfg.seed, states=cfg.states, actions=cfg.actions,
                                   branching=cfg.branching, size=cfg.size, slip=cfg.slip)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.limit = episode_limit(cfg.env, cfg.max_steps)
        self.episodes = cfg.eval_episodes if cfg.eval_episodes is not None else \
            1000 if cfg.env in GYMNASIUM_TABULAR else 100
        self.eval_env = env_by_name(cfg.env, self.mdp, cfg.max_steps)

    def episode_metrics(self, policy: np.ndarray) -> dict:
        """Rollouts of ``policy`` (when eval_episodes > 0) and its exact expected episode return (small models)."""
        out = rollout(self.eval_env, policy, self.episodes, self.cfg.seed, self.cfg.env) if self.episodes else {}
        exact = exact_episode_return(self.mdp, policy, self.limit)
        return out if exact is None else {**out, "eval/exact_return": exact}


class Planner(Tabular):
    """Give ``solve_step``; the template counts, times, evaluates and draws."""

    counters: ClassVar[tuple] = ("V", "policy", "iterations", "seconds", "residual", "history", "done")
    title: ClassVar[str] = ""
    history_label: ClassVar[str] = ""
    history_log: ClassVar[bool] = True

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.V = np.zeros(self.mdp.S)
        self.policy = np.zeros(self.mdp.S, dtype=np.int64)
        self.iterations, self.seconds, self.residual = 0, 0.0, float("nan")
        self.history: list = []
        self.done = False

    @abc.abstractmethod
    def solve_step(self) -> tuple[int, dict]:
        """One sweep or improvement step of the solver."""

    def train_step(self):
        t0 = time.perf_counter()
        n, metrics = self.solve_step()
        self.seconds += time.perf_counter() - t0
        self.iterations += n
        return {"solver/iterations": self.iterations, "solver/bellman_residual": self.residual,
                "solver/seconds": self.seconds, **metrics}

    def evaluate(self):
        return {"solver/iterations": self.iterations, "solver/seconds": self.seconds,
                "solver/bellman_residual": self.residual, "eval/expected_value": float(self.mdp.initial @ self.V),
                **self.episode_metrics(self.policy)}

    def media(self):
        greedy = self.policy if self.policy.ndim == 1 else None  # a stochastic policy has no arrows
        out = {"values": value_image(self.mdp, self.V, greedy, self.title, self.cfg.env)}
        if self.history_label:
            label = self.history_label.format(cfg=self.cfg)
            out["convergence"] = convergence_chart(self.history, label, self.title, log=self.history_log)
        return out

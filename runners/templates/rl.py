"""The RL template: the experiment gives an agent class and its config group; the template owns the envs,
the budget, evaluation and media (SB3's split: the algorithm is the agent, the rest is the runner's).

    agent_cls               an agents.base.Agent: Agent(env, config, seed=, device=); ``train_iteration()``,
                            ``steps_per_iteration``, ``num_timesteps``, ``episodes``, ``predict``, state_dict
    Config.agent            its config as the group ``agent`` (``agent: A2CConfig = group(A2CConfig)``):
                            ``agent.lr``, ``agent.n_envs``, or bare ``lr=``, ``n_envs=`` (runners.config.resolve_key)
    make_agent(cfg, ctx)    hook: an adapter instead of agent_cls (the sb3-* experiments)

What the template does:
- ``setup``: checks ``env`` (any id ``gymnasium.make`` accepts, ``module:Env-v0`` included), builds the agent
  on it (pixel observations with ``pixels=true``: ``envs.pixels.PixelObservation``); ``timesteps=N`` sets the
  budget in env steps, ``steps = ceil(N / steps_per_iteration)``, and the agent's schedules span the budget.
- ``train_step``: one agent iteration (a rollout and its update); ``done`` once ``timesteps`` are spent.
- ``evaluate``: ``eval_episodes`` deterministic episodes, episode i reset with seed ``eval_seed + i``, with IQM
  and bootstrap intervals (agents.evaluation). Stopping rule: a mean return >= ``solved_return`` (None: the
  env's reward_threshold) that ``eval_episodes`` more episodes on the next seeds confirm sets ``eval/solved``
  and ends the run (``stop_when_solved``), so that its final policy is the solved one.
- ``media``: the return curve (training episodes, evaluations) and a GIF of one evaluation episode.
- Checkpoints: the agent's state (replay buffer included), the evaluations so far, the training time.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import ClassVar, Optional

import gymnasium as gym
import numpy as np
import torch

import gymlab.envs.catch  # noqa: F401  (registers gymlab/Catch-v0)
from gymlab.agents.base import evaluate
from gymlab.agents.evaluation import evaluate as evaluate_with_intervals
from gymlab.envs.factory import check_env_id
from gymlab.envs.pixels import PixelObservation
from gymlab.runners.chart import Series, line_chart
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiment import Experiment
from gymlab.runners.media import episode_video


def return_chart(episodes, evals, title: str) -> np.ndarray:
    """What ``agents.figures.return_curve`` plots (training episodes' returns and their running mean against env
    steps, evaluations with their std), as an image drawn without matplotlib (``runners.chart``)."""
    series = []
    if episodes:
        steps, rets = np.array([e[0] for e in episodes]), np.array([e[1] for e in episodes], dtype=np.float64)
        k = max(1, len(rets) // 50)
        series += [Series("training episodes", steps, rets, "tab:blue", "dots"),
                   Series(f"running mean of {k}", steps[k - 1:], np.convolve(rets, np.ones(k) / k, mode="valid"))]
    if evals:
        s, m, sd = (np.array(x, dtype=np.float64) for x in zip(*evals))
        series.append(Series("evaluation (mean, std)", s, m, "tab:red", "markers", yerr=sd))
    return line_chart(series, title, "env steps", "episode return")


@dataclass
class RLConfig(RunConfig):
    aliases: ClassVar[dict] = {"learning_rate": "agent.lr", "lr": "agent.learning_rate"}  # SB3's name / ours
    env: str = "CartPole-v1"  # any id gymnasium.make accepts, module:Env-v0 included
    timesteps: Optional[int] = None  # budget in env steps (overrides steps)
    eval_episodes: int = 10  # deterministic episodes per evaluation
    eval_seed: int = 10_000  # evaluation episode i is reset with seed eval_seed + i
    pixels: bool = False  # observe rendered frames instead of the state
    frame_height: int = 40  # pixels=true: frames resized to frame_height x frame_width
    frame_width: int = 60
    frame_stack: int = 1  # pixels=true: the last k frames stacked as channels
    grayscale: bool = True  # pixels=true: one channel per frame
    torch_threads: int = 1  # small nets run fastest on one thread (0: leave torch's setting)
    gif: bool = True  # media: a GIF of one evaluation episode
    # Stop at the first evaluation whose mean return reaches solved_return (None: the env's reward_threshold,
    # CartPole-v1 475) and that a second evaluation on the next eval_episodes seeds confirms: the run then
    # reports that policy as its final one (eval/solved, eval/confirm_mean_return, train/env_steps of
    # train/budget_env_steps), instead of training on into the oscillations that follow a solved CartPole.
    stop_when_solved: bool = True
    solved_return: Optional[float] = None


def env_factory(cfg: RLConfig, render: bool = False):
    """A callable making the (optionally pixel-observation) env of ``cfg``."""
    def make():
        if cfg.pixels:
            env = gym.make(cfg.env, render_mode="rgb_array")
            return PixelObservation(env, (cfg.frame_height, cfg.frame_width), cfg.grayscale, cfg.frame_stack)
        if render:  # the GIF's env: the training env was checked already; the checker's extra render is skipped
            return gym.make(cfg.env, render_mode="rgb_array", disable_env_checker=True)
        return gym.make(cfg.env)

    return make


def check_env(env_id: str) -> None:
    """Refuse, in one line, an id that ``gymnasium.make`` would not accept (``module:Env-v0`` ids import ``module``)."""
    try:
        check_env_id(env_id)
    except ValueError as e:
        raise GymlabError(f"bad value for 'env': {e}") from None


class RL(Experiment):
    """Give ``agent_cls`` and a Config with the group ``agent``; the template trains and evaluates it."""

    Config: ClassVar[type] = RLConfig
    agent_cls: ClassVar[Optional[type]] = None

    def make_agent(self, cfg, ctx):
        env = env_factory(cfg) if cfg.pixels else cfg.env  # an id gets gymnasium's native vector env if any
        return self.agent_cls(env, cfg.agent, seed=cfg.seed, device=ctx.device)

    def nominal_chunk(self) -> int | None:
        """Env steps per train_step; None when an iteration has no fixed size (then timesteps= bounds the run)."""
        return self.agent.steps_per_iteration

    def setup(self, cfg, ctx):
        self.cfg, self.ctx = cfg, ctx
        if cfg.torch_threads > 0 and ctx.device.type == "cpu":
            torch.set_num_threads(cfg.torch_threads)
        check_env(cfg.env)
        try:
            self.agent = self.make_agent(cfg, ctx)
        except (TypeError, ValueError) as e:
            raise GymlabError(str(e)) from None
        chunk = self.nominal_chunk()
        if cfg.timesteps is not None:
            cfg.steps = max(1, math.ceil(cfg.timesteps / (chunk or 1)))
        # iterations of no fixed size (REINFORCE's episodes): without timesteps= the schedules stay constant (budget 0)
        self.budget = cfg.timesteps or (cfg.steps * chunk if chunk else 0)
        self.agent.total_timesteps = self.budget  # schedules (lr, clip, epsilon) span the whole budget
        self.evals: list[tuple[int, float, float]] = []
        self.train_seconds = 0.0  # training time without evaluations (for time/env_steps_per_s)
        self.done = False
        self.solved_return = cfg.solved_return
        if self.solved_return is None and cfg.stop_when_solved:
            self.solved_return = check_env_id(cfg.env).reward_threshold  # module:Env-v0 ids resolved too

    def train_step(self):
        t0 = time.perf_counter()
        metrics = self.agent.train_iteration()
        self.train_seconds += time.perf_counter() - t0
        if self.cfg.timesteps is not None and self.agent.num_timesteps >= self.cfg.timesteps:
            self.done = True
        return metrics

    def evaluate(self):
        cfg, n = self.cfg, self.agent.num_timesteps
        ev = evaluate_with_intervals(self.agent, env_factory(cfg), cfg.eval_episodes, cfg.eval_seed)
        self.evals.append((n, ev.mean, ev.std))
        out = {**ev.metrics(), "eval/mean_return": ev.mean, "eval/std_return": ev.std,
               "eval/mean_length": ev.mean_length, "train/env_steps": n,
               "time/env_steps_per_s": n / max(self.train_seconds, 1e-9)}
        target = self.solved_return if cfg.stop_when_solved else None
        if target is not None:
            out.update({"eval/solved": False, "train/budget_env_steps": self.budget})
            if ev.mean >= target:  # confirmed on fresh episodes, so that one lucky evaluation does not stop it
                confirm = evaluate(self.agent, env_factory(cfg), cfg.eval_episodes, cfg.eval_seed + cfg.eval_episodes)
                out["eval/confirm_mean_return"] = confirm["mean_return"]
                if confirm["mean_return"] >= target:
                    out["eval/solved"] = self.done = True
        return out

    def media(self):
        out = {"return_curve": return_chart(self.agent.episodes, self.evals, f"{self.agent.name} on {self.cfg.env}")}
        if self.cfg.gif:
            try:
                # episode.gif in the run folder, a wandb.Video with the return drawn on the frames
                out["episode"] = episode_video(self.agent, env_factory(self.cfg, render=True), seed=self.cfg.eval_seed)
            except (ValueError, gym.error.Error, ImportError) as e:  # an env that cannot render
                out["episode_note"] = f"no GIF: {e}"
        return out

    def state_dict(self):
        return {"agent": self.agent.state_dict(), "evals": list(self.evals), "train_seconds": self.train_seconds}

    def load_state_dict(self, state):
        self.agent.load_state_dict(state["agent"])
        self.agent.total_timesteps = self.budget  # a resumed run may have been given a larger budget
        self.evals = list(state["evals"])
        self.train_seconds = state.get("train_seconds", 0.0)

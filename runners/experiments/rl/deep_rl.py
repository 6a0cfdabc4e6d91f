"""Deep RL experiments: `reinforce`, `actor-critic` (alias `a2c`), `dqn`, `ppo` on any gymnasium env.

One train_step is one iteration of the agent (a rollout and its update; for REINFORCE a batch of
episodes; for DQN ``train_freq`` env steps and their gradient steps). ``timesteps=N`` sets the
budget in env steps instead of train steps. Evaluation plays ``eval_episodes`` deterministic
episodes on a separate env seeded ``eval_seed + i``. ``pixels=true`` makes the agent learn from
rendered frames (``envs.pixels.PixelObservation``, a conv encoder from ``vision.encoders``).
Metrics: eval/mean_return, eval/std_return, eval/mean_length, train/env_steps (real transitions:
the vector envs' reset steps are not counted), time/env_steps_per_s (training only; the runner's
time/steps_per_s counts train steps). Media: a GIF of one evaluation episode and the return curve.
Every field of the agent's config (``agents.<agent>.<Agent>Config``) is a key too: ``lr=3e-4``, ``n_envs=4``...
(``learning_rate=`` is accepted for ``lr``, as the sb3-* experiments take it). ``env`` is any id
``gymnasium.make`` accepts, ``module:Env-v0`` included (the module is imported and registers the env).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import ClassVar, Optional

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import torch

import gymlab.envs.catch  # noqa: F401  (registers gymlab/Catch-v0)
from gymlab.agents.actor_critic import A2C
from gymlab.agents.base import evaluate
from gymlab.agents.evaluation import evaluate as evaluate_with_intervals
from gymlab.agents.dqn import DQN
from gymlab.agents.ppo import PPO
from gymlab.agents.reinforce import REINFORCE
from gymlab.envs.factory import check_env_id
from gymlab.envs.pixels import PixelObservation
from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import episode_video
from gymlab.runners.registry import register
from gymlab.runners.experiment import Experiment


@dataclass
class DeepRLConfig(RunConfig):
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


def env_factory(cfg: DeepRLConfig, render: bool = False):
    """A callable making the (optionally pixel-observation) env of ``cfg``."""
    def make():
        if cfg.pixels:
            env = gym.make(cfg.env, render_mode="rgb_array")
            return PixelObservation(env, (cfg.frame_height, cfg.frame_width), cfg.grayscale, cfg.frame_stack)
        return gym.make(cfg.env, render_mode="rgb_array") if render else gym.make(cfg.env)

    return make


def check_env(env_id: str) -> None:
    """Refuse, in one line, an id that ``gymnasium.make`` would not accept (``module:Env-v0`` ids import ``module``)."""
    try:
        check_env_id(env_id)
    except ValueError as e:
        raise GymlabError(f"bad value for 'env': {e}") from None


class RLExperiment(Experiment):
    """What every RL experiment shares: envs, budget in env steps, evaluation, GIF and return curve."""

    agent_cls = None

    def make_agent(self, cfg, ctx):
        agent_fields = {f.name for f in dataclasses.fields(self.agent_cls.Config)}
        agent_cfg = self.agent_cls.Config(**{k: getattr(cfg, k) for k in agent_fields})
        env = env_factory(cfg) if cfg.pixels else cfg.env  # an id gets gymnasium's native vector env if any
        return self.agent_cls(env, agent_cfg, seed=cfg.seed, device=ctx.device)

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

    def nominal_chunk(self) -> int | None:
        """Env steps per train_step; None when an iteration has no fixed size (then timesteps= bounds the run)."""
        return self.agent.steps_per_iteration

    def train_step(self):
        t0 = time.perf_counter()
        metrics = self.agent.train_iteration()
        self.train_seconds += time.perf_counter() - t0
        if self.cfg.timesteps is not None and self.agent.num_timesteps >= self.cfg.timesteps:
            self.done = True
        return metrics

    def evaluate(self):
        # per-episode returns on seeds eval_seed + i, with IQM and bootstrap intervals (gymlab.agents.evaluation)
        ev = evaluate_with_intervals(self.agent, env_factory(self.cfg), self.cfg.eval_episodes, self.cfg.eval_seed)
        r = {"mean_return": ev.mean, "std_return": ev.std, "mean_length": ev.mean_length}
        self.evals.append((self.agent.num_timesteps, r["mean_return"], r["std_return"]))
        out = {**ev.metrics(), "eval/mean_return": r["mean_return"], "eval/std_return": r["std_return"],
               "eval/mean_length": r["mean_length"], "train/env_steps": self.agent.num_timesteps,
               "time/env_steps_per_s": self.agent.num_timesteps / max(self.train_seconds, 1e-9)}
        target = self.solved_return if self.cfg.stop_when_solved else None
        if target is not None:
            out["eval/solved"] = False
            out["train/budget_env_steps"] = self.budget
            if r["mean_return"] >= target:  # confirmed on fresh episodes, so that one lucky evaluation does not stop it
                confirm = evaluate(self.agent, env_factory(self.cfg), self.cfg.eval_episodes,
                                   self.cfg.eval_seed + self.cfg.eval_episodes)
                out["eval/confirm_mean_return"] = confirm["mean_return"]
                if confirm["mean_return"] >= target:
                    out["eval/solved"] = self.done = True
        return out

    def media(self):
        out = {"return_curve": self.return_curve()}
        if self.cfg.gif:
            try:
                # episode.gif in the run folder, a wandb.Video with the return drawn on the frames
                out["episode"] = episode_video(self.agent, env_factory(self.cfg, render=True), seed=self.cfg.eval_seed)
            except (ValueError, gym.error.Error, ImportError) as e:  # an env that cannot render
                out["episode_note"] = f"no GIF: {e}"
        return out

    def return_curve(self):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        eps = self.agent.episodes
        if eps:
            steps, rets = np.array([e[0] for e in eps]), np.array([e[1] for e in eps])
            ax.plot(steps, rets, ".", ms=2, alpha=0.3, color="tab:blue", label="training episodes")
            k = max(1, len(rets) // 50)
            smooth = np.convolve(rets, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1:], smooth, color="tab:blue", lw=1)
        if self.evals:
            s, m, sd = (np.array(x) for x in zip(*self.evals))
            ax.errorbar(s, m, yerr=sd, color="tab:red", marker="o", ms=3, capsize=2, label="evaluation (mean, std)")
        ax.set_xlabel("env steps")
        ax.set_ylabel("episode return")
        ax.set_title(f"{self.agent.name} on {self.cfg.env}")
        ax.legend(loc="best", fontsize=8)
        return fig

    def state_dict(self):
        return {"agent": self.agent.state_dict(), "evals": list(self.evals), "train_seconds": self.train_seconds}

    def load_state_dict(self, state):
        self.agent.load_state_dict(state["agent"])
        self.agent.total_timesteps = self.budget  # a resumed run may have been given a larger budget
        self.evals = list(state["evals"])
        self.train_seconds = state.get("train_seconds", 0.0)


@dataclass
class ReinforceRunConfig(REINFORCE.Config, DeepRLConfig):
    """The run's keys, then every field of the agent's config (REINFORCE.Config)."""
    aliases: ClassVar[dict] = {"learning_rate": "lr"}  # SB3's name for lr
    steps: int = 250
    eval_every: int = 25


@dataclass
class ActorCriticRunConfig(A2C.Config, DeepRLConfig):
    """The run's keys, then every field of the agent's config (A2C.Config)."""
    aliases: ClassVar[dict] = {"learning_rate": "lr"}  # SB3's name for lr
    steps: int = 800  # 128 env steps each
    eval_every: int = 40


@dataclass
class DQNRunConfig(DQN.Config, DeepRLConfig):
    """The run's keys, then every field of the agent's config (DQN.Config)."""
    aliases: ClassVar[dict] = {"learning_rate": "lr"}  # SB3's name for lr
    steps: int = 200  # 256 env steps each
    eval_every: int = 20


@dataclass
class PPORunConfig(PPO.Config, DeepRLConfig):
    """The run's keys, then every field of the agent's config (PPO.Config)."""
    aliases: ClassVar[dict] = {"learning_rate": "lr"}  # SB3's name for lr
    steps: int = 200  # 512 env steps each
    eval_every: int = 10


@register("reinforce", data="CartPole-v1", metric="eval/mean_return",
          description="REINFORCE: Monte Carlo policy gradient, learned baseline, reward-to-go")
class ReinforceExperiment(RLExperiment):
    agent_cls = REINFORCE
    Config = ReinforceRunConfig


@register("a2c", data="CartPole-v1", metric="eval/mean_return",
          description="advantage actor-critic (alias of actor-critic)")
@register("actor-critic", data="CartPole-v1", metric="eval/mean_return",
          description="A2C: vector envs, n-step returns / GAE, entropy bonus")
class ActorCriticExperiment(RLExperiment):
    agent_cls = A2C
    Config = ActorCriticRunConfig


@register("dqn", data="CartPole-v1", metric="eval/mean_return",
          description="DQN: replay buffer, target network, epsilon-greedy, double DQN option")
class DQNExperiment(RLExperiment):
    agent_cls = DQN
    Config = DQNRunConfig


@register("ppo", data="CartPole-v1", metric="eval/mean_return",
          description="PPO: clipped surrogate, GAE, minibatch epochs")
class PPOExperiment(RLExperiment):
    agent_cls = PPO
    Config = PPORunConfig

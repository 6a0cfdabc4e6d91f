"""``gymlab.evaluate(agent_or_run, env=None, episodes=None, seeds=None, ...)``: evaluation with intervals
of an agent, or of the agent a run folder holds.

::

    import gymlab
    ev = gymlab.evaluate("runs/ppo-20250101-120000", episodes=50)   # the run's env, its eval seeds
    print(ev)            # 50 episodes on CartPole-v1: mean return 500 (95% CI [500, 500]), IQM ...
    ev.to_dict()         # per-episode returns, lengths, seeds; estimates with their intervals

A run folder (or a W&B model artifact reference) is loaded by ``gymlab.load`` with its checkpoint
(``checkpoint="best"``, else ``"latest"``); without ``env``,
``episodes`` and ``seeds`` the run's own env (pixels included), ``eval_episodes`` and ``eval_seed`` are
used, so the evaluation repeats the one the run logged, with intervals added. Anything else is
passed to :func:`gymlab.agents.evaluation.evaluate`, which defines the result.
"""
from __future__ import annotations

import os

__all__ = ["evaluate"]


def evaluate(agent_or_run, env=None, episodes: int | None = None, seeds=None, *, checkpoint: str = "best", **kwargs):
    """Evaluate an agent (anything with ``predict``) or a run folder; returns an ``Evaluation``."""
    from gymlab.agents.evaluation import evaluate as evaluate_agent

    if isinstance(agent_or_run, (str, os.PathLike)):
        agent, cfg = load_agent(agent_or_run, checkpoint)
        if env is None:
            env = run_env(cfg)
        if episodes is None and (seeds is None or isinstance(seeds, int)):
            episodes = getattr(cfg, "eval_episodes", None)
        if seeds is None:
            seeds = getattr(cfg, "eval_seed", None)
        agent_or_run = agent
    return evaluate_agent(agent_or_run, env, episodes, seeds, **kwargs)


def run_env(cfg):
    """The evaluation env of an RL run's config: a factory (pixel observations when the run used them)."""
    from gymlab.runners.templates.rl import env_factory

    return env_factory(cfg)


def load_agent(run_dir, checkpoint: str = "best"):
    """(agent, config) of an RL run folder, through ``gymlab.load``; a one-line GymlabError for anything else."""
    from gymlab.loading import load
    from gymlab.runners.errors import GymlabError
    from gymlab.runners.loop import load_run

    def refuse(name):
        return GymlabError(f"{run_dir} is a {name} run, not an RL agent's; evaluate it with: gymlab eval {run_dir}")

    if os.path.isdir(run_dir):  # refused before loading a model for nothing (an artifact reference is checked after)
        name, cfg = load_run(run_dir)
        if not _is_rl(cfg):
            raise refuse(name)
    obj = load(run_dir, checkpoint)
    if not hasattr(obj, "predict") or not _is_rl(obj.run_config):
        raise refuse(obj.experiment)
    return obj, obj.run_config


def _is_rl(cfg) -> bool:
    return hasattr(cfg, "env") and hasattr(cfg, "eval_seed") and hasattr(cfg, "eval_episodes")

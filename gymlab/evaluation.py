"""``gymlab.evaluate(agent_or_run, env=None, episodes=None, seeds=None, ...)``: evaluation with intervals
of an agent, or of the agent a run folder holds.

::

    import gymlab
    ev = gymlab.evaluate("runs/ppo-20250101-120000", episodes=50)   # the run's env, its eval seeds
    print(ev)            # 50 episodes on CartPole-v1: mean return 500 (95% CI [500, 500]), IQM ...
    ev.to_dict()         # per-episode returns, lengths, seeds; estimates with their intervals

A run folder is loaded with its checkpoint (``checkpoint="best"``, else ``"latest"``); without ``env``,
``episodes`` and ``seeds`` the run's own env (pixels included), ``eval_episodes`` and ``eval_seed`` are
used, so the evaluation repeats the one the run logged, with intervals added. Anything else is
passed to :func:`gymlab.agents.evaluation.evaluate`, which defines the result.
"""
from __future__ import annotations

import os
from pathlib import Path

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
    from gymlab.runners.experiments.deep_rl import env_factory

    return env_factory(cfg)


def load_agent(run_dir, checkpoint: str = "best"):
    """(agent, config) of an RL run folder; a one-line GymlabError for anything else."""
    from gymlab.runners.errors import GymlabError
    from gymlab.runners.loop import load_run

    name, cfg = load_run(run_dir)
    if not hasattr(cfg, "env") or not hasattr(cfg, "eval_seed"):
        raise GymlabError(f"{run_dir} is a {name} run, not an RL agent's; evaluate it with: gymlab eval {run_dir}")
    try:
        from gymlab.load import load  # the trained object of any run (gymlab.load)
    except ImportError:
        load = None
    if load is not None:
        agent = load(run_dir, checkpoint=checkpoint)
    else:
        agent = _rebuild(Path(run_dir), name, cfg, checkpoint)
    if not hasattr(agent, "predict"):
        raise GymlabError(f"{run_dir} holds a {name} model without predict(); evaluate it with: gymlab eval {run_dir}")
    return agent, cfg


def _rebuild(run_dir: Path, name: str, cfg, checkpoint: str):
    """The run's experiment set up from its config, its checkpoint loaded: its agent."""
    from gymlab.runners import checkpoint as ckpt
    from gymlab.runners import registry
    from gymlab.runners.errors import GymlabError
    from gymlab.runners.loop import pick_device

    path = run_dir / "checkpoints" / f"{checkpoint}.pt"
    if checkpoint == "best" and not path.exists():
        path = run_dir / "checkpoints" / "latest.pt"
    if not path.exists():
        raise GymlabError(f"{run_dir} has no checkpoint {checkpoint!r} (looked for {path})")
    payload = ckpt.load(path)
    exp = registry.get(name).cls()
    ctx = registry.Context(device=pick_device(cfg.device), seed=cfg.seed, run_dir=run_dir, log=lambda m: None)
    exp.setup(cfg, ctx)
    exp.load_state_dict(payload["state"])
    agent = getattr(exp, "agent", None)
    if agent is None:
        raise GymlabError(f"{run_dir} is a {name} run without an agent; evaluate it with: gymlab eval {run_dir}")
    return agent

"""Evaluate an agent on an env and say how sure the numbers are.

::

    from gymlab.agents.evaluation import evaluate
    ev = evaluate(agent, "CartPole-v1", episodes=30, seeds=10_000)   # episode i reset with seed 10_000 + i
    ev.returns, ev.lengths, ev.seeds          # per episode, in order; the same seeds repeat it exactly
    ev.mean, ev.iqm                           # mean and interquartile mean of the returns
    ev.mean_ci, ev.iqm_ci                     # Interval(estimate, low, high): percentile bootstrap over episodes
    ev.success_rate, ev.success_ci            # where the env defines success; Wilson interval
    ev.metrics()                              # {"eval/mean_return": ..., "eval/return_ci_low": ..., ...}

``agent`` is anything with Stable-Baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=False) -> (action, state)`` (our agents, SB3's), an older ``predict(obs, deterministic)``,
or a plain function ``observation -> action``. ``env`` is a gymnasium id, a factory returning an
env, or an env; without it, the agent's own evaluation env (``agent.env``, an id) is used. A gymlab
agent on an id or a factory plays the episodes side by side, one batched ``predict`` per step
(:func:`play_side_by_side`); deterministic results are those of one episode after another.

Success, per episode: by default ``info["is_success"]`` at the episode's last step, when the env
reports it (gymnasium-robotics and many goal envs do); ``success=<number>`` counts an episode whose
return reaches that number; ``success=f`` calls ``f(episode_return, last_info)``. Without any of
these ``success_rate`` is None. The estimators are defined in :mod:`gymlab.agents.stats`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable, Sequence

import gymnasium as gym
import numpy as np

from gymlab.agents import stats

__all__ = ["Evaluation", "evaluate", "episode_seeds"]

DEFAULT_SEED = 10_000  # the runner's eval_seed: evaluation episode i is reset with seed 10_000 + i


@dataclass(frozen=True)
class Evaluation:
    """Per-episode results of an evaluation and their estimates (see :mod:`gymlab.agents.stats`)."""

    returns: tuple[float, ...]
    lengths: tuple[int, ...]
    seeds: tuple[int, ...]
    successes: tuple[bool, ...] | None
    mean_ci: stats.Interval  # mean return, percentile bootstrap interval over episodes
    iqm_ci: stats.Interval  # interquartile mean of the returns, same bootstrap
    success_ci: stats.Interval | None  # success rate, Wilson interval
    confidence: float
    deterministic: bool = True
    env: str = field(default="")  # what the episodes ran on, for messages

    @property
    def episodes(self) -> int:
        return len(self.returns)

    @property
    def mean(self) -> float:
        return self.mean_ci.estimate

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    @property
    def iqm(self) -> float:
        return self.iqm_ci.estimate

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.lengths))

    @property
    def success_rate(self) -> float | None:
        return None if self.success_ci is None else self.success_ci.estimate

    def metrics(self, prefix: str = "eval/") -> dict:
        """Scalars under the runner's shared keys, for logs and summaries."""
        out = {"mean_return": self.mean, "std_return": self.std, "mean_length": self.mean_length,
               "iqm_return": self.iqm, "return_ci_low": self.mean_ci.low, "return_ci_high": self.mean_ci.high,
               "iqm_return_ci_low": self.iqm_ci.low, "iqm_return_ci_high": self.iqm_ci.high}
        if self.success_ci is not None:
            out.update(success_rate=self.success_ci.estimate, success_rate_ci_low=self.success_ci.low,
                       success_rate_ci_high=self.success_ci.high)
        return {prefix + k: float(v) for k, v in out.items()}

    def to_dict(self) -> dict:
        """Everything, as plain JSON-ready values: per-episode lists, seeds and the estimates."""
        return {"env": self.env, "episodes": self.episodes, "deterministic": self.deterministic,
                "confidence": self.confidence, "seeds": list(self.seeds), "returns": list(self.returns),
                "lengths": list(self.lengths),
                "successes": None if self.successes is None else list(self.successes),
                "mean": self.mean_ci.to_dict(), "iqm": self.iqm_ci.to_dict(), "std": self.std,
                "success_rate": None if self.success_ci is None else self.success_ci.to_dict()}

    def __str__(self) -> str:
        c = f"{self.confidence:.0%}"
        text = (f"{self.episodes} episodes on {self.env or 'the env'}: mean return {self.mean_ci.estimate:.4g} "
                f"({c} CI [{self.mean_ci.low:.4g}, {self.mean_ci.high:.4g}]), IQM {self.iqm_ci}")
        if self.success_ci is not None:
            text += f", success rate {self.success_ci}"
        return text


def episode_seeds(episodes: int | None, seeds) -> tuple[int, ...]:
    """The reset seed of each episode: ``seeds`` an int s gives s, s+1, ...; a sequence is used as is."""
    if seeds is None:
        seeds = DEFAULT_SEED
    if isinstance(seeds, (int, np.integer)):
        n = 10 if episodes is None else int(episodes)
        if n < 1:
            raise ValueError(f"episodes must be >= 1; got {episodes}")
        return tuple(int(seeds) + i for i in range(n))
    out = tuple(int(s) for s in seeds)
    if not out:
        raise ValueError("seeds is empty; give an int (the first episode's seed) or one seed per episode")
    if episodes is not None and int(episodes) != len(out):
        raise ValueError(f"episodes={episodes} but {len(out)} seeds were given; give one seed per episode")
    return out


def _actor(agent, deterministic: bool) -> Callable:
    """``act(obs, state, episode_start) -> (action, state)`` for any of the agent forms accepted."""
    predict = getattr(agent, "predict", None)
    if predict is None:
        if not callable(agent):
            raise TypeError(f"agent must have predict() or be a function observation -> action; "
                            f"got {type(agent).__name__}")
        return lambda obs, state, start: (agent(obs), state)
    try:
        params = inspect.signature(predict).parameters
    except (TypeError, ValueError):
        params = {}
    sb3 = "episode_start" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    if sb3:
        return lambda obs, state, start: predict(obs, state=state, episode_start=np.array([start]),
                                                 deterministic=deterministic)
    return lambda obs, state, start: predict(obs, deterministic=deterministic)


def play_episodes(agent, env: gym.Env, seeds: Sequence[int], *, deterministic: bool = True,
                  max_steps: int | None = None) -> tuple[list[float], list[int], list[dict]]:
    """Play one episode per reset seed on ``env``: the returns, the lengths and each episode's last info.
    ``agent`` has SB3's ``predict`` (ours, SB3's) or an older ``predict(obs, deterministic)``, or is a
    function observation -> action. ``max_steps`` cuts an episode short (a truncation)."""
    act = _actor(agent, deterministic)
    returns, lengths, infos = [], [], []
    for seed in seeds:
        obs, info = env.reset(seed=int(seed))
        state, start, total, n, done = None, True, 0.0, 0, False
        while not done:
            action, state = act(obs, state, start)
            obs, reward, term, trunc, info = env.step(action)
            total, n, start = total + float(reward), n + 1, False
            done = term or trunc or (max_steps is not None and n >= max_steps)
        returns.append(total)
        lengths.append(n)
        infos.append(info)
    return returns, lengths, infos


MAX_SIDE_BY_SIDE = 32  # at most this many envs at once; an env whose episode ended takes the next seed


def batches_predictions(agent) -> bool:
    """Whether ``agent.predict`` takes a batch of observations: a gymlab ``Agent`` with the base class's
    ``predict`` (not recurrent) and array observations."""
    from gymlab.agents.base import Agent  # here, not at the top: gymlab.agents.base imports this module

    return (isinstance(agent, Agent) and type(agent).predict is Agent.predict
            and isinstance(agent.observation_space, (gym.spaces.Box, gym.spaces.Discrete)))


def play_side_by_side(agent, make: Callable[[], gym.Env], seeds: Sequence[int], *, deterministic: bool = True,
                      max_steps: int | None = None, first: gym.Env | None = None
                      ) -> tuple[list[float], list[int], list[dict]]:
    """The episodes of :func:`play_episodes` played side by side on envs made by ``make`` (``first``, when
    given, is used as one of them and left open): one batched ``agent.predict`` per step over the episodes
    still running, each env stepped on its own, episode i reset with ``seeds[i]``. An env whose episode
    ended is not stepped again (no autoreset); it starts the next waiting seed, if any. ``agent`` predicts
    on a batch (:func:`batches_predictions`). Deterministic actions give the same returns, lengths and last
    infos as :func:`play_episodes`; with ``deterministic=False`` the random draws come in another order, so
    the episodes differ from the sequential ones (an equally valid sample)."""
    seeds = [int(s) for s in seeds]
    n = len(seeds)
    returns, lengths, infos = [0.0] * n, [0] * n, [{}] * n
    envs = [first] if first is not None else []
    try:
        while len(envs) < min(n, MAX_SIDE_BY_SIDE):
            envs.append(make())
        playing, obs = {}, {}  # env slot -> the episode it plays, its current observation
        waiting = iter(range(n))

        def start(slot: int) -> None:
            i = next(waiting, None)
            if i is None:
                playing.pop(slot, None)
                return
            playing[slot] = i
            obs[slot], infos[i] = envs[slot].reset(seed=seeds[i])

        for slot in range(len(envs)):
            start(slot)
        while playing:
            slots = sorted(playing)
            actions, _ = agent.predict(np.stack([np.asarray(obs[k]) for k in slots]), deterministic=deterministic)
            for k, action in zip(slots, actions):
                i = playing[k]
                obs[k], reward, term, trunc, infos[i] = envs[k].step(action)
                returns[i] += float(reward)
                lengths[i] += 1
                if term or trunc or (max_steps is not None and lengths[i] >= max_steps):
                    start(k)
    finally:
        for e in envs:
            if e is not first:
                e.close()
    return returns, lengths, infos


def _make(env, agent) -> tuple[gym.Env, str, bool]:
    """(env, its name, whether we made it and must close it)."""
    if env is None:
        env = getattr(agent, "_eval_env", None) or getattr(agent, "env", None)
        if env is None or isinstance(env, gym.vector.VectorEnv):
            raise ValueError("evaluate needs env= (a gymnasium id, a factory or an env): the agent names none")
    if isinstance(env, str):
        return gym.make(env), env, True
    if isinstance(env, gym.Env):
        return env, str(env.spec.id if env.spec else type(env).__name__), False
    if callable(env):
        made = env()
        if not isinstance(made, gym.Env):
            raise ValueError(f"the env factory returned {type(made).__name__}, not a gymnasium.Env")
        return made, str(made.spec.id if made.spec else type(made).__name__), True
    raise ValueError(f"env must be a gymnasium id, an env factory or a gymnasium.Env; got {type(env).__name__}")


def _success_rule(success):
    if success is None:
        return lambda ret, info: info.get("is_success")  # None when the env does not say
    if isinstance(success, bool):
        raise ValueError("success must be None, a return threshold (a number) or a function (return, info) -> bool")
    if isinstance(success, (int, float, np.number)):
        return lambda ret, info: ret >= float(success)
    if callable(success):
        return success
    raise ValueError("success must be None, a return threshold (a number) or a function (return, info) -> bool")


def evaluate(agent, env=None, episodes: int | None = None, seeds: int | Sequence[int] | None = None, *,
             deterministic: bool = True, success=None, confidence: float = 0.95, reps: int = 2000,
             max_steps: int | None = None, bootstrap_seed: int = 0) -> Evaluation:
    """Play one episode per seed and estimate the mean return, IQM and success rate with intervals.

    ``seeds``: an int s (episode i is reset with s + i; default 10_000, the runner's), or one seed per
    episode. ``episodes`` defaults to 10 (or to the number of seeds given). ``max_steps`` cuts an
    episode short (a truncation). The bootstrap draws from its own generator seeded ``bootstrap_seed``,
    so the same evaluation gives the same intervals and leaves global random state alone.

    A gymlab agent on an env given as an id or a factory plays the episodes side by side
    (:func:`play_side_by_side`: one batched ``predict`` per step); deterministic results equal the
    sequential ones, while with ``deterministic=False`` the random draws come in another order (a
    different, equally valid sample). Other agents and env instances play one episode after another.
    """
    seed_list = episode_seeds(episodes, seeds)
    stats.check_confidence(confidence)
    if reps < 1:
        raise ValueError(f"reps must be >= 1; got {reps}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1; got {max_steps}")
    rule = _success_rule(success)
    gym_env, name, owned = _make(env, agent)
    try:
        if owned and batches_predictions(agent):  # env given as an id or a factory: copies can be made
            returns, lengths, infos = play_side_by_side(agent, lambda: _make(env, agent)[0], seed_list,
                                                        deterministic=deterministic,
                                                        max_steps=max_steps, first=gym_env)
        else:
            returns, lengths, infos = play_episodes(agent, gym_env, seed_list, deterministic=deterministic,
                                                    max_steps=max_steps)
    finally:
        if owned:
            gym_env.close()
    successes = [None if ok is None else bool(ok) for ok in map(rule, returns, infos)]
    known = [s for s in successes if s is not None]
    if known and len(known) != len(successes):
        raise ValueError("the env reported info['is_success'] in some episodes only; pass success= to define it")
    rng = np.random.default_rng(bootstrap_seed)
    return Evaluation(
        returns=tuple(returns), lengths=tuple(lengths), seeds=seed_list,
        successes=tuple(known) if known else None,
        mean_ci=stats.bootstrap_interval(returns, "mean", confidence=confidence, reps=reps, rng=rng),
        iqm_ci=stats.bootstrap_interval(returns, "iqm", confidence=confidence, reps=reps, rng=rng),
        success_ci=stats.wilson_interval(sum(known), len(known), confidence) if known else None,
        confidence=confidence, deterministic=deterministic, env=name)

"""Assertions and pytest fixtures for tests that decide whether an agent works, or beats another.

::

    from gymlab.testing import assert_better, assert_solves

    def test_ppo_solves_cartpole(run_folder):
        gymlab.run("ppo", ["timesteps=50000", f"out={run_folder}"])
        assert_solves(gymlab.load(next(run_folder.iterdir())), "CartPole-v1", threshold=475, episodes=30)

    def test_ppo_beats_pushing_right():
        assert_better(ppo_agent, lambda obs: 1, "CartPole-v1", episodes=20)

``assert_solves`` passes only when the lower bound of the confidence interval clears the threshold:
with few episodes or noisy returns the interval is wide and the test fails, as it should, rather
than passing on a lucky mean. ``assert_better`` passes when the lower bound of the probability of
improvement P(X > Y) is above 0.5. Both fail with one line giving the estimate and its interval;
the estimators are defined in :mod:`gymlab.agents.stats`.

Installed with gymlab, this module is a pytest plugin (entry point ``pytest11``): the fixtures
``seeded_env`` (a factory of seeded gymnasium envs, closed after the test) and ``run_folder`` (an
empty temporary folder for runs, to pass as ``out=``) are available in every test.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["assert_solves", "assert_better"]  # and the fixtures seeded_env, run_folder (pytest plugin)

_STATISTICS = ("mean", "iqm", "success_rate")


def _name(agent) -> str:
    if isinstance(agent, (str, os.PathLike)):
        return str(agent)
    return getattr(agent, "name", None) or getattr(agent, "__name__", None) or type(agent).__name__


def _seed_range(seeds) -> str:
    return f"seeds {seeds[0]}..{seeds[-1]}" if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) \
        else f"seeds {', '.join(map(str, seeds))}"


def assert_solves(agent, env=None, threshold: float = 0.0, *, episodes: int | None = 30, seeds=None,
                  confidence: float = 0.95, statistic: str = "mean", **evaluate_kwargs):
    """Evaluate ``agent`` (or a run folder) on ``env`` and fail unless the lower confidence bound of
    ``statistic`` ("mean" return, "iqm" of the returns, or "success_rate") reaches ``threshold``.

    Returns the :class:`~gymlab.agents.evaluation.Evaluation` for further checks. Other keywords
    (``deterministic``, ``success``, ``max_steps``, ``reps``) go to ``gymlab.evaluate``.
    """
    __tracebackhide__ = True
    from gymlab.evaluation import evaluate

    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(_STATISTICS)}; got {statistic!r}")
    ev = evaluate(agent, env, episodes, seeds, confidence=confidence, **evaluate_kwargs)
    interval = {"mean": ev.mean_ci, "iqm": ev.iqm_ci, "success_rate": ev.success_ci}[statistic]
    if interval is None:
        raise ValueError(f"{ev.env} defines no success (no info['is_success']); pass success=<return threshold> "
                         f"or a function (return, info) -> bool")
    what = {"mean": "mean return", "iqm": "IQM return", "success_rate": "success rate"}[statistic]
    if not interval.low >= threshold:
        raise AssertionError(
            f"{_name(agent)} does not solve {ev.env}: {what} {interval.estimate:.4g}, {confidence:.0%} CI "
            f"[{interval.low:.4g}, {interval.high:.4g}] over {ev.episodes} episodes ({_seed_range(ev.seeds)}); "
            f"the lower bound is below the threshold {threshold:g}")
    return ev


def _scores(x, env, episodes, seeds, confidence, kwargs):
    """Scores given as numbers (a 1-d runs or 2-d runs x tasks array), or the per-episode returns of an agent."""
    if isinstance(x, (list, tuple, np.ndarray)) and np.asarray(x).dtype.kind in "iuf":
        return np.asarray(x, dtype=float), None
    from gymlab.evaluation import evaluate

    ev = evaluate(x, env, episodes, seeds, confidence=confidence, **kwargs)
    return np.asarray(ev.returns), ev


def assert_better(a, b, env=None, *, episodes: int | None = 30, seeds=None, confidence: float = 0.95,
                  higher_is_better: bool = True, min_probability: float = 0.5, reps: int = 2000,
                  **evaluate_kwargs):
    """Fail unless the lower confidence bound of the probability of improvement P(a > b) exceeds
    ``min_probability`` (0.5: a is better more often than not).

    ``a`` and ``b`` are agents or run folders (evaluated on ``env`` with the same episode seeds; their
    per-episode returns are the scores) or arrays of scores, e.g. the final returns of several
    training seeds of each (the comparison rliable recommends). Returns the
    :class:`~gymlab.agents.stats.Interval` of P(a > b).
    """
    __tracebackhide__ = True
    from gymlab.agents import stats

    x, ev_a = _scores(a, env, episodes, seeds, confidence, evaluate_kwargs)
    y, ev_b = _scores(b, env, episodes, seeds, confidence, evaluate_kwargs)
    sign = 1.0 if higher_is_better else -1.0
    iv = stats.probability_of_improvement_interval(sign * x, sign * y, confidence=confidence, reps=reps,
                                                   rng=np.random.default_rng(0))
    if not iv.low > min_probability:
        on = f" on {(ev_a or ev_b).env}" if (ev_a or ev_b) else ""
        raise AssertionError(
            f"{_name(a)} is not better than {_name(b)}{on}: P(X > Y) = {iv.estimate:.3g}, {confidence:.0%} CI "
            f"[{iv.low:.3g}, {iv.high:.3g}] over {len(x)} vs {len(y)} scores; the lower bound is not above "
            f"{min_probability:g}")
    return iv


# ---------------------------------------------------------------------------------------- fixtures
try:
    import pytest
except ImportError:  # the assertions work without pytest; the fixtures need it
    pytest = None

if pytest is not None:

    @pytest.fixture
    def seeded_env():
        """``seeded_env(env_id="CartPole-v1", seed=0, **make_kwargs)``: a gymnasium env reset with
        ``seed`` and with its action and observation spaces seeded, so a test replays exactly; closed
        after the test."""
        import gymnasium as gym

        made = []

        def make(env_id: str = "CartPole-v1", seed: int = 0, **make_kwargs):
            env = gym.make(env_id, **make_kwargs)
            env.reset(seed=seed)
            env.action_space.seed(seed)
            env.observation_space.seed(seed)
            made.append(env)
            return env

        yield make
        for env in made:
            env.close()

    @pytest.fixture
    def run_folder(tmp_path):
        """An empty folder for this test's runs: ``gymlab.run(name, [f"out={run_folder}"])``."""
        folder = tmp_path / "runs"
        folder.mkdir()
        return folder

"""Estimators for evaluation scores that say how sure they are, after Agarwal et al., "Deep RL at the
Edge of the Statistical Precipice" (NeurIPS 2021) and its library rliable.

Scores are arrays of shape ``(runs,)`` or ``(runs, tasks)``: a run is one independent repetition (a
training seed, or an evaluation episode), a task one env or data set. Definitions:

- **IQM**, the interquartile mean: the mean of the middle 50% of all scores pooled, after dropping
  ``floor(n / 4)`` scores at each end (``scipy.stats.trim_mean(x, 0.25)``, rliable's
  ``aggregate_iqm``). Less swayed by one outlying run than the mean, less noisy than the median.
- **Stratified bootstrap confidence interval** of a statistic: draw, within each task
  independently, ``runs`` scores with replacement; compute the statistic on the resampled matrix;
  repeat ``reps`` times; the interval runs from the ``(1 - c) / 2`` to the ``(1 + c) / 2`` quantile of
  these values (the percentile method), for confidence ``c``. With one task it is the ordinary
  percentile bootstrap.
- **Probability of improvement** of X over Y: for each task, the probability that a run of X
  scores higher than a run of Y, ties counting one half (``P(X > Y) + P(X = Y) / 2``, the Mann-Whitney
  U statistic divided by ``n_x * n_y``), averaged over tasks. 0.5 means neither is better. Its interval
  is a stratified bootstrap that resamples X's and Y's runs independently.
- **Performance profile**: the fraction of all runs whose score exceeds tau, as a function of tau
  (rliable's score distribution), each point with its stratified bootstrap interval.
- **Wilson score interval** of a success rate: with ``k`` successes in ``n`` trials, ``p = k / n`` and
  ``z`` the standard normal quantile at ``(1 + c) / 2``, the interval is
  ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``; unlike ``p ± z sqrt(p(1-p)/n)`` it stays
  inside [0, 1] and does not collapse to a point when ``k`` is 0 or ``n``.

Every random draw comes from the ``rng`` argument (a ``numpy.random.Generator``, or a
``numpy.random.RandomState``, with which the draws are exactly rliable's after
``numpy.random.seed``), never from global state. Bad input raises a one-line ValueError.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

__all__ = ["Interval", "iqm", "check_confidence", "bootstrap_interval", "probability_of_improvement",
           "probability_of_improvement_interval", "performance_profile", "wilson_interval", "as_score_matrix"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval ``[low, high]`` at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float = 0.95

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence}


def as_score_matrix(scores, name: str = "scores") -> np.ndarray:
    """Scores as a float matrix ``(runs, tasks)``: a 1-d array is one task. Refuses empty or non-finite input."""
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (runs,) or (runs, tasks); got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite; got {int((~np.isfinite(x)).sum())} NaN or infinite value(s)")
    return x


def check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence!r}")
    return float(confidence)


def _rng(rng):
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    return np.random.default_rng(rng)


def _interquartile_mean(x: np.ndarray, axis: int) -> np.ndarray:
    """The mean along ``axis`` after dropping floor(n/4) values from each end (scipy.stats.trim_mean(x, 0.25),
    without importing scipy.stats, which costs a run's start-up about as much as the rest of this package)."""
    n = x.shape[axis]
    cut = n // 4
    middle = np.partition(x, (cut, n - cut - 1), axis=axis)  # the kept values in place, in no particular order
    return np.take(middle, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


def iqm(scores) -> float:
    """Interquartile mean of all scores pooled: the mean after dropping floor(n/4) from each end."""
    return float(_interquartile_mean(as_score_matrix(scores).ravel(), 0))


# Statistics by name, vectorised over a leading axis of bootstrap replicates: (reps, runs, tasks) -> (reps,).
_BATCHED = {
    "iqm": lambda s: _interquartile_mean(s.reshape(len(s), -1), 1),
    "mean": lambda s: s.mean(axis=(1, 2)),
}


def _resample_indices(rng, runs: int, tasks: int, reps: int) -> np.ndarray:
    """Run indices (reps, runs, tasks): each task's runs drawn with replacement, independently."""
    return rng.choice(runs, (reps, runs, tasks), replace=True)


def _percentiles(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


def bootstrap_interval(scores, statistic: str | Callable = "iqm", *, confidence: float = 0.95, reps: int = 2000,
                       rng=None) -> Interval:
    """The statistic of ``scores`` with its stratified bootstrap percentile interval.

    ``statistic`` is "iqm", "mean" (the mean of all scores), or a function of a ``(runs, tasks)``
    matrix returning a number."""
    x = as_score_matrix(scores)
    confidence = check_confidence(confidence)
    if reps < 1:
        raise ValueError(f"reps must be >= 1; got {reps}")
    runs, tasks = x.shape
    idx = _resample_indices(_rng(rng), runs, tasks, int(reps))
    samples = x[idx, np.arange(tasks)]  # (reps, runs, tasks)
    if callable(statistic):
        point = float(statistic(x))
        values = np.array([float(statistic(s)) for s in samples])
    elif statistic in _BATCHED:
        point = float(_BATCHED[statistic](x[None])[0])
        values = _BATCHED[statistic](samples)
    else:
        raise ValueError(f"unknown statistic {statistic!r}; valid: {', '.join(_BATCHED)} or a function")
    low, high = _percentiles(values, confidence)
    return Interval(point, float(low), float(high), confidence)


def _improvement(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over tasks of P(X > Y) + P(X = Y) / 2 for matrices (runs_x, tasks) and (runs_y, tasks)."""
    greater = (x[:, None, :] > y[None, :, :]).mean(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).mean(axis=(0, 1))
    return float(np.mean(greater + 0.5 * ties))


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = as_score_matrix(x, "scores_x"), as_score_matrix(y, "scores_y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_x and scores_y must have the same number of tasks (columns); "
                         f"got {x.shape[1]} and {y.shape[1]}")
    return x, y


def probability_of_improvement(scores_x, scores_y) -> float:
    """P(X > Y) + P(X = Y) / 2 for a run of X against a run of Y, averaged over tasks."""
    return _improvement(*_pair(scores_x, scores_y))


def probability_of_improvement_interval(scores_x, scores_y, *, confidence: float = 0.95, reps: int = 2000,
                                        rng=None) -> Interval:
    """Probability of improvement of X over Y with its bootstrap interval (X's and Y's runs resampled
    independently within each task)."""
    x, y = _pair(scores_x, scores_y)
    confidence = check_confidence(confidence)
    rng, cols = _rng(rng), np.arange(x.shape[1])
    values = np.empty(int(reps))
    for r in range(int(reps)):  # X's draw, then Y's, each replicate (rliable's order)
        xi = rng.choice(x.shape[0], x.shape, replace=True)
        yi = rng.choice(y.shape[0], y.shape, replace=True)
        values[r] = _improvement(x[xi, cols], y[yi, cols])
    low, high = _percentiles(values, confidence)
    return Interval(_improvement(x, y), float(low), float(high), confidence)


def performance_profile(scores, taus, *, confidence: float = 0.95, reps: int = 2000, rng=None):
    """Fraction of runs (all tasks pooled) scoring above each tau, with stratified bootstrap intervals.

    Returns three arrays shaped like ``taus``: the profile, its lower and its upper bound."""
    x = as_score_matrix(scores)
    confidence = check_confidence(confidence)
    taus = np.asarray(taus, dtype=float)
    runs, tasks = x.shape
    samples = x[_resample_indices(_rng(rng), runs, tasks, int(reps)), np.arange(tasks)]
    profile = (x.reshape(-1, 1) > taus.reshape(1, -1)).mean(axis=0)
    boot = (samples.reshape(len(samples), -1, 1) > taus.reshape(1, 1, -1)).mean(axis=1)  # (reps, taus)
    low, high = _percentiles(boot, confidence)
    return profile.reshape(taus.shape), low.reshape(taus.shape), high.reshape(taus.shape)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """The success rate ``successes / trials`` with its Wilson score interval."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1; got {successes} of {trials}")
    confidence = check_confidence(confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n, p = float(trials), successes / trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), confidence)

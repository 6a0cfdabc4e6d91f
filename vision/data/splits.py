"""Held-out splits: scikit-learn's ``train_test_split`` (stratified or not), re-written so that loading
data does not import scikit-learn (1.3 s of every run's start), and scikit-learn's digits read
straight from the file it ships.

Stratified (``StratifiedShuffleSplit``): with n_test = ceil(test_size n) and n_train = n - n_test,
each class c of n_c examples gets a share of both that is n_c / n of the total, rounded down; the
examples still missing are given, largest remainder first, to classes drawn at random among ties.
Then each class's examples are permuted, the first n_i go to train and the next t_i to test, and
both lists are permuted again. Plain (``ShuffleSplit``): one permutation, test first. Every draw
comes from ``np.random.RandomState(seed)`` in scikit-learn's order, so the splits are identical to
scikit-learn's (tests/vision/data/test_splits.py checks it on many seeds and shapes).
"""
from __future__ import annotations

import gzip
import importlib.util
import math
from pathlib import Path

import numpy as np


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class counts summing to n_draws, proportional to class_counts (scikit-learn's rounding)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add = min(len(inds), need)
            floored[rng.choice(inds, size=add, replace=False)] += 1
            need -= add
            if need == 0:
                break
    return floored.astype(int)


def train_test_split(items: np.ndarray, test_size: float, stratify=None, seed: int = 0):
    """``(train, test)`` of ``items``, as ``sklearn.model_selection.train_test_split(items, test_size=...,
    stratify=..., random_state=seed)`` returns them. ValueError where scikit-learn raises one."""
    items = np.asarray(items)
    n = len(items)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train <= 0 or n_test <= 0:
        raise ValueError(f"test_size={test_size} leaves an empty split of {n} items")
    rng = np.random.RandomState(seed)
    if stratify is None:
        perm = rng.permutation(n)
        return items[perm[n_test:n_test + n_train]], items[perm[:n_test]]
    classes, y = np.unique(np.asarray(stratify), return_inverse=True)
    counts = np.bincount(y)
    if counts.min() < 2:
        raise ValueError("the least populated class has only 1 member; stratifying needs at least 2")
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError(f"each split needs at least one item per class ({len(classes)} classes)")
    class_indices = np.split(np.argsort(y, kind="mergesort"), np.cumsum(counts)[:-1])
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(counts[i]), mode="clip")
        train.extend(members[:n_i[i]])
        test.extend(members[n_i[i]:n_i[i] + t_i[i]])
    return items[rng.permutation(train)], items[rng.permutation(test)]


def digits_file() -> Path:
    """scikit-learn's ``digits.csv.gz`` (found without importing scikit-learn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the digits need scikit-learn installed (pip install scikit-learn)")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits as ``(images (N, 8, 8) float64 in 0..16, labels (N,) int)``, as sklearn's ``load_digits``."""
    with gzip.open(digits_file(), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)

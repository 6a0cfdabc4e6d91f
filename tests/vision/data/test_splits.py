"""Our splits are scikit-learn's, draw for draw (vision/data/splits.py), and the digits are its digits."""
import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits
from sklearn.model_selection import train_test_split as sk_split

from gymlab.vision.data.splits import load_digits, train_test_split


def _both(items, test_size, stratify, seed):
    try:
        want = sk_split(items, test_size=test_size, stratify=stratify, random_state=seed)
    except ValueError:
        want = None
    try:
        got = train_test_split(items, test_size=test_size, stratify=stratify, seed=seed)
    except ValueError:
        got = None
    return want, got


@pytest.mark.parametrize("seed", range(12))
def test_stratified_and_plain_splits_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    for _ in range(8):
        n = int(rng.integers(8, 400))
        classes = int(rng.integers(2, 12))
        y = rng.integers(0, classes, n) if rng.random() < 0.5 else rng.choice(classes, n, p=rng.dirichlet(np.ones(classes)))
        size = float(rng.choice([0.1, 0.2, 0.25, 1 / 12, 0.3333]))
        for stratify in (y, None):
            want, got = _both(np.arange(n), size, stratify, seed)
            if want is None:
                assert got is None, (n, classes, size)
            else:
                assert got is not None and all(np.array_equal(a, b) for a, b in zip(want, got)), (n, classes, size)


def test_rejects_what_scikit_learn_rejects():
    y = np.array([0, 0, 0, 1, 2, 2])  # class 1 has one member
    assert _both(np.arange(6), 0.5, y, 0) == (None, None)


def test_digits_are_scikit_learns():
    images, target = load_digits()
    d = sk_load_digits()
    assert np.array_equal(images, d.images) and np.array_equal(target, d.target)

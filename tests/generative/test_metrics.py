"""The digits-FID and inception score against closed forms."""
import math

import numpy as np
import torch

from gymlab.generative.data import load
from gymlab.generative.metrics import fid, frechet_distance, inception_score, train_classifier


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert math.isclose(frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)), expected, rel_tol=1e-6)
    a = rng.normal(size=(5, 5))
    s = a @ a.T + np.eye(5)
    assert abs(frechet_distance(mu1, s, mu1, s)) < 1e-5


def test_fid_and_inception_score_on_real_and_broken_digits():
    d = load("digits", seed=0).data
    clf = train_classifier(d.train.x, d.train.y, steps=150, seed=0)
    acc = (clf(d.test.x).argmax(1) == d.test.y).float().mean().item()
    assert acc > 0.85
    real_vs_val = fid(clf, d.test.x, d.val.x)
    g = torch.Generator().manual_seed(0)
    noise = torch.bernoulli(torch.full_like(d.val.x, d.train.x.mean().item()), generator=g)
    assert fid(clf, d.test.x, noise) > 10 * real_vs_val
    assert inception_score(clf, d.test.x) > 5 > inception_score(clf, d.test.x[d.test.y == 3])
    # one class only: p(y|x) = p(y) -> IS near 1
    assert inception_score(clf, d.test.x[d.test.y == 3]) < 1.5

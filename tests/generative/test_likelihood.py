"""Likelihood bookkeeping: exact values for models whose answer is known in closed form."""
import math

import numpy as np
import pytest
import torch

from gymlab.generative.baselines import FVSBN, IndependentBernoulli, IndependentPixels
from gymlab.generative.data import binarize, load, to_targets
from gymlab.generative.metrics import bits_per_dim, categorical_nll
from gymlab.generative.sampling import complete, sample
from gymlab.generative.vae import discretized_logistic_log_prob


@pytest.mark.parametrize("levels,bits", [(2, 1.0), (256, 8.0)])
def test_uniform_model_scores_log2_levels_bits_per_dim(levels, bits):
    torch.manual_seed(0)
    x = torch.randint(0, levels, (5, 3, 8, 8)).float() / (levels - 1)
    logits = torch.zeros(5, 3, levels, 8, 8)  # p = 1/levels everywhere (p = 0.5 for binary)
    nats = categorical_nll(logits, x, levels)
    assert torch.allclose(nats, torch.full((5,), 3 * 64 * math.log(levels)))
    assert torch.allclose(bits_per_dim(nats, 3 * 64), torch.full((5,), bits))
    # the same through the baselines' own initial state (uniform before fit)
    assert torch.allclose(bits_per_dim(categorical_nll(IndependentPixels((3, 8, 8), levels)(x), x, levels), 192),
                          torch.full((5,), bits))


def test_fvsbn_with_zero_weights_and_bias_is_uniform():
    m = FVSBN((1, 8, 8))
    torch.nn.init.zeros_(m.linear.bias)
    x = binarize(torch.rand(4, 1, 8, 8))
    assert torch.allclose(bits_per_dim(categorical_nll(m(x), x, 2), 64), torch.ones(4))


def test_independent_bernoulli_fit_is_the_closed_form():
    ds = load("digits", seed=0).data
    x = ds.train.x
    model = IndependentBernoulli((1, 8, 8)).fit(x, alpha=0.0 + 1e-9)
    p = x.mean(0, keepdim=True).double().clamp(1e-12, 1 - 1e-12)
    xt = ds.test.x.double()
    expected = -(xt * p.log() + (1 - xt) * (1 - p).log()).flatten(1).sum(1)
    got = categorical_nll(model(ds.test.x), ds.test.x, 2).double()
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_binarized_digits_follow_the_issue_threshold():
    from sklearn.datasets import load_digits

    from gymlab.vision.data.datasets import load_digits_split

    raw = load_digits_split(0)
    data = load("digits", seed=0)
    assert data.levels == 2
    assert torch.equal(data.data.test.x, (raw.test.x * 16 >= 8).float())
    assert set(np.unique(load_digits().images)) <= set(range(17))
    for size in (16, 28):
        d = load("digits", seed=0, size=size)
        assert d.shape == (1, size, size) and set(d.data.train.x.unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="valid"):
        load("imagenet")


def test_discretized_logistic_is_a_distribution_over_the_levels():
    levels = 256
    values = torch.arange(levels).float() / (levels - 1)
    for mean, log_scale in [(0.0, -2.0), (0.7, -4.0), (-0.99, -1.0), (0.3, -6.0)]:
        lp = discretized_logistic_log_prob(values, torch.tensor(mean), torch.tensor(log_scale), levels)
        assert torch.isclose(torch.logsumexp(lp.double(), 0), torch.tensor(0.0, dtype=torch.float64), atol=1e-4)
    # an interior bin equals the logistic CDF difference (scipy as the peer)
    from scipy.stats import logistic

    x, m, s = 100 / 255, 0.1, 0.05
    lo, hi = logistic.cdf(x * 2 - 1 - 1 / 255, m, s), logistic.cdf(x * 2 - 1 + 1 / 255, m, s)
    got = discretized_logistic_log_prob(torch.tensor(x), torch.tensor(m), torch.tensor(math.log(s)), 256)
    assert math.isclose(got.item(), math.log(hi - lo), rel_tol=1e-4)


def test_sampling_matches_the_model_and_completion_keeps_the_given_rows():
    torch.manual_seed(0)
    x = binarize(torch.rand(500, 1, 4, 4) * torch.linspace(0.2, 1.4, 16).view(1, 1, 4, 4))
    model = IndependentBernoulli((1, 4, 4)).fit(x)
    g = torch.Generator().manual_seed(0)
    s = sample(model, 4000, (1, 4, 4), 2, generator=g)
    p = model.log_probs[:, 1].exp()
    assert (s.mean(0) - p).abs().max() < 0.03
    # a deterministic FVSBN (huge weights): x_i = x_{i-1} -> completion copies the last given pixel on
    fv = FVSBN((1, 2, 3))
    with torch.no_grad():
        fv.linear.weight.zero_()
        fv.linear.bias.zero_()
        for k in range(1, 6):  # level-1 logit of pixel k: +20 * (2 x_{k-1} - 1)
            fv.linear.weight[6 + k, k - 1] = 20.0
    img = torch.tensor([[[[1.0, 0, 1], [0, 0, 0]]], [[[0.0, 1, 0], [1, 1, 1]]]])
    out = complete(fv, img, 2, rows_given=1, generator=g)
    assert torch.equal(out[:, :, 0], img[:, :, 0])
    assert torch.equal(out[:, :, 1], torch.tensor([[[1.0, 1, 1]], [[0.0, 0, 0]]]))
    assert torch.equal(to_targets(out, 2).float(), out)

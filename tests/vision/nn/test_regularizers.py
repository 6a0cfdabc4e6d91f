"""Each regularizer behaves as defined: max-norm bounds every row, DropConnect masks weights (not
activations), stochastic depth is the identity for a dropped block and scales at test time,
fractional max pooling and the augmentations do what they say."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gymlab.vision.nn import regularizers as R


def test_max_norm_bounds_every_row_and_keeps_directions():
    torch.manual_seed(0)
    W = torch.randn(20, 30) * torch.linspace(0.05, 2.0, 20)[:, None]  # some rows below c, some above
    before = W.clone()
    c = 3.0
    R.max_norm_(W, c)
    norms = W.norm(dim=1)
    assert (norms <= c + 1e-5).all()
    small = before.norm(dim=1) <= c
    assert small.any() and (~small).any()
    torch.testing.assert_close(W[small], before[small])  # rows within the bound untouched
    torch.testing.assert_close(norms[~small], torch.full(((~small).sum(),), c))  # others clamped to c
    cos = F.cosine_similarity(W, before, dim=1)
    torch.testing.assert_close(cos, torch.ones(20))  # same directions


def test_apply_max_norm_on_a_model_covers_conv_filters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(50)
    R.apply_max_norm_(net, 1.5)
    assert (net[0].weight.flatten(1).norm(dim=1) <= 1.5 + 1e-5).all()
    assert (net[2].weight.norm(dim=1) <= 1.5 + 1e-5).all()
    with pytest.raises(ValueError, match="positive"):
        R.max_norm_(net[2].weight, 0.0)


def test_dropconnect_masks_weights_not_activations():
    torch.manual_seed(0)
    layer = R.DropConnectLinear(50, 40, p=0.5)
    x = torch.rand(8, 50) + 0.1  # strictly positive inputs
    y = layer(x)
    mask = layer.last_mask
    assert mask.shape == layer.weight.shape  # one mask entry per connection
    assert 0.4 < (mask == 0).float().mean() < 0.6
    torch.testing.assert_close(y, F.linear(x, layer.weight * mask * 2.0, layer.bias))
    # dropout would zero whole output units; DropConnect leaves (almost surely) no output exactly zero
    # even though half of all connections are cut
    assert (y != 0).all()
    # eval mode: the full weights, no mask
    layer.eval()
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))


def test_dropconnect_is_unbiased_in_expectation():
    torch.manual_seed(0)
    layer = R.DropConnectLinear(10, 3, p=0.3)
    x = torch.randn(1, 10)
    mean = torch.stack([layer(x) for _ in range(4000)]).mean(0)
    layer.eval()
    torch.testing.assert_close(mean, layer(x), atol=0.05, rtol=0.05)


def test_dropconnect_gradient_flows_only_through_kept_weights():
    torch.manual_seed(1)
    layer = R.DropConnectLinear(6, 4, p=0.5)
    layer(torch.randn(5, 6)).sum().backward()
    assert (layer.weight.grad[layer.last_mask == 0] == 0).all()
    assert (layer.weight.grad[layer.last_mask == 1] != 0).all()


def _block(sd):
    """y = x + StochasticDepth(f)(x), a residual block with the branch wrapped."""
    return lambda x: x + sd(x)


def test_stochastic_depth_dropped_block_is_identity_at_train_time():
    torch.manual_seed(0)
    branch = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
    sd = R.StochasticDepth(branch, p=0.5).train()
    x = torch.randn(4, 16)
    fx = branch(x).detach()
    dropped = kept = 0
    for _ in range(200):
        y = _block(sd)(x)
        if bool(sd.last_kept):
            kept += 1
            torch.testing.assert_close(y, x + fx)
        else:
            dropped += 1
            torch.testing.assert_close(y, x, rtol=0, atol=0)  # exactly the identity
    assert 60 < dropped < 140 and kept > 0


def test_stochastic_depth_scales_by_survival_at_test_time():
    torch.manual_seed(0)
    branch = nn.Linear(8, 8)
    sd = R.StochasticDepth(branch, p=0.25).eval()
    x = torch.randn(3, 8)
    torch.testing.assert_close(_block(sd)(x), x + 0.75 * branch(x))
    # the test-time output is the expectation of the training-time one
    sd.train()
    mean = torch.stack([_block(sd)(x) for _ in range(4000)]).mean(0).detach()
    torch.testing.assert_close(mean, (x + 0.75 * branch(x)).detach(), atol=0.05, rtol=0.05)


def test_stochastic_depth_dropped_branch_is_not_computed():
    calls = []
    branch = nn.Linear(4, 6)
    branch.register_forward_hook(lambda m, i, o: calls.append(1))
    sd = R.StochasticDepth(branch, p=0.99).train()
    x = torch.randn(2, 4)
    torch.manual_seed(0)
    outs = [sd(x) for _ in range(50)]
    assert len(calls) < 5  # the first call learns the output shape; dropped passes skip the branch
    assert all(o.shape == (2, 6) for o in outs)


def test_stochastic_depth_row_mode_drops_per_example():
    torch.manual_seed(0)
    sd = R.StochasticDepth(nn.Identity(), p=0.5, mode="row").train()
    x = torch.ones(1000, 3)
    y = sd(x)
    kept = sd.last_kept
    assert torch.equal(y[kept], x[kept]) and (y[~kept] == 0).all()
    assert 400 < int(kept.sum()) < 600


def test_linear_decay_rule():
    assert R.linear_decay(4, 0.5) == [0.125, 0.25, 0.375, 0.5]


def test_fractional_max_pool_sizes_and_values():
    torch.manual_seed(0)
    pool = R.fractional_max_pool(1 / math.sqrt(2))
    x = torch.randn(2, 3, 32, 32)
    y = pool(x)
    assert y.shape == (2, 3, 22, 22)  # floor(32 / sqrt 2)
    # every output is a max over a 2x2 window of its own channel
    win = F.max_pool2d(x, 2, stride=1)  # all 2x2 window maxima
    for n in range(2):
        for c in range(3):
            assert torch.isin(y[n, c], win[n, c]).all()
    assert not torch.equal(pool(x), pool(x))  # fresh pseudo-random regions each pass
    with pytest.raises(ValueError):
        R.fractional_max_pool(1.5)


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 8, 8)
    y = R.random_crop(x, 2, g)
    padded = F.pad(x, (2, 2, 2, 2))
    for i in range(16):
        assert any(torch.equal(y[i], padded[i, :, a:a + 8, b:b + 8]) for a in range(5) for b in range(5))
    shifted = sum(not torch.equal(y[i], x[i]) for i in range(16))
    assert shifted >= 10  # most images moved (1 in 25 chance each to stay)


def test_random_flip_mirrors_about_half():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 1, 4, 4)
    y = R.random_flip(x, g)
    same = torch.tensor([torch.equal(y[i], x[i]) for i in range(200)])
    flipped = torch.tensor([torch.equal(y[i], x[i].flip(-1)) for i in range(200)])
    assert (same | flipped).all() and 70 < int(flipped.sum()) < 130


def test_color_jitter_changes_brightness_within_range_and_stays_in_unit_interval():
    g = torch.Generator().manual_seed(0)
    x = torch.full((100, 3, 4, 4), 0.5)
    y = R.color_jitter(x, 0.2, g)
    assert y.min() >= 0 and y.max() <= 1
    m = y.mean(dim=(1, 2, 3))
    assert m.std() > 0.02 and (m > 0.5 * 0.8 - 1e-6).all() and (m < 0.5 * 1.2 + 1e-6).all()


def test_augment_is_reproducible_and_the_module_is_identity_in_eval():
    x = torch.rand(8, 3, 8, 8)
    a = R.augment(x, pad=2, flip=True, jitter=0.3, generator=torch.Generator().manual_seed(5))
    b = R.augment(x, pad=2, flip=True, jitter=0.3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(R.augment(x), x)
    m = R.Augment(pad=2, flip=True).eval()
    assert torch.equal(m(x), x)
    with pytest.raises(ValueError, match="N, C, H, W"):
        R.augment(torch.rand(3, 8, 8))


def test_l2_penalty_counts_weight_matrices_only():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    assert R.l2_penalty(net).item() == pytest.approx((net[0].weight ** 2).sum().item() + (net[2].weight ** 2).sum().item())


def test_with_dropconnect_keeps_the_weights_and_eval_output():
    from gymlab.vision.classify.mlp import MLP

    torch.manual_seed(0)
    net = MLP(6, [5, 5], 3, "relu", "he").eval()
    x = torch.randn(4, 6)
    before = net(x)
    R.with_dropconnect(net, 0.5)
    assert all(isinstance(layer.linear, R.DropConnectLinear) for layer in net.layers)
    assert torch.allclose(net.eval()(x), before)
    with pytest.raises(ValueError, match="maxout"):
        R.with_dropconnect(MLP(6, [5], 3, "maxout", "he"), 0.5)


def test_verdict_reads_the_gap_and_the_training_accuracy():
    assert R.verdict(1.0, 0.2).startswith("big gap")
    assert R.verdict(0.5, 0.0).startswith("low training accuracy")
    assert R.verdict(0.65, 0.0, label_noise=0.3).startswith("small gap")  # 0.65 > 0.9 * 0.7

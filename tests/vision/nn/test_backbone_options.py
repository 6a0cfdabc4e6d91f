"""The regularizers of issue 9 as options of the backbones: stochastic depth in ResNet, fractional
max pooling in VGG, colour jitter in the classifiers' augmentation."""
import pytest
import torch

from gymlab.vision.nn.backbones import build
from gymlab.vision.nn.backbones.resnet import BasicBlock
from gymlab.vision.nn.regularizers import StochasticDepth


def test_resnet_drop_path_wraps_each_block_with_linearly_decaying_probabilities():
    net = build("resnet", 1, 8, 10, blocks=(2, 2, 2), drop_path=0.6)
    blocks = [m for m in net.modules() if isinstance(m, BasicBlock)]
    probs = [b.branch.p for b in blocks]
    assert probs == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert all(isinstance(b.branch, StochasticDepth) for b in blocks)
    plain = build("resnet", 1, 8, 10, blocks=(2, 2, 2))
    assert not any(isinstance(m, StochasticDepth) for m in plain.modules())
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters())


def test_dropped_block_is_the_shortcut_at_train_time_and_scaled_at_test_time():
    torch.manual_seed(0)
    block = BasicBlock(4, 4, drop_prob=0.5)
    x = torch.randn(3, 4, 5, 5)
    block.train()
    outs = []
    for _ in range(20):
        out = block(x)
        outs.append(bool(block.branch.last_kept))
        if not block.branch.last_kept:
            torch.testing.assert_close(out, torch.relu(x))  # identity shortcut, branch dropped
    assert any(outs) and not all(outs)
    block.eval()
    expected = torch.relu(0.5 * block.branch.branch(x) + x)
    torch.testing.assert_close(block(x), expected)


def test_vgg_fractional_pooling_shrinks_by_one_over_root_two_with_random_regions():
    torch.manual_seed(0)
    frac = build("vgg", 1, 28, 10, pool="fractional")
    x = torch.randn(2, 1, 28, 28)
    assert frac.features(x).shape == (2, 128, 13, 13) and frac.feature_size == 13  # 28 -> 19 -> 13
    assert frac(x).shape == (2, 10)
    assert any(isinstance(m, torch.nn.FractionalMaxPool2d) for m in frac.modules())
    frac.train()
    assert not torch.equal(frac.features(x), frac.features(x))  # new pooling regions every pass
    with pytest.raises(ValueError, match="'max' or 'fractional'"):
        build("vgg", 1, 28, 10, pool="avg")


def test_classifier_options_reach_the_backbones(tmp_path):
    from gymlab.runners.errors import GymlabError
    from gymlab.runners.loop import run

    common = ["steps=3", "eval_every=3", "logger.mode=disabled", "progress=false", "epochs=null"]
    s = run("resnet", [*common, "drop_path=0.2", "jitter=0.3", f"run_dir={tmp_path / 'r'}"], quiet=True)
    assert s["steps"] == 3
    s = run("vgg", [*common, "pool=fractional", f"run_dir={tmp_path / 'v'}"], quiet=True)
    assert s["steps"] == 3
    with pytest.raises(GymlabError, match="drop_path"):
        run("resnet", [*common, "drop_path=1.5", f"run_dir={tmp_path / 'bad'}"], quiet=True)

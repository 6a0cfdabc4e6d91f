import pytest
import torch

from gymlab.vision.nn.backbones import BACKBONES, build
from gymlab.vision.nn.backbones.googlenet import Inception
from gymlab.vision.nn.backbones.resnet import BasicBlock
from gymlab.vision.nn.layers import halving_plan

SIZES = [(1, 8), (1, 28), (3, 32)]
MAP = {8: 4, 28: 7, 32: 4}  # feature-map side per input side (32 halves three times, 28 twice)


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("channels,size", SIZES)
def test_output_and_feature_shapes(name, channels, size):
    torch.manual_seed(0)
    net = build(name, in_channels=channels, image_size=size, num_classes=7).eval()
    x = torch.randn(2, channels, size, size)
    assert net(x).shape == (2, 7)
    f = net.features(x)
    side = MAP[size] if name != "resnet" else {8: 4, 28: 7, 32: 8}[size]
    assert f.shape == (2, net.feature_dim, side, side) and net.feature_size == side
    assert net.stride * side == size or size == 28
    torch.testing.assert_close(net.embed(x), f.mean(dim=(2, 3)))


def test_halving_plan():
    assert halving_plan(8, 3) == [True, False, False]
    assert halving_plan(28, 3) == [True, True, False]
    assert halving_plan(32, 4) == [True, True, True, False]


def test_resnet_has_bn_after_every_conv_and_he_init():
    net = build("resnet", 1, 32, 10, blocks=(2, 2, 2))
    mods = list(net.modules())
    convs = [i for i, m in enumerate(mods) if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 2 * 6 + 2  # stem, two per block, two projection shortcuts
    assert all(isinstance(mods[i + 1], torch.nn.BatchNorm2d) for i in convs)
    w = net.body[-1].conv2.weight
    assert w.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)


def test_residual_block_adds_its_input():
    block = BasicBlock(4, 4).eval()
    for bn in (block.bn2,):
        torch.nn.init.zeros_(bn.weight)  # the residual branch now outputs 0
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_inception_concatenates_four_branches():
    m = Inception(8, 2, 3, 4, 1, 5, 6)
    out = m(torch.randn(1, 8, 6, 6))
    assert out.shape == (1, 2 + 4 + 5 + 6, 6, 6) and m.out_channels == 17


def test_build_errors():
    with pytest.raises(ValueError, match="valid: alexnet, vgg, googlenet, resnet"):
        build("lenet")
    with pytest.raises(ValueError, match="at least 8"):
        build("vgg", 1, 4, 10)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_a_channels_last_backbone_computes_the_same_function(name):
    import copy

    torch.manual_seed(0)
    net = build(name, in_channels=3, image_size=32, num_classes=7).to(memory_format=torch.channels_last).eval()
    convs = [p for p in net.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    plain = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    assert all(p.is_contiguous() for p in plain.parameters())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(net(x), plain(x), atol=1e-5)
        assert torch.allclose(net.embed(x), plain.embed(x), atol=1e-5)  # either input layout works
        assert torch.allclose(net(x.contiguous(memory_format=torch.channels_last)), plain(x), atol=1e-5)

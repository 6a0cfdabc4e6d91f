"""Small building blocks of the convolutional backbones (vision/nn/backbones/).

    conv_bn_relu(cin, cout, k):   Conv2d(k x k, 'same' padding, no bias) -> BatchNorm2d -> ReLU
    conv_relu(cin, cout, k):      Conv2d(k x k, 'same' padding, bias) -> ReLU        (pre-BN nets: AlexNet, VGG)
    he_init_(module):             W ~ N(0, 2 / fan_in) for every conv and linear layer, biases 0, BN gamma 1, beta 0
    halving_plan(size, stages):   which of ``stages`` stages may halve the spatial size (2x2 max pooling or
                                  a stride-2 conv) so that an 8x8, 28x28 or 32x32 input keeps at least a 4x4 map

``Backbone`` is the interface every backbone implements::

    net.features(x)   -> (N, feature_dim, h, w)  the last convolutional feature map (detection heads use it)
    net.embed(x)      -> (N, feature_dim)         its global average (a feature vector: FID, captioning, kNN)
    net(x)            -> (N, num_classes)         class scores
    net.feature_dim, net.stride (input pixels per map cell), net.feature_size (h == w of the map)
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn


@contextlib.contextmanager
def inference(model: nn.Module):
    """Eval mode and no_grad inside the block; the model's train/eval mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def conv_bn_relu(cin: int, cout: int, kernel_size: int = 3, stride: int = 1, bn: bool = True) -> nn.Sequential:
    """Conv (``'same'`` padding for odd kernels) -> BatchNorm -> ReLU; with ``bn=False`` a biased conv -> ReLU."""
    conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2, bias=not bn)
    if bn:
        return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
    return nn.Sequential(conv, nn.ReLU(inplace=True))


def conv_relu(cin: int, cout: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    return conv_bn_relu(cin, cout, kernel_size, stride, bn=False)


@torch.no_grad()
def he_init_(module: nn.Module) -> nn.Module:
    """He (Kaiming) normal initialisation for ReLU nets: std = sqrt(2 / fan_in); zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.weight.fill_(1.0)
            m.bias.zero_()
    return module


def halving_plan(image_size: int, stages: int, min_size: int = 4) -> list[bool]:
    """For each stage, whether it halves the map (floor division) without going below ``min_size``.

    8 -> 4;  28 -> 14 -> 7;  32 -> 16 -> 8 -> 4 (at most ``stages`` halvings).
    """
    if image_size < min_size:
        raise ValueError(f"image_size must be at least {min_size}, got {image_size}")
    plan, size = [], image_size
    for _ in range(stages):
        ok = size // 2 >= min_size
        plan.append(ok)
        size = size // 2 if ok else size
    return plan


class Backbone(nn.Module):
    """Base class: subclasses build ``self.body`` (image -> feature map) and ``self.head`` (map -> scores)."""

    feature_dim: int
    stride: int
    feature_size: int

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last convolutional feature map (N, feature_dim, feature_size, feature_size)."""
        return self.body(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled features (N, feature_dim)."""
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def _check(self, in_channels: int, image_size: int, num_classes: int) -> None:
        if in_channels < 1 or num_classes < 1:
            raise ValueError(f"in_channels and num_classes must be positive, got {in_channels}, {num_classes}")
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8 (the backbones are sized for 8x8 to 32x32), got {image_size}")

"""GoogLeNet-style backbone (Szegedy et al. 2014): Inception modules with 1x1 reductions.

An Inception module runs four branches on the same input and concatenates them along channels:

    1x1 conv  |  1x1 reduce -> 3x3 conv  |  1x1 reduce -> 5x5 conv  |  3x3 max pool (stride 1) -> 1x1 conv

The 1x1 "bottleneck" convolutions cut the channels before the expensive 3x3 and 5x5 ones. Every
conv is conv-BN-ReLU (as in torchvision's GoogLeNet). The network: a 3x3 stem, Inception 3a, 3b,
pooling, Inception 4a, 4b, global average pooling (no big FC layers), dropout, one linear layer.
Channel counts are GoogLeNet's times ``scale`` (0.25 by default).

    net = GoogLeNet(in_channels=1, image_size=8, num_classes=10)
    net.features(x): (N, 512 * scale, s, s)
"""
from __future__ import annotations

import torch
from torch import nn

from gymlab.vision.nn.layers import Backbone, conv_bn_relu, halving_plan, he_init_

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) of GoogLeNet's 3a, 3b, 4a, 4b
_CONFIG = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
           "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64)}


class Inception(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        super().__init__()
        self.branch1 = conv_bn_relu(cin, c1, 1)
        self.branch3 = nn.Sequential(conv_bn_relu(cin, c3r, 1), conv_bn_relu(c3r, c3, 3))
        self.branch5 = nn.Sequential(conv_bn_relu(cin, c5r, 1), conv_bn_relu(c5r, c5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn_relu(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


class GoogLeNet(Backbone):
    def __init__(self, in_channels: int = 1, image_size: int = 32, num_classes: int = 10, scale: float = 0.25,
                 dropout: float = 0.4):
        super().__init__()
        self._check(in_channels, image_size, num_classes)
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        ch = {k: [max(1, round(c * scale)) for c in v] for k, v in _CONFIG.items()}
        plan = halving_plan(image_size, 3)
        pool = lambda i: [nn.MaxPool2d(2)] if plan[i] else []  # noqa: E731
        stem = max(1, round(192 * scale))
        i3a = Inception(stem, *ch["3a"])
        i3b = Inception(i3a.out_channels, *ch["3b"])
        i4a = Inception(i3b.out_channels, *ch["4a"])
        i4b = Inception(i4a.out_channels, *ch["4b"])
        self.body = nn.Sequential(conv_bn_relu(in_channels, stem, 3), *pool(0), i3a, i3b, *pool(1), i4a, i4b,
                                  *pool(2))
        size = image_size
        for halve in plan:
            size = size // 2 if halve else size
        self.feature_dim, self.feature_size, self.stride = i4b.out_channels, size, 2 ** sum(plan)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(self.feature_dim, num_classes))
        he_init_(self)

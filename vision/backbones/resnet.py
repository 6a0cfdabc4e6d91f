"""ResNet-style backbone (He et al. 2015), the CIFAR variant: residual blocks, batch norm after every
conv, He initialisation.

A basic block learns a residual F(x) and adds the input back:

    y = ReLU( BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x) )

``shortcut`` is the identity, or conv1x1-BN (stride 2) where the block halves the map or changes
the channels. The network: a conv3x3-BN-ReLU stem, stages of ``blocks`` basic blocks with
``widths`` channels (the first block of every stage after the first halves the map, where it is
large enough), global average pooling, one linear layer. CIFAR ResNet-20 is widths (16, 32, 64),
blocks (3, 3, 3); the default here is the shallower (16, 32, 64), (1, 1, 1).

    net = ResNet(in_channels=3, image_size=32, num_classes=10, blocks=(3, 3, 3))
    net.features(x): (N, 64, s, s) with s = 2, 7, 8 for 8, 28, 32 inputs
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from vision.layers import Backbone, conv_bn_relu, halving_plan, he_init_


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(Backbone):
    def __init__(self, in_channels: int = 1, image_size: int = 32, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1)):
        super().__init__()
        self._check(in_channels, image_size, num_classes)
        if len(widths) != len(blocks) or min(blocks) < 1:
            raise ValueError(f"widths and blocks need one entry per stage (blocks >= 1), got {widths}, {blocks}")
        plan = [False] + halving_plan(image_size, len(widths) - 1)
        layers, cin, size = [conv_bn_relu(in_channels, widths[0], 3)], widths[0], image_size
        for w, n, halve in zip(widths, blocks, plan):
            for i in range(n):
                stride = 2 if (i == 0 and halve) else 1
                layers.append(BasicBlock(cin, w, stride))
                cin = w
            size = size // 2 if halve else size
        self.body = nn.Sequential(*layers)
        self.feature_dim, self.feature_size, self.stride = cin, size, 2 ** sum(plan)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))
        he_init_(self)

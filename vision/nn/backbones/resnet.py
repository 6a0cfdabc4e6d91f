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

``drop_path=p`` adds stochastic depth (Huang et al. 2016): block l of L is dropped with probability
p * l / L while training (the linear decay rule), so the last block is dropped with probability p.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gymlab.vision.nn.layers import Backbone, conv_bn_relu, halving_plan, he_init_
from gymlab.vision.nn.regularizers import StochasticDepth, linear_decay


class BasicBlock(nn.Module):
    """y = ReLU(F(x) + shortcut(x)); with ``drop_prob`` > 0 the branch F is wrapped in stochastic depth
    (dropped whole while training with probability p, scaled by 1 - p at test time)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, drop_prob: float = 0.0):
        super().__init__()
        branch = nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                               nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                               nn.BatchNorm2d(cout))
        self.branch = StochasticDepth(branch, p=drop_prob) if drop_prob > 0 else branch
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def _layers(self) -> nn.Sequential:
        return self.branch.branch if isinstance(self.branch, StochasticDepth) else self.branch

    conv1 = property(lambda self: self._layers()[0])
    bn1 = property(lambda self: self._layers()[1])
    conv2 = property(lambda self: self._layers()[3])
    bn2 = property(lambda self: self._layers()[4])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.branch(x) + self.shortcut(x))


class ResNet(Backbone):
    def __init__(self, in_channels: int = 1, image_size: int = 32, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1), drop_path: float = 0.0):
        super().__init__()
        self._check(in_channels, image_size, num_classes)
        if len(widths) != len(blocks) or min(blocks) < 1:
            raise ValueError(f"widths and blocks need one entry per stage (blocks >= 1), got {widths}, {blocks}")
        plan = [False] + halving_plan(image_size, len(widths) - 1)
        layers, cin, size = [conv_bn_relu(in_channels, widths[0], 3)], widths[0], image_size
        drops = iter(linear_decay(sum(blocks), drop_path) if drop_path > 0 else [0.0] * sum(blocks))
        for w, n, halve in zip(widths, blocks, plan):
            for i in range(n):
                stride = 2 if (i == 0 and halve) else 1
                layers.append(BasicBlock(cin, w, stride, next(drops)))
                cin = w
            size = size // 2 if halve else size
        self.body = nn.Sequential(*layers)
        self.feature_dim, self.feature_size, self.stride = cin, size, 2 ** sum(plan)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))
        he_init_(self)

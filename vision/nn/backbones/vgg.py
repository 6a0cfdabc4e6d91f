"""VGG-style backbone (Simonyan & Zisserman 2014): stacks of 3x3 convolutions.

Two 3x3 convolutions see a 5x5 window and three a 7x7 one, with fewer parameters (3 * 9 C^2 against
49 C^2) and more nonlinearities than one big kernel. Each stage is ``convs`` conv3x3-(BN)-ReLU
layers followed by 2x2 max pooling (where the map is large enough), channels doubling per stage;
the classifier is FC - ReLU - dropout - FC on the flattened last map. ``batchnorm=True`` gives the
VGG-BN variant (the default: it trains in a few epochs without tuning). ``pool="fractional"`` swaps
the 2x2 max pooling for fractional max pooling by 1/sqrt(2) (a gentler shrinking: 28 -> 19 -> 13
instead of 28 -> 14 -> 7).

    net = VGG(in_channels=3, image_size=32, num_classes=10)     # widths (32, 64, 128), 2 convs each
    net.features(x): (N, 128, s, s) with s = 2, 3, 4 for 8, 28, 32 inputs
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

FRACTIONAL_RATIO = 2 ** -0.5

from gymlab.vision.nn.layers import Backbone, conv_bn_relu, halving_plan, he_init_


class VGG(Backbone):
    def __init__(self, in_channels: int = 1, image_size: int = 32, num_classes: int = 10,
                 widths: Sequence[int] = (32, 64, 128), convs: Sequence[int] = (2, 2, 2), batchnorm: bool = True,
                 hidden: int = 256, dropout: float = 0.5, pool: str = "max"):
        super().__init__()
        self._check(in_channels, image_size, num_classes)
        if len(widths) != len(convs):
            raise ValueError(f"widths and convs need one entry per stage, got {len(widths)} and {len(convs)}")
        if pool not in ("max", "fractional"):
            raise ValueError(f"pool must be 'max' or 'fractional', got {pool!r}")
        plan = halving_plan(image_size, len(widths))
        layers, cin, size = [], in_channels, image_size
        for w, n, halve in zip(widths, convs, plan):
            for _ in range(n):
                layers.append(conv_bn_relu(cin, w, 3, bn=batchnorm))
                cin = w
            if halve:
                if pool == "max":
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
                else:  # pseudo-random pooling regions (Graham 2014), shrinking the map by 1/sqrt(2)
                    size = int(size * FRACTIONAL_RATIO)
                    layers.append(nn.FractionalMaxPool2d(2, output_size=size))
        self.body = nn.Sequential(*layers)
        self.feature_dim, self.feature_size = cin, size
        self.stride = 2 ** sum(plan) if pool == "max" else image_size / size  # fractional: not a whole number
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * size * size, hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        he_init_(self)

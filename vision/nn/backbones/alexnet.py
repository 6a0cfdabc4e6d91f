"""AlexNet-style backbone (Krizhevsky et al. 2012), shrunk for 8x8 to 32x32 inputs.

The original: conv 11x11/4 (96) - pool - conv 5x5 (256) - pool - conv 3x3 (384) - conv 3x3 (384) -
conv 3x3 (256) - pool - FC 4096 - FC 4096 - FC 1000, ReLU everywhere, dropout 0.5 in the FC layers,
no batch norm. Here: the same five convolutions and three FC layers, a 5x5 (3x3 on 8x8 inputs)
first kernel at stride 1, 2x2 max pooling where the map is large enough (``halving_plan``), and
channel counts ``width * (1, 2, 3, 3, 2)``. ``batchnorm=True`` adds batch norm after every conv
(a modern variant; the original normalised with local response normalisation instead).

    net = AlexNet(in_channels=1, image_size=28, num_classes=10)
    net(x): (N, 10) scores;  net.features(x): (N, 2 * width, s, s) with s = 2, 3, 4 for 8, 28, 32 inputs
"""
from __future__ import annotations

from torch import nn

from gymlab.vision.nn.layers import Backbone, conv_bn_relu, halving_plan, he_init_


class AlexNet(Backbone):
    def __init__(self, in_channels: int = 1, image_size: int = 32, num_classes: int = 10, width: int = 32,
                 hidden: int = 256, dropout: float = 0.5, batchnorm: bool = False):
        super().__init__()
        self._check(in_channels, image_size, num_classes)
        plan = halving_plan(image_size, 3)
        w = width
        pool = lambda i: [nn.MaxPool2d(2)] if plan[i] else []  # noqa: E731
        conv_relu = lambda cin, cout, k: conv_bn_relu(cin, cout, k, bn=batchnorm)  # noqa: E731
        self.body = nn.Sequential(
            conv_relu(in_channels, w, 5 if image_size >= 16 else 3), *pool(0),
            conv_relu(w, 2 * w, 3), *pool(1),
            conv_relu(2 * w, 3 * w, 3), conv_relu(3 * w, 3 * w, 3), conv_relu(3 * w, 2 * w, 3), *pool(2),
        )
        self.feature_dim = 2 * w
        self.stride = 2 ** sum(plan)
        self.feature_size = _size(image_size, plan)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(self.feature_dim * self.feature_size ** 2, hidden),
            nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes))
        he_init_(self)


def _size(image_size: int, plan: list) -> int:
    for halve in plan:
        image_size = image_size // 2 if halve else image_size
    return image_size

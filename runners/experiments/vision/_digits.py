"""The digits classifier that `embedding`, `maximal-patches` and `fooling-images` train before they look
inside it (a leading underscore: not an experiment module): a small VGG (two stages of width and 2 width
channels, convs 3x3 convolutions each, one 2x2 pooling) as ``net``; evaluation once, at the end, by default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.templates.supervised import Classifier, SupervisedConfig
from gymlab.vision.nn.backbones import build

AT_LEAST_1 = {"range": (1, None, "at least 1")}


@dataclass
class DigitsData(DataConfig):
    name: Literal["digits"] = "digits"  # scikit-learn's 8x8 digits (vision.data.datasets)


@dataclass
class DigitsClassifierConfig(SupervisedConfig):
    steps: int = 400
    epochs: Optional[float] = None  # budget in epochs (overrides steps)
    eval_every: int = 400
    data: DigitsData = group(DigitsData)
    optim: OptimConfig = group(OptimConfig, lr=3e-3)
    width: int = field(default=16, metadata=AT_LEAST_1)  # channels of the first stage; the second has 2 width
    convs: int = field(default=2, metadata=AT_LEAST_1)  # 3x3 convolutions per stage
    hidden: int = field(default=64, metadata=AT_LEAST_1)  # the penultimate (fully connected) layer


class DigitsClassifier(Classifier):
    Config = DigitsClassifierConfig

    def build(self, cfg, shape, classes):
        self.net = build("vgg", shape[0], shape[-1], classes, widths=(cfg.width, 2 * cfg.width),
                         convs=(cfg.convs, cfg.convs), hidden=cfg.hidden, dropout=0.0)
        return self.net

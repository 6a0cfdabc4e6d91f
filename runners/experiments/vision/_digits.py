"""A digits classifier for the experiments that look inside a trained network (a leading underscore:
not an experiment module): `embedding`, `maximal-patches`, `fooling-images`.

``DigitsClassifier`` trains a small VGG (two stages of ``width`` and ``2 width`` channels, ``convs``
3x3 convolutions each, BatchNorm, one 2x2 max pooling: 8 -> 4) on the digits' training split with the
supervised template (Adam); subclasses add their metrics and media after training (evaluation runs
once, at the end, by default: ``eval_every`` equals ``steps``). ``net`` is the bare network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import torch.nn.functional as F

from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.templates.supervised import Supervised, SupervisedConfig
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


class DigitsClassifier(Supervised):
    Config = DigitsClassifierConfig

    def build(self, cfg, shape, classes):
        self.net = build("vgg", shape[0], shape[-1], classes, widths=(cfg.width, 2 * cfg.width),
                         convs=(cfg.convs, cfg.convs), hidden=cfg.hidden, dropout=0.0)
        return self.net

    def loss(self, model, batch):
        scores = model(batch[0]).float()
        return F.cross_entropy(scores, batch[1]), {"accuracy": (scores.argmax(1) == batch[1]).float().mean()}

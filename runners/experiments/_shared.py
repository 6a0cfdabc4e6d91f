"""Parts several experiments share (a leading underscore: not an experiment module).

    SceneExperiment   detector, segmenter, captioning: the supervised template on vision.data.scenes
                      (train / val = the last n_val training scenes / test), AdamW for optim.name=adam and a
                      one-cycle learning rate over the budget (15% warm-up) in place of optim.schedule
    DigitsClassifier  embedding, maximal-patches, fooling-images: a small VGG (two stages of width and
                      2 width channels, convs 3x3 convolutions each, one 2x2 pooling) trained on the digits
                      before they look inside it (``net``); evaluation once, at the end, by default
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Optional

import torch

from gymlab.runners.config import DataConfig, OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.templates.supervised import Classifier, Splits, Supervised, SupervisedConfig
from gymlab.vision.nn.backbones import build

AT_LEAST_1 = {"range": (1, None, "at least 1")}


@dataclass
class SceneConfig(SupervisedConfig):
    epochs: Optional[float] = None  # budget in epochs of the training scenes (overrides steps)
    batch_size: int = 32  # scenes per minibatch
    data: Literal["scenes"] = "scenes"  # the synthetic digit scenes (vision.data.scenes)
    optim: OptimConfig = group(OptimConfig, lr=3e-3, weight_decay=1e-4)
    n_train: int = 2000  # training scenes; the last n_val of them are held out for validation
    n_val: int = 200  # between 1 and n_train - 1
    n_test: int = 500  # test scenes (made of the test digits)


class SceneExperiment(Supervised):
    clip = 0.0  # the largest gradient norm (0: no clipping)

    def scene_splits(self, cfg, scenes, tensors) -> Splits:
        """Train, val and test splits of the tensors ``tensors(scenes)`` gives."""
        if not 0 < cfg.n_val < cfg.n_train:
            raise GymlabError(f"bad value for 'n_val': {cfg.n_val}; it must be between 1 and n_train - 1")
        self.scenes, n, tr = scenes, cfg.n_train - cfg.n_val, tensors(scenes.train)
        return Splits(tuple(t[:n] for t in tr), tuple(t[n:] for t in tr), tensors(scenes.test),
                      (1, scenes.size, scenes.size), scenes.num_classes)

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        o = cfg.optim
        if o.name == "adam":  # decoupled weight decay, as these models were tuned
            self.opt = torch.optim.AdamW(self.model.parameters(), o.lr, weight_decay=o.weight_decay)
        self.budget = max(2, math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, o.lr, total_steps=self.budget, pct_start=0.15)
        self.scheduler = None

    def update(self):
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        if self.step < self.budget - 1:
            self.sched.step()


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

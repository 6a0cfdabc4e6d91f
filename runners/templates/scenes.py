"""The scenes template: the supervised template on the synthetic digit scenes (vision.data.scenes), shared by
`detector`, `segmenter` and `captioning`. Train / val are the first n_train - n_val / the last n_val training
scenes, test the n_test scenes made of the test digits. These models were tuned with AdamW (optim.name=adam)
and a one-cycle learning rate over the whole budget (15% warm-up), which takes the place of optim.schedule;
``clip`` bounds the gradient norm (0: none).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.templates.supervised import Splits, Supervised, SupervisedConfig


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

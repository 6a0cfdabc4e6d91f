"""Parts several experiments share (a leading underscore: not an experiment module).

    batch_indices    resumable minibatches: a permutation per (seed, epoch)
    SceneConfig, SceneExperiment   the digit-scene experiments (detector, segmenter, captioning): the
                     supervised template on vision.data.scenes, with AdamW (optim.name=adam) and a one-cycle
                     learning rate over the whole budget (15% warm-up) instead of optim.schedule
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from gymlab.runners.config import OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.templates.supervised import Splits, Supervised, SupervisedConfig
from gymlab.vision.data.batching import batch_indices  # noqa: F401  (re-exported: the one seeded shuffle)


@dataclass
class SceneConfig(SupervisedConfig):
    epochs: Optional[float] = None  # budget in epochs of the n_train - n_val training scenes (overrides steps)
    batch_size: int = 32  # scenes per minibatch
    data: Literal["scenes"] = "scenes"  # the synthetic digit scenes (vision.data.scenes)
    optim: OptimConfig = group(OptimConfig, lr=3e-3, weight_decay=1e-4)
    n_train: int = 2000  # training scenes; the last n_val of them are held out for validation
    n_val: int = 200  # between 1 and n_train - 1
    n_test: int = 500  # test scenes (made of the test digits)


class SceneExperiment(Supervised):
    """The supervised template on digit scenes; ``clip``: the largest gradient norm (0: none)."""

    clip = 0.0

    def scene_splits(self, cfg, scenes, tensors) -> Splits:
        """Train, val (the last n_val training scenes) and test splits of the tensors ``tensors(scenes)``."""
        if not 0 < cfg.n_val < cfg.n_train:
            raise GymlabError(f"bad value for 'n_val': {cfg.n_val}; it must be between 1 and n_train - 1")
        self.scenes, n = scenes, cfg.n_train - cfg.n_val
        tr = tensors(scenes.train)
        return Splits(tuple(t[:n] for t in tr), tuple(t[n:] for t in tr), tensors(scenes.test),
                      (1, scenes.size, scenes.size), scenes.num_classes)

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        o, params = cfg.optim, list(self.model.parameters())
        if o.name == "adam":  # decoupled weight decay, as these models were tuned
            self.opt = torch.optim.AdamW(params, o.lr, weight_decay=o.weight_decay)
        if self.clip:
            def clip(*_):  # between backward and the step
                torch.nn.utils.clip_grad_norm_(params, self.clip)
            self.opt.register_step_pre_hook(clip)
        self.budget = max(2, math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, o.lr, total_steps=self.budget, pct_start=0.15)
        self.scheduler = None  # the one-cycle schedule replaces optim.schedule

    def train_step(self):
        out = super().train_step()
        if self.step < self.budget:
            self.sched.step()
        return out

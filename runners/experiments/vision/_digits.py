"""A digits classifier for the experiments that look inside a trained network (a leading underscore:
not an experiment module): `embedding`, `maximal-patches`, `fooling-images`.

``DigitsClassifier`` trains a small VGG (two stages of ``width`` and ``2 width`` channels, ``convs``
3x3 convolutions each, BatchNorm, one 2x2 max pooling: 8 -> 4) on the digits' training split with
Adam; subclasses add their metrics and media after training (evaluation runs once, at the end, by
default: ``eval_every`` equals ``steps``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gymlab.runners.config import RunConfig
from gymlab.runners.errors import GymlabError
from gymlab.runners.experiments._shared import Checkpointed, batch_indices
from gymlab.vision.nn.backbones import build
from gymlab.vision.data.datasets import load_digits_split


@dataclass
class DigitsClassifierConfig(RunConfig):
    steps: int = 400
    eval_every: int = 400
    batch_size: int = 64
    lr: float = 3e-3
    data: str = "digits"
    width: int = 16  # channels of the first stage; the second has 2 width
    convs: int = 2  # 3x3 convolutions per stage
    hidden: int = 64  # the penultimate (fully connected) layer


class DigitsClassifier(Checkpointed):
    Config = DigitsClassifierConfig

    def setup(self, cfg, ctx):
        if cfg.data != "digits":
            raise GymlabError(f"bad value for 'data': {cfg.data!r}; valid: digits")
        if cfg.width < 1 or cfg.convs < 1 or cfg.hidden < 1:
            raise GymlabError(f"bad value for 'width', 'convs' or 'hidden': each must be >= 1, "
                              f"got {cfg.width}, {cfg.convs}, {cfg.hidden}")
        self.cfg, self.ctx, self.device = cfg, ctx, ctx.device
        ds = load_digits_split(cfg.seed)
        self.xtr, self.ytr = ds.train.x.to(ctx.device), ds.train.y.to(ctx.device)
        self.xva, self.yva = ds.val.x.to(ctx.device), ds.val.y.to(ctx.device)
        self.xte, self.yte = ds.test.x.to(ctx.device), ds.test.y.to(ctx.device)
        torch.manual_seed(cfg.seed)
        self.net = build("vgg", 1, 8, 10, widths=(cfg.width, 2 * cfg.width), convs=(cfg.convs, cfg.convs),
                         hidden=cfg.hidden, dropout=0.0)
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), cfg.lr)
        self.steps_per_epoch = math.ceil(len(self.ytr) / cfg.batch_size)
        self.step = 0

    def train_step(self):
        idx = batch_indices(self.cfg.seed, self.step, len(self.ytr), self.cfg.batch_size)
        idx = self.ctx.shard(idx).to(self.device)
        self.model.train()
        with self.ctx.autocast():
            scores = self.model(self.xtr[idx])
        loss = F.cross_entropy(scores.float(), self.ytr[idx])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"train/loss": loss.item(), "train/epoch": self.step / self.steps_per_epoch}

    @torch.no_grad()
    def accuracy(self, x, y) -> float:
        self.net.eval()
        return float((self.net(x).argmax(1) == y).float().mean())

"""The generative template: the supervised template (runners.templates.supervised) on the images of
``generative.data``, for the likelihood models, the autoencoders and the GAN.

What it adds to the supervised template:
- ``data``: ``generative.data.load(data.name, seed, size)`` as (x, y) splits (``data.max_train``: the first
  N training images); ``levels`` (2 or 256), ``dims`` (C * H * W) and ``dynamic`` for the experiment.
- ``augment``: with ``data=mnist-dynamic`` each training batch is drawn afresh, x ~ Bernoulli(grey x),
  from the template's per-step generator (so a resumed run sees the same bits).
- ``batch()``: this step's training batch as the supervised ``train_step`` draws it (for a custom step).
- ``evaluate``: under a forked RNG seeded with seed + 4242 (an evaluation's random draws, e.g. a VAE's
  eps, are the same every time; the training RNG is untouched): the supervised evaluation, then the
  digits-FID of ``samples(fid_samples)`` against the test and validation images and their inception
  score (``generative.metrics.fid_classifier``, ``sample_scores``) as eval/fid, eval/val_fid,
  eval/inception_score: at the last evaluation of the budget in steps or epochs, or at every one with
  ``fid_every_eval``.
- ``history``: every 10th training row and every evaluation row, checkpointed with ``step``; ``curve(keys,
  title)`` draws them as a runners.media Curve.
- ``net``: the model without its data-parallel wrapper (what ``gymlab.load`` returns).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from gymlab.generative import data as gdata, metrics
from gymlab.generative.figures import history_lines
from gymlab.runners.config import DataConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import Curve
from gymlab.runners.templates.supervised import Splits, Supervised, SupervisedConfig


@dataclass
class GenDataConfig(DataConfig):
    name: Literal[gdata.DATA] = "digits"  # digits | digits-gray | mnist | mnist-dynamic | cifar10 (generative.data)


@dataclass
class GenConfig(SupervisedConfig):
    steps: int = 400
    epochs: Optional[float] = None  # budget in epochs (None: steps)
    eval_every: int = 200
    data: GenDataConfig = group(GenDataConfig)
    size: Optional[int] = None  # resize to size x size (digits: 8, 16 or 28); None: native
    fid_samples: int = 256  # samples scored by the digits-FID at the final evaluation (0: skip)
    fid_every_eval: bool = False  # score samples at every evaluation, not only the last (set it with seconds=)
    fid_classifier_steps: int = 300  # training steps of the FID's feature classifier


class Generative(Supervised):
    """Give ``build``, ``loss`` and (to be scored by the FID) ``samples(n)``; the template trains."""

    Config = GenConfig
    counters = ("step", "history")
    eval_batch = 500

    @property
    def net(self) -> torch.nn.Module:
        return getattr(self.model, "module", self.model)

    def samples(self, n: int) -> torch.Tensor:
        """``n`` samples of the model, for the FID of the template's evaluation (a model without a sampler
        either keeps fid_samples=0 or evaluates on its own, as the autoencoder does)."""
        raise GymlabError(f"{type(self).__name__} has no sampler to score; set fid_samples=0")

    def data(self, cfg) -> Splits:
        try:
            d = gdata.load(cfg.data.name, cfg.seed, cfg.size, root=cfg.data.root)
        except (ValueError, FileNotFoundError) as e:
            raise GymlabError(str(e).splitlines()[0]) from None
        self.levels, self.dynamic, self.dims, self.history = d.levels, d.dynamic, math.prod(d.shape), []
        ds, n = d.data, cfg.data.max_train or len(d.data.train.x)
        return Splits((ds.train.x[:n], ds.train.y[:n]), (ds.val.x, ds.val.y), (ds.test.x, ds.test.y), d.shape,
                      ds.num_classes)

    def augment(self, batch, generator):
        if not self.dynamic:
            return batch
        return (torch.bernoulli(batch[0].cpu(), generator=generator).to(self.device), *batch[1:])

    def log(self, row: dict) -> dict:
        """Keep ``row`` in the history (every 10th training row, every evaluation); returns it."""
        if self.step % 10 == 0 or self.step == 1 or any(k.startswith("eval/") for k in row):
            self.history.append({"step": self.step, **row})
        return row

    def train_step(self):
        return self.log(super().train_step())

    def evaluate(self):
        cfg = self.cfg
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed + 4242)
            out = super().evaluate()
        last = self.step >= (math.ceil(cfg.epochs * self.steps_per_epoch) if cfg.epochs is not None else cfg.steps)
        if cfg.fid_samples > 0 and (cfg.fid_every_eval or last):
            clf = metrics.fid_classifier(cfg.data.name, cfg.size, cfg.seed, cfg.fid_classifier_steps, cfg.data.root)
            scores = metrics.sample_scores(clf, self.samples(cfg.fid_samples), self.test[0], self.val[0])
            out.update({f"eval/{k}": v for k, v in scores.items()})
        return self.log(out)

    def curve(self, keys: list, title: str) -> Curve:
        return Curve(history_lines(self.history, keys), "step", title)

"""``pixelcnn``, ``gated-pixelcnn``, ``pixelrnn``: exact likelihoods (eval/nll_nats per test image,
eval/bits_per_dim, eval/val_nll_nats), the FID keys of samples; media samples, completions, loss_curve."""
import math
from dataclasses import dataclass
from typing import Literal

import torch

from gymlab.generative import gated_pixelcnn, pixelcnn, pixelrnn, sampling
from gymlab.generative.training import autoregressive_loss
from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.generative import GenConfig, Generative


@dataclass
class AutoregressiveConfig(GenConfig):
    steps: int = 300  # ~18 epochs of the 1,078 training digits; much longer overfits them (see best.pt)
    eval_every: int = 150
    optim: OptimConfig = group(OptimConfig, lr=3e-3)
    hidden: int = 32  # channels per image channel
    layers: int = 4  # residual blocks (pixelcnn), gated layers, LSTM layers (pixelrnn)
    sample_images: int = 64  # in the media grid (and a quarter of it, at most 8, test images completed)


class Autoregressive(Generative):
    conditional = False

    @property
    def sanity_kind(self) -> float:  # sanity=true: an untrained model gives each level 1/levels
        return math.log(self.levels)

    def loss(self, model, batch):
        return autoregressive_loss(self.levels, self.conditional)(model, *batch)

    def samples(self, n: int, seed_offset: int = 0) -> torch.Tensor:
        y = (torch.arange(n) % self.classes).to(self.device) if self.conditional else None  # one class per column
        return sampling.sample(self.net, n, self.shape, self.levels, y=y, device=self.device,
                               generator=torch.Generator().manual_seed(self.cfg.seed + 12_345 + seed_offset))

    def media(self):
        (x, y), c = self.test, self.cfg
        return {**sampling.pictures(self.net, self.samples(c.sample_images, 1), x, self.levels,
                                    y if self.conditional else None, c.seed + 99),
                "loss_curve": self.curve(["train/nll_nats", "eval/nll_nats", "eval/val_nll_nats"],
                                         f"{type(self).__name__}: nats per image")}


@register("pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelCNN: mask A/B convolutions, residual blocks, per-pixel softmax")
class PixelCNNExperiment(Autoregressive):
    Config = AutoregressiveConfig

    def build(self, cfg, shape, classes):
        return pixelcnn.PixelCNN(shape[0], self.levels, hidden=cfg.hidden * shape[0], n_blocks=cfg.layers)


@dataclass
class GatedConfig(AutoregressiveConfig):
    hidden: int = 16
    layers: int = 3
    kernel_size: int = 5  # of the vertical and horizontal stacks
    conditional: bool = False  # condition on the class label (samples: one class per grid column)


@register("gated-pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="Gated PixelCNN: vertical + horizontal stacks (no blind spot), gated units, optional class")
class GatedPixelCNNExperiment(Autoregressive):
    Config = GatedConfig

    def build(self, cfg, shape, classes):
        self.conditional = cfg.conditional
        return gated_pixelcnn.GatedPixelCNN(shape[0], self.levels, hidden=cfg.hidden * shape[0], n_layers=cfg.layers,
                                            kernel_size=cfg.kernel_size,
                                            num_classes=classes if cfg.conditional else None)


@dataclass
class PixelRNNConfig(AutoregressiveConfig):
    kind: Literal["row-lstm", "diagonal-bilstm"] = "row-lstm"  # the recurrent layer
    hidden: int = 16
    layers: int = 2


@register("pixelrnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelRNN: Row LSTM or Diagonal BiLSTM (skew/unskew), per-pixel softmax")
class PixelRNNExperiment(Autoregressive):
    Config = PixelRNNConfig

    def build(self, cfg, shape, classes):
        return pixelrnn.PixelRNN(cfg.kind, shape[0], self.levels, hidden=cfg.hidden * shape[0], n_layers=cfg.layers)

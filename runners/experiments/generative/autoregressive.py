"""``pixelcnn``, ``gated-pixelcnn``, ``pixelrnn``: exact likelihoods, samples and completions."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gymlab.generative import metrics
from gymlab.generative.training import autoregressive_loss
from gymlab.generative.gated_pixelcnn import GatedPixelCNN
from gymlab.generative.pixelcnn import PixelCNN
from gymlab.generative.pixelrnn import PixelRNN
from gymlab.generative.sampling import complete, sample
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiments.generative.common import GenConfig, Generative, curve, grid, upscale


@dataclass
class AutoregressiveConfig(GenConfig):
    steps: int = 300  # ~18 epochs of the 1,078 training digits; much longer overfits them (see best.pt)
    eval_every: int = 150
    hidden: int = 32
    layers: int = 4
    sample_images: int = 64  # in the media grid (and a quarter of it, at most 8, test images completed)


class Autoregressive(Generative):
    conditional = False

    def build(self, cfg, channels: int):
        raise TypeError(f"{type(self).__name__} must define build")

    def sanity_model(self):
        """What `sanity=true` checks (runners.sanity): NLL per dimension, log(levels) nats when untrained."""
        from gymlab.runners.sanity import SanityModel

        loss = lambda m, x, y: metrics.categorical_nll(m(x, self._y(y)).float(), x, self.levels).mean() / self.dims  # noqa: E731
        return SanityModel(self.net, loss, self.xtr, self.ytr, math.log(self.levels),
                           optimizer=lambda p, lr: torch.optim.Adam(p, lr=lr))

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        try:
            self.net = self.build(cfg, self.shape[0])
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def _y(self, y):
        return y if self.conditional else None

    def train_step(self):
        x, y = self._batch()
        with self.ctx.autocast():  # the library's loss (generative.training), inside the runner's loop
            loss, row = autoregressive_loss(self.levels, self.conditional)(self.model, x, y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        out = {f"train/{k}": v for k, v in row.items()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(out)
        return out

    @torch.no_grad()
    def nll(self, x, y, batch: int = 500) -> torch.Tensor:
        self.net.eval()
        out = torch.cat([metrics.categorical_nll(self.net(x[i:i + batch], self._y(y[i:i + batch])).float(),
                                                 x[i:i + batch], self.levels) for i in range(0, len(x), batch)])
        self.net.train()
        return out

    def samples(self, n: int, seed_offset: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.cfg.seed + 12_345 + seed_offset)
        y = (torch.arange(n) % self.num_classes).to(self.device) if self.conditional else None
        return sample(self.net, n, self.shape, self.levels, y=y, generator=g, device=self.device)

    def evaluate(self):
        te, va = self.nll(self.xte, self.yte).mean().item(), self.nll(self.xva, self.yva).mean().item()
        out = {"eval/nll_nats": te, "eval/bits_per_dim": metrics.bits_per_dim(te, self.dims),
               "eval/val_nll_nats": va}
        if self._wants_fid():
            out.update(self._sample_scores(self.samples(self.cfg.fid_samples)))
        self._log_history({"eval/nll_nats": te, "eval/val_nll_nats": va})
        return out

    def media(self):
        n = self.cfg.sample_images
        s = self.samples(n, seed_offset=1)
        g = torch.Generator().manual_seed(self.cfg.seed + 99)
        m = max(1, min(8, n // 4))  # test images to complete, 4 completions each
        given = self.xte[:m].repeat_interleave(4, 0)
        y = self.yte[:m].repeat_interleave(4, 0) if self.conditional else None
        comp = complete(self.net, given, self.levels, y=y, generator=g)
        rows = torch.cat([self.xte[:m].unsqueeze(1), comp.view(m, 4, *self.shape)], 1).flatten(0, 1)
        return {"samples": upscale(grid(s, int(math.sqrt(n)) or 1)),
                "completions": upscale(grid(rows, 5)),  # each row: the test image, then 4 completions of its top half
                "loss_curve": curve(self.history, ["train/nll_nats", "eval/nll_nats", "eval/val_nll_nats"],
                                    f"{type(self).__name__}: nats per image")}


@dataclass
class PixelCNNConfig(AutoregressiveConfig):
    hidden: int = 32
    layers: int = 4  # residual blocks


@register("pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelCNN: mask A/B convolutions, residual blocks, per-pixel softmax")
class PixelCNNExperiment(Autoregressive):
    Config = PixelCNNConfig

    def build(self, cfg, channels):
        return PixelCNN(channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                        n_blocks=cfg.layers)


@dataclass
class GatedConfig(AutoregressiveConfig):
    hidden: int = 16
    layers: int = 3  # gated layers
    kernel_size: int = 5
    conditional: bool = False  # condition on the class label (samples: one class per grid column)


@register("gated-pixelcnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="Gated PixelCNN: vertical + horizontal stacks (no blind spot), gated units, optional class")
class GatedPixelCNNExperiment(Autoregressive):
    Config = GatedConfig

    def build(self, cfg, channels):
        self.conditional = cfg.conditional
        return GatedPixelCNN(channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                             n_layers=cfg.layers, kernel_size=cfg.kernel_size,
                             num_classes=self.num_classes if cfg.conditional else None)


@dataclass
class PixelRNNConfig(AutoregressiveConfig):
    kind: str = "row-lstm"  # row-lstm | diagonal-bilstm
    hidden: int = 16
    layers: int = 2  # LSTM layers


@register("pixelrnn", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="PixelRNN: Row LSTM or Diagonal BiLSTM (skew/unskew), per-pixel softmax")
class PixelRNNExperiment(Autoregressive):
    Config = PixelRNNConfig

    def build(self, cfg, channels):
        return PixelRNN(cfg.kind, channels, self.levels, hidden=cfg.hidden * channels if channels > 1 else cfg.hidden,
                        n_layers=cfg.layers)

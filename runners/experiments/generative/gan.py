"""``gan``: a DCGAN scored by the digits-FID (eval/fid, eval/val_fid, eval/inception_score, every evaluation);
train/d_loss, train/g_loss, train/d_fake (D's mean on fakes); media samples, loss_curve, fid_curve."""
from dataclasses import dataclass, field
from typing import Literal

import torch

from gymlab.generative import gan
from gymlab.generative.figures import image_grid
from gymlab.generative.training import gan_step
from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.generative import GenConfig, Generative


@dataclass
class GANConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    optim: OptimConfig = group(OptimConfig, lr=2e-4)  # both players use Adam with ``betas``
    latent: int = 32  # dimensions of z ~ N(0, I)
    width: int = 32  # channels of D's first and G's last convolution
    loss: Literal["non-saturating", "minimax"] = "non-saturating"  # the generator's loss
    conditional: bool = False  # both players see the class label
    fid_every_eval: bool = True
    betas: list = field(default_factory=lambda: [0.5, 0.999])  # Adam's betas


@register("gan", data="digits", metric="eval/fid", mode="min", select="eval/val_fid",
          description="DCGAN: minimax or non-saturating generator loss, optionally class-conditional")
class GANExperiment(Generative):
    Config = GANConfig
    eval_splits = ()  # no likelihood: evaluation scores samples only

    def build(self, cfg, shape, classes):  # G (self.model), then D in setup, from the seeded RNG
        return gan.Generator(shape, cfg.latent, cfg.width, classes if cfg.conditional else None)

    def setup(self, cfg, ctx):
        super().setup(cfg, ctx)
        self.disc = ctx.prepare_model(gan.Discriminator(self.shape, cfg.width, self.net.num_classes))
        self.opt, self.opt_d = (torch.optim.Adam(m.parameters(), lr=cfg.optim.lr, betas=tuple(cfg.betas))
                                for m in (self.model, self.disc))

    def train_step(self):  # one step of each player (generative.training.gan_step) on the template's batch
        c, (x, y) = self.cfg, self.batch()
        z = torch.randn(len(x), c.latent, generator=torch.Generator().manual_seed(c.seed * 7_919 + self.step))
        row = gan_step(self.model, self.disc, self.opt, self.opt_d, x, z.to(self.device), y if c.conditional else None,
                       c.loss, self.ctx.autocast)
        self.step += 1
        return self.log({f"train/{k}": v for k, v in row.items()})

    def samples(self, n: int, seed_offset: int = 0) -> torch.Tensor:
        return gan.sample(self.net, n, self.levels, self.cfg.seed + 12_345 + seed_offset)

    def media(self):
        return {"samples": image_grid(self.samples(100, seed_offset=1), 10),  # conditional: column c holds class c
                "loss_curve": self.curve(["train/d_loss", "train/g_loss", "train/d_fake"], "GAN losses"),
                "fid_curve": self.curve(["eval/fid"], "digits-FID")}

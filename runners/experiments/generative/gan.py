"""``gan``: a DCGAN on digits, scored by the digits-FID."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from gymlab.generative import data as gdata
from gymlab.generative.gan import Discriminator, Generator, discriminator_loss, generator_loss
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiments.generative.common import GenConfig, Generative, curve, grid, upscale


@dataclass
class GANConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    lr: float = 2e-4
    latent: int = 32
    width: int = 32
    loss: Literal["non-saturating", "minimax"] = "non-saturating"  # non-saturating | minimax
    conditional: bool = False
    fid_every_eval: bool = True
    betas: list = field(default_factory=lambda: [0.5, 0.999])


@register("gan", data="digits", metric="eval/fid", mode="min", select="eval/val_fid",
          description="DCGAN: minimax or non-saturating generator loss, optionally class-conditional")
class GANExperiment(Generative):
    Config = GANConfig

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        nc = self.num_classes if cfg.conditional else None
        try:
            self.G = Generator(self.shape, cfg.latent, cfg.width, nc)
        except ValueError as e:
            raise GymlabError(str(e)) from None
        self.D = Discriminator(self.shape, cfg.width, nc)
        self.g_model, self.d_model = ctx.prepare_model(self.G), ctx.prepare_model(self.D)
        betas = tuple(cfg.betas)
        self.opt_g = torch.optim.Adam(self.g_model.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d_model.parameters(), lr=cfg.lr, betas=betas)

    def _z(self, n, g):
        return torch.randn(n, self.cfg.latent, generator=g).to(self.device)

    def train_step(self):
        x, y = self._batch()
        y = y if self.cfg.conditional else None
        g = self._step_generator()
        with self.ctx.autocast():
            fake = self.g_model(self._z(len(x), g), y)
            d_loss = discriminator_loss(self.d_model(x, y).float(), self.d_model(fake.detach(), y).float())
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        with self.ctx.autocast():
            fake_logits = self.d_model(fake, y).float()
            g_loss = generator_loss(fake_logits, self.cfg.loss)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        row = {"train/d_loss": d_loss.item(), "train/g_loss": g_loss.item(),
               "train/d_fake": torch.sigmoid(fake_logits).mean().item()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    @torch.no_grad()
    def samples(self, n, seed_offset: int = 0):
        self.G.eval()
        g = torch.Generator().manual_seed(self.cfg.seed + 12_345 + seed_offset)
        y = (torch.arange(n) % self.num_classes).to(self.device) if self.cfg.conditional else None
        s = self.G(self._z(n, g), y)
        self.G.train()
        return gdata.quantize(s, self.levels)  # G's outputs rounded onto the data's levels (0/1 for binary)

    def evaluate(self):
        out = {}
        if self._wants_fid():
            out.update(self._sample_scores(self.samples(self.cfg.fid_samples)))
            self._log_history({"eval/fid": out["eval/fid"]})
        return out

    def media(self):
        s = self.samples(100, seed_offset=1)
        return {"samples": upscale(grid(s, 10)),  # conditional: column c holds class c
                "loss_curve": curve(self.history, ["train/d_loss", "train/g_loss", "train/d_fake"], "GAN losses"),
                "fid_curve": curve(self.history, ["eval/fid"], "digits-FID")}

    def state_dict(self):
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "step": self.step, "history": list(self.history)}

    def load_state_dict(self, state):
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.history = state["step"], list(state["history"])

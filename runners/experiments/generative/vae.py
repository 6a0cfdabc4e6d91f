"""``vae``: eval/elbo_nats, eval/iwae_nats (bounds on log p(x) per test image), eval/nll_nats = -iwae_nats,
eval/bits_per_dim, eval/val_nll_nats, the FID keys; media: generative.vae.pictures' and loss_curve."""
from dataclasses import dataclass

import torch

from gymlab.generative import vae
from gymlab.generative.training import iwae_loss, vae_loss
from gymlab.runners.config import OptimConfig, group
from gymlab.runners.registry import register
from gymlab.runners.templates.generative import GenConfig, Generative


@dataclass
class VAEConfig(GenConfig):
    steps: int = 1500
    eval_every: int = 500
    optim: OptimConfig = group(OptimConfig, lr=2e-3)
    latent: int = 8  # dimensions of z
    hidden: int = 256  # units of the encoder's and the decoder's two hidden layers
    beta: float = 1.0  # weight of the KL term in training
    iwae_k: int = 50  # importance samples of the likelihood estimate


@register("vae", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="VAE: Gaussian encoder, Bernoulli / discretized-logistic decoder, ELBO and IWAE bound")
class VAEExperiment(Generative):
    Config = VAEConfig
    eval_batch = 250

    def build(self, cfg, shape, classes):
        return vae.VAE(shape, latent=cfg.latent, hidden=cfg.hidden, levels=self.levels)

    def loss(self, model, batch):  # training: -ELBO; evaluation: -IWAE_k and the ELBO
        if model.training:
            return vae_loss(self.cfg.beta)(model, batch[0])
        return iwae_loss(self.cfg.iwae_k)(self.net, batch[0])

    def samples(self, n: int) -> torch.Tensor:
        return self.net.sample(n, generator=torch.Generator().manual_seed(self.cfg.seed + 12_345), mean=False)

    def media(self):
        return {**vae.pictures(self.net, self.test[0], self.test[1], seed=self.cfg.seed + 1),
                "loss_curve": self.curve(["train/elbo_nats", "eval/elbo_nats", "eval/iwae_nats"],
                                         "VAE bounds (nats per image)")}

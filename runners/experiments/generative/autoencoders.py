"""``autoencoder``: undercomplete, sparse, denoising, contractive codes of binary images. Keys: eval/<key> for
generative.autoencoder.measures' (recon_nats, anomaly_auc, ...); media: its pictures' and loss_curve."""
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from gymlab.generative import autoencoder as ae
from gymlab.runners.config import OptimConfig, group
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.templates.generative import GenConfig, Generative


@dataclass
class AutoencoderConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    optim: OptimConfig = group(OptimConfig, lr=2e-3)
    kind: Literal[tuple(ae.KINDS)] = "undercomplete"  # undercomplete | sparse-l1 | sparse-kl | denoising | contractive
    latent: Optional[int] = None  # None: 100 for the sparse kinds (overcomplete), 16 for the others
    hidden: int = 128
    lam: Optional[float] = None  # penalty weight (None: generative.autoencoder.LAMBDA[kind])
    rho: float = 0.05  # target mean activation of sparse-kl
    noise: Literal["drop", "flip", "gaussian"] = "drop"  # denoising corruption
    noise_p: float = 0.25  # its probability (drop, flip) or standard deviation (gaussian)
    fid_samples: int = 0  # an autoencoder has no sampler


@register("autoencoder", data="digits", metric="eval/recon_nats", mode="min", select="eval/val_recon_nats",
          description="autoencoders: undercomplete, sparse (L1 or KL), denoising, contractive")
class AutoencoderExperiment(Generative):
    Config = AutoencoderConfig

    @property
    def net(self) -> ae.Autoencoder:  # inside the training objective (ae.Objective)
        return getattr(self.model, "module", self.model).model

    def build(self, cfg, shape, classes):
        if self.levels != 2:
            raise GymlabError(f"the autoencoders use a Bernoulli decoder: data={cfg.data.name!r} is not binary; "
                              f"valid: digits, mnist, mnist-dynamic")
        latent = cfg.latent or (100 if cfg.kind.startswith("sparse") else 16)
        lam = ae.LAMBDA[cfg.kind] if cfg.lam is None else cfg.lam
        return ae.Objective(ae.Autoencoder(shape, latent, cfg.hidden), cfg.kind, lam, cfg.rho, cfg.noise, cfg.noise_p)

    def loss(self, model, batch):
        out = model(batch[0], generator=torch.Generator().manual_seed(self.cfg.seed * 7_919 + self.step))
        return out["loss"], {"recon_nats": out["recon"], "penalty": out["penalty"]}

    def evaluate(self):
        out = ae.measures(self.net, self.test[0], self.val[0], self.cfg.noise, self.cfg.noise_p, self.cfg.seed + 5)
        return self.log({f"eval/{k}": v for k, v in out.items()})

    def media(self):
        c, (x, y) = self.cfg, self.test
        return {**ae.pictures(self.net, x, y, c.noise, c.noise_p, c.seed + 5, f"{c.kind} codes (PCA)"),
                "loss_curve": self.curve(["train/recon_nats", "eval/recon_nats"], "reconstruction nats")}

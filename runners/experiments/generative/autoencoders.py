"""``autoencoder``: plain, denoising, sparse, contractive and variational-free codes of digits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import matplotlib.pyplot as plt
import numpy as np
import torch

from gymlab.generative import autoencoder as ae
from gymlab.runners.errors import GymlabError
from gymlab.runners.registry import register
from gymlab.runners.experiments.generative.common import GenConfig, Generative, curve, grid, latent_plot, upscale


_AE_LAMBDA = {"undercomplete": 0.0, "denoising": 0.0, "sparse-l1": 0.05, "sparse-kl": 0.5, "contractive": 0.05}


@dataclass
class AutoencoderConfig(GenConfig):
    steps: int = 1000
    eval_every: int = 500
    lr: float = 2e-3
    kind: Literal[tuple(ae.KINDS)] = "undercomplete"  # undercomplete | sparse-l1 | sparse-kl | denoising | contractive
    latent: Optional[int] = None  # None: 100 for the sparse kinds (overcomplete), 16 for the others
    hidden: int = 128
    lam: Optional[float] = None  # penalty weight (None: a default per kind)
    rho: float = 0.05  # target mean activation of sparse-kl
    noise: Literal["drop", "flip", "gaussian"] = "drop"  # denoising corruption: drop | flip | gaussian
    noise_p: float = 0.25
    fid_samples: int = 0  # an autoencoder has no sampler


@register("autoencoder", data="digits", metric="eval/recon_nats", mode="min", select="eval/val_recon_nats",
          description="autoencoders: undercomplete, sparse (L1 or KL), denoising, contractive")
class AutoencoderExperiment(Generative):
    Config = AutoencoderConfig

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        if self.levels != 2:
            raise GymlabError(f"the autoencoders use a Bernoulli decoder: data={cfg.data!r} is not binary; "
                              f"valid: digits, mnist, mnist-dynamic")
        torch.manual_seed(cfg.seed)
        latent = cfg.latent or (100 if cfg.kind.startswith("sparse") else 16)
        self.lam = _AE_LAMBDA[cfg.kind] if cfg.lam is None else cfg.lam
        self.net = ae.Autoencoder(self.shape, latent=latent, hidden=cfg.hidden)
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def train_step(self):
        x, _ = self._batch()
        with self.ctx.autocast():
            out = ae.loss(self.net, x, self.cfg.kind, self.lam, self.cfg.rho, self.cfg.noise, self.cfg.noise_p,
                          generator=self._step_generator())
        self.opt.zero_grad()
        out["loss"].backward()
        self._sync_grads(self.net)  # the loss calls encode/decode directly, not through DDP's forward
        self.opt.step()
        self.step += 1
        row = {"train/loss": out["loss"].item(), "train/recon_nats": out["recon"].item(),
               "train/penalty": out["penalty"].item()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    def _anomalies(self) -> torch.Tensor:
        """Test digits with their pixels shuffled inside each image: the same ink, no digit."""
        g = torch.Generator().manual_seed(self.cfg.seed + 5)
        flat = self.xte.flatten(1).cpu()
        perm = torch.argsort(torch.rand(flat.shape, generator=g), dim=1)
        return torch.gather(flat, 1, perm).view_as(self.xte).to(self.device)

    @torch.no_grad()
    def scores(self, x) -> torch.Tensor:
        return ae.reconstruction_nats(self.net, x)[0]

    @torch.no_grad()
    def evaluate(self):
        from sklearn.metrics import roc_auc_score

        te, va, bad = self.scores(self.xte), self.scores(self.xva), self.scores(self._anomalies())
        auc = roc_auc_score(np.r_[np.zeros(len(te)), np.ones(len(bad))], torch.cat([te, bad]).cpu().numpy())
        h = self.net.encode(self.xte)
        g = torch.Generator().manual_seed(self.cfg.seed + 6)
        noisy = ae.corrupt(self.xte, self.cfg.noise, self.cfg.noise_p, g)
        out = {"eval/recon_nats": te.mean().item(), "eval/val_recon_nats": va.mean().item(),
               "eval/anomaly_auc": float(auc), "eval/mean_activation": h.mean().item(),
               "eval/denoise_nats": ae.reconstruction_nats(self.net, noisy, target=self.xte)[0].mean().item(),
               "eval/jacobian_frobenius": ae.contractive_penalty(self.net, self.xte).sqrt().item()}
        self._log_history({"eval/recon_nats": out["eval/recon_nats"]})
        return out

    @torch.no_grad()
    def media(self):
        x = self.xte[:16]
        pairs = torch.stack([x, self.net(x)], 1).flatten(0, 1)
        g = torch.Generator().manual_seed(self.cfg.seed + 6)
        noisy = ae.corrupt(x, self.cfg.noise, self.cfg.noise_p, g)
        triples = torch.stack([x, noisy, self.net(noisy)], 1).flatten(0, 1)
        te, bad = self.scores(self.xte).cpu(), self.scores(self._anomalies()).cpu()
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(te, bins=30, alpha=0.6, label="test digits")
        ax.hist(bad, bins=30, alpha=0.6, label="shuffled pixels")
        ax.set_xlabel("anomaly score = reconstruction nats")
        ax.legend()
        fig.tight_layout()
        return {"reconstructions": upscale(grid(pairs, 8)),  # pairs: test image, reconstruction
                "denoising": upscale(grid(triples, 6)),  # triples: clean, corrupted, reconstruction
                "latent_2d": latent_plot(self.net.encode(self.xte), self.yte, f"{self.cfg.kind} codes (PCA)"),
                "anomaly_scores": fig,
                "loss_curve": curve(self.history, ["train/recon_nats", "eval/recon_nats"], "reconstruction nats")}

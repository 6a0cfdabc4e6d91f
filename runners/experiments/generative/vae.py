"""``vae``: the ELBO, its IWAE bound, samples and the latent space."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gymlab.generative import metrics
from gymlab.generative.training import vae_loss
from gymlab.generative.vae import VAE
from gymlab.runners.registry import register
from gymlab.runners.experiments.generative.common import GenConfig, Generative, curve, grid, latent_plot, upscale


@dataclass
class VAEConfig(GenConfig):
    steps: int = 1500
    eval_every: int = 500
    lr: float = 2e-3
    latent: int = 8
    hidden: int = 256
    beta: float = 1.0
    iwae_k: int = 50  # importance samples of the likelihood estimate


@register("vae", data="digits", metric="eval/nll_nats", mode="min", select="eval/val_nll_nats",
          description="VAE: Gaussian encoder, Bernoulli / discretized-logistic decoder, ELBO and IWAE bound")
class VAEExperiment(Generative):
    Config = VAEConfig

    def setup(self, cfg, ctx):
        self._setup_data(cfg, ctx)
        torch.manual_seed(cfg.seed)
        self.net = VAE(self.shape, latent=cfg.latent, hidden=cfg.hidden, levels=self.levels)
        self.model = ctx.prepare_model(self.net)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def train_step(self):
        x, _ = self._batch()
        with self.ctx.autocast():  # the library's loss (generative.training), inside the runner's loop
            loss, row = vae_loss(self.cfg.beta)(self.model, x)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        row = {f"train/{k}": v for k, v in row.items()}
        if self.step % 10 == 0 or self.step == 1:
            self._log_history(row)
        return row

    @torch.no_grad()
    def bounds(self, x, k: int, batch: int = 250):
        elbo, iwae = [], []
        with torch.random.fork_rng():  # the same eps at every evaluation (comparable numbers), training RNG untouched
            torch.manual_seed(self.cfg.seed + 4242)
            for i in range(0, len(x), batch):
                elbo.append(self.net.elbo(x[i:i + batch])["elbo"])
                iwae.append(self.net.iwae_bound(x[i:i + batch], k))
        return torch.cat(elbo).mean().item(), torch.cat(iwae).mean().item()

    def evaluate(self):
        elbo, iwae = self.bounds(self.xte, self.cfg.iwae_k)
        _, iwae_val = self.bounds(self.xva, self.cfg.iwae_k)
        out = {"eval/elbo_nats": elbo, "eval/iwae_nats": iwae, "eval/nll_nats": -iwae,
               "eval/bits_per_dim": metrics.bits_per_dim(-iwae, self.dims), "eval/val_nll_nats": -iwae_val}
        if self._wants_fid():
            g = torch.Generator().manual_seed(self.cfg.seed + 12_345)
            out.update(self._sample_scores(self.net.sample(self.cfg.fid_samples, generator=g, mean=False)))
        self._log_history({"eval/elbo_nats": elbo, "eval/iwae_nats": iwae})
        return out

    @torch.no_grad()
    def media(self):
        g = torch.Generator().manual_seed(self.cfg.seed + 1)
        samples = self.net.sample(64, generator=g)
        mu, _ = self.net.encode(self.xte)
        recon = self.net.mean_image(mu[:16])
        pairs = torch.stack([self.xte[:16], recon], 1).flatten(0, 1)
        steps = torch.linspace(-3, 3, 9)
        dims = min(self.cfg.latent, 8)
        z = torch.zeros(dims, 9, self.cfg.latent)
        for d in range(dims):
            z[d, :, d] = steps
        trav = self.net.mean_image(z.view(-1, self.cfg.latent).to(self.device))
        return {"samples": upscale(grid(samples, 8)),
                "reconstructions": upscale(grid(pairs, 8)),  # pairs: test image, reconstruction from mu
                "traversals": upscale(grid(trav, 9)),  # row d: z_d from -3 to 3, the others 0
                "latent_2d": latent_plot(mu, self.yte, "q(z|x) means of the test set"),
                "loss_curve": curve(self.history, ["train/elbo_nats", "eval/elbo_nats", "eval/iwae_nats"],
                                    "VAE bounds (nats per image)")}

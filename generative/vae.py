"""The variational autoencoder (Kingma & Welling, 2014) and the importance-weighted bound (Burda et al.).

    q(z|x) = N(mu(x), diag sigma^2(x)),   p(z) = N(0, I),   z = mu + sigma (.) eps,  eps ~ N(0, I)
    ELBO(x) = E_q[log p(x|z)] - beta * KL(q(z|x) || p(z)),
        KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)         (closed form)
    IWAE_k(x) = E[ log 1/k sum_{s=1..k} p(x, z_s) / q(z_s|x) ],  z_s ~ q(z|x)
with ELBO = IWAE_1 <= IWAE_k <= IWAE_{k+1} <= log p(x) (for beta = 1); IWAE_k is the likelihood estimate.

Decoders: Bernoulli logits for binary images; a discretized logistic for L-level images,
    P(x) = sigma((x + 1/(L-1) - m) / s) - sigma((x - 1/(L-1) - m) / s)   on x in [-1, 1],
with the edge bins taking all the mass below -1 and above 1 (as in PixelCNN++).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def discretized_logistic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor,
                                  levels: int = 256) -> torch.Tensor:
    """Elementwise log P(x) for x in [0, 1] on ``levels`` values (mean on the [-1, 1] scale)."""
    x = x * 2 - 1
    half = 1.0 / (levels - 1)
    inv_s = torch.exp(-log_scale)
    plus, minus = inv_s * (x - mean + half), inv_s * (x - mean - half)
    log_cdf_plus = plus - F.softplus(plus)  # log sigma(plus), for the lowest bin
    log_one_minus_cdf_min = -F.softplus(minus)  # log (1 - sigma(minus)), for the highest bin
    # log(sigma(plus) - sigma(minus)) computed stably: sigma(a) - sigma(b) = sigma(a)(1 - sigma(b))(1 - e^{b-a})
    log_delta = (plus - F.softplus(plus)) - F.softplus(minus) + torch.log(-torch.expm1(minus - plus).clamp(max=-1e-12))
    return torch.where(x < -1 + half / 2, log_cdf_plus, torch.where(x > 1 - half / 2, log_one_minus_cdf_min, log_delta))


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(0, I)) summed over latent dims: (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


def gaussian_log_prob(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)


class VAE(nn.Module):
    def __init__(self, shape: tuple[int, int, int], latent: int = 16, hidden: int = 256, levels: int = 2):
        super().__init__()
        self.shape, self.latent, self.levels = tuple(shape), latent, levels
        d = shape[0] * shape[1] * shape[2]
        out = d if levels == 2 else 2 * d  # Bernoulli logits, or (mean, log_scale) of the logistic
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, out))

    def encode(self, x: torch.Tensor):
        mu, logvar = self.encoder(x * 2 - 1).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def log_px_z(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) summed over pixels; x (B, C, H, W), decoder output (..., B, out)."""
        xf = x.flatten(1).expand(*out.shape[:-1], -1) if out.dim() > 2 else x.flatten(1)
        if self.levels == 2:
            return -F.binary_cross_entropy_with_logits(out, xf, reduction="none").sum(-1)
        mean, log_scale = out.chunk(2, dim=-1)
        return discretized_logistic_log_prob(xf, mean, log_scale.clamp(min=-7), self.levels).sum(-1)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean (Bernoulli p, or the logistic's location) as images in [0, 1]."""
        out = self.decode(z)
        m = torch.sigmoid(out) if self.levels == 2 else (out.chunk(2, dim=-1)[0].clamp(-1, 1) + 1) / 2
        return m.view(len(z), *self.shape)

    def elbo(self, x: torch.Tensor, beta: float = 1.0) -> dict:
        """One-sample ELBO with the closed-form KL: dict of (B,) tensors elbo, recon, kl."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = self.log_px_z(x, self.decode(z))
        kl = gaussian_kl(mu, logvar)
        return {"elbo": recon - beta * kl, "recon": recon, "kl": kl}

    def forward(self, x: torch.Tensor, beta: float = 1.0) -> dict:
        """The training objective's pieces (``elbo``): calling the module lets DDP see the forward."""
        return self.elbo(x, beta)

    def iwae_bound(self, x: torch.Tensor, k: int = 50) -> torch.Tensor:
        """log 1/k sum_s p(x|z_s) p(z_s) / q(z_s|x) with k samples z_s ~ q(z|x): (B,)."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn(k, *mu.shape, device=mu.device) * torch.exp(0.5 * logvar)  # (k, B, latent)
        log_w = (self.log_px_z(x, self.decode(z)) + gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
                 - gaussian_log_prob(z, mu, logvar))
        return torch.logsumexp(log_w, 0) - math.log(k)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = True) -> torch.Tensor:
        """Images from z ~ N(0, I): the decoder mean (default) or a draw from p(x|z)."""
        dev = next(self.parameters()).device
        z = torch.randn(n, self.latent, generator=generator).to(dev)
        m = self.mean_image(z)
        if mean:
            return m
        if self.levels == 2:
            return torch.bernoulli(m.cpu(), generator=generator).to(dev)
        out = self.decode(z)
        loc, log_scale = out.chunk(2, dim=-1)
        u = torch.rand(loc.shape, generator=generator).clamp(1e-5, 1 - 1e-5).to(dev)
        xs = (loc + log_scale.exp() * (torch.log(u) - torch.log1p(-u))).clamp(-1, 1)
        return torch.round((xs + 1) / 2 * (self.levels - 1)).div(self.levels - 1).view(n, *self.shape)


@torch.no_grad()
def traversal(vae: VAE, dims: int = 8, lo: float = -3.0, hi: float = 3.0, n: int = 9) -> torch.Tensor:
    """(dims * n, C, H, W) decoder means: row d moves z_d from lo to hi, the other coordinates 0."""
    dims = min(dims, vae.latent)
    z = torch.zeros(dims, n, vae.latent)
    for d in range(dims):
        z[d, :, d] = torch.linspace(lo, hi, n)
    return vae.mean_image(z.view(-1, vae.latent).to(next(vae.parameters()).device))


@torch.no_grad()
def pictures(vae: VAE, x: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> dict:
    """samples (64 decoder means, z drawn from ``seed``), reconstructions ((image, reconstruction from mu)
    pairs of the first 16 of x), traversals (``traversal``, one row per latent dimension), latent_2d (q(z|x)
    means of x by label)."""
    from gymlab.generative import figures

    mu, _ = vae.encode(x)
    pairs = torch.stack([x[:16], vae.mean_image(mu[:16])], 1).flatten(0, 1)
    return {"samples": figures.image_grid(vae.sample(64, generator=torch.Generator().manual_seed(seed)), 8),
            "reconstructions": figures.image_grid(pairs, 8), "traversals": figures.image_grid(traversal(vae), 9),
            "latent_2d": figures.latent_plot(mu, labels, "q(z|x) means of the test set")}

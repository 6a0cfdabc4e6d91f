"""Autoencoders: x -> h = f(x) -> x_hat = g(h), trained to reconstruct, with the notes' regularisers.

    f(x) = sigmoid(W2 relu(W1 x + b1) + b2),   g(h) = Bernoulli logits of x_hat
    loss = -log p(x | g(f(x))) + lambda * Omega

- undercomplete: no Omega; the code is narrower than the input, so it must compress.
- sparse-l1: Omega = sum_j |h_j|.
- sparse-kl: Omega = sum_j KL(rho || rho_hat_j), rho_hat_j = mean activation of unit j over the batch,
      KL(rho || rho_hat) = rho log(rho / rho_hat) + (1 - rho) log((1 - rho) / (1 - rho_hat)).
- denoising: no Omega; the encoder sees a corrupted x~ (pixels dropped or flipped with probability p,
  or Gaussian noise) and the loss asks for the clean x.
- contractive: Omega = ||J_f(x)||_F^2, J_f = diag(h (1 - h)) W2 diag(1[W1 x + b1 > 0]) W1 (exact).
The reconstruction loss of an image is an anomaly score: it is high for images unlike the training set
(``shuffle_pixels`` makes such images: the same ink, no digit; ``measures`` reports the ROC AUC of that
score). ``Objective`` is ``loss`` as a module, so that a data-parallel wrapper sees the forward pass.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KINDS = ("undercomplete", "sparse-l1", "sparse-kl", "denoising", "contractive")
LAMBDA = {"undercomplete": 0.0, "denoising": 0.0, "sparse-l1": 0.05, "sparse-kl": 0.5, "contractive": 0.05}  # defaults


class Autoencoder(nn.Module):
    def __init__(self, shape: tuple[int, int, int], latent: int = 16, hidden: int = 128):
        super().__init__()
        self.shape = tuple(shape)
        d = shape[0] * shape[1] * shape[2]
        self.enc1, self.enc2 = nn.Linear(d, hidden), nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.enc2(F.relu(self.enc1(x.flatten(1) * 2 - 1))))

    def decode_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction probabilities (B, C, H, W)."""
        return torch.sigmoid(self.decode_logits(self.encode(x))).view(len(x), *self.shape)

    def encoder_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """d h / d x per example: (B, latent, D), in closed form."""
        a1 = self.enc1(x.flatten(1) * 2 - 1)
        h = torch.sigmoid(self.enc2(F.relu(a1)))
        inner = (h * (1 - h))[:, :, None] * self.enc2.weight[None] * (a1 > 0).float()[:, None, :]  # (B, latent, hidden)
        return 2 * inner @ self.enc1.weight  # the 2 from the input scaling x * 2 - 1


def reconstruction_nats(model: Autoencoder, x: torch.Tensor, target: torch.Tensor | None = None):
    """-log p(target | g(f(x))) per image (Bernoulli), and the codes: ((B,), (B, latent))."""
    h = model.encode(x)
    t = (x if target is None else target).flatten(1)
    return F.binary_cross_entropy_with_logits(model.decode_logits(h), t, reduction="none").sum(1), h


def l1_penalty(h: torch.Tensor) -> torch.Tensor:
    """sum_j |h_j|, averaged over the batch."""
    return h.abs().sum(1).mean()


def kl_sparsity(h: torch.Tensor, rho: float) -> torch.Tensor:
    """sum_j KL(rho || rho_hat_j) with rho_hat_j the batch mean of unit j (activations in (0, 1))."""
    rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def contractive_penalty(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """||J_f(x)||_F^2, averaged over the batch."""
    return model.encoder_jacobian(x).pow(2).sum((1, 2)).mean()


def corrupt(x: torch.Tensor, noise: str = "drop", p: float = 0.25, generator: torch.Generator | None = None):
    """Denoising input: 'drop' (pixels set to 0 w.p. p), 'flip' (binary pixels flipped w.p. p),
    'gaussian' (x + p * N(0, 1), clipped to [0, 1])."""
    if noise == "gaussian":
        return (x + p * torch.randn(x.shape, generator=generator).to(x.device)).clamp(0, 1)
    hit = (torch.rand(x.shape, generator=generator) < p).to(x.device)
    if noise == "drop":
        return x.masked_fill(hit, 0.0)
    if noise == "flip":
        return torch.where(hit, 1 - x, x)
    raise ValueError(f"unknown noise {noise!r}; valid: drop, flip, gaussian")


def loss(model: Autoencoder, x: torch.Tensor, kind: str, lam: float = 1e-3, rho: float = 0.05,
         noise: str = "drop", noise_p: float = 0.25, generator: torch.Generator | None = None) -> dict:
    """The training loss of one ``kind`` of autoencoder: dict with loss, recon (nats/image), penalty."""
    if kind not in KINDS:
        raise ValueError(f"unknown autoencoder kind {kind!r}; valid: {', '.join(KINDS)}")
    x_in = corrupt(x, noise, noise_p, generator) if kind == "denoising" else x
    recon, h = reconstruction_nats(model, x_in, target=x)
    recon = recon.mean()
    if kind == "sparse-l1":
        penalty = l1_penalty(h)
    elif kind == "sparse-kl":
        penalty = kl_sparsity(h, rho)
    elif kind == "contractive":
        penalty = contractive_penalty(model, x)
    else:
        penalty = torch.zeros((), device=x.device)
    return {"loss": recon + lam * penalty, "recon": recon, "penalty": penalty}


def shuffle_pixels(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image's pixels in a random order of its own: the same ink, no digit."""
    flat = x.flatten(1).cpu()
    perm = torch.argsort(torch.rand(flat.shape, generator=generator), dim=1)
    return torch.gather(flat, 1, perm).view_as(x).to(x.device)


class Objective(nn.Module):
    """``loss`` of one ``kind`` with its settings, as a module: forward(x, generator) -> loss's dict."""

    def __init__(self, model: Autoencoder, kind: str, lam: float = 1e-3, rho: float = 0.05, noise: str = "drop",
                 noise_p: float = 0.25):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown autoencoder kind {kind!r}; valid: {', '.join(KINDS)}")
        self.model, self.kind, self.lam, self.rho, self.noise, self.noise_p = model, kind, lam, rho, noise, noise_p

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict:
        return loss(self.model, x, self.kind, self.lam, self.rho, self.noise, self.noise_p, generator)


@torch.no_grad()
def anomaly_scores(model: Autoencoder, x: torch.Tensor, seed: int = 0):
    """Reconstruction nats of x and of x with shuffled pixels (drawn from ``seed``): ((N,), (N,))."""
    odd = shuffle_pixels(x, torch.Generator().manual_seed(seed))
    return reconstruction_nats(model, x)[0], reconstruction_nats(model, odd)[0]


@torch.no_grad()
def measures(model: Autoencoder, test: torch.Tensor, val: torch.Tensor, noise: str = "drop", noise_p: float = 0.25,
             seed: int = 0) -> dict:
    """recon_nats (test) and val_recon_nats per image, anomaly_auc (test images against their shuffled
    copies, shuffles from ``seed``), mean_activation of the codes, denoise_nats (clean test images from
    copies corrupted by a draw from seed + 1), jacobian_frobenius (root of the mean ||J_f||_F^2)."""
    from sklearn.metrics import roc_auc_score

    te, odd = anomaly_scores(model, test, seed)
    noisy = corrupt(test, noise, noise_p, torch.Generator().manual_seed(seed + 1))
    auc = roc_auc_score(np.r_[np.zeros(len(te)), np.ones(len(odd))], torch.cat([te, odd]).cpu().numpy())
    return {"recon_nats": te.mean().item(), "val_recon_nats": reconstruction_nats(model, val)[0].mean().item(),
            "anomaly_auc": float(auc), "mean_activation": model.encode(test).mean().item(),
            "denoise_nats": reconstruction_nats(model, noisy, target=test)[0].mean().item(),
            "jacobian_frobenius": contractive_penalty(model, test).sqrt().item()}


@torch.no_grad()
def pictures(model: Autoencoder, x: torch.Tensor, labels: torch.Tensor, noise: str = "drop", noise_p: float = 0.25,
             seed: int = 0, title: str = "codes") -> dict:
    """reconstructions ((image, reconstruction) pairs of the first 16 of x), denoising ((clean, corrupted,
    reconstruction) triples, corruption drawn from seed + 1), latent_2d (the codes of x by label),
    anomaly_scores (histograms of ``anomaly_scores`` with shuffles drawn from ``seed``)."""
    from gymlab.generative import figures

    x16 = x[:16]
    noisy = corrupt(x16, noise, noise_p, torch.Generator().manual_seed(seed + 1))
    te, odd = anomaly_scores(model, x, seed)
    return {"reconstructions": figures.image_grid(torch.stack([x16, model(x16)], 1).flatten(0, 1), 8),
            "denoising": figures.image_grid(torch.stack([x16, noisy, model(noisy)], 1).flatten(0, 1), 6),
            "latent_2d": figures.latent_plot(model.encode(x), labels, title),
            "anomaly_scores": figures.histograms({"test digits": te.cpu(), "shuffled pixels": odd.cpu()},
                                                 "anomaly score = reconstruction nats")}

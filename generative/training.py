"""Train any of the generative models from a notebook, with library code only.

Every model here is trained by minimising a per-image loss in nats with Adam on minibatches of the
seeded shuffle (``vision.batching``); only the loss differs:

    autoregressive (PixelCNN, Gated PixelCNN, PixelRNN)   NLL = -sum_i log p(x_i | x_<i)
    VAE                                                    -ELBO = -E_q[log p(x|z)] + beta KL(q(z|x) || p(z))
                                                           (or -IWAE_k, the tighter bound, as the VAE's score)
    autoencoders                                           reconstruction nats (+ the variant's penalty)

Each loss function returns ``(loss, metrics)``: the scalar to minimise (nats per dimension, so that
one learning rate suits every image size) and the per-image figures to report. ``fit`` is the loop;
``gymlab``'s experiments call the same loss functions inside the runner's loop (which adds
evaluation, checkpoints and logging). The GAN, a two-player game, has its own step (``gan_step``) and ``fit_gan``.

With ``dynamic=True`` each minibatch of grey images is binarized afresh, x ~ Bernoulli(grey), as the
literature trains on dynamically binarized MNIST.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import torch

from gymlab.generative import metrics
from gymlab.generative.gan import discriminator_loss, generator_loss
from gymlab.vision.data.batching import batch_indices

Loss = Callable[[torch.nn.Module, torch.Tensor, "torch.Tensor | None"], "tuple[torch.Tensor, dict]"]


def autoregressive_loss(levels: int = 2, conditional: bool = False) -> Loss:
    """NLL of an autoregressive model ``model(x, y) -> logits (B, C, levels, H, W)``."""

    def loss(model, x, y=None):
        nll = metrics.categorical_nll(model(x, y if conditional else None).float(), x, levels).mean()
        dims = x[0].numel()
        return nll / dims, {"nll_nats": nll.item(), "bits_per_dim": metrics.bits_per_dim(nll.item(), dims)}

    return loss


def vae_loss(beta: float = 1.0) -> Loss:
    """Negative ELBO of a ``generative.vae.VAE`` (beta weighs the KL term)."""

    def loss(model, x, y=None):
        out = model(x, beta)
        elbo = out["elbo"].mean()
        return -elbo / x[0].numel(), {"elbo_nats": elbo.item(), "recon_nats": -out["recon"].mean().item(),
                                      "kl_nats": out["kl"].mean().item()}

    return loss


def iwae_loss(k: int = 50) -> Loss:
    """Negative IWAE_k bound of a ``generative.vae.VAE``, with its ELBO (one sample) beside it."""

    def loss(model, x, y=None):
        elbo, iwae = model.elbo(x)["elbo"].mean(), model.iwae_bound(x, k).mean()
        return -iwae / x[0].numel(), {"elbo_nats": elbo, "iwae_nats": iwae, "nll_nats": -iwae,
                                       "bits_per_dim": metrics.bits_per_dim(-iwae, x[0].numel())}

    return loss


def fit(model: torch.nn.Module, x: torch.Tensor, loss: Loss, *, y: torch.Tensor | None = None, epochs: float = 1,
        batch_size: int = 64, lr: float = 1e-3, seed: int = 0, dynamic: bool = False,
        optimizer: torch.optim.Optimizer | None = None) -> list[dict]:
    """Minimise ``loss`` over ``epochs`` passes of ``x``; returns the metrics of every step."""
    if len(x) == 0 or batch_size < 1 or epochs <= 0:
        raise ValueError(f"fit needs examples, batch_size >= 1 and epochs > 0 (got {len(x)}, {batch_size}, {epochs})")
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    steps = math.ceil(epochs * math.ceil(len(x) / batch_size))
    device = next(model.parameters()).device
    model.train()
    history = []
    for step in range(steps):
        idx = batch_indices(seed, step, len(x), batch_size)
        xb = x[idx]
        if dynamic:
            xb = torch.bernoulli(xb, generator=torch.Generator().manual_seed(seed * 1_000_003 + step))
        value, row = loss(model, xb.to(device), None if y is None else y[idx].to(device))
        opt.zero_grad()
        value.backward()
        opt.step()
        history.append(row)
    model.eval()
    return history


def gan_step(generator: torch.nn.Module, discriminator: torch.nn.Module, opt_g: torch.optim.Optimizer,
             opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None = None,
             kind: str = "non-saturating", autocast=contextlib.nullcontext) -> dict:
    """One discriminator step (real up, fake down), then one generator step on the same fakes; forward
    passes under ``autocast()`` (the runner's bf16 context), backward passes outside it."""
    with autocast():
        fake = generator(z, y)
        d_loss = discriminator_loss(discriminator(real, y).float(), discriminator(fake.detach(), y).float())
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    with autocast():
        fake_logits = discriminator(fake, y).float()
        g_loss = generator_loss(fake_logits, kind)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_fake": torch.sigmoid(fake_logits).mean().item()}


def fit_gan(generator: torch.nn.Module, discriminator: torch.nn.Module, x: torch.Tensor, *, latent: int,
            epochs: float = 1, batch_size: int = 64, lr: float = 2e-4, betas=(0.5, 0.999), seed: int = 0,
            kind: str = "non-saturating") -> list[dict]:
    """``gan_step`` on each minibatch of the seeded shuffle."""
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    steps = math.ceil(epochs * math.ceil(len(x) / batch_size))
    device = next(generator.parameters()).device
    g = torch.Generator().manual_seed(seed)
    history = []
    for step in range(steps):
        real = x[batch_indices(seed, step, len(x), batch_size)].to(device)
        z = torch.randn(len(real), latent, generator=g).to(device)
        history.append(gan_step(generator, discriminator, opt_g, opt_d, real, z, kind=kind))
    return history

"""DCGAN (Radford et al., 2016) and the GAN game of the notes (Goodfellow et al., 2014).

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]

- discriminator loss: -log D(x) - log(1 - D(G(z)))  (= softplus(-l_real) + softplus(l_fake) on logits l)
- minimax generator loss: log(1 - D(G(z))) = -softplus(l_fake); it saturates when D wins early
- non-saturating generator loss: -log D(G(z)) = softplus(-l_fake); same fixed point, strong gradients

DCGAN: G uses transposed convolutions with batch norm and ReLU, D strided convolutions with leaky
ReLU and no pooling. With ``num_classes``, G gets a label embedding next to z and D one-hot label
planes next to the image (a conditional GAN). ``sample`` draws images in eval mode (batch norm on its
running statistics), rounded onto the data's levels; a conditional G's labels cycle through the classes.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    def __init__(self, shape: tuple[int, int, int], latent: int = 32, width: int = 64,
                 num_classes: int | None = None):
        super().__init__()
        c, h, w = self.shape = tuple(shape)
        if h % 4 or w % 4:
            raise ValueError(f"DCGAN needs sides divisible by 4, got {h}x{w}")
        self.latent, self.num_classes, self.base = latent, num_classes, (h // 4, w // 4)
        self.embed = nn.Embedding(num_classes, latent) if num_classes else None
        self.fc = nn.Sequential(nn.Linear(latent * (2 if num_classes else 1), 2 * width * (h // 4) * (w // 4)),
                                nn.BatchNorm1d(2 * width * (h // 4) * (w // 4)), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, c, 4, 2, 1))
        self.width = width

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, latent) [and labels y] -> images (B, C, H, W) in [0, 1]."""
        if self.embed is not None:
            if y is None:
                raise ValueError("this generator is class-conditional: pass the labels y")
            z = torch.cat([z, self.embed(y)], dim=1)
        h = self.fc(z).view(len(z), 2 * self.width, *self.base)
        return torch.sigmoid(self.net(h))


class Discriminator(nn.Module):
    def __init__(self, shape: tuple[int, int, int], width: int = 64, num_classes: int | None = None):
        super().__init__()
        c, h, w = shape
        self.num_classes = num_classes
        cin = c + (num_classes or 0)
        self.net = nn.Sequential(
            nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * (h // 4) * (w // 4), 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """images (B, C, H, W) in [0, 1] [and labels] -> logits (B,) of 'real'."""
        x = x * 2 - 1
        if self.num_classes:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass the labels y")
            planes = F.one_hot(y, self.num_classes).float()[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, planes], dim=1)
        return self.net(x).squeeze(1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))]."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """'minimax': E[log(1 - D(G(z)))]; 'non-saturating': -E[log D(G(z))]."""
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non-saturating":
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"unknown generator loss {kind!r}; valid: minimax, non-saturating")


@torch.no_grad()
def sample(generator: Generator, n: int, levels: int = 2, seed: int = 0) -> torch.Tensor:
    """n images G(z), z ~ N(0, I) drawn from ``seed``, rounded onto ``levels`` values (labels i mod classes)."""
    dev = next(generator.parameters()).device
    z = torch.randn(n, generator.latent, generator=torch.Generator().manual_seed(seed)).to(dev)
    y = (torch.arange(n) % generator.num_classes).to(dev) if generator.num_classes else None
    was = generator.training
    x = generator.eval()(z, y)
    generator.train(was)
    return torch.round(x * (levels - 1)) / (levels - 1)

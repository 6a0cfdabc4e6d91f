"""Autoregressive sampling, pixel by pixel, for every model that maps images to (B, C, levels, H, W)
logits (PixelCNN, Gated PixelCNN, PixelRNN, FVSBN, the independent baseline).

    for each row i, column j, channel c (raster order):
        x[c, i, j] ~ softmax(model(x)[c, :, i, j] / temperature)

Each step runs the whole network again (H * W * C forward passes): this is why sampling from
these models is slow while training them is parallel. ``complete`` keeps a given top part of an
image fixed and samples the rest from p(x_rest | x_given).
"""
from __future__ import annotations

import torch

from gymlab.vision.nn.layers import inference


def sample(model, n: int, shape: tuple[int, int, int], levels: int, y: torch.Tensor | None = None,
           given: torch.Tensor | None = None, known: torch.Tensor | None = None,
           generator: torch.Generator | None = None, temperature: float = 1.0,
           device: torch.device | str | None = None) -> torch.Tensor:
    """Draw n images (n, C, H, W) in [0, 1] on ``levels`` values.

    given/known: optional starting images and a boolean (H, W) mask of pixels to keep (completion).
    """
    c, h, w = shape
    device = device or next((p.device for p in model.parameters()), torch.device("cpu"))
    x = torch.zeros(n, c, h, w, device=device) if given is None else given.clone().to(device)
    known = torch.zeros(h, w, dtype=torch.bool) if known is None else known.cpu()
    with inference(model):
        for i in range(h):
            for j in range(w):
                if known[i, j]:
                    continue
                for ch in range(c):
                    logits = model(x, y)[:, ch, :, i, j] / temperature
                    probs = torch.softmax(logits.float(), dim=1).cpu()
                    k = torch.multinomial(probs, 1, generator=generator)[:, 0]
                    x[:, ch, i, j] = (k.float() / (levels - 1)).to(device)
    return x


def complete(model, images: torch.Tensor, levels: int, rows_given: int | None = None,
             y: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keep the top ``rows_given`` rows (default: half) of ``images`` and sample the rest."""
    _, c, h, w = images.shape
    rows_given = h // 2 if rows_given is None else rows_given
    known = torch.zeros(h, w, dtype=torch.bool)
    known[:rows_given] = True
    given = images.clone()
    given[:, :, rows_given:] = 0
    return sample(model, len(images), (c, h, w), levels, y=y, given=given, known=known, generator=generator)

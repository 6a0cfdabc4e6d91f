"""Autoregressive sampling, pixel by pixel, for every model that maps images to (B, C, levels, H, W)
logits (PixelCNN, Gated PixelCNN, PixelRNN, FVSBN, the independent baseline).

    for each row i, column j, channel c (raster order):
        x[c, i, j] ~ softmax(model(x)[c, :, i, j] / temperature)

Each step runs the whole network again (H * W * C forward passes): this is why sampling from
these models is slow while training them is parallel. ``complete`` keeps a given top part of an
image fixed and samples the rest from p(x_rest | x_given); ``completion_rows`` lays out several
completions of each image beside it, ``pictures`` draws samples and completions as image grids.
"""
from __future__ import annotations

import math

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


def completion_rows(model, images: torch.Tensor, levels: int, per: int = 4, y: torch.Tensor | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """(m * (per + 1), C, H, W): each image followed by ``per`` completions of its top half."""
    m = len(images)
    yy = y.repeat_interleave(per, 0) if y is not None else None
    comp = complete(model, images.repeat_interleave(per, 0), levels, y=yy, generator=generator)
    return torch.cat([images.unsqueeze(1), comp.view(m, per, *images.shape[1:])], 1).flatten(0, 1)


def pictures(model, samples: torch.Tensor, images: torch.Tensor, levels: int, labels: torch.Tensor | None = None,
             seed: int = 0) -> dict:
    """samples: ``samples`` in a square grid; completions: m = min(8, n / 4) of ``images`` (n samples), each
    followed by 4 completions of its top half (``labels``: a conditional model's classes; draws from ``seed``)."""
    from gymlab.generative.figures import image_grid

    n, m = len(samples), max(1, min(8, len(samples) // 4))
    rows = completion_rows(model, images[:m], levels, y=None if labels is None else labels[:m],
                           generator=torch.Generator().manual_seed(seed))
    return {"samples": image_grid(samples, int(math.sqrt(n)) or 1), "completions": image_grid(rows, 5)}

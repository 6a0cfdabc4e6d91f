"""Pictures of generative models: image grids, 2-D views of codes, curves and histograms (matplotlib).

- ``image_grid``: (N, C, H, W) images in [0, 1] tiled ``nrow`` to a row with 1-pixel grey gaps, each
  pixel drawn as a ``scale`` x ``scale`` block (an array that image viewers and W&B show as is).
- ``latent_plot``: codes projected on their two principal axes (as they are when two-dimensional).
- ``history_lines``: the (steps, values) of chosen keys in a list of logged rows, for line charts.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def image_grid(images: torch.Tensor, nrow: int, scale: int = 8) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (rows*(H+1)+1, nrow*(W+1)+1[, 3]) * scale image with 1-pixel gaps."""
    x = images.detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    rows = math.ceil(n / nrow)
    out = torch.full((c, rows * (h + 1) + 1, nrow * (w + 1) + 1), 0.5)
    for k in range(n):
        r, q = divmod(k, nrow)
        out[:, 1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = x[k]
    img = out.permute(1, 2, 0).numpy()
    img = img[..., 0] if c == 1 else img
    return np.kron(img, np.ones((scale, scale) + (1,) * (img.ndim - 2)))


def latent_plot(codes: torch.Tensor, labels: torch.Tensor, title: str):
    """Codes in 2D (PCA when the code has more than two dimensions), coloured by class."""
    z = codes.detach().double().cpu()
    if z.shape[1] > 2:
        z = z - z.mean(0)
        _, _, v = torch.linalg.svd(z, full_matrices=False)
        z = z @ v[:2].T
    fig, ax = plt.subplots(figsize=(4.5, 4))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels.cpu(), cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, ticks=range(10))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def history_lines(history: list, keys: list) -> dict:
    """Rows ``{"step": s, key: value, ...}`` -> {last part of key: (steps, values)} for the keys present."""
    lines = {}
    for k in keys:
        pts = [(h["step"], h[k]) for h in history if k in h]
        if pts:
            lines[k.split("/")[-1]] = tuple(zip(*pts))
    return lines


def histograms(values: dict, xlabel: str):
    """Overlaid histograms of named score sets (e.g. anomaly scores of normal and odd images)."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for name, v in values.items():
        ax.hist(np.asarray(v), bins=30, alpha=0.6, label=name)
    ax.set_xlabel(xlabel)
    ax.legend()
    fig.tight_layout()
    return fig


def line_figure(xs, ys, xlabel: str, ylabel: str, title: str, logy: bool = False):
    fig, ax = plt.subplots(figsize=(4.5, 3))
    if len(xs):
        ax.plot(xs, ys)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def basis_figure(bases: dict, shape: tuple):
    """One row per named basis (D, k): its k columns as images of ``shape``, on a symmetric colour scale."""
    k = next(iter(bases.values())).shape[1]
    fig, axes = plt.subplots(len(bases), k, figsize=(1.2 * k, 1.4 * len(bases)), squeeze=False)
    for r, (name, basis) in enumerate(bases.items()):
        for j in range(k):
            v = basis[:, j].reshape(shape)
            axes[r, j].imshow(v, cmap="RdBu_r", vmin=-np.abs(v).max(), vmax=np.abs(v).max())
            axes[r, j].axis("off")
        axes[r, 0].set_title(name, fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def image_rows(rows: dict, shape: tuple):
    """One row per name of (N, D) images in [0, 1] shown in grey as ``shape``."""
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(len(rows), n, figsize=(n, 1.1 * len(rows)), squeeze=False)
    for r, (name, imgs) in enumerate(rows.items()):
        for j in range(n):
            axes[r, j].imshow(np.asarray(imgs[j]).reshape(shape), cmap="gray", vmin=0, vmax=1)
            axes[r, j].axis("off")
        axes[r, 0].set_title(name, fontsize=8, loc="left")
    fig.tight_layout()
    return fig

"""Maximally activating patches: for a unit (channel) of a convolutional layer, the input patches on
which it fires most over a whole dataset (Zeiler & Fergus 2014; Springenberg et al. 2015).

A unit at spatial position (i, j) of layer l sees only its receptive field, a square window of the
input. For a stack of layers with kernel k_n, stride s_n and padding p_n (convolutions and
poolings; BatchNorm and ReLU are pointwise: k = s = 1, p = 0), the window of output (i, j) is

    rows  i J - P  ..  i J - P + R - 1      (likewise the columns with j)
    R = 1 + sum_n (k_n - 1) J_{n-1},   J_n = prod_{m <= n} s_m  (J_0 = 1),   P = sum_n p_n J_{n-1}

R is the window's size, J = J_L its stride (the jump between neighbouring units) and P its offset
(how far the window of unit 0 starts before the image, into the zero padding). Pixels outside the
window cannot change the unit's activation; :func:`window_mask` marks the window, so a test can
check it.

The top k of a unit are its k largest activations a_c(x, i, j) over all images x and positions (i, j)
(the same image may appear several times, at different positions). :func:`top_activations` streams
the dataset in batches and keeps a running top k per unit, so a dataset larger than memory works;
:func:`extract_patches` crops the windows from the zero-padded images, as the network saw them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ReceptiveField:
    size: int  # R: the window is size x size input pixels
    stride: int  # J: input pixels between the windows of neighbouring units
    offset: int  # P: the window of unit (i, j) starts at row i J - P, column j J - P


def _pair(v) -> int:
    a = v if isinstance(v, int) else v[0]
    if not isinstance(v, int) and len(set(v)) != 1:
        raise ValueError(f"only square kernels, strides and paddings are supported, got {v}")
    return int(a)


def receptive_field(layers) -> ReceptiveField:
    """The receptive field of the last of ``layers`` (an iterable of modules applied in order; nested
    containers are walked). Conv2d, MaxPool2d and AvgPool2d change it (dilation 1 only); pointwise
    modules (BatchNorm, activations, Dropout, Identity) do not; anything else is an error."""
    size, stride, offset = 1, 1, 0
    for m in _leaves(layers):
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
            if _pair(getattr(m, "dilation", 1)) != 1:
                raise ValueError(f"dilated layers are not supported: {m}")
            size, offset, stride = size + (k - 1) * stride, offset + p * stride, stride * s
        elif not isinstance(m, (nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Dropout, nn.Identity)):
            raise ValueError(f"cannot tell the receptive field through {type(m).__name__}")
    return ReceptiveField(size, stride, offset)


def _leaves(layers):
    for m in layers:
        kids = list(m.children())
        if kids:
            yield from _leaves(kids)
        else:
            yield m


def conv_positions(body: nn.Sequential) -> list[int]:
    """Indices into ``body`` of the blocks that contain a convolution (the network's conv layers)."""
    return [i for i, m in enumerate(body) if any(isinstance(x, nn.Conv2d) for x in m.modules())]


def truncate(body: nn.Sequential, conv_layer: int) -> nn.Sequential:
    """The prefix of ``body`` that ends with its ``conv_layer``-th convolution block (0-based)."""
    pos = conv_positions(body)
    if not 0 <= conv_layer < len(pos):
        raise ValueError(f"conv layer {conv_layer} out of range; the network has conv layers 0..{len(pos) - 1}")
    return body[:pos[conv_layer] + 1]


@torch.no_grad()
def top_activations(layer_fn: Callable, images: torch.Tensor, k: int, batch_size: int = 256):
    """The ``k`` largest activations of every channel of ``layer_fn(images)`` (N, C, H, W) over all
    images and positions, streamed in batches: (values (C, k) descending, where (C, k, 3) long
    tensors of (image index, row, column)). Ties keep the earlier (image, row, column)."""
    best_v = best_i = None
    start = 0
    for chunk in torch.split(images, batch_size):
        a = layer_fn(chunk).float()
        n, c, h, w = a.shape
        v = a.permute(1, 0, 2, 3).reshape(c, -1)  # flat index (image, row, col) within the chunk
        idx = torch.arange(v.shape[1], device=v.device).expand(c, -1) + start * h * w
        if best_v is not None:
            v, idx = torch.cat([best_v, v], 1), torch.cat([best_i, idx], 1)
        kk = min(k, v.shape[1])
        # a stable descending sort: among equal values the smaller flat index (earlier image) wins
        order = torch.sort(v, dim=1, descending=True, stable=True).indices[:, :kk]
        best_v, best_i = v.gather(1, order), idx.gather(1, order)
        start += n
    if best_v is None:
        raise ValueError("no images")
    img, rem = best_i // (h * w), best_i % (h * w)
    return best_v, torch.stack([img, rem // w, rem % w], -1)


def extract_patches(images: torch.Tensor, where: torch.Tensor, rf: ReceptiveField) -> torch.Tensor:
    """The receptive-field windows (..., C, R, R) of ``where`` (..., 3) = (image, row, column) in
    ``images`` (N, C, H, W), cut from the images zero-padded by the window's reach."""
    n, c, h, w = images.shape
    pad_lo = rf.offset
    flat = where.reshape(-1, 3)
    last_row = int(flat[:, 1].max()) * rf.stride - rf.offset + rf.size if len(flat) else 0
    last_col = int(flat[:, 2].max()) * rf.stride - rf.offset + rf.size if len(flat) else 0
    pad_hi_r, pad_hi_c = max(0, last_row - h), max(0, last_col - w)
    padded = F.pad(images, (pad_lo, pad_hi_c, pad_lo, pad_hi_r))
    out = torch.stack([padded[i, :, r * rf.stride:r * rf.stride + rf.size, q * rf.stride:q * rf.stride + rf.size]
                       for i, r, q in flat.tolist()]) if len(flat) else images.new_zeros(0, c, rf.size, rf.size)
    return out.reshape(*where.shape[:-1], c, rf.size, rf.size)


def window_mask(rf: ReceptiveField, row: int, col: int, height: int, width: int) -> torch.Tensor:
    """(height, width) bool mask of the image pixels inside the window of unit (row, col)."""
    r0, c0 = row * rf.stride - rf.offset, col * rf.stride - rf.offset
    m = torch.zeros(height, width, dtype=torch.bool)
    m[max(r0, 0):max(r0 + rf.size, 0), max(c0, 0):max(c0 + rf.size, 0)] = True
    return m


@torch.no_grad()
def brute_force_top(layer_fn: Callable, images: torch.Tensor, units: torch.Tensor, k: int):
    """The top k of ``units`` from every activation at once (one stable sort), to check the streamed
    pass: (values (U, k), where (U, k, 3), the activations (N, U, H, W))."""
    a = layer_fn(images).float()[:, units]
    n, u, h, w = a.shape
    flat = a.permute(1, 0, 2, 3).reshape(u, -1)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices[:, :k]
    return flat.gather(1, order), torch.stack([order // (h * w), order % (h * w) // w, order % w], -1), a


def topk_match(values: torch.Tensor, where: torch.Tensor, brute: tuple) -> float:
    """Share of units whose k shown (image, row, column) have, in order, ``brute_force_top``'s activations,
    to float round-off (a tie may show another position of equal value)."""
    bv, _, a = brute
    shown = torch.stack([a[where[u, :, 0], u, where[u, :, 1], where[u, :, 2]] for u in range(len(where))])
    tol = 1e-5 * max(1.0, float(bv.abs().max()))
    return float((((values - bv).abs() <= tol) & ((shown - bv).abs() <= tol)).all(1).float().mean())


@torch.no_grad()
def outside_change(layer_fn: Callable, images: torch.Tensor, units, where, rf: ReceptiveField, seed: int = 0) -> float:
    """Largest |a(x) - a(x')| over the shown units' patches, x' = x with every pixel outside the window
    replaced by uniform noise (0 when the window is the receptive field)."""
    g, worst = torch.Generator().manual_seed(seed), 0.0
    for u, row in zip(units.tolist(), where.tolist()):
        for i, r, c in row:
            x = images[i:i + 1]
            m = window_mask(rf, r, c, *x.shape[-2:]).to(x.device)
            noisy = torch.where(m, x, torch.rand(x.shape, generator=g).to(x.device))
            pair = layer_fn(torch.cat([x, noisy]))[:, u, r, c]
            worst = max(worst, float((pair[0] - pair[1]).abs()))
    return worst


def draw_patches(images: torch.Tensor, units, values, where, rf: ReceptiveField, title: str = ""):
    """A figure: per unit (rows) its top-k receptive-field patches, the activation above each."""
    import matplotlib.pyplot as plt

    patches = extract_patches(images.cpu(), where.cpu(), rf)[:, :, 0]  # (U, k, R, R)
    U, k = patches.shape[:2]
    fig, axes = plt.subplots(U, k + 1, figsize=(1.1 * (k + 1), 1.15 * U), squeeze=False)
    for r in range(U):
        axes[r, 0].text(0.5, 0.5, f"unit {int(units[r])}", ha="center", va="center", fontsize=8)
        axes[r, 0].axis("off")
        for c in range(k):
            axes[r, c + 1].imshow(patches[r, c], cmap="gray", vmin=0, vmax=1)
            axes[r, c + 1].set_title(f"{float(values[r, c]):.2f}", fontsize=6)
            axes[r, c + 1].axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw_in_context(images: torch.Tensor, where, rf: ReceptiveField, rows: int = 4):
    """A figure: the same patches in their images (the first ``rows`` units), the window drawn as a box."""
    import matplotlib.pyplot as plt

    rows, k = min(len(where), rows), where.shape[1]
    h, w = images.shape[-2:]
    fig, axes = plt.subplots(rows, k, figsize=(1.1 * k, 1.2 * rows), squeeze=False)
    for r in range(rows):
        for c in range(k):
            i, row, col = where[r, c].tolist()
            ax = axes[r, c]
            ax.imshow(images[i, 0].cpu(), cmap="gray", vmin=0, vmax=1)
            y0, x0 = row * rf.stride - rf.offset - 0.5, col * rf.stride - rf.offset - 0.5
            ax.add_patch(plt.Rectangle((x0, y0), rf.size, rf.size, fill=False, ec="red", lw=1.2))
            ax.set_xlim(-0.5 - rf.offset, w - 0.5 + rf.offset)
            ax.set_ylim(h - 0.5 + rf.offset, -0.5 - rf.offset)
            ax.axis("off")
    fig.tight_layout()
    return fig


def top_units(layer_fn: Callable, images: torch.Tensor, units: int, k: int, batch_size: int = 256):
    """The ``units`` most active channels (largest top activation) and their streamed top k:
    (units (U,), values (U, k), where (U, k, 3))."""
    v, w = top_activations(layer_fn, images, k, batch_size)
    order = torch.argsort(v[:, 0], descending=True, stable=True)[:units]
    return order, v[order], w[order]


def verify_top(layer_fn: Callable, images: torch.Tensor, top: tuple, rf: ReceptiveField, seed: int = 0) -> dict:
    """``top_units``' answer checked: topk_match against ``brute_force_top``, ``outside_change``, and for
    reference receptive_field (its size) and top_activation (the mean of the units' largest activations)."""
    units, values, where = top
    brute = brute_force_top(layer_fn, images, units, where.shape[1])
    return {"topk_match": topk_match(values, where, brute),
            "outside_change": outside_change(layer_fn, images, units, where, rf, seed),
            "receptive_field": rf.size, "top_activation": float(values[:, 0].mean())}

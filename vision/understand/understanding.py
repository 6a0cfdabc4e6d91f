"""Visualising and understanding a trained classifier (S_c(x): the score of class c for image x).

- Saliency (Simonyan et al. 2014): the gradient of the class score with respect to the pixels,
  M_ij = max over channels |∂S_c / ∂x_cij|: which pixels would change the score most.
- Class visualization: the image that a class likes best, by gradient ascent on the input with L2
  regularisation,  x* = argmax_x S_c(x) - λ ||x||²,  x ← x + η (∇_x S_c(x) - 2 λ x).
- Occlusion sensitivity (Zeiler & Fergus 2014): slide a grey/black patch over the image and record
  how much the class score drops, D_ij = S_c(x) - S_c(x with the patch at (i, j)).
- Nearest neighbours in pixel space against feature space: Euclidean distance on raw pixels finds
  images that look alike pixel by pixel (same place, same brightness), not images of the same class;
  distances between a network's features do.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def saliency(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, H, W) saliency maps: max over channels of |∂S_target / ∂x| (scores, not probabilities)."""
    x = x.detach().clone().requires_grad_(True)
    scores = model(x)
    picked = scores.gather(1, target.view(-1, 1)).sum()  # images are independent: one backward for all
    (grad,) = torch.autograd.grad(picked, x)
    return grad.abs().amax(1)


def class_visualization(model: nn.Module, target: int, shape, steps: int = 200, lr: float = 0.1,
                        l2: float = 0.01, clamp=None, init: torch.Tensor | None = None) -> torch.Tensor:
    """An image (``shape`` = (C, H, W)) that maximises S_target(x) - l2 ||x||² by gradient ascent.

    ``clamp``: optional (lo, hi) pixel range enforced after each step; ``init``: start image (zeros).
    """
    x = (init.clone() if init is not None else torch.zeros(1, *shape)).requires_grad_(True)
    if x.dim() == len(shape):
        x = x[None].detach().requires_grad_(True)
    for _ in range(steps):
        score = model(x)[0, target]
        (grad,) = torch.autograd.grad(score, x)
        with torch.no_grad():
            x += lr * (grad - 2 * l2 * x)
            if clamp is not None:
                x.clamp_(*clamp)
    return x.detach()[0]


@torch.no_grad()
def occlusion(model: nn.Module, x: torch.Tensor, target: int, patch: int = 8, stride: int = 2,
              fill: float = 0.0, batch_size: int = 256) -> torch.Tensor:
    """Score drop map for one image ``x`` (C, H, W): entry (i, j) has the patch's top-left corner at
    (i stride, j stride). Returns (rows, cols) = ((H - patch) // stride + 1, (W - patch) // stride + 1)."""
    c, h, w = x.shape
    rows, cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    base = model(x[None])[0, target]
    occluded = x[None].repeat(rows * cols, 1, 1, 1)
    for k in range(rows * cols):
        i, j = divmod(k, cols)
        occluded[k, :, i * stride:i * stride + patch, j * stride:j * stride + patch] = fill
    scores = torch.cat([model(chunk)[:, target] for chunk in torch.split(occluded, batch_size)])
    return (base - scores).view(rows, cols)


def nearest_neighbours(queries: torch.Tensor, bank: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Indices (Q, k) of the ``k`` rows of ``bank`` closest to each query (Euclidean, inputs flattened)."""
    d = torch.cdist(queries.flatten(1).double(), bank.flatten(1).double())
    return d.topk(k, dim=1, largest=False).indices


def neighbour_accuracy(queries, query_labels, bank, bank_labels, k: int = 1) -> float:
    """How often the nearest neighbour (majority of k) has the query's label."""
    idx = nearest_neighbours(queries, bank, k)
    votes = bank_labels[idx]
    pred = torch.mode(votes, dim=1).values if k > 1 else votes[:, 0]
    return float((pred == query_labels).float().mean())



def saliency_in_box(maps: torch.Tensor, boxes: torch.Tensor) -> dict:
    """``saliency_in_box``: the mean share of each map's mass (N, H, W) inside its box (N, 4: x1, y1, x2, y2,
    x2 and y2 exclusive); ``box_area_share``: the boxes' mean share of the image (what uniform maps give)."""
    inside = torch.zeros(maps.shape, dtype=torch.bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
        inside[i, y1:y2, x1:x2] = True
    share = (maps * inside).flatten(1).sum(1) / maps.flatten(1).sum(1).clamp(min=1e-12)
    return {"saliency_in_box": float(share.mean()), "box_area_share": float(inside.float().mean())}


def class_visualizations(model: nn.Module, classes: int, shape, steps: int = 200, lr: float = 0.1,
                         l2: float = 0.01) -> tuple[torch.Tensor, float]:
    """``class_visualization`` of every class from zeros (K, C, H, W), and the model's mean softmax
    probability of each image's own class (how much it likes them)."""
    device = next(model.parameters()).device
    images = torch.stack([class_visualization(model, k, shape, steps, lr, l2, init=torch.zeros(shape, device=device))
                          for k in range(classes)])
    with torch.no_grad():
        return images, float(torch.softmax(model(images), 1).diagonal().mean())


def occlusion_maps(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, patch: int = 8,
                   stride: int = 2) -> list:
    """``occlusion`` of each image (N, C, H, W) for its label, on the CPU."""
    return [occlusion(model, x, int(y), patch, stride).cpu() for x, y in zip(images, labels)]


def peak_in_box(maps: list, boxes: torch.Tensor, patch: int, stride: int) -> float:
    """How often the largest score drop of an occlusion map (its patch's centre) lies in the box (x1, y1, x2, y2)."""
    hits = 0
    for m, (x1, y1, x2, y2) in zip(maps, boxes.tolist()):
        r, q = divmod(int(m.argmax()), m.shape[1])
        cy, cx = r * stride + patch / 2, q * stride + patch / 2
        hits += (x1 <= cx <= x2) and (y1 <= cy <= y2)
    return hits / len(maps)


def upsample_occlusion(m: torch.Tensor, patch: int, stride: int) -> torch.Tensor:
    """An occlusion map on the image's grid: entry (i, j) drawn as a stride-sized cell at its patch's centre."""
    pad, up = (patch - stride) // 2, torch.nn.functional.interpolate(m[None, None], scale_factor=stride)
    return torch.nn.functional.pad(up, (pad,) * 4)[0, 0]


@torch.no_grad()
def embed_all(fn, images: torch.Tensor, device=None, batch_size: int = 512) -> torch.Tensor:
    """``fn`` (e.g. a model's feature extractor) over images in batches, on ``device``; the result on the CPU."""
    return torch.cat([fn(c.to(device)).cpu() for c in torch.split(images, batch_size)])


def pixel_and_feature_nn(embed, train: tuple, test: tuple, k: int = 1, device=None) -> dict:
    """``pixel_nn_accuracy`` and ``feature_nn_accuracy``: ``neighbour_accuracy`` of the test images (x, y)
    among the training images on raw pixels and on ``embed``'s features."""
    (tr, ytr), (te, yte) = (tuple(t.cpu() for t in s) for s in (train, test))
    f = lambda x: embed_all(embed, x, device)  # noqa: E731
    return {"pixel_nn_accuracy": neighbour_accuracy(te, yte, tr, ytr, k),
            "feature_nn_accuracy": neighbour_accuracy(f(te), yte, f(tr), ytr, k)}

def draw_rows(rows: list, titles=None):
    """A figure of image rows (lists of 2D arrays; the first row grey, the others heat maps), titles on the first."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(rows[0]), figsize=(1.6 * len(rows[0]), 1.7 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            axes[r, c].imshow(img, cmap="gray" if r == 0 else "hot")
            axes[r, c].axis("off")
            if r == 0 and titles:
                axes[r, c].set_title(titles[c], fontsize=8)
    fig.tight_layout()
    return fig


def draw_class_images(images: torch.Tensor):
    """A figure: one class visualization (K, H, W) per class, on one symmetric colour scale."""
    import matplotlib.pyplot as plt

    lim = float(images.abs().max())
    fig, axes = plt.subplots(1, len(images), figsize=(1.4 * len(images), 1.8), squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.imshow(images[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(str(k))
        ax.axis("off")
    return fig


def draw_neighbours(queries: torch.Tensor, bank: torch.Tensor, embed, k: int = 5, device=None):
    """A figure: per query (N, 1, H, W) its k nearest images of ``bank`` in pixel space, then in the feature
    space of ``embed``."""
    import matplotlib.pyplot as plt

    n, rows_pixel = len(queries), nearest_neighbours(queries, bank, k)
    rows_feature = nearest_neighbours(embed_all(embed, queries, device), embed_all(embed, bank, device), k)
    fig, axes = plt.subplots(n, 2 * k + 1, figsize=(1.1 * (2 * k + 1), 1.2 * n), squeeze=False)
    for i in range(n):
        cells = [queries[i, 0]] + [bank[j, 0] for j in rows_pixel[i]] + [bank[j, 0] for j in rows_feature[i]]
        for c, img in enumerate(cells):
            axes[i, c].imshow(img, cmap="gray")
            axes[i, c].axis("off")
    axes[0, 0].set_title("query", fontsize=8)
    axes[0, 1].set_title("pixel-space neighbours ->", fontsize=8, loc="left")
    axes[0, k + 1].set_title("feature-space neighbours ->", fontsize=8, loc="left")
    fig.tight_layout()
    return fig

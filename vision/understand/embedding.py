"""Dimensionality reduction of a network's features: do the classes separate in 2-D?

The penultimate features of a classifier are the input of its last linear layer, h(x); the class
scores are S(x) = W h(x) + b, so training pushes the classes apart in h-space (linearly separable
is what the last layer needs). Raw pixels carry the same information but mix it with position,
stroke width and brightness, so classes overlap. Two reductions to 2-D points z_i:

- PCA: z = U_2^T (x - mean), the two directions of largest variance (linear; keeps global distances);
- t-SNE (van der Maaten & Hinton 2008): z minimises KL(P || Q) between Gaussian neighbour
  probabilities p_{j|i} in the input space (perplexity sets their bandwidth) and Student-t ones
  q_ij proportional to (1 + ||z_i - z_j||^2)^-1 in 2-D (non-linear; keeps neighbourhoods).

How well the classes separate on the 2-D points, two scores:

- leave-one-out k-NN accuracy: the label of each point predicted by the majority of its k
  nearest other points (1.0: every neighbourhood is pure);
- silhouette (Rousseeuw 1987): s_i = (b_i - a_i) / max(a_i, b_i), a_i the mean distance to the
  point's own class, b_i the smallest mean distance to another class; averaged, in [-1, 1].
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

METHODS = ("pca", "tsne")


@torch.no_grad()
def penultimate(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The input of ``model``'s last ``nn.Linear`` for each image (N, D), read by a forward hook
    (eval mode is the caller's business). Raises if the model has no linear layer."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError("the model has no nn.Linear layer: no penultimate features to read")
    seen: list[torch.Tensor] = []
    handle = last[-1].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().flatten(1).cpu()))
    try:
        for chunk in torch.split(x, batch_size):
            model(chunk)
    finally:
        handle.remove()
    return torch.cat(seen)


def reduce_2d(x, method: str = "pca", seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """(N, ...) points -> (N, 2) by scikit-learn's PCA or TSNE (PCA initialisation, fixed seed)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    a = (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).reshape(len(x), -1)
    a = a.astype(np.float64)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(a)
    if method == "tsne":
        return TSNE(n_components=2, perplexity=min(perplexity, (len(a) - 1) / 3), init="pca",
                    random_state=seed).fit_transform(a)
    raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")


def knn_accuracy(points: np.ndarray, labels, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy of ``labels`` on ``points``: each point's k nearest *other* points
    vote; a tie goes to the tied class whose member is nearest."""
    from sklearn.neighbors import NearestNeighbors

    y = np.asarray(labels)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)
    hits = 0
    for i, row in enumerate(idx):
        row = [j for j in row if j != i][:k]  # the point itself (or a duplicate of it) is left out
        votes = np.bincount(y[row], minlength=y.max() + 1)
        best = set(np.flatnonzero(votes == votes.max()).tolist())
        hits += next(y[j] for j in row if y[j] in best) == y[i]
    return hits / len(y)


def separation(points: np.ndarray, labels, k: int = 5) -> dict:
    """{"knn": leave-one-out k-NN accuracy, "silhouette": mean silhouette} of labelled 2-D points."""
    from sklearn.metrics import silhouette_score

    y = np.asarray(labels)
    return {"knn": knn_accuracy(points, y, k), "silhouette": float(silhouette_score(points, y))}


def embed_spaces(spaces: dict, seed: int = 0, perplexity: float = 30.0) -> dict:
    """``{(space, method): (N, 2) points}``: each named set of points (N, ...) reduced by each of METHODS."""
    return {(s, m): reduce_2d(v, m, seed, perplexity) for s, v in spaces.items() for m in METHODS}


def draw_embeddings(points: dict, labels, k: int = 5):
    """A figure of ``embed_spaces``' points (methods in rows, spaces in columns) coloured by class, each
    titled with its ``separation`` scores."""
    import matplotlib.pyplot as plt

    spaces = list(dict.fromkeys(s for s, _ in points))
    fig, axes = plt.subplots(len(METHODS), len(spaces), figsize=(4.5 * len(spaces), 4.2 * len(METHODS)), squeeze=False)
    for r, method in enumerate(METHODS):
        for c, space in enumerate(spaces):
            z, ax = points[(space, method)], axes[r, c]
            sc = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=7, vmin=-0.5, vmax=9.5)
            s = separation(z, labels, k)
            ax.set_title(f"{method.upper() if method == 'pca' else 't-SNE'} of {space}s: "
                         f"{k}-NN {s['knn']:.2f}, silhouette {s['silhouette']:.2f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(sc, ax=axes, ticks=range(10), shrink=0.6, label="digit")
    return fig

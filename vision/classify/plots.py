"""Figures of the classifiers: k chosen by cross-validation (kNN), a linear classifier's weights as
class templates, and test accuracy against the number of labelled examples (transfer learning)."""
from __future__ import annotations

import torch


def cross_validation(cv: dict, k: int, folds: int):
    """Each fold's accuracy (grey dots) and the mean +- std per k (the notes' k-choice plot), log k axis."""
    ks = sorted(cv)
    import matplotlib.pyplot as plt  # here, not at import: 0.4 s that a run without this figure never pays

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for kk in ks:
        ax.scatter([kk] * len(cv[kk]), cv[kk], s=8, color="grey")
    ax.errorbar(ks, [cv[kk].mean() for kk in ks], yerr=[cv[kk].std() for kk in ks], color="C0")
    ax.set(xlabel="k", ylabel="cross-validation accuracy", title=f"{folds}-fold CV, chosen k={k}")
    ax.set_xscale("log")
    return fig


def class_templates(W: torch.Tensor, image_shape: tuple):
    """The columns of W (D + 1, C), bias row last, as image-sized templates (channel 0), one per class."""
    c_, h, w = image_shape
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, W.shape[1], figsize=(W.shape[1], 1.3))
    for c, ax in enumerate(axes):
        ax.imshow(W[:-1, c].reshape(c_, h, w)[0].cpu(), cmap="RdBu_r")
        ax.set_title(str(c))
        ax.axis("off")
    return fig


def accuracy_vs_labels(rows: list[dict], methods, x: str = "labelled_scenes"):
    """One line per method: ``row[method]`` against ``row[x]`` (log axis)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for m, marker in zip(methods, "os^v<>"):
        ax.plot([r[x] for r in rows], [r[m] for r in rows], marker + "-", label=m)
    ax.set(xscale="log", xlabel=x.replace("_", " "), ylabel="test accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig

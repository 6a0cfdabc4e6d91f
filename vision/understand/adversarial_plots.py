"""Figures of FGSM (vision.understand.adversarial): accuracy against the attack's epsilon for several
models, and a few examples (clean image, perturbation epsilon sign(grad), adversarial image) with a
model's predictions."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

from gymlab.vision.understand.adversarial import fgsm


def accuracy_vs_epsilon(epsilons, curves: dict):
    """One line per ``name: accuracies`` (one accuracy per epsilon)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for (name, acc), marker in zip(curves.items(), "os^v"):
        ax.plot(epsilons, acc, marker + "-", label=name)
    ax.set(xlabel="epsilon (L-inf, pixels in [0, 1])", ylabel="test accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def examples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float, n: int = 6):
    """Three rows for the first ``n`` images (channel 0): clean, perturbation, adversarial; the model in eval mode."""
    model.eval()
    x, y = x[:n], y[:n]
    xa = fgsm(model, x, y, epsilon)
    with torch.no_grad():
        p_clean, p_adv = model(x).argmax(1), model(xa).argmax(1)
    fig, axes = plt.subplots(3, n, figsize=(7 * n / 6, 3.8), squeeze=False)
    for i in range(n):
        for r, (img, title) in enumerate([(x[i, 0], f"clean: {p_clean[i].item()}"), (xa[i, 0] - x[i, 0], "perturbation"),
                                          (xa[i, 0], f"adv: {p_adv[i].item()}")]):
            kw = dict(cmap="RdBu_r", vmin=-epsilon, vmax=epsilon) if r == 1 else dict(cmap="gray", vmin=0, vmax=1)
            axes[r, i].imshow(img.detach().cpu(), **kw)
            axes[r, i].set_title(title, fontsize=7)
            axes[r, i].axis("off")
    fig.tight_layout()
    return fig

"""Activation and gradient statistics per hidden layer of an MLP (vision.classify.mlp), the numbers
behind the notes' initialisation, activation and batch-norm lessons, and their figures.

From one forward/backward pass of cross-entropy on (x, y), for each hidden layer:

    act_mean, act_std   mean and std of its output h
    saturated           the fraction with |h| > 0.99 (tanh's flat ends, where 1 - h^2 ~ 0)
    grad_std            std of the upstream gradient dL/dh
    wgrad               ||dL/dW|| of its weight matrix
    samples             the first values of h, for histograms

and of each of the first five, ``<stat>_first`` and ``<stat>_last``: its value at the first and the
last hidden layer.

``same_sign_rows``: the fraction of rows of a per-example dL/dW whose entries share one sign. Row i is
dL/dz_i x^T, so when every input x to the layer is positive (sigmoid, ReLU) it is all of them: the
zig-zag updates of non-zero-centred activations. ``dead_fraction``: units whose output is exactly
zero for every example (dead ReLUs get no gradient and stay dead).
"""
from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def layer_weight(layer: nn.Module) -> torch.Tensor:
    """The weight matrix of an MLP hidden layer (plain, DropConnect or maxout linear)."""
    lin = layer.linear
    return lin.weight if hasattr(lin, "weight") else lin.linear.weight


def layer_stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor, samples: int = 2000) -> dict:
    """The statistics above, in the model's current mode; the model is left as it was (gradients
    cleared, batch-norm running statistics restored)."""
    state = copy.deepcopy(model.state_dict())
    model.zero_grad()
    logits, acts = model(x, return_activations=True)
    for a in acts:
        a.retain_grad()
    F.cross_entropy(logits, y).backward()
    out = {"act_mean": [a.mean().item() for a in acts], "act_std": [a.std().item() for a in acts],
           "saturated": [(a.abs() > 0.99).float().mean().item() for a in acts],
           "grad_std": [a.grad.std().item() for a in acts],
           "wgrad": [layer_weight(layer).grad.norm().item() for layer in model.layers]}
    out.update({f"{k}_{end}": v[i] for k, v in list(out.items()) for end, i in (("first", 0), ("last", -1))})
    out["samples"] = [a.detach().flatten()[:samples].cpu().numpy() for a in acts]
    model.zero_grad()
    model.load_state_dict(state)
    return out


def same_sign_rows(model: nn.Module, x: torch.Tensor, y: torch.Tensor, layer: int = 1) -> float:
    """Fraction of the non-zero rows of dL/dW (hidden layer ``layer``, one example at a time) whose
    entries all have one sign."""
    W, fractions = layer_weight(model.layers[layer]), []
    for i in range(len(y)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        rows = W.grad[W.grad.abs().sum(1) > 0]
        if len(rows):
            fractions.append(((rows >= 0).all(1) | (rows <= 0).all(1)).float().mean().item())
    model.zero_grad()
    return float(np.mean(fractions)) if fractions else float("nan")


@torch.no_grad()
def dead_fraction(model: nn.Module, x: torch.Tensor) -> float:
    """Fraction of hidden units (all layers) whose output is 0 for every row of x, in eval mode."""
    was = model.training
    model.eval()
    _, acts = model(x, return_activations=True)
    model.train(was)
    return torch.cat([(a == 0).all(dim=0) for a in acts]).float().mean().item()


def histograms_figure(stats: dict, title: str, lim: float = 1.0):
    """Per model (name -> layer_stats), the histogram of each layer's activations in [-lim, lim] as one
    row of a heat map (rows: layers, columns: value bins)."""
    fig, axes = plt.subplots(1, len(stats), figsize=(3 * len(stats), 3), squeeze=False)
    bins = np.linspace(-lim, lim, 41)
    for ax, (name, s) in zip(axes[0], stats.items()):
        hist = np.stack([np.histogram(np.clip(h, -lim, lim), bins=bins)[0] / max(len(h), 1) for h in s["samples"]])
        ax.imshow(hist, aspect="auto", cmap="magma", extent=(-lim, lim, len(hist) + 0.5, 0.5))
        ax.set(title=name, xlabel="activation value", ylabel="layer" if ax is axes[0, 0] else None)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


LABELS = {"act_std": "std of activations", "grad_std": "std of dL/dh", "saturated": "fraction |h| > 0.99",
          "wgrad": "||dL/dW||", "act_mean": "mean activation"}


def per_layer_figure(stats: dict, keys=("act_std",)):
    """One panel per statistic in ``keys``: its value against the layer, one line per model, log scale."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, s in stats.items():
            ax.plot(np.arange(1, len(s[key]) + 1), np.maximum(np.abs(s[key]), 1e-30), "o-", label=name)
        ax.set(yscale="log", xlabel="layer", ylabel=LABELS.get(key, key))
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig

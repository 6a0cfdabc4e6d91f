"""Figures for comparing training runs side by side: loss curves (a moving average over ``smooth``
steps, log scale) and bar charts of one number per run."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def loss_curves_figure(histories: dict, title: str, smooth: int = 10, marked=(), marker: str = "diverged"):
    """name -> list of per-step losses; the names in ``marked`` get ``(marker)`` in the legend."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, h in histories.items():
        if len(h):
            k = min(smooth, len(h))
            ax.plot(np.convolve(h, np.ones(k) / k, mode="valid"), label=name + (f" ({marker})" if name in marked else ""))
    ax.set(xlabel="step", ylabel="training loss (moving average)", title=title, yscale="log")
    ax.legend(fontsize=7)
    return fig


def bars_figure(names, panels: dict, log=(), **axes_kw):
    """One bar chart per panel, ``title -> values`` (one per name) or ``title -> {series: values}``
    (bars side by side); the titles in ``log`` on a log scale; ``axes_kw`` set on every panel."""
    fig, axes = plt.subplots(1, len(panels), figsize=(max(5, 4 * len(panels)), 3.2), squeeze=False)
    x = np.arange(len(names))
    for ax, (title, values) in zip(axes[0], panels.items()):
        series = values if isinstance(values, dict) else {None: values}
        w = 0.8 / len(series)
        for j, (label, v) in enumerate(series.items()):
            ax.bar(x + (j - (len(series) - 1) / 2) * w, v, w, label=label, log=title in log)
        ax.set_xticks(x, names, rotation=45, fontsize=7, ha="right")
        ax.set(title=title, **axes_kw)
        if isinstance(values, dict):
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig

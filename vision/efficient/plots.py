"""Figures of efficient inference: accuracy against sparsity with and without retraining (from a
compression table), and multiply-adds against parameters for many models (from complexity rows)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def accuracy_vs_sparsity(rows: list[dict]):
    """The pruned-and-retrained rows of vision.efficient.compression_table against the dense model pruned at once."""
    prune = [r for r in rows if r["model"].endswith("retrain")]
    dense = rows[0]["accuracy"]
    sp = [0.0] + [r["sparsity"] for r in prune]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(sp, [dense] + [r["accuracy"] for r in prune], "o-", label="with retraining")
    ax.plot(sp, [dense] + [r["dense_pruned_at_once"] for r in prune], "s--", label="dense pruned at once, no retraining")
    ax.set(xlabel="sparsity (fraction of zero weights)", ylabel="test accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def complexity_bubbles(rows: list[dict], colours: dict = None):
    """Multiply-adds against parameters (log-log), bubble area ~ latency, one colour per ``family``."""
    colours = colours or {"backbone": "C0", "generative": "C1"}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        if r["MACs"] <= 0 or r["params"] <= 0:
            continue
        ax.scatter(r["params"], r["MACs"], s=20 + 30 * np.sqrt(r["latency_ms"]), c=colours[r["family"]], alpha=0.6)
        ax.annotate(f"{r['model']} {r['input']}", (r["params"], r["MACs"]), fontsize=5)
    ax.set(xscale="log", yscale="log", xlabel="parameters", ylabel="multiply-adds per image",
           title="complexity (bubble area ~ CPU latency); " + ", ".join(f"{c}: {f}" for f, c in colours.items()))
    return fig

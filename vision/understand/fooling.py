"""Fooling images: an image of class A, changed a little, that the network calls class B with high
confidence (Szegedy et al. 2014; Nguyen et al. 2015).

Gradient ascent on the target class's score S_B, with steps of fixed L2 length η along the
normalised gradient (so that the step does not depend on the gradient's scale), the pixels clipped
to their range after each step, stopping as soon as the network is confident:

    x_0 = x_A,     g_t = ∇_x S_B(x_t),     x_{t+1} = clip(x_t + η g_t / ||g_t||_2, lo, hi)
    stop at the first t with  softmax(S(x_t))_B >= q   (q: the confidence asked for)

The perturbation δ = x_t - x_A is reported by its L2 and L∞ norms and by ||δ||_2 / ||x_A||_2. Taking
the first confident image keeps δ small: each step moves x by at most η, so ||δ||_2 <= t η. A network
that is close to linear in its input gains a lot of score from a small step that agrees in sign with
many weights at once, which is why a small δ is enough (Goodfellow et al. 2015).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Fooled:
    images: torch.Tensor  # (N, C, H, W) the last iterate of each ascent
    success: torch.Tensor  # (N,) bool: reached the confidence
    steps: torch.Tensor  # (N,) long: steps taken (max_steps where it failed)
    confidence: torch.Tensor  # (N,) softmax probability of the target at the end
    l2: torch.Tensor  # (N,) ||δ||_2
    linf: torch.Tensor  # (N,) ||δ||_∞
    relative: torch.Tensor  # (N,) ||δ||_2 / ||x_A||_2


def fooling_images(model: nn.Module, x: torch.Tensor, target: torch.Tensor, confidence: float = 0.9,
                   step: float = 0.05, max_steps: int = 500, clamp=(0.0, 1.0)) -> Fooled:
    """Fool ``model`` into ``target`` (N,) for every image of ``x`` (N, C, H, W) at once, each image
    stopping at its own first confident step (see the module docstring). The model's mode is kept
    (call ``model.eval()`` first for BatchNorm and dropout networks)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x0 = x.detach()
    cur = x0.clone()
    done = torch.zeros(len(x0), dtype=torch.bool, device=x0.device)
    steps = torch.full((len(x0),), max_steps, dtype=torch.long, device=x0.device)
    rows = torch.arange(len(x0), device=x0.device)
    for t in range(max_steps + 1):
        xt = cur.clone().requires_grad_(True)
        scores = model(xt)
        with torch.no_grad():
            p = torch.softmax(scores.float(), 1)[rows, target]
            newly = (p >= confidence) & ~done
            steps[newly] = t
            done |= newly
        if bool(done.all()) or t == max_steps:
            break
        (g,) = torch.autograd.grad(scores[rows, target].sum(), xt)  # samples are independent
        with torch.no_grad():
            norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x0.dim() - 1)))
            moved = cur + step * g / norm
            if clamp is not None:
                moved = moved.clamp(*clamp)
            cur = torch.where(done.view(-1, *([1] * (x0.dim() - 1))), cur, moved)
    with torch.no_grad():
        conf = torch.softmax(model(cur).float(), 1)[rows, target]
        d = (cur - x0).flatten(1)
        return Fooled(cur, done, steps, conf, d.norm(dim=1), d.abs().amax(1),
                      d.norm(dim=1) / x0.flatten(1).norm(dim=1).clamp_min(1e-12))


@torch.no_grad()
def all_pairs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, per_class: int = 1, classes: int = 10):
    """Every ordered pair (A, B), A != B, with the first ``per_class`` correctly classified images of each
    class A: (image indices, A, B), each (classes (classes - 1) per_class,). Raises if a class has too few."""
    right = model(x).argmax(1) == y
    starts = []
    for a in range(classes):
        idx = torch.nonzero(right & (y == a)).flatten()[:per_class]
        if len(idx) < per_class:
            raise ValueError(f"fewer than per_class={per_class} correctly classified images of class {a}")
        starts += idx.tolist()
    src = torch.tensor([i for i in starts for _ in range(classes - 1)], device=x.device)
    b = torch.tensor([c for i in starts for c in range(classes) if c != int(y[i])], device=x.device)
    return src, y[src], b


def fool_all_pairs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, per_class: int = 1, confidence: float = 0.9,
                   step: float = 0.05, max_steps: int = 500, classes: int = 10):
    """``fooling_images`` for ``all_pairs``: (start images, A, B, Fooled)."""
    src, a, b = all_pairs(model, x, y, per_class, classes)
    return x[src], a, b, fooling_images(model, x[src], b, confidence, step, max_steps)


@torch.no_grad()
def fooling_metrics(model: nn.Module, x0: torch.Tensor, a: torch.Tensor, b: torch.Tensor, r: Fooled,
                    train_x: torch.Tensor, train_y: torch.Tensor) -> dict:
    """success_rate, says_target, the size of the successful perturbations (mean_l2, max_l2, mean_linf,
    mean_relative_l2; NaN when none succeeded), mean_steps, and for scale mean_l2_to_nearest_b (from each
    start image to the nearest training image of class B) and pixel_nn_still_a (how often a fooled image's
    nearest training image in pixel space still has class A)."""
    flat, bank = x0.flatten(1), train_x.flatten(1)
    nearest_b = torch.stack([torch.cdist(flat[i:i + 1], bank[train_y == b[i]]).min() for i in range(len(b))])
    still_a = train_y[torch.cdist(r.images.flatten(1), bank).argmin(1)] == a
    ok = r.success
    mean = lambda v: float(v[ok].float().mean()) if ok.any() else float("nan")  # noqa: E731
    return {"success_rate": float(ok.float().mean()), "pairs": len(b),
            "says_target": float((model(r.images).argmax(1) == b).float().mean()), "mean_l2": mean(r.l2),
            "max_l2": float(r.l2[ok].max()) if ok.any() else float("nan"), "mean_linf": mean(r.linf),
            "mean_relative_l2": mean(r.relative), "mean_steps": float(r.steps.float().mean()),
            "pixel_nn_still_a": mean(still_a), "mean_l2_to_nearest_b": float(nearest_b.mean())}


def draw_fooling(x0: torch.Tensor, a: torch.Tensor, b: torch.Tensor, r: Fooled, nearest_b: float):
    """Three figures: per class A one start image and its fooled versions; one start, its perturbation and
    the fooled image per class; and the histogram of ||δ|| against the mean distance to the nearest real B."""
    import matplotlib.pyplot as plt

    x0, x1, a, b = x0.cpu(), r.images.cpu(), a.cpu(), b.cpu()
    classes = int(a.max()) + 1
    fig, axes = plt.subplots(classes, classes, figsize=(10, 10.5))
    for A in range(classes):
        rows = torch.nonzero(a == A).flatten()[:classes - 1]
        axes[A, 0].imshow(x0[rows[0], 0], cmap="gray", vmin=0, vmax=1)
        axes[A, 0].set_title(f"{A} (start)", fontsize=7)
        for j, i in enumerate(rows.tolist()):
            axes[A, j + 1].imshow(x1[i, 0], cmap="gray", vmin=0, vmax=1)
            axes[A, j + 1].set_title(f"-> {int(b[i])}: p {float(r.confidence[i]):.2f}", fontsize=6)
        for ax in axes[A]:
            ax.axis("off")
    fig.suptitle("fooling images: each row starts from one digit and is classified as every other digit", fontsize=9)
    fig.tight_layout()
    lim = float((x1 - x0).abs().max())
    fig2, axes2 = plt.subplots(3, classes, figsize=(10, 3.4))
    for A in range(classes):
        i = int(torch.nonzero(a == A).flatten()[(A + 1) % (classes - 1)])  # a different target in each column
        for row, (img, kw, title) in enumerate([(x0[i, 0], dict(cmap="gray", vmin=0, vmax=1), f"{A}"),
                                                (x1[i, 0] - x0[i, 0], dict(cmap="RdBu_r", vmin=-lim, vmax=lim),
                                                 f"δ: |δ|={float(r.l2[i]):.2f}"),
                                                (x1[i, 0], dict(cmap="gray", vmin=0, vmax=1), f"says {int(b[i])}")]):
            axes2[row, A].imshow(img, **kw)
            axes2[row, A].set_title(title, fontsize=7)
            axes2[row, A].axis("off")
    fig2.tight_layout()
    hist, ax = plt.subplots(figsize=(4.5, 3))
    ax.hist(r.l2.cpu().numpy(), bins=20, alpha=0.7, label="||δ|| of the fooling images")
    ax.axvline(nearest_b, color="k", ls="--", label="mean distance to the nearest real B")
    ax.set_xlabel("L2 norm (pixels in [0, 1])")
    ax.legend(fontsize=7)
    hist.tight_layout()
    return fig, fig2, hist

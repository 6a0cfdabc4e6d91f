"""``scenes``: synthetic detection / segmentation / captioning scenes made of the embedded digits.

Each scene is a ``size x size`` grey canvas (default 32: the 8x8 digits scaled to 10-16 pixels fill
it the way 28x28 digits fill a 64x64 canvas, and it keeps CPU training to seconds) on which 1-3
digits are resized and pasted at random places. Digits may touch (their boxes may overlap up to
``max_overlap`` IoU); where two overlap, the pixel is the brighter of the two and the mask belongs
to the digit pasted last. Every scene comes with

- ``boxes``: one ``(x1, y1, x2, y2)`` box per digit in pixels (the ink's tight box; ``x2``, ``y2``
  exclusive), ``labels``: the digit classes;
- ``mask``: a per-pixel class map, 0 for background and ``1 + digit`` for ink (ink: value > 0.3);
- ``caption``: the digits left to right, each related to the previous one, e.g. ``"3 left of 7"``,
  ``"3 above 7"`` (3 is the left one and higher up), ``"1 left of 4 below 9"``. The relation of two
  neighbours is "left of" when their horizontal distance is at least the vertical one, else
  "above"/"below" (the first digit is higher/lower than the second).

Train scenes are built from the train+validation digits of ``load_digits_split(seed)``, test
scenes from its test digits, so no digit image is in both. Everything is deterministic for a seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gymlab.vision.data.datasets import load_digits_split

INK = 0.3  # a pixel is ink (and gets the digit's mask class) above this value
RELATIONS = ("left of", "above", "below")


@dataclass
class Scenes:
    images: torch.Tensor  # (N, 1, S, S) float32 in [0, 1]
    masks: torch.Tensor  # (N, S, S) int64: 0 background, 1 + digit
    boxes: list  # N tensors (k, 4) float32, xyxy in pixels
    labels: list  # N tensors (k,) int64
    captions: list  # N strings

    def __len__(self) -> int:
        return len(self.images)

    def targets(self, i: int) -> dict:
        return {"boxes": self.boxes[i], "labels": self.labels[i]}


@dataclass
class SceneData:
    train: Scenes
    test: Scenes
    size: int
    num_classes: int = 10  # digit classes (masks have num_classes + 1 with background)
    name: str = "scenes"


def caption(boxes: np.ndarray, labels: np.ndarray) -> str:
    """The caption of one scene from its boxes (k, 4) and labels (k,) (see the module docstring)."""
    if len(labels) == 0:
        return ""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    order = np.argsort(cx, kind="stable")
    words = [str(int(labels[order[0]]))]
    for a, b in zip(order[:-1], order[1:]):
        dx, dy = cx[b] - cx[a], cy[b] - cy[a]
        rel = "left of" if abs(dx) >= abs(dy) else ("above" if dy > 0 else "below")
        words += [rel, str(int(labels[b]))]
    return " ".join(words)


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def make_scenes(digits: torch.Tensor, digit_labels: torch.Tensor, n: int, *, size: int = 32,
                min_digits: int = 1, max_digits: int = 3, min_px: int = 10, max_px: int = 16,
                max_overlap: float = 0.1, seed: int = 0) -> Scenes:
    """Paste ``min_digits..max_digits`` of the given (M, 1, 8, 8) digits on each of ``n`` canvases."""
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    if not 4 <= min_px <= max_px <= size:
        raise ValueError(f"need 4 <= min_px <= max_px <= size, got {min_px}, {max_px}, {size}")
    rng = np.random.default_rng(seed)
    images = torch.zeros(n, 1, size, size)
    masks = torch.zeros(n, size, size, dtype=torch.int64)
    # every digit at every pixel size once: resizing is then a table look-up; the pasting works on NumPy
    # views of the same memory (per-digit torch calls on such small patches cost more than the work)
    sizes = range(min_px, max_px + 1)
    resized = {s: F.interpolate(digits, size=(s, s), mode="bilinear", align_corners=False).clamp(0, 1)[:, 0].numpy()
               for s in sizes}
    canvas, mask_np, digit_labels = images.numpy(), masks.numpy(), np.asarray(digit_labels)
    all_boxes, all_labels, captions = [], [], []
    for i in range(n):
        k = int(rng.integers(min_digits, max_digits + 1))
        boxes, labels = [], []
        for _ in range(k):
            for _attempt in range(30):
                j = int(rng.integers(len(digits)))
                s = int(rng.integers(min_px, max_px + 1))
                x0, y0 = int(rng.integers(0, size - s + 1)), int(rng.integers(0, size - s + 1))
                patch = resized[s][j]
                ink = patch > INK
                rows, cols = np.nonzero(ink)
                if len(rows) == 0:
                    continue
                box = [x0 + int(cols.min()), y0 + int(rows.min()), x0 + int(cols.max()) + 1, y0 + int(rows.max()) + 1]
                if all(_iou(box, b) <= max_overlap for b in boxes):
                    break
            else:
                continue  # no room left on this canvas
            region = canvas[i, 0, y0:y0 + s, x0:x0 + s]
            np.maximum(region, patch, out=region)
            mask_np[i, y0:y0 + s, x0:x0 + s][ink] = int(digit_labels[j]) + 1
            boxes.append(box)
            labels.append(int(digit_labels[j]))
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        lab = np.asarray(labels, dtype=np.int64)
        all_boxes.append(torch.from_numpy(b))
        all_labels.append(torch.from_numpy(lab))
        captions.append(caption(b, lab))
    return Scenes(images, masks, all_boxes, all_labels, captions)


def load_scenes(seed: int = 0, n_train: int = 2000, n_test: int = 500, *, size: int = 32, min_digits: int = 1,
                max_digits: int = 3, min_px: int = 10, max_px: int = 16, max_overlap: float = 0.1) -> SceneData:
    """Train and test scenes for a seed (train from train+val digits, test from test digits)."""
    ds = load_digits_split(seed)
    kw = dict(size=size, min_digits=min_digits, max_digits=max_digits, min_px=min_px, max_px=max_px,
              max_overlap=max_overlap)
    train_digits = torch.cat([ds.train.x, ds.val.x])
    train_labels = torch.cat([ds.train.y, ds.val.y])
    train = make_scenes(train_digits, train_labels, n_train, seed=seed * 2 + 1, **kw)
    test = make_scenes(ds.test.x, ds.test.y, n_test, seed=seed * 2 + 2, **kw)
    return SceneData(train, test, size)


def draw_scenes(scenes: Scenes, idx=range(6), *, pred: list | None = None, with_masks: bool = True):
    """A matplotlib figure: scenes with their boxes and captions (top) and their masks (bottom).

    ``pred``: optional list of dicts ``{"boxes", "labels", "scores"}`` drawn in red beside the truth (green).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    idx = list(idx)
    rows = 2 if with_masks else 1
    fig, axes = plt.subplots(rows, len(idx), figsize=(2 * len(idx), 2.1 * rows), squeeze=False)
    for col, i in enumerate(idx):
        ax = axes[0, col]
        ax.imshow(scenes.images[i, 0], cmap="gray", vmin=0, vmax=1)
        for b, lab in zip(scenes.boxes[i].tolist(), scenes.labels[i].tolist()):
            ax.add_patch(Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0], b[3] - b[1], fill=False, color="lime", lw=1))
            ax.text(b[0], b[1] - 1, str(lab), color="lime", fontsize=7)
        if pred is not None:
            p = pred[col]
            for b, lab, sc in zip(p["boxes"].tolist(), p["labels"].tolist(), p["scores"].tolist()):
                ax.add_patch(Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0], b[3] - b[1], fill=False, color="red",
                                       lw=1, ls="--"))
                ax.text(b[0], b[3] + 2, f"{lab}:{sc:.2f}", color="red", fontsize=6)
        ax.set_title(scenes.captions[i], fontsize=8)
        ax.axis("off")
        if with_masks:
            axes[1, col].imshow(scenes.masks[i], cmap="tab20", vmin=0, vmax=19, interpolation="nearest")
            axes[1, col].axis("off")
    fig.tight_layout()
    return fig


def padded_targets(scenes: Scenes) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes (N, K, 4) and labels (N, K) of every scene, padded with label -1 to the most digits K
    of a scene: the targets as tensors with the scenes on the first axis, to batch with the images."""
    k = max([1] + [len(lab) for lab in scenes.labels])
    boxes, labels = torch.zeros(len(scenes), k, 4), torch.full((len(scenes), k), -1, dtype=torch.int64)
    for i, (b, lab) in enumerate(zip(scenes.boxes, scenes.labels)):
        boxes[i, :len(lab)], labels[i, :len(lab)] = b, lab
    return boxes, labels


def unpad_targets(boxes: torch.Tensor, labels: torch.Tensor) -> list:
    """The per-scene target dicts ``{"boxes", "labels"}`` (on the CPU) of ``padded_targets``' tensors."""
    return [{"boxes": b[lab >= 0].cpu(), "labels": lab[lab >= 0].cpu()} for b, lab in zip(boxes, labels)]


def ink_scenes(x: torch.Tensor, y: torch.Tensor) -> Scenes:
    """One-digit 'scenes' of whole images (N, 1, S, S) (e.g. MNIST): each box is the bounding box of the
    ink (pixels above ``INK``; a blank image: the whole frame), the mask the ink with class 1 + digit."""
    boxes = []
    for img in x[:, 0]:
        rows, cols = (img > INK).any(1).nonzero(), (img > INK).any(0).nonzero()
        if len(rows) == 0:
            rows = cols = torch.tensor([[0], [img.shape[0] - 1]])
        boxes.append(torch.tensor([[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]], dtype=torch.float32))
    masks = torch.where(x[:, 0] > INK, y.view(-1, 1, 1) + 1, 0)
    return Scenes(x, masks, boxes, [v.view(1) for v in y], [str(int(v)) for v in y])


def one_digit_scenes(seed: int = 0, n_train: int = 1500, n_test: int = 300, dataset=None) -> SceneData:
    """One-digit scenes for a seed; or, given ``dataset`` (a vision.data.datasets.Dataset, e.g. MNIST), its
    first ``n_train`` training and ``n_test`` test images as ``ink_scenes``."""
    if dataset is None:
        return load_scenes(seed, n_train, n_test, min_digits=1, max_digits=1)
    tr, te = dataset.train, dataset.test
    return SceneData(ink_scenes(tr.x[:n_train], tr.y[:n_train]), ink_scenes(te.x[:n_test], te.y[:n_test]),
                     dataset.shape[-1], name=dataset.name)


def first_labels(scenes: Scenes) -> torch.Tensor:
    """(N,) the class of each scene's first digit (the label of one-digit scenes)."""
    return torch.stack([lab[0] for lab in scenes.labels])

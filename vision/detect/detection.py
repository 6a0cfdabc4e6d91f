"""Single-shot detection, YOLO style: one forward pass predicts every box.

The image is cut into an S x S grid (one cell per position of the backbone's feature map). Each cell
predicts B boxes of ``(x, y, w, h, confidence)`` and C class scores: an S x S x (5B + C) output.

Parametrisation of a box in cell (i, j) of an image of side L:

    x = (j + sigmoid(t_x)) L / S,   y = (i + sigmoid(t_y)) L / S,
    w = sigmoid(t_w)^2 L,            h = sigmoid(t_h)^2 L        (sqrt(w / L) is what is regressed)

The cell that holds a ground-truth box's centre is responsible for it, and within the cell the one
of its B predictors whose box overlaps the truth most. With 1_obj marking responsible predictors,

    L = λ_coord Σ 1_obj [(σ(t_x) - x̂)² + (σ(t_y) - ŷ)² + (σ(t_w) - sqrt(ŵ))² + (σ(t_h) - sqrt(ĥ))²]
      + Σ 1_obj BCE(c, 1) + λ_noobj Σ (1 - 1_obj) BCE(c, 0)          (objectness)
      + Σ_cells-with-object CE(class scores, class)                    (classes)

(YOLOv1 used squared errors for the confidence and the classes; cross-entropies train faster.)
Decoding: score of box b for class k = sigmoid(c_b) softmax(class scores)_k; each box keeps its
best class; boxes under ``score_threshold`` are dropped, then NMS within each class.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gymlab.vision.detect.boxes import batched_nms


class YOLO(nn.Module):
    """Backbone feature grid -> conv head with 5B + C channels, returned as (N, S, S, 5B + C).

    ``backbone``: any module with ``features(x)`` -> (N, feature_dim, S, S) and ``feature_dim``, e.g.
    ``vision.backbones.build("vgg", 1, 32, 10)`` (a 4x4 grid on 32x32 scenes).
    """

    def __init__(self, backbone: nn.Module, num_classes: int = 10, boxes_per_cell: int = 2, hidden: int = 128):
        super().__init__()
        if hasattr(backbone, "head"):
            backbone.head = nn.Identity()  # the backbone's own classifier is not used
        self.backbone, self.C, self.B = backbone, num_classes, boxes_per_cell
        self.head = nn.Sequential(nn.Conv2d(backbone.feature_dim, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, 5 * boxes_per_cell + num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.features(x)).permute(0, 2, 3, 1)


def split_output(out: torch.Tensor, B: int):
    """(N, S, S, 5B + C) -> box terms (N, S, S, B, 5) and class scores (N, S, S, C)."""
    n, s, _, _ = out.shape
    return out[..., :5 * B].reshape(n, s, s, B, 5), out[..., 5 * B:]


def boxes_from_output(box_terms: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, S, S, B, 5) raw terms -> (N, S, S, B, 4) boxes x1, y1, x2, y2 in pixels."""
    s = box_terms.shape[1]
    cell = image_size / s
    j = torch.arange(s, dtype=box_terms.dtype, device=box_terms.device).view(1, 1, s, 1)
    i = torch.arange(s, dtype=box_terms.dtype, device=box_terms.device).view(1, s, 1, 1)
    t = torch.sigmoid(box_terms[..., :4])
    cx, cy = (j + t[..., 0]) * cell, (i + t[..., 1]) * cell
    w, h = t[..., 2] ** 2 * image_size, t[..., 3] ** 2 * image_size
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def encode_targets(targets: list, grid: int, image_size: int, device=None):
    """Per-cell targets: object mask (N, S, S), (x̂, ŷ, sqrt ŵ, sqrt ĥ) (N, S, S, 4), boxes (N, S, S, 4), class (N, S, S).

    A box belongs to the cell of its centre; if two centres share a cell, the later box wins.
    """
    n = len(targets)
    obj = torch.zeros(n, grid, grid, dtype=torch.bool)
    coords = torch.zeros(n, grid, grid, 4)
    boxes = torch.zeros(n, grid, grid, 4)
    cls = torch.zeros(n, grid, grid, dtype=torch.int64)
    cell = image_size / grid
    for k, t in enumerate(targets):
        for b, c in zip(t["boxes"].tolist(), t["labels"].tolist()):
            cx, cy, w, h = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
            j, i = min(int(cx / cell), grid - 1), min(int(cy / cell), grid - 1)
            obj[k, i, j] = True
            coords[k, i, j] = torch.tensor([cx / cell - j, cy / cell - i, (w / image_size) ** 0.5,
                                            (h / image_size) ** 0.5])
            boxes[k, i, j] = torch.tensor(b)
            cls[k, i, j] = c
    return obj.to(device), coords.to(device), boxes.to(device), cls.to(device)


def yolo_loss(out: torch.Tensor, targets: list, image_size: int, B: int = 2, lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5) -> tuple[torch.Tensor, dict]:
    """The loss of the module docstring, summed over the grid and averaged over images."""
    box_terms, cls_scores = split_output(out, B)
    obj, coords, gt_boxes, cls = encode_targets(targets, out.shape[1], image_size, out.device)
    with torch.no_grad():  # which of the B predictors is responsible: the best overlap with the truth
        pred = boxes_from_output(box_terms, image_size)
        iou = _paired_iou(pred, gt_boxes[..., None, :])
        resp = F.one_hot(iou.argmax(-1), B).bool() & obj[..., None]
    n = out.shape[0]
    t = torch.sigmoid(box_terms[..., :4])
    coord = ((t - coords[..., None, :]) ** 2).sum(-1)[resp].sum() / n
    conf = box_terms[..., 4]
    bce = F.binary_cross_entropy_with_logits
    objness = bce(conf[resp], torch.ones_like(conf[resp]), reduction="sum") / n
    noobj = bce(conf[~resp], torch.zeros_like(conf[~resp]), reduction="sum") / n
    classes = F.cross_entropy(cls_scores[obj], cls[obj], reduction="sum") / n
    loss = lambda_coord * coord + objness + lambda_noobj * noobj + classes
    return loss, {"coord": coord.item(), "obj": objness.item(), "noobj": noobj.item(), "class": classes.item()}


def _paired_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of broadcastable box tensors (..., 4)."""
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda z: (z[..., 2] - z[..., 0]).clamp(min=0) * (z[..., 3] - z[..., 1]).clamp(min=0)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp(min=1e-9)


@torch.no_grad()
def decode(out: torch.Tensor, image_size: int, B: int = 2, score_threshold: float = 0.05,
           iou_threshold: float = 0.5, max_detections: int = 100) -> list:
    """Network output -> one dict per image of ``boxes`` (n, 4), ``scores`` (n,), ``labels`` (n,) after NMS."""
    box_terms, cls_scores = split_output(out.float(), B)
    boxes = boxes_from_output(box_terms, image_size).clamp(0, image_size)
    prob = torch.sigmoid(box_terms[..., 4:5]) * torch.softmax(cls_scores, -1)[..., None, :]  # (N, S, S, B, C)
    scores, labels = prob.max(-1)
    results = []
    for k in range(out.shape[0]):
        b, s, lab = boxes[k].reshape(-1, 4), scores[k].reshape(-1), labels[k].reshape(-1)
        keep = s > score_threshold
        b, s, lab = b[keep], s[keep], lab[keep]
        idx = batched_nms(b.cpu(), s.cpu(), lab.cpu(), iou_threshold)[:max_detections].to(b.device)
        results.append({"boxes": b[idx].cpu(), "scores": s[idx].cpu(), "labels": lab[idx].cpu()})
    return results


@torch.no_grad()
def detect(model: nn.Module, images: torch.Tensor, image_size: int, B: int = 2, score_threshold: float = 0.05,
           iou_threshold: float = 0.5, batch_size: int = 256) -> list:
    """``decode`` of the model's output for images (N, C, H, W), in batches (eval mode is the caller's business)."""
    device = next(model.parameters()).device
    return [p for chunk in torch.split(images, batch_size)
            for p in decode(model(chunk.to(device)), image_size, B, score_threshold, iou_threshold)]

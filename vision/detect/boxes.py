"""Boxes: intersection over union, non-maximum suppression, and mean average precision at IoU 0.5.

Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates (no "+1" on widths).

IoU(a, b) = area(a ∩ b) / (area(a) + area(b) - area(a ∩ b)).

NMS: sort boxes by score; keep the best, drop every remaining box whose IoU with it exceeds the
threshold; repeat with what is left.

Average precision of one class: rank all its detections (over all images) by score. Going down the
list, a detection is a true positive when it overlaps a not yet matched ground-truth box of its class
in its image with IoU >= 0.5 (the best such box is taken), else a false positive. With TP(k), FP(k)
the counts among the top k and G the number of ground-truth boxes,

    precision(k) = TP(k) / k,   recall(k) = TP(k) / G.

VOC's all-point interpolation makes precision monotone, p_interp(r) = max_{r' >= r} p(r'), and sums
the area under it: AP = sum_k (r_k - r_{k-1}) p_interp(r_k). mAP is the mean AP over the classes that
have ground truth. (Matching a detection to the best *unmatched* box is pycocotools' rule; VOC's
devkit takes the best box and counts a detection of an already matched one as false. They differ
only when boxes of one class overlap each other.)
"""
from __future__ import annotations

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4): an (N, M) tensor."""
    if a.shape[-1] != 4 or b.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) as x1, y1, x2, y2; got {tuple(a.shape)} and {tuple(b.shape)}")
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float = 0.5) -> torch.Tensor:
    """Indices of the boxes kept by greedy non-maximum suppression, highest score first."""
    order = torch.argsort(scores, descending=True, stable=True)
    iou = box_iou(boxes, boxes)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float = 0.5):
    """NMS within each class separately (boxes of different classes never suppress each other)."""
    if len(boxes) == 0:
        return torch.zeros(0, dtype=torch.int64)
    # shift each class's boxes far apart so that one NMS call treats classes separately
    offset = labels.to(boxes.dtype)[:, None] * (boxes.max() - boxes.min() + 1)
    return nms(boxes + offset, scores, iou_threshold)


def average_precision(recall: torch.Tensor, precision: torch.Tensor) -> float:
    """VOC all-point interpolated AP from the precision/recall at each rank."""
    r = torch.cat([torch.zeros(1), recall.double(), torch.ones(1)])
    p = torch.cat([torch.zeros(1), precision.double(), torch.zeros(1)])
    p = torch.flip(torch.cummax(torch.flip(p, [0]), 0).values, [0])  # p_interp(r) = max over r' >= r
    steps = torch.nonzero(r[1:] != r[:-1]).flatten()
    return float(((r[steps + 1] - r[steps]) * p[steps + 1]).sum())


def mean_average_precision(preds: list, targets: list, iou_threshold: float = 0.5,
                           num_classes: int | None = None) -> tuple[float, dict]:
    """mAP over images.

    ``preds``: one dict per image with ``boxes`` (n, 4), ``scores`` (n,), ``labels`` (n,);
    ``targets``: one dict per image with ``boxes`` (m, 4), ``labels`` (m,).
    Returns ``(mAP, {class: AP})`` over the classes with at least one ground-truth box.
    """
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must list the same images, got {len(preds)} and {len(targets)}")
    classes = sorted({int(c) for t in targets for c in t["labels"].tolist()})
    if num_classes is not None:
        classes = [c for c in classes if c < num_classes]
    aps = {}
    for c in classes:
        scores, hits, n_gt = [], [], 0
        for p, t in zip(preds, targets):
            gt = t["boxes"][t["labels"] == c].float()
            n_gt += len(gt)
            sel = p["labels"] == c
            db, ds = p["boxes"][sel].float(), p["scores"][sel].float()
            order = torch.argsort(ds, descending=True, stable=True)
            db, ds = db[order], ds[order]
            matched = torch.zeros(len(gt), dtype=torch.bool)
            iou = box_iou(db, gt) if len(gt) and len(db) else torch.zeros(len(db), len(gt))
            for k in range(len(db)):
                cand = iou[k].masked_fill(matched, -1.0)
                hit = False
                if len(gt):
                    j = int(torch.argmax(cand))
                    if cand[j] >= iou_threshold:
                        matched[j] = hit = True
                hits.append(hit)
            scores.append(ds)
        if not hits:
            aps[c] = 0.0
            continue
        scores = torch.cat(scores)
        hits = torch.tensor(hits, dtype=torch.float64)
        order = torch.argsort(scores, descending=True, stable=True)
        tp = torch.cumsum(hits[order], 0)
        ranks = torch.arange(1, len(tp) + 1, dtype=torch.float64)
        aps[c] = average_precision(tp / n_gt, tp / ranks)
    m = sum(aps.values()) / len(aps) if aps else 0.0
    return m, aps

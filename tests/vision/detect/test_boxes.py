"""Box IoU, NMS and mAP@0.5 against hand-computed cases and pycocotools on random boxes."""
import numpy as np
import pytest
import torch

from gymlab.vision.detect.boxes import average_precision, batched_nms, box_iou, mean_average_precision, nms


def random_boxes(g, n, size=50.0):
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3 + 1
    return torch.cat([xy, xy + wh], 1)


def test_iou_hand_cases():
    a = torch.tensor([[0.0, 0, 2, 2], [0, 0, 1, 1]])
    b = torch.tensor([[1.0, 1, 3, 3], [5, 5, 6, 6], [0, 0, 2, 2]])
    want = torch.tensor([[1 / 7, 0, 1], [0, 0, 0.25]])
    assert torch.allclose(box_iou(a, b), want)


def test_iou_equals_pycocotools():
    from pycocotools import mask as maskutils

    g = torch.Generator().manual_seed(0)
    a, b = random_boxes(g, 40), random_boxes(g, 30)
    xywh = lambda t: np.asarray(torch.cat([t[:, :2], t[:, 2:] - t[:, :2]], 1), dtype=np.float64)  # noqa: E731
    peer = maskutils.iou(xywh(a), xywh(b), [0] * len(b))
    assert np.allclose(box_iou(a, b).numpy(), peer, atol=1e-6)


def test_nms_hand_case():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    # box 3 (0.95) suppresses box 0 (IoU 0.9) and box 1 (IoU 0.63 > 0.5); box 2 is apart
    assert nms(boxes, scores, 0.5).tolist() == [3, 2]
    assert nms(boxes, scores, 0.95).tolist() == [3, 0, 1, 2]
    # per class: boxes of other classes never suppress
    assert sorted(batched_nms(boxes, scores, torch.tensor([0, 1, 0, 0]), 0.5).tolist()) == [1, 2, 3]


def reference_nms(boxes, scores, thr):
    """The textbook loop in plain Python: keep the best remaining box, drop its overlaps."""
    def iou(p, q):
        iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        inter = iw * ih
        return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)

    b, s = boxes.tolist(), scores.tolist()
    rest = sorted(range(len(b)), key=lambda i: -s[i])
    keep = []
    while rest:
        i = rest.pop(0)
        keep.append(i)
        rest = [j for j in rest if iou(b[i], b[j]) <= thr]
    return keep


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_equals_reference_on_random_boxes(thr):
    g = torch.Generator().manual_seed(1)
    boxes, scores = random_boxes(g, 200, size=30.0), torch.rand(200, generator=g)
    assert nms(boxes, scores, thr).tolist() == reference_nms(boxes, scores, thr)


def test_ap_hand_case():
    # 2 ground-truth boxes; detections by score: hit, miss, hit
    # precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3
    gt = {"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([1, 1])}
    pred = {"boxes": torch.tensor([[0.0, 0, 10, 10], [40, 40, 50, 50], [21, 21, 30, 30]]),
            "scores": torch.tensor([0.9, 0.8, 0.7]), "labels": torch.tensor([1, 1, 1])}
    m, aps = mean_average_precision([pred], [gt])
    assert aps == {1: pytest.approx(0.5 + 0.5 * 2 / 3)} and m == pytest.approx(5 / 6)
    # a duplicate of a matched box is a false positive; a class with no detections scores 0
    gt2 = {"boxes": torch.tensor([[0.0, 0, 10, 10], [0, 0, 5, 5]]), "labels": torch.tensor([2, 3])}
    pred2 = {"boxes": torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]]), "scores": torch.tensor([0.9, 0.8]),
             "labels": torch.tensor([2, 2])}
    m, aps = mean_average_precision([pred2], [gt2])
    assert aps == {2: 1.0, 3: 0.0} and m == 0.5
    assert average_precision(torch.tensor([0.5, 1.0]), torch.tensor([0.5, 1.0])) == pytest.approx(1.0)


def test_map_equals_pycocotools_on_random_boxes():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    g = torch.Generator().manual_seed(2)
    preds, targets, images, anns, dets = [], [], [], [], []
    for img in range(12):
        gt = random_boxes(g, 6)
        gl = torch.randint(0, 3, (6,), generator=g)
        # detections: jittered copies of some ground truth (some hits, some misses) and random boxes
        jit = gt + torch.randn(6, 4, generator=g) * 1.0
        jit = torch.cat([jit[:, :2], torch.maximum(jit[:, 2:], jit[:, :2] + 0.5)], 1)
        db = torch.cat([jit, random_boxes(g, 4)])
        dl = torch.cat([torch.where(torch.rand(6, generator=g) < 0.8, gl, torch.randint(0, 3, (6,), generator=g)),
                        torch.randint(0, 3, (4,), generator=g)])
        ds = torch.rand(10, generator=g)
        targets.append({"boxes": gt, "labels": gl})
        preds.append({"boxes": db, "scores": ds, "labels": dl})
        images.append({"id": img, "width": 100, "height": 100})
        for b, lab in zip(gt.tolist(), gl.tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": lab, "bbox": [b[0], b[1], w, h],
                         "area": w * h, "iscrowd": 0})
        for b, lab, s in zip(db.tolist(), dl.tolist(), ds.tolist()):
            dets.append({"image_id": img, "category_id": lab, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in range(3)]}
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(dets), "bbox")
    ev.params.iouThrs = np.array([0.5])
    ev.params.maxDets = [1000]
    ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
    ev.params.recThrs = np.linspace(0, 1, 100001)  # a fine grid: the sum tends to the all-point area
    ev.evaluate()
    ev.accumulate()
    peer = ev.eval["precision"][0, :, :, 0, 0].mean(0)  # AP per class
    m, aps = mean_average_precision(preds, targets)
    assert np.allclose([aps[c] for c in range(3)], peer, atol=1e-3)
    assert m == pytest.approx(peer.mean(), abs=1e-3)
    assert 0.2 < m < 0.9  # a case with both hits and misses

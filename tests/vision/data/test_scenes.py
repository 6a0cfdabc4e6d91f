"""Synthetic scenes: deterministic for a seed, masks and boxes agree, captions follow the layout."""
import numpy as np
import torch

from gymlab.vision.data.scenes import INK, caption, load_scenes


def test_deterministic_and_consistent():
    a = load_scenes(3, n_train=60, n_test=40)
    b = load_scenes(3, n_train=60, n_test=40)
    c = load_scenes(4, n_train=60, n_test=40)
    assert torch.equal(a.train.images, b.train.images) and a.test.captions == b.test.captions
    assert not torch.equal(a.train.images, c.train.images)
    assert a.train.images.shape == (60, 1, 32, 32) and a.test.masks.shape == (40, 32, 32)
    for sc in (a.train, a.test):
        for i in range(len(sc)):
            boxes, labels, mask = sc.boxes[i], sc.labels[i], sc.masks[i]
            assert 1 <= len(labels) <= 3 and boxes.shape == (len(labels), 4)
            # every ink pixel is inside a box of its class; every box holds ink of its class
            covered = torch.zeros_like(mask, dtype=torch.bool)
            for (x1, y1, x2, y2), lab in zip(boxes.int().tolist(), labels.tolist()):
                covered[y1:y2, x1:x2] |= mask[y1:y2, x1:x2] == lab + 1
                assert (mask[y1:y2, x1:x2] == lab + 1).any() or len(labels) > 1
            assert torch.equal(covered, mask > 0)
            assert torch.equal(mask > 0, sc.images[i, 0] > INK) or len(labels) > 1
            words = sc.captions[i].split()
            assert sorted(int(w) for w in words if w.isdigit()) == sorted(labels.tolist())


def test_caption_rules():
    boxes = np.array([[20, 0, 30, 10], [0, 2, 10, 12]], dtype=np.float32)
    assert caption(boxes, np.array([7, 3])) == "3 left of 7"
    boxes = np.array([[0, 0, 10, 10], [4, 20, 14, 30], [30, 0, 40, 10]], dtype=np.float32)
    assert caption(boxes, np.array([1, 4, 9])) == "1 above 4 left of 9"
    boxes = np.array([[0, 20, 10, 30], [3, 0, 13, 10]], dtype=np.float32)
    assert caption(boxes, np.array([5, 6])) == "5 below 6"


def test_padded_targets_round_trip_and_ink_scenes():
    from gymlab.vision.data.scenes import ink_scenes, padded_targets, unpad_targets

    sc = load_scenes(0, n_train=30, n_test=5).train
    boxes, labels = padded_targets(sc)
    assert boxes.shape == (30, 3, 4) and labels.shape == (30, 3)  # three digits at most
    for t, b, lab in zip(unpad_targets(boxes, labels), sc.boxes, sc.labels):
        assert torch.equal(t["boxes"], b) and torch.equal(t["labels"], lab)  # order kept: the later box wins a cell
    x = torch.zeros(2, 1, 8, 8)
    x[0, 0, 2:5, 3:7] = 1.0  # ink in rows 2-4, columns 3-6; image 1 is blank
    s = ink_scenes(x, torch.tensor([4, 7]))
    assert s.boxes[0].tolist() == [[3, 2, 7, 5]] and s.boxes[1].tolist() == [[0, 0, 8, 8]]
    assert s.masks[0].max() == 5 and s.masks[1].max() == 0 and s.captions == ["4", "7"]

"""Pruning masks, k-means sharing and its centroid gradient, int8 conversion; the compression budget test."""
import pytest
import torch
import torch.nn.functional as F

from gymlab.runners.loop import run
from gymlab.vision.efficient import compress as C


def test_magnitude_masks_keep_the_largest_weights():
    torch.manual_seed(0)
    net = C.DigitNet(8, 16)
    masks = C.magnitude_masks(net, 0.8, scope="layer")
    for name, w in C.prunable(net).items():
        m = masks[name].bool()
        assert (~m).sum() == round(0.8 * w.numel())
        assert w[m].abs().min() >= w[~m].abs().max()
    masks = C.magnitude_masks(net, 0.8)  # global: one threshold
    kept = torch.cat([w[masks[n].bool()].abs() for n, w in C.prunable(net).items()])
    dropped = torch.cat([w[~masks[n].bool()].abs() for n, w in C.prunable(net).items()])
    assert kept.min() >= dropped.max() and len(dropped) == round(0.8 * (len(kept) + len(dropped)))
    C.apply_masks(net, masks)
    assert C.sparsity(net) == pytest.approx(0.8, abs=1e-3)
    assert C.sparse_bytes(net) < C.model_bytes(C.DigitNet(8, 16)) * 0.5


def test_kmeans_sharing_and_centroid_gradient():
    torch.manual_seed(1)
    net = C.DigitNet(8, 16)
    C.apply_masks(net, C.magnitude_masks(net, 0.5))
    zeros = {n: (w == 0).clone() for n, w in C.prunable(net).items()}
    before = {n: w.clone() for n, w in C.prunable(net).items()}
    shared = C.kmeans_share(net, bits=3)
    for name, w in C.prunable(net).items():
        centroids, idx = shared[name]
        assert len(torch.unique(w[w != 0])) <= 8 and torch.equal(w == 0, zeros[name])
        assert torch.equal(w[idx >= 0], centroids[idx[idx >= 0]])
        # each weight went to its nearest centroid, and each centroid is the mean of its weights
        # (pruning leaves a gap around 0: linearly initialised centroids there may stay empty)
        used = [k for k in range(len(centroids)) if (idx == k).any()]
        assert torch.allclose(centroids[used], torch.stack([before[name][idx == k].mean() for k in used]))
        d = (before[name][idx >= 0][:, None] - centroids[None]).abs()
        assert torch.equal(d.argmin(1), idx[idx >= 0])
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    F.cross_entropy(net(x), y).backward()
    name = "fc1.weight"
    centroids, idx = shared[name]
    w = C.prunable(net)[name]
    want = centroids.clone() - 0.1 * torch.stack([w.grad[idx == k].sum() for k in range(len(centroids))])
    C.centroid_step(net, shared, lr=0.1)
    assert torch.allclose(shared[name][0], want, atol=1e-6)
    assert len(torch.unique(w[w != 0])) <= 8


def test_int8_model_is_quantized_and_close():
    torch.manual_seed(2)
    net = C.DigitNet().eval()
    x = torch.rand(64, 1, 8, 8)
    q = C.quantize_int8(net, x)
    assert "quantized" in type(q.fc1).__module__ and q.fc2.weight().dtype == torch.qint8
    with torch.no_grad():
        ref, out = net(x), q(x)
    assert (out - ref).abs().max() < 0.1 * ref.abs().max()
    assert C.model_bytes(q) < 0.4 * C.model_bytes(net)


def test_pruning_and_int8_keep_accuracy(tmp_path):
    # latency_batch=32: the table's latencies are reported, never asserted here (benchmarks/bench_vision2.py
    # times them at the default 256 images per pass); the accuracies and sizes are the same
    s = run("compress", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "latency_batch=32"], quiet=True)
    assert s["eval/dense_accuracy"] >= 0.95
    assert s["eval/pruned_sparsity"] == pytest.approx(0.8, abs=0.01)
    assert s["eval/pruned_accuracy"] >= s["eval/dense_accuracy"] - 0.01, s
    assert s["eval/int8_accuracy"] >= s["eval/dense_accuracy"] - 0.01, s
    assert s["eval/shared_accuracy"] >= s["eval/dense_accuracy"] - 0.03, s
    assert s["eval/int8_bytes"] < 0.4 * s["eval/dense_bytes"]


def test_schedule_phase_walks_dense_prune_share():
    phases = [C.schedule_phase(s, 2, [0.5, 0.8], 3) for s in range(10)]
    assert phases == [("dense", None)] * 2 + [("prune", 0.5)] * 3 + [("prune", 0.8)] * 3 + [("share", None)] * 2

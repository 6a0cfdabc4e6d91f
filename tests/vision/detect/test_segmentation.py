"""Max-unpooling, the three decoders, pixel accuracy / mIoU against scikit-learn; a segmenter reaches mIoU >= 0.7."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gymlab.runners.loop import run
from gymlab.vision.detect.segmentation import SegNet, confusion_matrix, iou_per_class, max_unpool2d, mean_iou, pixel_accuracy


def test_max_unpool_puts_values_back_at_the_max():
    x = torch.tensor([[1.0, 5, 2, 0], [3, 4, 8, 1], [0, 0, 1, 2], [9, 1, 3, 0]])[None, None]
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    assert pooled.flatten().tolist() == [5, 8, 9, 3]
    up = max_unpool2d(pooled, idx, x.shape)
    want = torch.tensor([[0.0, 5, 0, 0], [0, 0, 8, 0], [0, 0, 0, 0], [9, 0, 3, 0]])
    assert torch.equal(up[0, 0], want)
    # on random maps: equal to torch's own unpooling, and each value lands where the max was
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=g)
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    up = max_unpool2d(pooled, idx, x.shape)
    assert torch.equal(up, F.max_unpool2d(pooled, idx, 2, output_size=x.shape[-2:]))
    assert torch.equal(up[up != 0], x[up != 0]) and (up != 0).sum() == pooled.numel()


@pytest.mark.parametrize("variant", ["fcn", "unpool", "unet"])
def test_variants_shapes(variant):
    net = SegNet(11, 1, (4, 8, 16), variant)
    out = net(torch.rand(2, 1, 32, 32))
    assert out.shape == (2, 11, 32, 32)
    out.square().mean().backward()  # every weight gets a gradient
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    has_transpose = any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())
    assert has_transpose == (variant != "unpool")


def test_metrics_equal_sklearn():
    from sklearn.metrics import accuracy_score, jaccard_score

    g = torch.Generator().manual_seed(1)
    truth = torch.randint(0, 5, (3, 16, 16), generator=g)
    pred = torch.where(torch.rand(3, 16, 16, generator=g) < 0.6, truth, torch.randint(0, 6, (3, 16, 16), generator=g))
    conf = confusion_matrix(pred, truth, 7)  # class 6 never appears: left out of the mean
    t, p = truth.flatten().numpy(), pred.flatten().numpy()
    assert pixel_accuracy(conf) == pytest.approx(accuracy_score(t, p))
    assert mean_iou(conf) == pytest.approx(jaccard_score(t, p, average="macro"))
    assert np.allclose(iou_per_class(conf)[:6].numpy(), jaccard_score(t, p, average=None))
    assert torch.isnan(iou_per_class(conf)[6])


def test_segmenter_reaches_miou(tmp_path):
    # 450 steps at twice the default peak learning rate (the one-cycle schedule spans the budget), evaluated
    # once at the end: mIoU 0.76-0.84 over seeds 0-2, the default 600 steps 0.81-0.83 (benchmarks/results/test_budgets.md)
    s = run("segmenter", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "steps=450", "eval_every=450",
                          "optim.lr=6e-3"], quiet=True)
    assert s["eval/miou"] >= 0.7, s["eval/miou"]


def test_scores_and_batched_prediction():
    from gymlab.vision.detect.segmentation import predict_masks, scores

    conf = torch.tensor([[3, 1], [0, 4]])
    s = scores(conf, "eval/", ["background", "digit"])
    assert s["eval/pixel_accuracy"] == pytest.approx(7 / 8) and s["eval/iou_digit"] == pytest.approx(0.8)
    assert s["eval/miou"] == pytest.approx((0.75 + 0.8) / 2)
    model = SegNet(3, 1, (4, 8, 8), "unet", 1).eval()
    x = torch.rand(5, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(predict_masks(model, x, batch_size=2), model(x).argmax(1))

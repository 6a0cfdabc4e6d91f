"""Transfer learning: what trains in each method; with few labels pretrained features beat scratch."""
import torch

from gymlab.runners.loop import run
from gymlab.vision.nn.backbones import build
from gymlab.vision.classify.transfer import PooledClassifier, for_target, param_groups, place_digits, train_mode


def test_methods_train_the_right_parameters():
    torch.manual_seed(0)
    fresh = lambda: build("vgg", 1, 20, 10, widths=(4, 8, 8), convs=(1, 1, 1))  # noqa: E731
    pre = PooledClassifier(fresh(), 10)
    frozen = for_target(pre, "frozen", 5, fresh)
    tuned = for_target(pre, "finetune", 5, fresh)
    scratch = for_target(pre, "scratch", 5, fresh)
    w = lambda m: next(m.backbone.parameters())  # noqa: E731
    assert torch.equal(w(frozen), w(pre)) and torch.equal(w(tuned), w(pre)) and not torch.equal(w(scratch), w(pre))
    assert w(tuned) is not w(pre)  # a copy: fine-tuning leaves the pretrained model alone
    assert not any(p.requires_grad for p in frozen.backbone.parameters())
    assert frozen.fc.out_features == 5
    groups = param_groups(tuned, "finetune", 1e-2, 0.1)
    assert [g["lr"] for g in groups] == [1e-2, 1e-3] and len(param_groups(frozen, "frozen", 1e-2)) == 1
    train_mode(frozen, "frozen")
    assert frozen.fc.training and not frozen.backbone.training
    # the frozen backbone's BN statistics do not move in training mode
    before = [b.clone() for b in frozen.backbone.buffers()]
    frozen(torch.rand(4, 1, 32, 32))
    assert all(torch.equal(a, b) for a, b in zip(before, frozen.backbone.buffers()))


def test_place_digits_keeps_the_ink():
    x = torch.rand(5, 1, 8, 8)
    out = place_digits(x, copies=2, canvas=20, min_px=10, max_px=12, seed=0)
    assert out.shape == (10, 1, 20, 20)
    nonzero = (out > 0).flatten(1).sum(1)
    assert ((nonzero >= 100) & (nonzero <= 144)).all()  # one 10-12 pixel square of positive pixels each
    assert torch.equal(out, place_digits(x, copies=2, canvas=20, min_px=10, max_px=12, seed=0))


def test_pretrained_features_win_with_few_labels(tmp_path):
    s = run("transfer", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "sizes=20,500",
                         "steps=900"], quiet=True)
    assert s["eval/pretrain_digits_accuracy"] >= 0.9
    assert s["eval/frozen_acc_n20"] >= s["eval/scratch_acc_n20"] + 0.2, s
    assert s["eval/finetune_acc_n20"] >= s["eval/scratch_acc_n20"] + 0.2, s
    assert s["eval/scratch_acc_n500"] >= s["eval/scratch_acc_n20"] + 0.2, s


def test_digits_to_scenes_and_small_backbone():
    from gymlab.vision.classify.transfer import digits_to_scenes, small_backbone

    t = digits_to_scenes(seed=0, copies=2, n_target=30, n_test=10)
    (xs, ys), (xst, yst) = t["source"], t["source_test"]
    assert xs.shape[1:] == (1, 20, 20) and len(xs) == len(ys) and xst.shape[1:] == (1, 20, 20) and len(xst) == len(yst)
    assert torch.equal(ys[: len(ys) // 2], ys[len(ys) // 2:])  # copy-major: the labels repeat
    (xt, yt), (xtt, ytt) = t["target"], t["target_test"]
    assert xt.shape == (30, 1, 32, 32) and len(yt) == 30 and xtt.shape[0] == len(ytt) == 10
    assert int(yt.min()) >= 0 and int(yt.max()) <= 9
    net = small_backbone("vgg", width=4)
    assert net(torch.rand(2, 1, 20, 20)).shape == (2, 10)

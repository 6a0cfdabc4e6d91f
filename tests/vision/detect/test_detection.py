"""YOLO grid: targets, box parametrisation, decoding, loss at the truth; a detector reaches mAP@0.5 >= 0.7."""
import torch

from gymlab.runners.loop import run
from gymlab.vision.detect.detection import decode, encode_targets, yolo_loss


def logit(p):
    p = torch.as_tensor(p, dtype=torch.float32)
    return torch.log(p / (1 - p))


def exact_output(targets, S=4, L=32, B=2, C=10):
    """The raw output that encodes the ground truth exactly (box 0 of each object cell, confident class)."""
    obj, coords, _, cls = encode_targets(targets, S, L)
    out = torch.zeros(len(targets), S, S, 5 * B + C)
    out[..., 4] = out[..., 9] = -12.0  # no object anywhere ...
    out[..., :4][obj] = logit(coords[obj].clamp(1e-4, 1 - 1e-4))
    out[..., 4][obj] = 12.0  # ... but where there is one
    out[..., 5 * B:][obj] = 12.0 * torch.nn.functional.one_hot(cls[obj], C).float()
    return out


def test_targets_decode_and_loss_at_the_truth():
    targets = [{"boxes": torch.tensor([[2.0, 3, 14, 17], [18, 16, 30, 30]]), "labels": torch.tensor([4, 7])},
               {"boxes": torch.tensor([[9.0, 9, 20, 22]]), "labels": torch.tensor([1])}]
    obj, coords, boxes, cls = encode_targets(targets, 4, 32)
    # centres (8, 10) -> cell (row 1, col 1); (24, 23) -> (2, 3); (14.5, 15.5) -> (1, 1)
    assert obj.sum() == 3 and obj[0, 1, 1] and obj[0, 2, 3] and obj[1, 1, 1]
    assert torch.allclose(coords[0, 1, 1], torch.tensor([0.0, 0.25, (12 / 32) ** 0.5, (14 / 32) ** 0.5]))
    assert cls[0, 2, 3] == 7 and torch.equal(boxes[1, 1, 1], torch.tensor([9.0, 9, 20, 22]))
    out = exact_output(targets)
    dets = decode(out, 32)
    for d, t in zip(dets, targets):
        assert len(d["boxes"]) == len(t["boxes"])
        order = torch.argsort(d["boxes"][:, 0])
        assert torch.allclose(d["boxes"][order], t["boxes"], atol=1e-2)
        assert torch.equal(d["labels"][order], t["labels"])
    loss, parts = yolo_loss(out, targets, 32)
    assert parts["coord"] < 1e-6 and loss < 1e-3
    # moving a box costs coordinate loss; a wrong class costs class loss
    worse = out.clone()
    worse[0, 1, 1, 1] += 1.0  # the y of a box with y-hat = 0.25
    assert yolo_loss(worse, targets, 32)[1]["coord"] > 1e-3
    worse[0, 2, 3, 10 + 7] = -12.0
    assert yolo_loss(worse, targets, 32)[1]["class"] > 1.0


def test_detector_reaches_map50(tmp_path):
    # the default 500 steps, evaluated once at the end (the summary is the last evaluation)
    s = run("detector", ["logger.mode=disabled", "progress=false", f"out={tmp_path}", "eval_every=500"], quiet=True)
    assert s["eval/map50"] >= 0.7, s["eval/map50"]


def test_resume_equals_uninterrupted(tmp_path):
    """Experiment-level resume: 3 steps, state_dict, a fresh experiment loads it and does 3 more."""
    from gymlab.runners import config, registry

    for name, extra in [("detector", []), ("segmenter", ["width=4"]), ("captioning", ["width=4", "hidden=16"]),
                        ("compress", ["dense_steps=2", "retrain_steps=1", "share_steps=1", "sparsities=0.5,0.8"])]:
        spec = registry.get(name)
        cfg = config.build(spec.config_cls, ["steps=6", "n_train=40", "n_val=8", "n_test=8", "batch_size=8"] + extra
                           if name != "compress" else ["steps=6", "batch_size=8"] + extra)
        ctx = registry.Context(device=torch.device("cpu"), seed=0, run_dir=tmp_path, log=lambda m: None)

        def fresh():
            torch.manual_seed(0)
            exp = spec.cls()
            exp.setup(cfg, ctx)
            return exp

        a = fresh()
        for _ in range(6):
            a.train_step()
        b = fresh()
        for _ in range(3):
            b.train_step()
        state = b.state_dict()
        c = fresh()
        c.load_state_dict(state)
        for _ in range(3):
            c.train_step()
        sa, sc = a.state_dict()["model"], c.state_dict()["model"]
        assert all(torch.equal(sa[k], sc[k]) for k in sa), name

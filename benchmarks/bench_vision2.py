"""Vision II benchmark: detector and segmenter images/s on CPU (training and inference), the
hand-written max-unpooling and NMS against torch's own / a plain-Python loop, and the compression
table (size, CPU latency, accuracy) of the `compress` experiment.

    .venv/bin/python benchmarks/bench_vision2.py [--quick]

Writes benchmarks/results/vision2.md. Single-threaded (torch.set_num_threads(1)) so that numbers
compare across machines with different core counts.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gymlab.runners.media import markdown_table  # noqa: E402
from gymlab.vision.nn.backbones import build  # noqa: E402
from gymlab.vision.detect.boxes import nms  # noqa: E402
from gymlab.vision.detect.detection import YOLO, decode, yolo_loss  # noqa: E402
from gymlab.vision.data.scenes import load_scenes  # noqa: E402
from gymlab.vision.detect.segmentation import SegNet, max_unpool2d  # noqa: E402


def rate(fn, n_images: int, seconds: float) -> float:
    """Images per second of ``fn`` (one call processes ``n_images``), after one warm-up call."""
    fn()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or calls < 2:
        fn()
        calls += 1
    return calls * n_images / (time.perf_counter() - t0)


def train_and_infer(model, loss_fn, images, batch=32, infer_batch=256, seconds=2.0):
    opt = torch.optim.AdamW(model.parameters(), 1e-3)

    def train():
        model.train()
        loss = loss_fn(model(images[:batch]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer():
        model.eval()
        model(images[:infer_batch])

    return rate(train, batch, seconds), rate(infer, infer_batch, seconds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    sec = 1.0 if args.quick else 3.0
    data = load_scenes(0, 300, 50)
    x, targets = data.train.images, [data.train.targets(i) for i in range(300)]

    rows = []
    det = YOLO(build("vgg", 1, 32, 10, widths=(16, 32, 64), convs=(1, 1, 2)), 10, 2)
    tr, inf = train_and_infer(det, lambda out: yolo_loss(out, targets[:32], 32)[0], x, seconds=sec)
    with torch.no_grad():
        det.eval()
        out = det(x[:256])
    dec = rate(lambda: decode(out, 32, score_threshold=0.05), 256, sec)
    rows.append({"model": "detector (YOLO, vgg 16-32-64)", "train img/s": tr, "inference img/s": inf,
                 "decode+NMS img/s": dec})
    for variant in ("fcn", "unpool", "unet"):
        seg = SegNet(11, 1, (16, 32, 64), variant, convs=1)
        tr, inf = train_and_infer(seg, lambda out: F.cross_entropy(out, data.train.masks[:32]), x, seconds=sec)
        rows.append({"model": f"segmenter ({variant})", "train img/s": tr, "inference img/s": inf, "decode+NMS img/s": ""})

    # hand-written pieces against a peer on the same input
    peer = []
    feat = torch.randn(64, 32, 16, 16)
    pooled, idx = F.max_pool2d(feat, 2, return_indices=True)
    ours = rate(lambda: max_unpool2d(pooled, idx, feat.shape), 64, sec)
    theirs = rate(lambda: F.max_unpool2d(pooled, idx, 2, output_size=feat.shape[-2:]), 64, sec)
    peer.append({"operation": "max-unpooling (64x32x8x8 -> 16x16)", "ours per s": ours, "peer": "F.max_unpool2d",
                 "peer per s": theirs, "ours / peer": ours / theirs})
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * 32
    boxes = torch.cat([xy, xy + 4 + torch.rand(300, 2, generator=g) * 12], 1)
    scores = torch.rand(300, generator=g)

    def py_nms():
        b, s = boxes.tolist(), scores.tolist()
        rest, keep = sorted(range(len(b)), key=lambda i: -s[i]), []
        while rest:
            i = rest.pop(0)
            keep.append(i)

            def iou(p, q):
                iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
                ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
                inter = iw * ih
                return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)

            rest = [j for j in rest if iou(b[i], b[j]) <= 0.5]
        return keep

    ours = rate(lambda: nms(boxes, scores, 0.5), 1, sec)
    theirs = rate(py_nms, 1, sec)
    peer.append({"operation": "NMS of 300 boxes", "ours per s": ours, "peer": "plain-Python loop (no torchvision)",
                 "peer per s": theirs, "ours / peer": ours / theirs})

    from gymlab.runners.loop import run

    os.environ.setdefault("WANDB_MODE", "disabled")
    over = ["logger.mode=disabled", "progress=false"]
    if args.quick:
        over += ["dense_steps=300", "retrain_steps=100", "share_steps=100", "steps=700"]
    with tempfile.TemporaryDirectory() as tmp:
        s = run("compress", over + [f"out={tmp}"], quiet=True)
        import json

        table = json.loads(next(Path(tmp).rglob("compression_table.json")).read_text())
    dense = table[0]
    for r in table:
        r["size vs dense"] = r["bytes"] / dense["bytes"]
        r["speedup vs dense"] = dense["latency_ms"] / r["latency_ms"]

    head = (f"# Vision II benchmark\n\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
            f"1 thread, {'quick' if args.quick else 'full'} run, load average {os.getloadavg()[0]:.1f} at the end "
            f"(numbers from a loaded machine are low). 32x32 scenes, batch 32 for training, 256 for inference.\n")
    text = "\n".join([head, "## Detector and segmenter throughput (CPU)\n", markdown_table(rows),
                      "## Hand-written pieces against a peer\n", markdown_table(peer),
                      f"## Compression (`gymlab run compress`, digits test split, latency of a batch of 256)\n",
                      markdown_table(table),
                      "Pruned and shared sizes are the storage of a sparse format (fp32 value + 8-bit relative index per "
                      "nonzero; shared: 4-bit cluster index + 8-bit relative index + codebook); their latency is that of "
                      "the dense kernels, which do not skip zeros. int8 is torch.ao.quantization eager-mode "
                      "post-training quantization (x86 backend), size of the serialized state_dict.\n"])
    print(text)
    out = Path(__file__).resolve().parent / "results" / "vision2.md"
    out.write_text(text)


if __name__ == "__main__":
    main()

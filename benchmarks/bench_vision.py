"""Vision I benchmark: two tables, every row measured side by side in the same run.

1. kNN prediction time: vision.knn.KNearestNeighbor against scikit-learn's KNeighborsClassifier with
   brute force and with its tree searches (kd_tree, ball_tree; the faster one is reported), same k,
   L2 distance, float32 inputs, at equal accuracy (the predictions are compared). On digits
   (train + val memorised, test queried) and on a synthetic MNIST-sized problem: 60,000 x 784
   training points from 10 Gaussian classes. Fit is outside the timings (our fit is a copy;
   scikit-learn's tree fit builds the tree). Ours picks its kernel at fit (``vision.knn``: int8 for
   images on a pixel grid, bf16 filter + float32 refinement for large float problems, pca lower bound +
   exact refinement for many features; all return the float32 neighbours); the table names it. On digits
   and real MNIST two more rows of ours: kernel="fp32" forced, and auto as on a CPU without AVX512-VNNI
   (``without_vnni``: int8's and bf16's probes read as not running, as there they are ~100x slower than
   float32, so auto chooses between pca and fp32 by measurement), each timed back to back with sklearn. A third problem has 8-bit MNIST-like pixels. Best of
   ``repeats`` runs (the tree search on the 784-dimensional problem runs once: it takes minutes;
   kd_tree is left out there, as it is slower still in 784 dimensions).
2. Backbone training throughput: images/s of each backbone trained by the runner (``gymlab run
   NAME``, default recipe on digits, batch 64) against a bare PyTorch loop on a copy of the same
   experiment, interleaved step for step (``runner_timing.overhead``: same data order, augmentation
   draws, weights and optimiser; the two loops' losses are checked equal). The overhead is the median
   over runs of median runner step / median bare step - 1.

Both sides get the same number of threads (``--threads``, default 1: the machine this runs on is
usually shared, and an oversubscribed thread pool measures the neighbours, not the code).

With ``--mnist`` (the files in ``$GYMLAB_DATA/mnist``, e.g. ``../shared/data``) the kNN table gains a
real-MNIST rows: all 60,000 training images against all 10,000 test images, k = 3 (the k that
bench_mnist.py's cross-validation picks), ours (auto, fp32 forced, auto without VNNI) against scikit-learn's brute force
(its trees are slower still in 784 dimensions); the CPU, whether it has AVX512-VNNI, and the kernel
chosen are named. ``--knn-only`` skips the backbones and writes vision_knn.md instead of vision.md.

    .venv/bin/python benchmarks/bench_vision.py [--quick] [--threads N] [--mnist] [--knn-only]
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "disabled")


def _best(fn, repeats):
    best, out = math.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# --------------------------------------------------------------------------------------------- kNN
NO_VNNI = "auto as on a CPU without VNNI"


@contextlib.contextmanager
def without_vnni(features: int):
    """kernel="auto" as it runs on a CPU without AVX512-VNNI/BF16 (e.g. an AVX2-only AMD EPYC, where int8 and
    bf16 multiply ~100x slower than float32): their probes read as not running, so auto chooses between the
    float32-only kernels (pca, fp32) by measurement, as it would there."""
    from gymlab.vision.classify import knn

    keys = [(kernel, "cpu", features, torch.get_num_threads(), 128) for kernel in ("int8", "bf16")]
    saved = {key: knn._PROBES.get(key) for key in keys}
    knn._PROBES.update({key: (1.0, math.inf, 0.0) for key in keys})
    try:
        yield
    finally:
        for key, value in saved.items():
            knn._PROBES.pop(key) if value is None else knn._PROBES.update({key: value})


def ours_variants(xtr, ytr, k: int, all_variants: bool) -> list[tuple[str, object, float]]:
    """(label, fitted model, fit seconds): kernel="auto" on this CPU; with ``all_variants`` also kernel="fp32"
    forced (what a CPU without VNNI ran before the pca kernel) and auto as on a CPU without VNNI."""
    from gymlab.vision.classify.knn import KNearestNeighbor

    def fit(kernel="auto", no_vnni=False):
        t = time.perf_counter()
        with without_vnni(xtr.shape[1]) if no_vnni else contextlib.nullcontext():
            model = KNearestNeighbor(k, "l2", kernel=kernel).fit(xtr, ytr)
        return model, time.perf_counter() - t

    out = [("auto", *fit())]
    if all_variants:
        out += [("fp32 forced", *fit("fp32")), (NO_VNNI, *fit(no_vnni=True))]
    return out


def knn_rows(quick: bool) -> list[dict]:
    from sklearn.neighbors import KNeighborsClassifier

    from gymlab.vision.data.datasets import load_digits_split

    rows = []
    ds = load_digits_split(0)
    flat = lambda s: s.x.reshape(len(s), -1).numpy().astype(np.float32)  # noqa: E731
    digits = (np.concatenate([flat(ds.train), flat(ds.val)]), np.concatenate([ds.train.y, ds.val.y]),
              flat(ds.test), ds.test.y.numpy())
    rng = np.random.default_rng(0)
    n_query = 300 if quick else 1000
    centres = rng.normal(0, 1, (10, 784)).astype(np.float32)
    ytr = rng.integers(0, 10, 60000)
    yte = rng.integers(0, 10, n_query)
    xtr = centres[ytr] + rng.normal(0, 1.5, (60000, 784)).astype(np.float32)
    xte = centres[yte] + rng.normal(0, 1.5, (n_query, 784)).astype(np.float32)
    # MNIST-like 8-bit images: a prototype per class plus noise, as pixel values k/255
    protos = rng.integers(0, 256, (10, 784))
    pix = lambda y: (np.clip(protos[y] + rng.normal(0, 60, (len(y), 784)), 0, 255).round() / 255).astype(np.float32)  # noqa: E731
    problems = [("digits (1437 x 64, 360 queries)", digits, 1, 20 if not quick else 5),
                (f"synthetic 60000 x 784 Gaussian floats, {n_query} queries", (xtr, ytr, xte, yte), 5,
                 3 if not quick else 1),
                (f"synthetic 60000 x 784 8-bit images (k/255), {n_query} queries", (pix(ytr), ytr, pix(yte), yte), 5,
                 3 if not quick else 1)]
    for title, (xtr, ytr, xte, yte), k, repeats in problems:
        brute = KNeighborsClassifier(k, algorithm="brute").fit(xtr, ytr)
        timed = []
        for variant, ours, t_fit in ours_variants(xtr, ytr, k, all_variants=title.startswith("digits")):
            t_ours, p_ours = _best(lambda: ours.predict(xte), repeats)
            t_brute, p_brute = _best(lambda: brute.predict(xte), repeats)  # back to back with each variant
            timed.append((variant, ours, t_fit, t_ours, p_ours, t_brute, p_brute))
        tree_times = {}
        for algo in ("kd_tree", "ball_tree"):
            if xtr.shape[1] > 100 and algo == "kd_tree":
                continue  # kd-trees in 784 dimensions degrade to worse than brute force (minutes here)
            m = KNeighborsClassifier(k, algorithm=algo).fit(xtr, ytr)
            tree_times[algo] = _best(lambda: m.predict(xte), 1 if xtr.shape[1] > 100 else repeats)
        algo, (t_tree, p_tree) = min(tree_times.items(), key=lambda kv: kv[1][0])
        acc = lambda p: float((np.asarray(p) == yte).mean())  # noqa: E731
        for variant, ours, t_fit, t_ours, p_ours, t_brute, p_brute in timed:
            fastest = min(t_brute, t_tree)
            rows.append({"problem": title, "variant": variant, "k": k, "ours_ms": 1e3 * t_ours, "kernel": ours.kernel,
                         "fit_ms": 1e3 * t_fit, "sklearn_brute_ms": 1e3 * t_brute,
                         "sklearn_tree_ms": 1e3 * t_tree, "tree": algo,
                         "acc_ours": acc(p_ours), "acc_brute": acc(p_brute), "acc_tree": acc(p_tree),
                         "same_predictions": bool((np.asarray(p_ours) == p_brute).all() and (p_brute == p_tree).all()),
                         "speedup_vs_fastest": fastest / t_ours})
            print(f"  knn {title} [{variant}]: ours ({ours.kernel}) {1e3 * t_ours:.1f} ms, brute {1e3 * t_brute:.1f} ms, "
                  f"{algo} {1e3 * t_tree:.1f} ms", flush=True)
    return rows


def cpu_name() -> str:
    """The CPU's model name and whether it has AVX512-VNNI (what decides int8's speed)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return f"{model} ({'with' if 'avx512_vnni' in flags else 'without'} AVX512-VNNI)"


def mnist_arrays(root=None):
    """Real MNIST as float32 rows in [0, 1] and int64 labels: (xtr, ytr, xte, yte), verified, never downloaded."""
    from gymlab.vision.data import datasets as D

    folder = D.fetch(D.SOURCES["mnist"], root, download=False)
    x = lambda i, n: D.read_idx(folder / D._IDX[i]).reshape(n, -1).astype(np.float32) / 255  # noqa: E731
    return x(0, 60_000), D.read_idx(folder / D._IDX[1]).astype(np.int64), x(2, 10_000), \
        D.read_idx(folder / D._IDX[3]).astype(np.int64)


def mnist_knn_rows(k: int = 3) -> list[dict]:
    """ours (auto on this CPU, fp32 forced, auto as on a CPU without VNNI) against scikit-learn brute force on
    all of real MNIST; sklearn is timed back to back with each (a busy machine slows both sides alike)."""
    from sklearn.neighbors import KNeighborsClassifier

    xtr, ytr, xte, yte = mnist_arrays()
    brute = KNeighborsClassifier(k, algorithm="brute").fit(xtr, ytr)
    acc = lambda p: float((p == yte).mean())  # noqa: E731
    rows = []
    for variant, ours, t_fit in ours_variants(xtr, ytr, k, all_variants=True):
        t0 = time.perf_counter()
        p_ours = np.asarray(ours.predict(xte))
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        p_brute = brute.predict(xte)
        t_brute = time.perf_counter() - t0
        print(f"  knn real MNIST [{variant}]: ours ({ours.kernel}) {t_ours:.1f} s (fit {t_fit:.1f} s), "
              f"brute {t_brute:.1f} s", flush=True)
        rows.append({"problem": f"real MNIST 60000 x 784, all 10000 queries; {cpu_name()}", "variant": variant,
                     "k": k, "ours_ms": 1e3 * t_ours, "kernel": ours.kernel, "fit_ms": 1e3 * t_fit,
                     "sklearn_brute_ms": 1e3 * t_brute, "sklearn_tree_ms": float("nan"), "tree": "not run",
                     "acc_ours": acc(p_ours), "acc_brute": acc(p_brute), "acc_tree": float("nan"),
                     "same_predictions": bool((p_ours == p_brute).all()), "speedup_vs_fastest": t_brute / t_ours})
    return rows


# ------------------------------------------------------------------------------------- backbones
def backbone_rows(quick: bool) -> list[dict]:
    """Each backbone's default recipe on digits, the runner against a bare loop on a copy of the same
    experiment, interleaved step for step (runner_timing.py, the method bench_mnist's throughput row uses)."""
    from runner_timing import overhead

    rows = []
    for name in ("alexnet", "vgg", "googlenet", "resnet"):
        r = overhead(name, ["batch_size=64"], steps=40 if quick else 60, runs=3 if quick else 7)
        rows.append({"backbone": name, "bare_img_s": r["bare_img_s"], "runner_img_s": r["runner_img_s"],
                     "runner_overhead_pct": r["overhead_pct"], "same_losses": r["same_losses"]})
        print(f"  {name}: bare {r['bare_img_s']:.0f} img/s, runner {r['runner_img_s']:.0f} img/s, "
              f"overhead {r['overhead_pct']:+.1f}%", flush=True)
    return rows


def markdown(knn: list[dict], nets: list[dict], quick: bool) -> str:
    lines = ["# Vision I benchmark", "",
             f"`benchmarks/bench_vision.py {' '.join(sys.argv[1:])}` on {cpu_name()}, "
             f"torch {torch.__version__}, {torch.get_num_threads()} torch threads; a shared machine, so "
             "compare the columns of one row (measured back to back), not absolute numbers.", "",
             "## kNN prediction (L2, float32), ours vs scikit-learn", "",
             f"`{NO_VNNI}`: int8's and bf16's probes read as not running (on an AVX2-only CPU they multiply ~100x "
             "slower than float32), so auto picks among the float32-only kernels (pca, fp32) by measurement, as it "
             "would there; `fp32 forced` is what such a CPU ran before the pca kernel. Fit times include auto's "
             "measurements and the pca set-up (scikit-learn's brute fit stores the data).", "",
             "| problem | ours | k | ours ms (kernel) | ours fit ms | sklearn brute ms | sklearn tree ms (which) | accuracy ours / brute / tree | same predictions | speed-up vs sklearn's fastest |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in knn:
        lines.append(f"| {r['problem']} | {r.get('variant', 'auto')} | {r['k']} | {r['ours_ms']:.1f} ({r.get('kernel', 'fp32')}) | "
                     f"{r.get('fit_ms', float('nan')):.0f} | {r['sklearn_brute_ms']:.1f} | "
                     f"{r['sklearn_tree_ms']:.1f} ({r['tree']}) | {r['acc_ours']:.4f} / {r['acc_brute']:.4f} / "
                     f"{r['acc_tree']:.4f} | {r['same_predictions']} | {r['speedup_vs_fastest']:.2f}x |")
    if not nets:
        return "\n".join(lines) + "\n"
    lines += ["", "## Backbone training throughput on digits (batch 64, default recipe), runner vs bare loop", "",
              "| backbone | bare PyTorch img/s | runner img/s | runner overhead (median of pairs) |", "|---|---|---|---|"]
    for r in nets:
        lines.append(f"| {r['backbone']} | {r['bare_img_s']:.0f} | {r['runner_img_s']:.0f} | "
                     f"{r['runner_overhead_pct']:+.1f}% |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer queries, steps and repeats")
    ap.add_argument("--threads", type=int, default=1, help="threads for torch and scikit-learn alike")
    ap.add_argument("--mnist", action="store_true", help="add the real-MNIST kNN row ($GYMLAB_DATA/mnist)")
    ap.add_argument("--knn-only", action="store_true", help="the kNN table only")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    print("kNN ...", flush=True)
    knn = knn_rows(args.quick) + (mnist_knn_rows() if args.mnist else [])
    print("backbones ...", flush=True)
    nets = [] if args.knn_only else backbone_rows(args.quick)
    md = markdown(knn, nets, args.quick)
    print(md)
    out = ROOT / "benchmarks" / "results" / ("vision_knn.md" if args.knn_only else "vision.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)


if __name__ == "__main__":
    main()

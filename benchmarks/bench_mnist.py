"""Real MNIST: every classifier and generative model of gymlab beside the published figures.

Each row trains (or fits) one model on the standard MNIST files through the runner (``gymlab run
NAME data=mnist ...``; kNN and the throughput row call the library directly) under a stated budget,
then writes our figure next to the published one. Rows run one at a time and are stored in
``benchmarks/results/mnist.json`` as they finish; every call rewrites ``benchmarks/results/mnist.md``
from that file (the rows not yet run are listed as such) and copies the generative models' sample
grids to ``benchmarks/results/mnist_<row>_samples.png``.

Rows:
- ``knn``: L2, k chosen by 3-fold cross-validation on the first 10,000 training images, then all
  60,000 training images against the 10,000 test images; the same search by scikit-learn's
  ``KNeighborsClassifier(algorithm="brute")`` (its fastest in 784 dimensions) in the same run:
  predictions compared on every query, and the time ratio. Our kernel is ``kernel="auto"`` (it
  measures int8/bf16 against float32 on this CPU at fit; the table names its choice).
- ``softmax``, ``svm``, ``mlp``, ``alexnet``, ``vgg``, ``googlenet``, ``resnet``: the runner's
  classifiers on 55,000 training images (5,000 held out for validation), test error on the 10,000.
- ``vae``, ``pixelcnn``, ``gated-pixelcnn``, ``row-lstm``, ``diagonal-bilstm``: ``data=mnist-dynamic``
  (training images binarized afresh at every batch, the test set binarized once by a fixed draw),
  negative log-likelihood in nats on the 10,000 binarized test images; the VAE also reports the
  IWAE bound with k = 5,000 importance samples on the first ``--iwae-images`` test images.
- ``throughput``: training images/s of each backbone at 28x28 inside the runner against a bare
  PyTorch loop on the same model, optimiser, batch and data order (alternating pairs; median step).

Budgets are epochs, chosen to fit the issue's 45 CPU minutes a model; each row records the CPU
seconds it used (a wall-clock cap, ``seconds=``, measures the neighbours on a shared machine: rows
that still carry one say so). ``--gpu`` runs the same rows with the settings a GPU affords (the papers'
architectures and epochs, listed in ``GPU``); ``--print-gpu`` prints those commands.

    GYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py --row knn
    GYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py            # every row
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from runner_timing import overhead  # the runner against a bare loop on the same recipe, step for step

RESULTS = Path(__file__).resolve().parent / "results"
JSON = RESULTS / "mnist.json"
BASE = ["logger.mode=disabled", "progress=false"]

# Published figures: (value, unit, source)
PUBLISHED = {
    "knn": ("3.09% error", "LeCun et al., MNIST database page: K-nearest-neighbors, Euclidean (L2) (K. Wilder)"),
    "softmax": ("~7.5% error; 12.0%",
                "multinomial logistic regression, the usual figure (issue 17); LeCun et al. 1998: linear classifier (1-layer NN)"),
    "svm": ("~7.5% error", "linear classifiers, the usual figure (issue 17); LeCun et al. 1998: pairwise linear classifier 7.6%"),
    "mlp": ("1.6% error", "LeCun et al., MNIST page: 2-layer NN, 800 HU, cross-entropy (Simard et al., ICDAR 2003)"),
    "alexnet": ("0.95% error", "LeNet-5 (LeCun et al. 1998); goal for the best backbone: <= 0.5%"),
    "vgg": ("0.95% error", "LeNet-5 (LeCun et al. 1998); goal for the best backbone: <= 0.5%"),
    "googlenet": ("0.95% error", "LeNet-5 (LeCun et al. 1998); goal for the best backbone: <= 0.5%"),
    "resnet": ("0.95% error", "LeNet-5 (LeCun et al. 1998); goal for the best backbone: <= 0.5%"),
    "vae": ("86.76 nats (ELBO-trained VAE), 84.78 (IWAE, k=50)",
            "Burda, Grosse & Salakhutdinov 2016, Table 1 (one stochastic layer, test log-likelihood with k=5,000)"),
    "pixelcnn": ("81.30 nats", "van den Oord, Kalchbrenner & Kavukcuoglu 2016 (Pixel Recurrent Neural Networks), Table 4"),
    "gated-pixelcnn": ("-", "no binarized-MNIST figure in van den Oord et al. 2016 (Conditional PixelCNN); PixelCNN 81.30"),
    "row-lstm": ("-", "not reported on MNIST; Diagonal BiLSTM 79.20 (van den Oord et al. 2016, Table 4)"),
    "diagonal-bilstm": ("79.20 nats", "van den Oord et al. 2016, Table 4 (7 layers, h = 16)"),
}

# name -> (experiment, CPU overrides, GPU overrides). The CPU budgets fit a shared 2-core machine;
# the GPU settings are the papers' architectures (their epochs are longer still: ~3,300 passes for the
# VAE of Burda et al.; these approach the figures within a few nats in hours on one GPU).
_CLS = ["data=mnist"]
_GEN = ["data=mnist-dynamic", "fid_samples=0", "sample_images=16"]
ROWS = {
    "softmax": ("softmax", _CLS + ["epochs=3", "lr=0.05", "reg=1e-4", "seconds=240", "eval_every=100000"],
                _CLS + ["epochs=20", "lr=0.05", "reg=1e-4"]),
    "svm": ("svm", _CLS + ["epochs=3", "lr=0.01", "reg=1e-4", "seconds=240", "eval_every=100000"],
            _CLS + ["epochs=20", "lr=0.01", "reg=1e-4"]),
    "mlp": ("mlp", _CLS + ["hidden=[800]", "epochs=20", "schedule=onecycle", "weight_decay=0", "preprocess=channel",
                           "eval_every=100000", "batch_size=128"],
            _CLS + ["hidden=[800]", "epochs=50", "batch_size=128"]),
    "alexnet": ("alexnet", _CLS + ["epochs=1", "seconds=150", "eval_every=100000", "batch_size=128", "lr=0.05"],
                _CLS + ["epochs=30", "batch_size=128", "step_size=20"]),
    "vgg": ("vgg", _CLS + ["epochs=1", "seconds=150", "eval_every=100000", "batch_size=128"],
            _CLS + ["epochs=15", "batch_size=128"]),
    "googlenet": ("googlenet", _CLS + ["epochs=1", "seconds=150", "eval_every=100000", "batch_size=128"],
                  _CLS + ["epochs=15", "batch_size=128"]),
    "resnet": ("resnet", _CLS + ["epochs=20", "schedule=onecycle", "lr=0.1", "crop_pad=2",
                                 "eval_every=100000", "batch_size=128"],
               _CLS + ["epochs=15", "batch_size=128"]),
    "vae": ("vae", _GEN[:2] + ["latent=50", "hidden=200", "batch_size=100", "lr=1e-3", "iwae_k=50", "epochs=200",
                               "eval_every=1000000"],
            _GEN[:2] + ["latent=50", "hidden=200", "batch_size=20", "lr=1e-3", "iwae_k=50", "epochs=3280"]),
    "pixelcnn": ("pixelcnn", _GEN + ["hidden=32", "layers=4", "batch_size=32", "lr=1e-3", "epochs=6", "seconds=2700",
                                     "eval_every=1000000"],
                 _GEN + ["hidden=128", "layers=15", "batch_size=64", "lr=1e-3", "epochs=50"]),
    "gated-pixelcnn": ("gated-pixelcnn", _GEN + ["hidden=32", "layers=4", "batch_size=32", "lr=1e-3", "epochs=10",
                                                 "seconds=240", "eval_every=1000000"],
                       _GEN + ["hidden=128", "layers=15", "kernel_size=3", "batch_size=64", "lr=1e-3", "epochs=50"]),
    "row-lstm": ("pixelrnn", _GEN + ["kind=row-lstm", "hidden=16", "layers=2", "batch_size=32", "lr=1e-3", "epochs=10",
                                     "seconds=240", "eval_every=1000000"],
                 _GEN + ["kind=row-lstm", "hidden=16", "layers=7", "batch_size=16", "lr=1e-3", "epochs=50"]),
    "diagonal-bilstm": ("pixelrnn", _GEN + ["kind=diagonal-bilstm", "hidden=16", "layers=2", "batch_size=32", "lr=1e-3",
                                            "epochs=2", "seconds=2700", "eval_every=1000000"],
                        _GEN + ["kind=diagonal-bilstm", "hidden=16", "layers=7", "batch_size=16", "lr=1e-3",
                                "epochs=50"]),
}
ORDER = ["knn", "softmax", "svm", "mlp", "alexnet", "vgg", "googlenet", "resnet", "vae", "pixelcnn",
         "gated-pixelcnn", "row-lstm", "diagonal-bilstm", "throughput"]
GENERATIVE = ("vae", "pixelcnn", "gated-pixelcnn", "row-lstm", "diagonal-bilstm")


def _load() -> dict:
    return json.loads(JSON.read_text()) if JSON.exists() else {}


def _save(name: str, row: dict) -> None:
    rows = _load()
    rows[name] = row
    RESULTS.mkdir(exist_ok=True)
    JSON.write_text(json.dumps(rows, indent=1, sort_keys=True))


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"


# ------------------------------------------------------------------------------------------- kNN
def knn_row(args) -> dict:
    from sklearn.neighbors import KNeighborsClassifier
    from threadpoolctl import threadpool_limits

    from bench_vision import mnist_arrays
    from gymlab.vision.classify.knn import KNearestNeighbor, cross_validate_k

    xtr, ytr, xte, yte = mnist_arrays(args.data_root)
    t0 = time.perf_counter()
    ks = [1, 3, 5, 7]
    k, cv = cross_validate_k(torch.from_numpy(xtr[:10_000]), torch.from_numpy(ytr[:10_000]), ks, 3, "l2", seed=0)
    t_cv = time.perf_counter() - t0
    print(f"  knn: cv {t_cv:.0f} s, k={k}: " + ", ".join(f"{kk}: {cv[kk].mean():.4f}" for kk in ks), flush=True)
    knn = KNearestNeighbor(k, "l2", kernel="auto").fit(xtr, ytr)
    t0 = time.perf_counter()
    ours = knn.predict(xte)
    t_ours = time.perf_counter() - t0
    ours = np.asarray(ours.cpu() if torch.is_tensor(ours) else ours)
    print(f"  knn: ours ({knn.kernel}) {t_ours:.1f} s", flush=True)
    with threadpool_limits(torch.get_num_threads()):
        sk = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(xtr, ytr)
        t0 = time.perf_counter()
        theirs = sk.predict(xte)
        t_sk = time.perf_counter() - t0
    print(f"  knn: scikit-learn brute {t_sk:.1f} s", flush=True)
    return {"ours": f"{100 * (ours != yte).mean():.2f}% error (k={k})", "error_pct": 100 * float((ours != yte).mean()),
            "k": k, "cv": {str(kk): float(cv[kk].mean()) for kk in ks}, "kernel": knn.kernel,
            "same_predictions": bool((ours == theirs).all()), "n_different": int((ours != theirs).sum()),
            "seconds_ours": t_ours, "seconds_sklearn_brute": t_sk, "speedup_vs_sklearn": t_sk / t_ours,
            "budget": f"CV: 3 folds of the first 10,000 training images, k in {ks} ({t_cv:.0f} s); "
                      f"search: 60,000 x 784 against 10,000 queries ({t_ours:.0f} s ours, {t_sk:.0f} s scikit-learn)",
            "notes": f"kernel={knn.kernel} (auto); predictions identical to scikit-learn on "
                     f"{10_000 - int((ours != theirs).sum())}/10,000 queries; {t_sk / t_ours:.2f}x scikit-learn brute's speed"}


# ------------------------------------------------------------------------------- runner rows
def _run(name: str, exp: str, overrides: list, folder: Path, device: str) -> dict:
    from gymlab.runners.loop import run

    t0, c0 = time.perf_counter(), time.process_time()
    s = run(exp, BASE + [f"run_dir={folder / name}", f"device={device}", *overrides], quiet=True)
    s["_wall"], s["_cpu"] = time.perf_counter() - t0, time.process_time() - c0
    return s


def classifier_row(name: str, args) -> dict:
    exp, cpu, gpu = ROWS[name]
    overrides = gpu if args.gpu else cpu
    with tempfile.TemporaryDirectory() as d:
        s = _run(name, exp, overrides + ([f"data_root={args.data_root}"] if args.data_root else []), Path(d),
                 "cuda" if args.gpu else "cpu")
    bs = int(next((o.split("=")[1] for o in overrides if o.startswith("batch_size=")), 64))
    epochs = s["steps"] * bs / 55_000
    err = 100 * (1 - s["eval/accuracy"])
    return {"ours": f"{err:.2f}% error", "error_pct": err, "val_error_pct": 100 * (1 - s["eval/val_accuracy"]),
            "epochs_done": epochs, "wall_s": s["_wall"], "cpu_s": s["_cpu"], "train_s": s["time/wall_s"],
            "budget": f"{epochs:.2f} epochs in {s['time/wall_s']:.0f} s (cap: "
                      f"{next((o for o in overrides if o.startswith('seconds=')), 'none')}, "
                      f"{next((o for o in overrides if o.startswith('epochs=')), '')})",
            "command": "gymlab run " + " ".join([exp] + overrides)}


def _vae_iwae(exp, n: int, k: int = 5000) -> float:
    """IWAE bound with k importance samples on the first n fixed-binarized test images of the trained
    VAE experiment ``exp``."""
    net, x = exp.net.eval(), exp.test[0][:n]
    torch.manual_seed(4242)
    with torch.no_grad():
        return torch.cat([net.iwae_bound(x[i:i + 2], k) for i in range(0, n, 2)]).mean().item()


def generative_row(name: str, args) -> dict:
    from gymlab.runners import registry

    exp, cpu, gpu = ROWS[name]
    overrides = gpu if args.gpu else cpu
    cls = registry.get(exp).cls
    original, instances = cls.setup, []

    def setup(self, cfg, ctx):  # keep the experiment, for the VAE's k=5,000 bound after the run
        instances.append(self)
        return original(self, cfg, ctx)

    cls.setup = setup
    with tempfile.TemporaryDirectory() as d:
        try:
            s = _run(name, exp, overrides, Path(d), "cuda" if args.gpu else "cpu")
        finally:
            cls.setup = original
        media = Path(d) / name / "media"
        png = next(iter(sorted(media.glob("samples*.png"))), None) if media.exists() else None
        if png is not None:
            shutil.copy(png, RESULTS / f"mnist_{name}_samples.png")
        bs = int(next((o.split("=")[1] for o in overrides if o.startswith("batch_size=")), 64))
        epochs = s["steps"] * bs / 55_000
        row = {"nll_nats": s["eval/nll_nats"], "epochs_done": epochs, "wall_s": s["_wall"], "cpu_s": s["_cpu"],
               "train_s": s["time/wall_s"],
               "budget": f"{epochs:.2f} epochs in {s['time/wall_s']:.0f} s (cap: "
                         f"{next((o for o in overrides if o.startswith('seconds=')), 'none')})",
               "command": "gymlab run " + " ".join([exp] + overrides),
               "samples": f"mnist_{name}_samples.png" if png is not None else None}
        if name == "vae":
            t0 = time.perf_counter()
            iw = _vae_iwae(instances[-1], args.iwae_images)
            row.update(elbo_nats=-s["eval/elbo_nats"], iwae50_nats=-s["eval/iwae_nats"], iwae5000_nats=-iw,
                       iwae5000_images=args.iwae_images, iwae5000_s=time.perf_counter() - t0)
            row["ours"] = (f"ELBO {-s['eval/elbo_nats']:.2f}, IWAE k=50 {-s['eval/iwae_nats']:.2f} (10,000 test); "
                           f"IWAE k=5,000 {-iw:.2f} (first {args.iwae_images} test)")
        else:
            row["ours"] = f"{s['eval/nll_nats']:.2f} nats"
    return row


# ------------------------------------------------------------------------------- throughput
THROUGHPUT = ["data=mnist", "batch_size=64", "device=cpu", "max_train=5000"]  # the recipe's defaults otherwise


def throughput_row(args) -> dict:
    """Each backbone's default recipe (crop_pad=1 augmentation included) at 28x28, batch 64: the runner against
    a bare PyTorch loop interleaved with it step for step (benchmarks/runner_timing.py)."""
    steps, runs, out = args.throughput_steps, args.throughput_runs, {}
    over = THROUGHPUT + ([f"data_root={args.data_root}"] if args.data_root else [])
    for name in ("alexnet", "vgg", "googlenet", "resnet"):
        out[name] = r = overhead(name, over, steps=steps, runs=runs)
        print(f"  {name}: bare {r['bare_img_s']:.0f} img/s, runner {r['runner_img_s']:.0f} img/s, overhead "
              f"{r['overhead_pct']:+.1f}% ({r['overhead_min_pct']:+.1f}% to {r['overhead_max_pct']:+.1f}%), "
              f"same losses: {r['same_losses']}", flush=True)
    return {"backbones": out, "command": "gymlab run NAME " + " ".join(THROUGHPUT),
            "budget": f"{runs} runs a backbone, each {steps} interleaved pairs of steps (bare, runner) of 64 images "
                      f"after {out['resnet']['warmup']} warm-up pairs"}


def throughput_table(t: dict | None) -> list:
    """The throughput section of mnist.md (and mnist_throughput.md)."""
    lines = ["## Training throughput at 28x28: the runner against a bare PyTorch loop", ""]
    if t is None:
        return lines + ["not run"]
    if "command" not in t:  # a row measured before runner_timing.py
        lines += [f"{t['budget']}; same model, optimiser, batch and normalisation, no augmentation.", "",
                  "| backbone | bare loop (img/s) | runner (img/s) | runner overhead |", "|---|---|---|---|"]
        return lines + [f"| {b} | {v['bare_img_s']:.1f} | {v['runner_img_s']:.1f} | {v['overhead_pct']:+.1f}% |"
                        for b, v in t["backbones"].items()]
    lines += [f"`{t['command']}` (the recipe's defaults otherwise, `crop_pad=1` augmentation included) against a bare "
              "loop on a copy of the same experiment: same data, data order, augmentation draws, normalisation, initial "
              f"weights and optimiser. {t['budget']}; a run's overhead is its median runner step over its median bare "
              "step (the runner step counts the loop's own work after train_step). 'Same losses': the two loops "
              "computed identical losses at every step (the check that like is compared with like). "
              "`benchmarks/runner_timing.py --mnist` writes this table.", "",
              "| backbone | bare loop (img/s) | runner (img/s) | runner overhead: median (min to max over runs) "
              "| runner time per step beyond the bare loop | same losses |", "|---|---|---|---|---|---|"]
    return lines + [f"| {b} | {v['bare_img_s']:.1f} | {v['runner_img_s']:.1f} | {v['overhead_pct']:+.1f}% "
                    f"({v['overhead_min_pct']:+.1f}% to {v['overhead_max_pct']:+.1f}%) | "
                    f"{v['extra_us_per_step'] / 1e3:+.2f} ms | {'yes' if v['same_losses'] else 'no'} |"
                    for b, v in t["backbones"].items()]


# ------------------------------------------------------------------------------- the table
def goals(rows: dict) -> list:
    """Issue 17's goals, each met or missed by the rows present."""
    out = []
    k = rows.get("knn")
    if k:
        out.append(f"- kNN predictions identical to scikit-learn's on all 10,000 queries: "
                   f"{'met' if k['same_predictions'] else 'missed (%d differ)' % k['n_different']}.")
    nets = {n: rows[n]["error_pct"] for n in ("alexnet", "vgg", "googlenet", "resnet") if n in rows}
    if nets:
        best = min(nets, key=nets.get)
        out.append(f"- Best backbone at 0.5% test error or better: {'met' if nets[best] <= 0.5 else 'missed'} "
                   f"({best}, {nets[best]:.2f}% after {rows[best]['epochs_done']:.2f} epochs{_cpu(rows[best])}; the "
                   "other backbones got one epoch or less).")
    for n in GENERATIVE:
        if n in rows:
            v = rows[n]["iwae50_nats"] if n == "vae" else rows[n]["nll_nats"]
            out.append(f"- {n} better than 95 nats on CPU: {'met' if v < 95 else 'missed'} ({v:.2f}"
                       f"{' nats, the k=50 bound on the 10,000 test images' if n == 'vae' else ' nats'}"
                       f" after {rows[n]['epochs_done']:.2f} epochs{_cpu(rows[n])}; the issue allows 45 CPU minutes "
                       "a model).")
    t = rows.get("throughput")
    if t:
        worst = max(t["backbones"].values(), key=lambda v: v["overhead_pct"])["overhead_pct"]
        how = ("median over interleaved runs; the spread is in the throughput table" if "command" in t else
               "a few steps per pair on a loaded machine leave the median ratio at the mercy of the neighbours")
        out.append(f"- Runner overhead under 5%: {'met' if worst < 5 else 'missed'} (worst {worst:+.1f}%; "
                   f"{t['budget']}; {how}).")
    out.append("- Within 3 nats of the published figures on a GPU: not measured (no GPU in this session); the "
               "`--gpu` settings below are the papers' architectures.")
    return out


def _cpu(r: dict) -> str:
    """', N CPU minutes' where the row measured its CPU time (rows from before it did: a 240 s wall cap)."""
    return f", {r['cpu_s'] / 60:.0f} CPU minutes" if "cpu_s" in r else ", a 240 s wall-clock cap"


def _budget(r: dict) -> str:
    """A runner row's budget: epochs done under its caps, and the run's wall time with the final evaluation."""
    if "epochs_done" not in r:
        return r["budget"]
    caps = [o.replace("=", " ") for o in r["command"].split() if o.startswith(("seconds=", "epochs="))]
    caps = [c + (" s of training" if c.startswith("seconds") else "") for c in caps]
    return (f"{r['epochs_done']:.2f} epochs (caps: {', '.join(caps)}); run with its final evaluation "
            f"{r['train_s']:.0f} s" + (f" wall, {r['cpu_s'] / 60:.1f} CPU minutes" if "cpu_s" in r else ""))


def markdown(rows: dict) -> str:
    head = rows.get("_machine", _machine()).rsplit(",", 1)[0]
    two = [n for n in ORDER if "2 threads" in rows.get(n, {}).get("machine", "")]
    lines = ["# Real MNIST", "",
             "`GYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py` (one row: `--row NAME`), "
             f"on {head}, one torch thread a row{' (two: ' + ', '.join(two) + ')' if two else ''}. A shared machine "
             "(other jobs on its two cores while this ran): wall times depend on the load, CPU minutes much less; each "
             "row states its epochs, and its CPU minutes where it measured them (rows run under a wall-clock cap "
             "name it).", "",
             "| row | ours | published / peer | budget | source, notes |", "|---|---|---|---|---|"]
    for name in ORDER:
        if name == "throughput":
            continue
        pub, src = PUBLISHED[name]
        r = rows.get(name)
        if r is None:
            lines.append(f"| {name} | not run | {pub} | - | {src} |")
            continue
        notes = r.get("notes", "")
        lines.append(f"| {name} | {r['ours']} | {pub} | {_budget(r)} | {src}{'; ' + notes if notes else ''} |")
    lines += ["", "## Goals", ""] + goals(rows)
    lines += [""] + throughput_table(rows.get("throughput"))
    lines += ["", "## Commands", "", "CPU rows (as run above) and the GPU settings (`--gpu`: the papers' "
              "architectures and longer schedules):", "", "```"]
    for name, (exp, cpu, gpu) in ROWS.items():
        lines.append(rows.get(name, {}).get("command", f"gymlab run {exp} {' '.join(cpu)}"))
    lines.append("# GPU")
    for name, (exp, cpu, gpu) in ROWS.items():
        lines.append(f"gymlab run {exp} {' '.join(gpu)} device=cuda")
    lines += ["```", ""]
    samples = [n for n in GENERATIVE if rows.get(n, {}).get("samples")]
    if samples:
        lines += ["## Samples", ""] + [f"{n}: ![{n}](mnist_{n}_samples.png)" for n in samples] + [""]
    return "\n".join(lines)


def readme_section(rows: dict) -> str:
    """The README's "Real MNIST" section: the table and throughput of mnist.md, images linked from there."""
    body = markdown(rows).split("\n", 2)[2]  # drop mnist.md's title
    body = body.replace("](mnist_", "](benchmarks/results/mnist_").replace("\n## ", "\n### ")
    return ("## Real MNIST\n\n"
            "The standard MNIST files (60,000 + 10,000 images) through the runner: `data=mnist` for every "
            "classifier, `fgsm`, `compress`, `saliency` and its siblings, and `data=mnist-dynamic` (binarized "
            "MNIST: training images binarized afresh at every batch, the test set by one fixed draw) for the "
            "generative models. Files are checked against the SHA-256 of their decompressed IDX bytes (or the "
            "official `.gz` MD5s), so a re-compressed mirror verifies. Reproduce with\n\n"
            "```\nGYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py          # every row\n"
            "GYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py --row knn --row resnet\n"
            "GYMLAB_DATA=../shared/data .venv/bin/python benchmarks/bench_mnist.py --gpu    # the GPU settings\n```\n\n"
            "Results: [benchmarks/results/mnist.md](benchmarks/results/mnist.md).\n\n" + body)


def write_readme(rows: dict, path: Path) -> None:
    """Replace the README's "## Real MNIST" section (or append it at the end)."""
    text = path.read_text()
    new = readme_section(rows).rstrip() + "\n"
    start = text.find("\n## Real MNIST\n")
    if start < 0:
        path.write_text(text.rstrip() + "\n\n" + new)
        return
    end = text.find("\n## ", start + 1)
    path.write_text(text[:start + 1] + new + (text[end:] if end >= 0 else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--row", action="append", choices=ORDER, help="run only these rows (repeatable)")
    ap.add_argument("--gpu", action="store_true", help="the GPU settings, device=cuda")
    ap.add_argument("--print-gpu", action="store_true", help="print the GPU commands and exit")
    ap.add_argument("--table", action="store_true", help="only rewrite mnist.md from mnist.json")
    ap.add_argument("--readme", action="store_true", help="also write the README's Real MNIST section")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a busy machine, more threads than free cores spin and run slower)")
    ap.add_argument("--data-root", default=None, help="the data folder (default $GYMLAB_DATA)")
    ap.add_argument("--iwae-images", type=int, default=200, help="test images of the k=5,000 IWAE bound")
    ap.add_argument("--throughput-steps", type=int, default=40, help="timed step pairs a run (after 5 warm-up pairs)")
    ap.add_argument("--throughput-runs", type=int, default=4, help="interleaved runs a backbone")
    args = ap.parse_args()
    if args.print_gpu:
        for name, (exp, _, gpu) in ROWS.items():
            print(f"gymlab run {exp} {' '.join(gpu)} device=cuda")
        return
    torch.set_num_threads(args.threads)
    os.environ.setdefault("WANDB_MODE", "disabled")
    if not args.table:
        from gymlab.runners.errors import GymlabError
        from gymlab.vision.data import datasets as D

        try:
            D.fetch(D.SOURCES["mnist"], args.data_root, download=False)
        except (FileNotFoundError, ValueError) as e:
            sys.exit(f"bench_mnist: {str(e).splitlines()[0]}")
        for name in args.row or ORDER:
            print(f"{name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                if name == "knn":
                    row = knn_row(args)
                elif name == "throughput":
                    row = throughput_row(args)
                elif name in GENERATIVE:
                    row = generative_row(name, args)
                else:
                    row = classifier_row(name, args)
            except GymlabError as e:
                sys.exit(f"bench_mnist: {name}: {e}")
            row["row_wall_s"] = time.perf_counter() - t0
            row["machine"] = _machine()
            _save(name, row)
            _save("_machine", _machine())
            print(f"{name}: {row.get('ours', '')} ({row['row_wall_s']:.0f} s)", flush=True)
    (RESULTS / "mnist.md").write_text(markdown(_load()))
    print(f"wrote {RESULTS / 'mnist.md'}")
    if args.readme:
        write_readme(_load(), RESULTS.parent.parent / "README.md")
        print("wrote the README's Real MNIST section")


if __name__ == "__main__":
    main()

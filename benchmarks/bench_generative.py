"""Every generative model on binarized digits (8x8, the fixed test split of vision.datasets):
test NLL in nats per image (the VAE: its IWAE k=50 bound, so an upper bound on the NLL) and bits per
dimension, the digits-FID of its samples, training images/s and sampling images/s on this CPU, next to
the independent-Bernoulli and FVSBN (logistic autoregressive) baselines measured in the same run.

    .venv/bin/python benchmarks/bench_generative.py [--quick] [--threads N]

The likelihood models train through the runner with their default configs (``--quick``) or three
times longer (default); their numbers are those of the checkpoint the validation NLL picked
(checkpoints/best.pt), since 1,078 training digits are soon overfitted.
With MNIST files in the data folder, ``--mnist`` also trains PixelCNN and the VAE on statically
binarized MNIST (the published: PixelCNN 81.30 nats, VAE -86.35 / IWAE k=50 -84.78); that needs a
GPU and hours, and is not part of the CPU table.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402

from gymlab.generative.baselines import FVSBN, IndependentBernoulli  # noqa: E402
from gymlab.generative.data import load  # noqa: E402
from gymlab.generative.metrics import bits_per_dim, categorical_nll, fid, fid_classifier  # noqa: E402
from gymlab.generative.sampling import sample  # noqa: E402
from gymlab.runners import registry  # noqa: E402
from gymlab.runners.config import build  # noqa: E402
from gymlab.runners.loop import evaluate_run, run  # noqa: E402
from gymlab.runners.media import markdown_table  # noqa: E402

MODELS = [  # (table name, experiment, overrides)
    ("PixelCNN", "pixelcnn", []),
    ("Gated PixelCNN", "gated-pixelcnn", []),
    ("PixelRNN Row LSTM", "pixelrnn", ["kind=row-lstm"]),
    ("PixelRNN Diagonal BiLSTM", "pixelrnn", ["kind=diagonal-bilstm"]),
    ("VAE (IWAE k=50)", "vae", []),
    ("DCGAN", "gan", []),
]


def throughput(name: str, overrides: list, steps: int = 20, n_samples: int = 64) -> tuple[float, float]:
    """Training images/s (after 3 warm-up steps) and sampling images/s of a fresh experiment."""
    spec = registry.get(name)
    cfg = build(spec.config_cls, overrides)
    exp = spec.cls()
    with tempfile.TemporaryDirectory() as d:
        exp.setup(cfg, registry.Context(device=torch.device("cpu"), seed=0, run_dir=Path(d), log=lambda m: None))
    for _ in range(3):
        exp.train_step()
    t = time.perf_counter()
    for _ in range(steps):
        exp.train_step()
    train = steps * cfg.batch_size / (time.perf_counter() - t)
    t = time.perf_counter()
    if name == "vae":
        exp.net.sample(n_samples, generator=torch.Generator().manual_seed(0), mean=False)
    else:
        exp.samples(n_samples)
    return train, n_samples / (time.perf_counter() - t)


def baselines(steps: int, clf, data) -> list[dict]:
    x, xva, xte = data.train.x, data.val.x, data.test.x
    rows = []
    t = time.perf_counter()
    bern = IndependentBernoulli((1, 8, 8)).fit(x)
    fit_rate = len(x) / (time.perf_counter() - t)
    nats = categorical_nll(bern(xte), xte, 2).mean().item()
    g = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    s = sample(bern, 256, (1, 8, 8), 2, generator=g)
    rows.append({"model": "independent Bernoulli", "test NLL (nats)": nats, "bits/dim": bits_per_dim(nats, 64),
                 "FID": fid(clf, xte, s), "train img/s": f"closed form ({fit_rate:.3g} img/s)",
                 "sample img/s": 256 / (time.perf_counter() - t)})
    torch.manual_seed(0)
    fv = FVSBN((1, 8, 8))
    opt = torch.optim.Adam(fv.parameters(), lr=1e-2)
    best, best_state, gi = math.inf, None, torch.Generator().manual_seed(0)
    t = time.perf_counter()
    for step in range(1, steps + 1):
        xb = x[torch.randint(len(x), (64,), generator=gi)]
        loss = categorical_nll(fv(xb), xb, 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:  # early stopping on the validation NLL, as the runner's best.pt does
            with torch.no_grad():
                val = categorical_nll(fv(xva), xva, 2).mean().item()
            if val < best:
                best, best_state = val, {k: v.clone() for k, v in fv.state_dict().items()}
    train_rate = steps * 64 / (time.perf_counter() - t)
    fv.load_state_dict(best_state)
    with torch.no_grad():
        nats = categorical_nll(fv(xte), xte, 2).mean().item()
    t = time.perf_counter()
    s = sample(fv, 256, (1, 8, 8), 2, generator=g)
    rows.append({"model": "FVSBN (logistic autoregressive)", "test NLL (nats)": nats, "bits/dim": bits_per_dim(nats, 64),
                 "FID": fid(clf, xte, s), "train img/s": train_rate, "sample img/s": 256 / (time.perf_counter() - t)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="default budgets (the tests' runs); else 3x longer")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: a shared machine)")
    ap.add_argument("--mnist", action="store_true", help="also binarized MNIST (needs its files; a GPU)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load("digits", seed=0).data
    clf = fid_classifier("digits", None, 0)
    rows = baselines(500 if args.quick else 1500, clf, data)
    with tempfile.TemporaryDirectory() as out:
        for label, name, ov in MODELS:
            spec = registry.get(name)
            default_steps = spec.config_cls().steps
            steps = default_steps if args.quick else 3 * default_steps
            common = ["logger.mode=disabled", "progress=false", f"out={out}", f"steps={steps}",
                      f"eval_every={max(steps // 10, 1)}", *ov]
            t = time.perf_counter()
            s = run(name, common, quiet=True)
            wall = time.perf_counter() - t
            best = evaluate_run(s["run_dir"], "best") if name != "gan" else {}
            train, samp = throughput(name, ov)
            nll = best.get("eval/nll_nats")
            rows.append({"model": label, "test NLL (nats)": nll if nll is not None else "-",
                         "bits/dim": best.get("eval/bits_per_dim", "-"),
                         "FID": s.get("eval/fid", "-"), "train img/s": train, "sample img/s": samp,
                         "steps": steps, "run s": wall})
            if name == "vae":
                rows[-1]["model"] += f" (ELBO {best['eval/elbo_nats']:.2f})"
            print(f"{label}: done in {wall:.0f}s", file=sys.stderr, flush=True)
    if args.mnist:
        mnist(rows)
    table = markdown_table(rows)
    head = (f"# Generative models on binarized digits (8x8, test split of seed 0)\n\n"
            f"`{' '.join(['python benchmarks/bench_generative.py', *sys.argv[1:]])}`, torch {torch.__version__}, "
            f"{torch.get_num_threads()} CPU thread(s), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
            f"(throughputs are noisy on a shared machine). NLL: the best validation checkpoint's test NLL; "
            f"the VAE's is -IWAE_50 (an upper bound). FID: digits-FID of 256 samples of the final model (lower is better; "
            f"test vs validation digits score about 5).\n\n")
    text = head + table
    print(text)
    path = Path(__file__).resolve().parent / "results" / "generative.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def mnist(rows: list) -> None:
    try:
        load("mnist", seed=0)
    except (ValueError, FileNotFoundError) as e:
        print(f"--mnist skipped: {str(e).splitlines()[0]}", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as out:
        for label, name, ov in [("PixelCNN, binarized MNIST (published 81.30)", "pixelcnn",
                                 ["hidden=128", "layers=12", "steps=60000", "batch_size=64", "lr=1e-3"]),
                                ("VAE, binarized MNIST (published IWAE_50 -84.78)", "vae",
                                 ["latent=50", "hidden=500", "steps=300000", "lr=1e-3"])]:
            s = run(name, ["data=mnist", "logger.mode=disabled", "progress=false", f"out={out}",
                           "eval_every=5000", "fid_samples=0", *ov], quiet=True)
            best = evaluate_run(s["run_dir"], "best")
            rows.append({"model": label, "test NLL (nats)": best["eval/nll_nats"],
                         "bits/dim": best["eval/bits_per_dim"], "FID": "-", "steps": s["steps"]})


if __name__ == "__main__":
    main()

"""The hand-written graph engine (vision.backprop) against torch.autograd on the same two-layer net.

One SGD step (forward, backward, update) of scores = relu(X W1 + b1) W2 + b2 with softmax
cross-entropy, float64 on the CPU with one thread, for a few batch and hidden sizes; both from the
same weights and batch, and the gradients are checked equal before timing. The engine is a teaching
tool (NumPy, one node per operation); this says what that costs against PyTorch.

    .venv/bin/python benchmarks/bench_backprop.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from gymlab.vision.nn.backprop import TwoLayerNet  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def case(batch: int, hidden: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((batch, 64)), rng.integers(0, 10, batch)
    net = TwoLayerNet(64, hidden, 10, np.random.default_rng(1))
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def torch_step():
        loss = F.cross_entropy(torch.relu(Xt @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"], yt)
        for p in params.values():
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params.values():
                p -= 1e-3 * p.grad
        return loss

    _, grads = net.loss_and_grads(X, y)
    torch_step()
    for k in grads:  # same gradients before any timing
        np.testing.assert_allclose(grads[k], params[k].grad.numpy(), rtol=1e-9, atol=1e-12)
    t_engine = median_time(lambda: net.sgd_step(X, y, 1e-3), repeats)
    t_torch = median_time(torch_step, repeats)
    return {"batch": batch, "hidden": hidden, "engine_ms": 1e3 * t_engine, "torch_autograd_ms": 1e3 * t_torch,
            "engine / torch": t_engine / t_torch}


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        out.append("| " + " | ".join(f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sizes = [(64, 64), (256, 256)] if args.quick else [(64, 64), (64, 256), (256, 256), (1024, 256), (1024, 1024)]
    repeats = 20 if args.quick else 100
    rows = [case(b, h, repeats) for b, h in sizes]
    text = ("# Backprop engine vs torch.autograd (one SGD step of the two-layer net, float64, 1 CPU thread)\n\n"
            f"Command: `.venv/bin/python benchmarks/bench_backprop.py{' --quick' if args.quick else ''}`; "
            f"median of {repeats} steps; torch {torch.__version__}, NumPy {np.__version__}.\n\n" + table(rows))
    print(text)
    out = ROOT / "benchmarks" / "results" / "backprop.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()

"""The runner's cost per training step, against a bare PyTorch loop on the very same recipe.

``overhead(name, overrides)`` runs ``gymlab run NAME`` and, interleaved with it step for step, a bare
PyTorch loop on a second copy of the experiment (built by the same ``setup`` with the same seed: the same
data, normalisation, initial weights and optimiser). Each pair is one bare step, then one runner step,
back to back, so the two see the same load on a shared machine. The bare step is what the recipe
computes and nothing else:

    idx   = perm_epoch[i * B:(i + 1) * B]          the runner's data order (vision.data.batching)
    x, y  = train_x[idx], train_y[idx]; x = augment(x) when the config asks for it
    loss  = cross_entropy(model(norm(x)), y); zero_grad; backward; opt.step(); loss.item()

It runs under the runner's global random state of that step (saved and restored around it, untimed), so
dropout draws the same masks: the two loops then compute the same losses at every step, which the
result reports (``same_losses``) as the check that like is compared with like.

    runner step time = from the start of train_step to the start of the next one (the loop's own work,
                       the NaN guard, the log row and the budget checks, is counted)
    overhead of one run = median(runner step times) / median(bare step times) - 1

after ``warmup`` untimed pairs; ``runs`` such runs give the median overhead and its spread (min, max).
bench_mnist.py's throughput row calls it; call torch.set_num_threads first.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BASE = ["logger.mode=disabled", "progress=false", "epochs=null"]


class BareLoop:
    """The recipe of a Classifier experiment in plain PyTorch (see the module docstring)."""

    def __init__(self, name: str, overrides=(), folder: Path | None = None):
        from gymlab.runners import config as config_mod
        from gymlab.runners import registry
        from gymlab.runners.experiment import Context
        from gymlab.runners.loop import seed_everything

        spec = registry.get(name)
        cfg = config_mod.build(spec.config_cls, [*BASE, *overrides])
        seed_everything(cfg.seed)  # what Run does before setup
        exp = spec.cls()
        exp.setup(cfg, Context(device=torch.device("cpu"), seed=cfg.seed, run_dir=Path(folder or "."),
                               log=lambda m: None))
        self.cfg, self.model, self.opt, self.norm = cfg, exp.model, exp.opt, exp.norm
        self.x, self.y = exp.train
        self.aug = (cfg.crop_pad, cfg.flip, cfg.jitter) if any((cfg.crop_pad, cfg.flip, cfg.jitter)) else None
        self.per_epoch = -(-len(self.y) // cfg.batch_size)
        self.step, self.perm = 0, None
        self.model.train()

    def train_step(self) -> float:
        from gymlab.vision.data.batching import EPOCH_STRIDE
        from gymlab.vision.nn.regularizers import augment

        b, seed = self.cfg.batch_size, self.cfg.seed
        epoch, i = divmod(self.step, self.per_epoch)
        if i == 0 or self.perm is None:  # one permutation per epoch
            self.perm = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(seed * EPOCH_STRIDE + epoch))
        idx = self.perm[i * b:(i + 1) * b]
        x, y = self.x[idx], self.y[idx]
        if self.aug is not None:  # the runner's per-step generator, so the crops are the same
            x = augment(x, *self.aug, torch.Generator().manual_seed(seed * 1_000_003 + self.step))
        loss = F.cross_entropy(self.model(self.norm(x) if self.norm is not None else x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return loss.item()


class _Enough(Exception):
    """Raised inside the timed run once the steps are measured (its final evaluation is not needed)."""


def interleaved(name: str, steps: int, overrides=(), warmup: int = 5) -> dict:
    """One run of ``gymlab run name`` with a bare step before each of its steps; per-step seconds of both."""
    from gymlab.runners import registry
    from gymlab.runners.loop import run

    cls = registry.get(name).cls
    original = cls.train_step
    total = warmup + steps
    with tempfile.TemporaryDirectory() as d:
        bare = BareLoop(name, overrides, Path(d))
        ends, starts, bare_s, bare_loss, runner_loss = [], [], [], [], []

        def paired(self):
            ends.append(time.perf_counter())  # the previous runner step, with the loop's work after it, ends here
            if len(starts) == total:
                raise _Enough
            state = torch.get_rng_state()  # untimed: the bare step draws what this runner step will draw
            t0 = time.perf_counter()
            bare_loss.append(bare.train_step())
            bare_s.append(time.perf_counter() - t0)
            torch.set_rng_state(state)
            starts.append(time.perf_counter())
            out = original(self)
            runner_loss.append(out["train/loss"])
            return out

        cls.train_step = paired
        try:
            run(name, [*BASE, f"run_dir={d}/run", f"steps={total + 1}", f"eval_every={10 * total}", *overrides],
                quiet=True)
        except _Enough:
            pass
        finally:
            cls.train_step = original
    runner_s = [b - a for a, b in zip(starts, ends[1:])]
    return {"bare_s": bare_s[warmup:], "runner_s": runner_s[warmup:], "same_losses": bare_loss == runner_loss}


def overhead(name: str, overrides=(), steps: int = 40, runs: int = 3, warmup: int = 5) -> dict:
    """``runs`` interleaved runs: median step times, images/s and the runner's overhead (median, min, max)."""
    batch = next((int(o.split("=", 1)[1]) for o in overrides if o.startswith("batch_size=")), None)
    ratios, bare_med, runner_med, same = [], [], [], True
    for _ in range(runs):
        r = interleaved(name, steps, overrides, warmup)
        bare_med.append(float(np.median(r["bare_s"])))
        runner_med.append(float(np.median(r["runner_s"])))
        ratios.append(runner_med[-1] / bare_med[-1])
        same = same and r["same_losses"]
    pct = [100 * (q - 1) for q in ratios]
    out = {"overhead_pct": float(np.median(pct)), "overhead_min_pct": min(pct), "overhead_max_pct": max(pct),
           "bare_step_ms": 1e3 * float(np.median(bare_med)), "runner_step_ms": 1e3 * float(np.median(runner_med)),
           "extra_us_per_step": 1e6 * float(np.median(np.array(runner_med) - np.array(bare_med))),
           "same_losses": same, "runs": runs, "steps": steps, "warmup": warmup}
    if batch:
        out["bare_img_s"] = batch / out["bare_step_ms"] * 1e3
        out["runner_img_s"] = batch / out["runner_step_ms"] * 1e3
    return out


def main():
    """``--mnist``: bench_mnist's throughput row, written to results/mnist_throughput.json and .md (bench_mnist.py
    --row throughput writes the same row into mnist.json); ``--extra mlp``: also a small model on all 55,000
    images, where a per-step cost of the runner shows most."""
    import argparse
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_mnist

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", action="store_true", required=True, help="the backbones on real MNIST ($GYMLAB_DATA)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--throughput-steps", type=int, default=40)
    ap.add_argument("--throughput-runs", type=int, default=4)
    ap.add_argument("--extra", action="append", default=[], help="also this classifier, on the full training split")
    args = ap.parse_args()
    torch.set_num_threads(1)
    row = bench_mnist.throughput_row(args)
    over = [o for o in bench_mnist.THROUGHPUT if not o.startswith("max_train")]
    over += [f"data_root={args.data_root}"] if args.data_root else []
    for name in args.extra:
        row.setdefault("extra", {})[name] = r = overhead(name, over, steps=300, runs=args.throughput_runs, warmup=20)
        print(f"  {name} (55,000 images): overhead {r['overhead_pct']:+.1f}% ({r['overhead_min_pct']:+.1f}% to "
              f"{r['overhead_max_pct']:+.1f}%)", flush=True)
    row["machine"] = bench_mnist._machine()
    results = Path(__file__).resolve().parent / "results"
    (results / "mnist_throughput.json").write_text(json.dumps(row, indent=1, sort_keys=True))
    lines = bench_mnist.throughput_table(row)
    for name, r in row.get("extra", {}).items():
        lines += ["", f"Beside them, `{name}` on all 55,000 training images (`{' '.join(over)}`; {r['runs']} runs of "
                  f"{r['steps']} pairs after {r['warmup']}): bare {r['bare_img_s']:.0f} img/s, runner "
                  f"{r['runner_img_s']:.0f} img/s, overhead {r['overhead_pct']:+.1f}% ({r['overhead_min_pct']:+.1f}% "
                  f"to {r['overhead_max_pct']:+.1f}%), {r['extra_us_per_step'] / 1e3:+.2f} ms a step, same losses: "
                  f"{'yes' if r['same_losses'] else 'no'}."]
    (results / "mnist_throughput.md").write_text("# " + "\n".join(lines)[3:] + f"\n\n{row['machine']}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Training throughput of representative experiments on the device this machine has (images/s, env steps/s).

    .venv/bin/python benchmarks/bench_throughput.py [--quick] [--device auto|cpu|cuda] [--names mlp,resnet,ppo]

For each experiment and precision:

- bare:   its ``train_step()`` in a plain loop, after warm-up steps, timed between
          ``torch.cuda.synchronize()`` calls on a GPU;
- runner: the same steps through gymlab's runner (``runners.loop.run``: a metrics.jsonl row per
          step, an evaluation and a checkpoint at the end, W&B disabled), timed from one evaluation
          (after as many warm-up steps) to the next, less the time of one bare evaluation.
          ``runner / bare`` shows the runner's overhead (per-step logging, the checkpoint).

Units: env steps/s for agents (their ``num_timesteps``), images/s for the others (steps/s x
``batch_size``). On CUDA every experiment is also measured with bf16 autocast (``amp=true``) and,
without --quick, with ``compile=true``; the speed-up over fp32 is the last column. The table, with
the device's name, goes to benchmarks/results/throughput.md.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gymlab.runners import config as config_mod  # noqa: E402
from gymlab.runners import registry  # noqa: E402
from gymlab.runners.loop import pick_device, run, seed_everything  # noqa: E402

# name -> overrides that keep one step representative but short
EXPERIMENTS = {
    "mlp": [],
    "resnet": [],
    "vae": ["fid_samples=0"],  # no FID at the last evaluation (it trains a feature classifier)
    "pixelcnn": ["fid_samples=0"],
    "ppo": ["gif=false", "eval_episodes=2"],
    "dqn": ["gif=false", "eval_episodes=2"],
}
BASE = ["logger.mode=disabled", "progress=false"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _units(exp, cfg) -> tuple[str, callable]:
    agent = getattr(exp, "agent", None)
    if agent is not None and hasattr(agent, "num_timesteps"):
        return "env steps/s", lambda: agent.num_timesteps
    per_step = getattr(cfg, "batch_size", None)
    if per_step:
        return "images/s", None
    return "steps/s", None


def bare(name: str, overrides: list[str], warmup: int, steps: int) -> dict:
    """Time ``steps`` train_step() calls after ``warmup`` ones; also time one evaluate()."""
    spec = registry.get(name)
    cfg = config_mod.build(spec.config_cls, [*BASE, *overrides])
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = registry.Context(device=device, seed=cfg.seed, run_dir=Path(tmp), log=lambda m: None,
                               amp=cfg.amp, compile=cfg.compile)
        exp = spec.cls()
        exp.setup(cfg, ctx)
        unit, counter = _units(exp, cfg)
        for _ in range(warmup):
            exp.train_step()
        _sync(device)
        n0 = counter() if counter else 0
        t0 = time.perf_counter()
        for _ in range(steps):
            exp.train_step()
        _sync(device)
        dt = time.perf_counter() - t0
        work = (counter() - n0) if counter else steps * (getattr(cfg, "batch_size", None) or 1)
        t1 = time.perf_counter()
        exp.evaluate()
        _sync(device)
        eval_s = time.perf_counter() - t1
    return {"unit": unit, "rate": work / dt, "work_per_step": work / steps, "eval_s": eval_s,
            "batch": getattr(cfg, "batch_size", "-"), "device": device}


def through_runner(name: str, overrides: list[str], steps: int, b: dict) -> float:
    """Evaluations at ``steps`` (the end of the warm-up) and ``2 * steps``: time the steps between them."""
    stamps = []
    with tempfile.TemporaryDirectory() as tmp:
        run(name, [*BASE, *overrides, f"steps={2 * steps}", f"eval_every={steps}", f"out={tmp}"], quiet=True,
            on_evaluate=lambda step, metrics, is_last: stamps.append(time.perf_counter()))
    train_s = max(stamps[1] - stamps[0] - b["eval_s"], 1e-9)
    return steps * b["work_per_step"] / train_s


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few steps, fp32 and bf16 only")
    p.add_argument("--device", default="auto")
    p.add_argument("--names", default=",".join(EXPERIMENTS), help="comma-separated experiment names")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "throughput.md"))
    args = p.parse_args(argv)
    device = pick_device(args.device)
    warmup, steps = (10, 10) if args.quick else (50, 50)
    variants = [("fp32", [])]
    if device.type == "cuda":
        variants.append(("bf16 autocast", ["amp=true"]))
        if not args.quick:
            variants.append(("compile", ["compile=true"]))
    rows = []
    for name in args.names.split(","):
        if name not in registry.names():
            print(f"skipping {name}: not registered", file=sys.stderr)
            continue
        ref = None
        for label, extra in variants:
            ov = [*EXPERIMENTS.get(name, []), f"device={args.device}", *extra]
            b = bare(name, ov, warmup, steps)
            r = through_runner(name, ov, steps, b)
            ref = ref or b["rate"]
            rows.append({"experiment": name, "precision": label, "batch": b["batch"], "unit": b["unit"],
                         "bare": b["rate"], "runner": r, "ratio": r / b["rate"], "speedup": b["rate"] / ref})
            print(f"{name:10s} {label:14s} {b['rate']:12.1f} {b['unit']}  runner {r:12.1f}", file=sys.stderr)
    lines = [f"# Training throughput on {device_name(device)}", "",
             f"torch {torch.__version__}, {'quick: ' if args.quick else ''}{warmup} warm-up + {steps} timed steps; "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; command: "
             f"`python benchmarks/bench_throughput.py {' '.join(argv if argv is not None else sys.argv[1:])}`".rstrip(),
             "", "| experiment | precision | batch | unit | bare | through the runner | runner / bare | vs fp32 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['experiment']} | {r['precision']} | {r['batch']} | {r['unit']} | {r['bare']:.1f} | "
                     f"{r['runner']:.1f} | {r['ratio']:.2f} | {r['speedup']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

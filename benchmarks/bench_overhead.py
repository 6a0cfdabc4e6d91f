"""What a user waits for beyond the training itself: a run's fixed cost, the end-of-run media, the tour, the suite.

1. Fixed cost of a run: ``gymlab run softmax steps=1 eval_every=1`` in a fresh interpreter (process
   start, imports, config, logger, one step, one evaluation, checkpoint, summary), with W&B disabled
   and offline, and of an RL run, ``gymlab run ppo timesteps=1 gif=false`` (one rollout and update, one
   evaluation), beside ``python -c "import torch"`` in the same run (interleaved, median of --repeat).
   Goal (issue 18): under 2 s. Wall time and the child's CPU time (user + sys): on a machine shared with
   other jobs the wall time stretches with the load, the CPU time much less.
2. Media share of a short run: ``gymlab run ppo seed=S`` (CartPole-v1; it stops when solved) in a fresh
   process; from its summary, the seconds of its media (``time/media_s``: the return curve and the episode
   GIF, made and saved) against its training loop (``time/wall_s``): share = media / (loop + media), and
   media / the command's wall time (start-up included). Goal: at most 10%.
3. With --tour: ``gymlab tour`` (W&B disabled) in a fresh process, its wall time (goal: 3 minutes on 2 cores).
   With --suite: ``make test`` (pytest -n 2), its wall time (goal: 5 minutes on 2 cores).

    .venv/bin/python benchmarks/bench_overhead.py [--repeat 5] [--seeds 3] [--tour] [--suite]

Writes benchmarks/results/overhead.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_SILENT": "true"}


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished children, waited for
    return r.ru_utime + r.ru_stime


def wall(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    return timed(cmd, env, cwd)[0]


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """(wall s, CPU s: user + sys of the command and its children)."""
    t, c = time.perf_counter(), child_cpu()
    subprocess.run(cmd, env=env or ENV, cwd=cwd or ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, child_cpu() - c


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def fixed_cost(repeat: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        run = lambda mode, i: [PY, "-m", "gymlab.runners.cli", "run", "softmax", "steps=1", "eval_every=1",  # noqa: E731
                               "progress=false", f"logger.mode={mode}", f"run_dir={d}/{mode}{i}"]
        cmds = {'python -c "import torch"': lambda i: [PY, "-c", "import torch"],
                "gymlab run softmax steps=1 (W&B disabled)": lambda i: run("disabled", i),
                "gymlab run softmax steps=1 (W&B offline)": lambda i: run("offline", i),
                "gymlab run ppo timesteps=1 gif=false (W&B disabled)": lambda i: [
                    PY, "-m", "gymlab.runners.cli", "run", "ppo", "timesteps=1", "gif=false", "progress=false",
                    "logger.mode=disabled", f"run_dir={d}/ppo{i}"]}
        times = {k: [] for k in cmds}
        for i in range(repeat):
            for k, cmd in cmds.items():
                times[k].append(timed(cmd(i)))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    base = med['python -c "import torch"']
    return [{"command": k, "median wall s": w, "wall vs import torch": w / base[0], "median CPU s": c,
             "CPU vs import torch": c / base[1]} for k, (w, c) in med.items()]


def media_share(seeds: int) -> list[dict]:
    """The default ppo run on CartPole-v1 (the return curve and the episode GIF included) in a fresh process per
    seed, as a user runs it; the runner's summary says how long the training loop (``time/wall_s``) and the
    media (``time/media_s``: made, saved, logged) took. share = media / (loop + media); the command's wall
    time, start-up included, is beside it."""
    import json

    rows = []
    with tempfile.TemporaryDirectory() as d:
        for seed in range(seeds):
            cmd = [PY, "-m", "gymlab.runners.cli", "run", "ppo", f"seed={seed}", "logger.mode=disabled",
                   "progress=false", f"run_dir={d}/{seed}"]
            t_cmd, c_cmd = timed(cmd)
            s = json.loads((Path(d) / str(seed) / "summary.json").read_text())
            loop, media = s["time/wall_s"], s["time/media_s"]
            rows.append({"seed": seed, "env steps": s["train/env_steps"], "final return": s["eval/mean_return"],
                         "training loop s": loop, "media s (curve + GIF)": media,
                         "media share": media / (loop + media), "command wall s": t_cmd, "command CPU s": c_cmd,
                         "share of the command": media / t_cmd, "load": load()})
            print(rows[-1], flush=True)
    return rows


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                     + ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tour", action="store_true", help="also time `gymlab tour` (minutes)")
    ap.add_argument("--suite", action="store_true", help="also time the test suite, pytest -n 2 (minutes)")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    parts = [f"# Overhead: fixed cost of a run, media share, tour and suite\n\n"
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average {load0:.1f} at the "
             f"start; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Command: "
             f"`.venv/bin/python benchmarks/bench_overhead.py {' '.join(sys.argv[1:])}`."]
    fc = fixed_cost(args.repeat)
    parts.append(f"## 1. Fixed cost of a run (fresh interpreter, median of {args.repeat}, interleaved)\n\n" + table(fc)
                 + f"\n\nLoad average (1/5/15 min) after: {load()}.")
    ms = media_share(args.seeds)
    parts.append("## 2. Media share of a short run: the default `ppo` on CartPole-v1, its return curve and episode GIF\n\n"
                 + table(ms) + f"\n\nMedian media share: {statistics.median(r['media share'] for r in ms):.1%} of the "
                 f"training loop and media; {statistics.median(r['share of the command'] for r in ms):.1%} of the "
                 f"command's wall time.")
    walls = []
    if args.tour:
        with tempfile.TemporaryDirectory() as d:
            walls.append({"what": "gymlab tour (W&B disabled)",
                          "wall s": wall([PY, "-m", "gymlab.runners.cli", "tour"], {**ENV, "WANDB_MODE": "disabled"},
                                         cwd=Path(d))})
    if args.suite:
        walls.append({"what": "make test (pytest -n 2 --dist worksteal)", "wall s": wall(["make", "test"])})
    if walls:
        parts.append("## 3. Tour and suite\n\n" + table(walls))
    text = "\n\n".join(parts) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "results" / "overhead.md"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Start-up time of the command line against `import torch`, measured side by side in one run.

Each command runs in a fresh interpreter, ``--repeat`` times, the commands interleaved (so a busy
machine slows them alike); the table gives the median wall time and its ratio to
``python -c "import torch"``. The goal (issue 14): ``gymlab list`` under 0.1x.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 7]

Writes benchmarks/results/startup.md. ``gymlab list`` reads the experiment index
(runners/experiments/_index.json); when it is stale the script says so, as list then imports every
experiment (run ``python -m gymlab.runners.experiments`` first).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
COMMANDS = {
    'python -c "import torch"': [PY, "-c", "import torch"],
    "python -c pass (the interpreter alone)": [PY, "-c", "pass"],
    "gymlab --help": [PY, "-m", "gymlab.runners.cli", "--help"],
    "gymlab list": [PY, "-m", "gymlab.runners.cli", "list"],
    "gymlab show ppo": [PY, "-m", "gymlab.runners.cli", "show", "ppo"],
}
BASELINE = 'python -c "import torch"'


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "startup.md"))
    args = ap.parse_args()

    from gymlab.runners import registry

    fresh = (registry._read_index() or {}).get("sources") == registry.sources_digest()
    if not fresh:
        print("warning: the experiment index is stale; `gymlab list` will import every experiment "
              "(run: python -m gymlab.runners.experiments)", file=sys.stderr)
    load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
    env = {**os.environ, "WANDB_MODE": "disabled"}
    env.pop("GYMLAB_PLUGINS", None)
    for cmd in COMMANDS.values():  # warm the file cache: every command's first run is not counted
        timed(cmd, env)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, cmd in COMMANDS.items():
            times[name].append(timed(cmd, env))
    base = statistics.median(times[BASELINE])
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        rows.append(f"| `{name}` | {med:.3f} | {min(ts):.3f} | {max(ts):.3f} | {med / base:.3f}x |")
    ratio = statistics.median(times["gymlab list"]) / base
    verdict = "met" if ratio < 0.1 else "NOT met"
    text = "\n".join([
        "# Start-up time: the command line against `import torch`",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {args.repeat} runs each, interleaved, after one warm-up run; "
        f"experiment index {'fresh' if fresh else 'STALE'}; load average (1/5/15 min) {load_before} before, "
        f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())} after.",
        "",
        "    .venv/bin/python benchmarks/bench_startup.py --repeat " + str(args.repeat),
        "",
        "| command | median s | min s | max s | / import torch |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Goal: `gymlab list` under 0.1x of `import torch`: {ratio:.3f}x, {verdict}.",
        "",
    ])
    Path(args.out).write_text(text)
    print(text)
    return 0 if ratio < 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())

"""`gymlab compare A B ... seeds=N`: the same budget for several experiments over several seeds.

Writes, into runs/compare-<timestamp>/: one run directory per (experiment, seed), `compare.md`
(mean ± std over seeds of every final metric, and wall time), `compare.png` (each experiment's
main metric against steps, mean with a band of ± one std over seeds) and a W&B table.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from gymlab.runners import config as config_mod
from gymlab.runners import registry
from gymlab.runners.checkpoint import atomic_write_text
from gymlab.runners.errors import GymlabError
from gymlab.runners.media import fmt, markdown_table


def _split_overrides(items):
    seeds, workers, out, rest = 3, 1, "runs", []
    for item in items:
        key, _, value = item.partition("=")
        if key in ("seeds", "workers"):
            try:
                n = int(value)
                assert n >= 1
            except (ValueError, AssertionError):
                raise GymlabError(f"bad value for {key!r}: {value!r}; it must be a whole number >= 1") from None
            seeds, workers = (n, workers) if key == "seeds" else (seeds, n)
        elif key == "out":
            out = value
        else:
            rest.append(item)
    return seeds, workers, out, rest


def _run_one(name, overrides):
    from gymlab.runners.loop import run

    return run(name, overrides, quiet=True)


def compare(names: list[str], items: list[str] = (), *, quiet: bool = False) -> dict:
    if len(names) < 1:
        raise GymlabError("compare needs at least one experiment name")
    seeds, workers, out, overrides = _split_overrides(list(items))
    specs = [registry.get(n) for n in names]
    for spec in specs:  # validate every override against every experiment before running anything
        config_mod.build(spec.config_cls, overrides)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out) / f"compare-{stamp}"
    i = 1
    while folder.exists():
        folder = Path(out) / f"compare-{stamp}-{i}"
        i += 1
    folder.mkdir(parents=True)
    jobs = [(spec.name, seed, [*overrides, f"seed={seed}", f"run_dir={folder.resolve() / f'{spec.name}-s{seed}'}",
                                f"logger.group={folder.name}", "progress=false"])
            for spec in specs for seed in range(seeds)]
    summaries = _execute(jobs, workers, quiet)
    rows = _table(specs, summaries)
    text = f"# gymlab compare ({seeds} seeds)\n\n" + markdown_table(rows)
    atomic_write_text(folder / "compare.md", text)
    plot = _plot(specs, summaries, folder / "compare.png")
    _log_wandb(folder, rows, plot, overrides)
    result = {"folder": str(folder), "table": rows, "markdown": str(folder / "compare.md"),
              "plot": str(plot) if plot else None}
    (folder / "compare.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def _execute(jobs, workers, quiet):
    import sys

    summaries = {}
    if workers > 1:
        try:
            import os

            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            import ray
        except ImportError:
            raise GymlabError("workers > 1 runs seeds on Ray, which is not installed: pip install 'gymlab[ray]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(_run_one)
            refs = {(n, s): remote.remote(n, ov) for n, s, ov in jobs}  # seeds run side by side on Ray workers
            for key, ref in refs.items():
                summaries[key] = ray.get(ref)
        finally:
            if started:
                ray.shutdown()
        return summaries
    for n, s, ov in jobs:
        if not quiet:
            print(f"compare: {n} seed {s}", file=sys.stderr)
        summaries[(n, s)] = _run_one(n, ov)
    return summaries


def _table(specs, summaries) -> list[dict]:
    rows = []
    for spec in specs:
        runs = [v for (n, _), v in sorted(summaries.items()) if n == spec.name]
        keys = sorted({k for r in runs for k, v in r.items()
                       if (k.startswith("eval/") or k.startswith("train/env_steps") or k.startswith("time/"))
                       and isinstance(v, (int, float))})
        row = {"experiment": spec.name, "seeds": len(runs)}
        for k in keys:
            vals = np.array([r[k] for r in runs if isinstance(r.get(k), (int, float))], dtype=float)
            row[k] = f"{fmt(float(vals.mean()))} ± {fmt(float(vals.std()))}"
        rows.append(row)
    return rows


def _history(run_dir: Path, key: str):
    steps, vals = [], []
    path = Path(run_dir) / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if key in row and isinstance(row[key], (int, float)) and math.isfinite(row[key]):
                steps.append(row["step"])
                vals.append(row[key])
    return np.array(steps), np.array(vals)


def _plot(specs, summaries, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for spec in specs:
        curves = [_history(v["run_dir"], spec.metric) for (n, _), v in summaries.items() if n == spec.name]
        curves = [c for c in curves if len(c[0])]
        if not curves:
            continue
        grid = np.unique(np.concatenate([c[0] for c in curves]))
        ys = np.stack([np.interp(grid, s, v) for s, v in curves])
        mean, std = ys.mean(0), ys.std(0)
        ax.plot(grid, mean, label=f"{spec.name} ({spec.metric})", marker="o" if len(grid) <= 30 else None)
        ax.fill_between(grid, mean - std, mean + std, alpha=0.25)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("step")
    ax.set_ylabel("main metric")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _log_wandb(folder: Path, rows, plot, overrides):
    from gymlab.runners.wandb_logger import WandbLogger

    mode = None
    for item in overrides:
        if item.startswith("logger.mode="):
            mode = item.split("=", 1)[1]
    logger = WandbLogger(mode, "gymlab", folder, folder.name, {"overrides": list(overrides)},
                         group=folder.name, job_type="compare")
    media = {"compare_table": rows}
    if plot:
        media["compare_plot"] = plot
    logger.log_media(media, step=0)
    logger.finish()

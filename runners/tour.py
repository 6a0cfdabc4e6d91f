"""`gymlab tour`: a few minutes on a laptop CPU, one short experiment of each pillar on embedded data."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from gymlab.runners import registry
from gymlab.runners.media import fmt, markdown_table

# (pillar, experiment, overrides, metric to show): only those whose experiment is registered run.
TOUR = [
    ("classification", "softmax", [], "eval/accuracy"),
    ("classification", "knn", [], "eval/accuracy"),
    ("classification", "resnet", [], "eval/accuracy"),
    ("detection", "detector", [], "eval/map50"),
    ("segmentation", "segmenter", [], "eval/miou"),
    ("captioning", "captioning", [], "eval/exact_match"),
    ("understanding", "saliency", [], "eval/saliency_in_box"),
    ("adversarial", "fgsm", [], "eval/fgsm_accuracy"),
    ("efficient inference", "compress", [], "eval/accuracy"),
    ("planning", "value-iteration", ["env=FrozenLake-v1"], "eval/success_rate"),
    ("tabular RL", "q-learning", ["env=FrozenLake-v1"], "eval/success_rate"),
    ("deep RL", "actor-critic", ["env=CartPole-v1"], "eval/mean_return"),
    ("deep RL", "ppo", ["env=CartPole-v1"], "eval/mean_return"),
    ("generative", "gated-pixelcnn", [], "eval/bits_per_dim"),
    ("generative", "vae", [], "eval/elbo_nats"),
    ("generative", "gan", [], "eval/fid"),
]


def tour(out: str = "runs", extra=()) -> list[dict]:
    available = set(registry.names())
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(out) / f"tour-{stamp}"
    rows = []
    t0 = time.perf_counter()
    for pillar, name, overrides, metric in TOUR:
        if name not in available:
            continue
        from gymlab.runners.loop import run

        print(f"tour: {pillar}: {name} {' '.join(overrides)}", file=sys.stderr)
        s = run(name, [*overrides, *extra, f"run_dir={folder / name}", f"logger.group={folder.name}"], quiet=False)
        rows.append({"pillar": pillar, "experiment": name, "metric": metric, "value": s.get(metric),
                     "wall s": round(s["time/wall_s"], 1), "run dir": s["run_dir"]})
    table = markdown_table(rows)
    (folder).mkdir(parents=True, exist_ok=True)
    (folder / "tour.md").write_text(table)
    print(table)
    print(f"{len(rows)} experiments in {time.perf_counter() - t0:.0f} s; runs are in {folder}/")
    mode = os.environ.get("WANDB_MODE", "offline")
    if mode == "offline":
        print(f"W&B offline runs are in {folder}/*/wandb/; upload them with: wandb sync {folder}/*/wandb/offline-run-*")
    elif mode == "disabled":
        print("W&B was disabled (WANDB_MODE=disabled); the run folders hold config, metrics, summary and media.")
    return rows

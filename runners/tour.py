"""`gymlab tour`: a few minutes on a laptop CPU, one short experiment of each pillar on embedded data."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from gymlab.runners import registry
from gymlab.runners.media import markdown_table

# (pillar, experiment, overrides, metric to show): only those whose experiment is registered run.
# The budgets are the tour's, not the experiments' defaults (which the tests and the README's results use):
# each row is cut to a few seconds on a 2-core CPU where its default takes up to minutes, at a point of its
# learning curve where the figure still says what the experiment shows (a classifier well above chance,
# a detector and a segmenter that find digits, adversarial training that recovers accuracy, samples a
# classifier recognises). The RL rows stop when solved (475 on CartPole-v1), as every RL run does.
TOUR = [
    ("classification", "softmax", [], "eval/accuracy"),
    ("classification", "knn", [], "eval/accuracy"),
    ("classification", "resnet", ["epochs=4", "eval_every=1000"], "eval/accuracy"),
    ("detection", "detector", ["steps=150", "eval_every=150", "n_test=200", "n_val=100"], "eval/map50"),
    ("segmentation", "segmenter", ["steps=150", "eval_every=150", "n_test=200", "n_val=100"], "eval/miou"),
    ("captioning", "captioning", ["steps=150", "eval_every=150", "n_test=200", "n_val=100"], "eval/exact_match"),
    ("understanding", "saliency", ["steps=120", "eval_every=120", "n_train=600", "n_test=150", "vis_steps=60"],
     "eval/saliency_in_box"),
    ("adversarial", "fgsm", ["steps=200", "eval_every=200"], "eval/fgsm_accuracy"),
    ("efficient inference", "compress", ["steps=330", "eval_every=330", "dense_steps=150", "retrain_steps=50",
                                         "share_steps=30"], "eval/accuracy"),
    ("planning", "value-iteration", ["env=FrozenLake-v1"], "eval/success_rate"),
    ("tabular RL", "q-learning", ["env=FrozenLake-v1", "eval_every=50"], "eval/success_rate"),
    ("deep RL", "actor-critic", ["env=CartPole-v1"], "eval/mean_return"),
    ("deep RL", "ppo", ["env=CartPole-v1"], "eval/mean_return"),
    ("generative", "gated-pixelcnn", ["steps=100", "eval_every=100", "fid_classifier_steps=150"], "eval/bits_per_dim"),
    ("generative", "vae", ["steps=500", "eval_every=500", "fid_classifier_steps=150"], "eval/elbo_nats"),
    ("generative", "gan", ["steps=300", "eval_every=300", "fid_classifier_steps=150"], "eval/fid"),
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

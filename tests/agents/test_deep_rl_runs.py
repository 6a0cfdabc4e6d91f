"""Our deep RL experiments through the common runner: metrics, media, env-step budgets, exact resume."""
import json
from pathlib import Path

import torch

from gymlab.runners import checkpoint
from gymlab.runners.loop import resume, run

COMMON = ["logger.mode=disabled", "progress=false", "eval_episodes=2"]


def test_a2c_run_logs_metrics_and_media(tmp_path):
    s = run("a2c", COMMON + ["timesteps=1000", "eval_every=5", "n_envs=4", "n_steps=10", f"out={tmp_path}"], quiet=True)
    assert s["steps"] == 25 and s["train/env_steps"] <= 1000
    for k in ("eval/mean_return", "eval/std_return", "eval/mean_length", "train/env_steps", "time/steps_per_s",
              "time/env_steps_per_s"):
        assert k in s
    media = Path(s["run_dir"]) / "media"
    assert (media / "episode.gif").stat().st_size > 1000 and (media / "return_curve.png").exists()


def test_resumed_run_equals_uninterrupted(tmp_path):
    args = COMMON + ["gif=false", "n_envs=2", "n_steps=16", "batch_size=16", "n_epochs=2", "eval_every=2",
                     "lr_schedule=constant", "clip_schedule=constant"]
    full = run("ppo", args + ["steps=4", f"run_dir={tmp_path / 'full'}"], quiet=True)
    run("ppo", args + ["steps=2", f"run_dir={tmp_path / 'part'}"], quiet=True)
    (tmp_path / "part" / "summary.json").unlink()
    resumed = resume(tmp_path / "part", ["steps=4"], quiet=True)
    assert resumed["eval/mean_return"] == full["eval/mean_return"]
    a = checkpoint.load(tmp_path / "full" / "checkpoints" / "latest.pt")["state"]["agent"]["policy"]
    b = checkpoint.load(tmp_path / "part" / "checkpoints" / "latest.pt")["state"]["agent"]["policy"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    rows = [json.loads(line) for line in open(tmp_path / "part" / "metrics.jsonl")]
    assert max(r["train/env_steps"] for r in rows if "train/env_steps" in r) == full["train/env_steps"]

"""An RL run stops at the first evaluation that reaches the solved return and a second evaluation on fresh
episodes confirms; its final evaluation is then that policy's, and the summary says so."""
import json
from pathlib import Path

from gymlab.runners import checkpoint
from gymlab.runners.loop import run

COMMON = ["logger.mode=disabled", "progress=false", "eval_episodes=3", "gif=false", "n_envs=4", "n_steps=16",
          "timesteps=20000", "eval_every=2"]


def test_a_run_stops_when_solved_and_reports_the_solved_policy(tmp_path):
    s = run("ppo", COMMON + ["solved_return=40", "seed=0", f"run_dir={tmp_path / 'a'}"], quiet=True)
    assert s["eval/solved"] is True and s["eval/mean_return"] >= 40 and s["eval/confirm_mean_return"] >= 40
    assert s["train/env_steps"] < s["train/budget_env_steps"] == 20000 and s["steps"] % 2 == 0
    rows = [json.loads(line) for line in open(Path(s["run_dir"]) / "metrics.jsonl")]
    evals = [r for r in rows if "eval/mean_return" in r]
    assert [r["eval/solved"] for r in evals] == [False] * (len(evals) - 1) + [True]  # stopped at the first
    latest = checkpoint.load(Path(s["run_dir"]) / "checkpoints" / "latest.pt")
    assert latest["step"] == s["steps"]  # the reported policy is the saved one


def test_without_stopping_the_budget_is_spent(tmp_path):
    cfg = COMMON[:-2] + ["timesteps=256", "eval_every=1", "solved_return=9", "stop_when_solved=false"]
    s = run("ppo", cfg + [f"run_dir={tmp_path}"], quiet=True)
    assert s["steps"] == 4 and "eval/solved" not in s  # 4 rollouts of 4 x 16 env steps

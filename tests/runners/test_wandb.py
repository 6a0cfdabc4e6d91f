"""W&B: offline files hold the history and config; disabled writes nothing; a broken W&B never stops a run."""
import time

import pytest

from gymlab.runners.loop import run
from gymlab.runners.wandb_logger import offline_run_dirs, read_offline_run


def test_offline_run_holds_history_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    s = run("softmax", ["logger.mode=offline", "steps=40", "eval_every=20", "lr=0.3", "progress=false",
                        f"run_dir={tmp_path / 'r'}"], quiet=True)
    dirs = offline_run_dirs(tmp_path / "wb")
    assert len(dirs) == 1 and "wandb_dir" in s
    logged = read_offline_run(dirs[0])
    assert logged["config"]["lr"] == 0.3 and logged["config"]["experiment"] == "softmax"
    losses = [row["train/loss"] for row in logged["history"] if "train/loss" in row]
    evals = [row["eval/accuracy"] for row in logged["history"] if "eval/accuracy" in row]
    assert len(losses) == 40 and len(evals) == 2
    assert evals[-1] == pytest.approx(s["eval/accuracy"])
    assert logged["summary"]["eval/accuracy"] == pytest.approx(s["eval/accuracy"])


def test_wandb_mode_env_is_the_default_and_disabled_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    s = run("softmax", ["steps=10", "progress=false", f"run_dir={tmp_path / 'r'}"], quiet=True)
    assert "wandb_dir" not in s
    assert not list(tmp_path.rglob("*wandb*"))


def test_broken_wandb_init_does_not_stop_the_run(tmp_path, monkeypatch):
    import wandb

    def boom(*a, **k):
        raise RuntimeError("no network, no key")

    monkeypatch.setattr(wandb, "init", boom)
    with pytest.warns(RuntimeWarning, match="wandb.init failed"):
        s = run("softmax", ["logger.mode=online", "steps=20", "progress=false", f"run_dir={tmp_path / 'r'}"],
                quiet=True)
    assert s["steps"] == 20 and (tmp_path / "r" / "summary.json").exists()

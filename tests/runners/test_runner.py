"""The runner end to end on the `softmax` experiment: config, budget, checkpoints, resume, NaN guard."""
import json
import os
import signal

import pytest
import torch

from gymlab.runners import checkpoint as ckpt
from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import NonFiniteError, RunInterrupted, resume, run

BASE = ["logger.mode=disabled", "progress=false"]


def _w(run_dir, which="latest"):
    return ckpt.load(os.path.join(run_dir, "checkpoints", f"{which}.pt"))["state"]["W"]


def test_default_softmax_run_reaches_094_and_writes_the_run_directory(tmp_path):
    s = run("softmax", [*BASE, f"out={tmp_path}"], quiet=True)
    assert s["eval/accuracy"] >= 0.94
    d = s["run_dir"]
    for f in ("config.yaml", "summary.json", "metrics.jsonl", "checkpoints/latest.pt", "checkpoints/best.pt",
              "media/templates.png"):
        assert os.path.exists(os.path.join(d, f)), f
    summary = json.load(open(os.path.join(d, "summary.json")))
    assert summary["seed"] == 0 and summary["versions"]["torch"] == torch.__version__
    assert summary["time/wall_s"] > 0 and summary["steps"] == 500
    rows = [json.loads(line) for line in open(os.path.join(d, "metrics.jsonl"))]
    assert sum("train/loss" in r for r in rows) == 500
    assert [r["step"] for r in rows if "eval/accuracy" in r] == list(range(50, 501, 50))


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    a = run("softmax", [*BASE, "steps=60", f"out={tmp_path}"], quiet=True)
    b = run("softmax", [*BASE, "steps=60", f"out={tmp_path}"], quiet=True)
    c = run("softmax", [*BASE, "steps=60", "seed=1", f"out={tmp_path}"], quiet=True)
    assert torch.equal(_w(a["run_dir"]), _w(b["run_dir"]))
    assert not torch.equal(_w(a["run_dir"]), _w(c["run_dir"]))


def test_epoch_and_seconds_budgets(tmp_path):
    s = run("softmax", [*BASE, "epochs=2", "batch_size=100", f"out={tmp_path}"], quiet=True)
    assert s["steps"] == 2 * 11  # ceil(1077 / 100) steps an epoch
    s = run("softmax", [*BASE, "steps=10000000", "seconds=0.5", f"out={tmp_path}"], quiet=True)
    assert 0 < s["steps"] < 10000000 and s["time/wall_s"] < 5


def test_sigint_then_resume_equals_uninterrupted(tmp_path, monkeypatch):
    """A real SIGINT half-way: checkpoint, clean stop; resume ends with the same weights and metrics."""
    from gymlab.runners.experiments.vision.linear import Softmax

    ref = run("softmax", [*BASE, "steps=300", f"run_dir={tmp_path / 'ref'}"], quiet=True)
    original = Softmax.train_step

    def interrupting(self):
        out = original(self)
        if self.step == 137:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(Softmax, "train_step", interrupting)
    with pytest.raises(RunInterrupted) as err:
        run("softmax", [*BASE, "steps=300", f"run_dir={tmp_path / 'cut'}"], quiet=True)
    assert err.value.step == 137 and "gymlab resume" in str(err.value)
    assert ckpt.load(tmp_path / "cut" / "checkpoints" / "latest.pt")["step"] == 137
    monkeypatch.setattr(Softmax, "train_step", original)
    done = resume(tmp_path / "cut", quiet=True)
    assert torch.equal(_w(ref["run_dir"]), _w(tmp_path / "cut"))
    for k in ("eval/accuracy", "eval/val_accuracy", "steps", "best"):
        assert done[k] == ref[k], k


def test_crash_during_save_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = tmp_path / "latest.pt"
    ckpt.save(path, {"step": 1, "state": {"w": torch.ones(3)}})

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        ckpt.save(path, {"step": 2, "state": {"w": torch.zeros(3)}})
    monkeypatch.undo()
    back = ckpt.load(path)
    assert back["step"] == 1 and torch.equal(back["state"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # no temporary file left behind


def test_nan_guard_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
    with pytest.raises(NonFiniteError, match="non-finite train/loss"):
        run("softmax", [*BASE, "lr=1e30", "eval_every=1", f"run_dir={tmp_path}"], quiet=True)
    good = ckpt.load(tmp_path / "checkpoints" / "latest.pt")
    assert torch.isfinite(good["state"]["W"]).all()


def test_corrupt_checkpoint_is_one_clear_error(tmp_path):
    run("softmax", [*BASE, "steps=20", "eval_every=10", f"run_dir={tmp_path}"], quiet=True)
    (tmp_path / "checkpoints" / "latest.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GymlabError, match="corrupt"):
        resume(tmp_path, quiet=True)


def test_run_dir_is_not_overwritten(tmp_path):
    run("softmax", [*BASE, "steps=5", f"run_dir={tmp_path}"], quiet=True)
    with pytest.raises(GymlabError, match="already holds a run"):
        run("softmax", [*BASE, "steps=5", f"run_dir={tmp_path}"], quiet=True)

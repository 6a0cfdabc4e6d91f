"""Data-parallel training under torchrun (gloo on CPU): two processes, each on its half of the global
batch, end with the same parameters as one process on the whole batch, because DDP averages their
gradients; rank 0 alone writes the run directory and prints the summary."""
import json
import os
import sys
import threading
from pathlib import Path

import pytest
import torch

from gymlab.runners import checkpoint as ckpt
from gymlab.runners import distributed, registry
from gymlab.runners.errors import GymlabError
from gymlab.runners.loop import run

HERE = Path(__file__).parent
BASE = ["logger.mode=disabled", "progress=false", "steps=6", "eval_every=3", "batch_size=64", "device=cpu"]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """`ddp-tiny` (tests/runners/ddp_tiny.py) registered here for this test only, and in the torchrun
    processes through a sitecustomize.py on PYTHONPATH."""
    registry._load_all()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # forgotten after the test
    monkeypatch.syspath_prepend(str(HERE))
    sys.modules.pop("ddp_tiny", None)
    import ddp_tiny  # noqa: F401

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import ddp_tiny  # registers the test-only experiment\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), str(HERE), os.environ.get("PYTHONPATH"))
                                                     if p))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _only_dir(folder: Path) -> Path:
    (d,) = list(folder.iterdir())
    return d


def _rows(run_dir: Path, key: str) -> list:
    return [r[key] for r in map(json.loads, open(run_dir / "metrics.jsonl")) if key in r]


def test_two_processes_give_the_parameters_of_one(tiny, tmp_path, capfd):
    codes = []
    two = threading.Thread(target=lambda: codes.append(
        distributed.launch("ddp-tiny", [*BASE, f"out={tmp_path / 'two'}"], nproc=2, as_json=True)))
    two.start()  # torchrun in the background; meanwhile the same run in this process
    run("ddp-tiny", [*BASE, f"out={tmp_path / 'one'}"], quiet=True)
    two.join(timeout=600)
    assert codes == [0], capfd.readouterr().err
    printed = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    d1, d2 = _only_dir(tmp_path / "one"), _only_dir(tmp_path / "two")  # one run directory for both ranks
    assert len(printed) == 1 and printed[0]["run_dir"] == str(d2)  # rank 0 alone prints its summary

    w1 = ckpt.load(d1 / "checkpoints" / "latest.pt")["state"]["model"]
    w2 = ckpt.load(d2 / "checkpoints" / "latest.pt")["state"]["model"]
    assert w1.keys() == w2.keys()  # no "module." prefix: a checkpoint of two processes loads in one
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], atol=1e-6, rtol=1e-5)

    # Each rank trained on its half of every batch (a half alone gives other parameters), and the
    # metrics were written once per step, by rank 0.
    assert _rows(d1, "train/local_batch") == [64] * 6
    assert _rows(d2, "train/local_batch") == [32] * 6
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (d1, d2))
    assert s2["eval/accuracy"] == pytest.approx(s1["eval/accuracy"], abs=1e-6) and s1["eval/accuracy"] > 0.3
    assert not (d2 / "wandb").exists() and sorted(p.name for p in d2.iterdir()) == sorted(p.name for p in d1.iterdir())


def test_launch_rejects_a_bad_process_count():
    with pytest.raises(GymlabError, match="--nproc: 0; it must be at least 1"):
        distributed.launch("softmax", [], nproc=0)

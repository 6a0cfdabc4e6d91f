"""`gymlab sweep` on a real local Ray Tune: ASHA early stopping and the best config, a crashed trial,
an interrupted sweep resumed, and the command line's errors. One Ray (conftest's ray_cluster) serves
the tests that need one."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
ray = pytest.importorskip("ray", reason="sweeps need Ray Tune: pip install 'gymlab[ray]'")

from gymlab.runners import sweep  # noqa: E402
from gymlab.runners.cli import main as cli  # noqa: E402
from gymlab.runners.loop import run  # noqa: E402

COMMON = ["steps=60", "eval_every=10", "logger.mode=disabled"]


def _sweep_dir(out: Path) -> Path:
    (d,) = [p for p in out.iterdir() if p.name.startswith("sweep-softmax-")]
    return d


def _direct(lr, tmp_path, *extra):
    """The same config as an ordinary `gymlab run`: a trial must give exactly this."""
    return run("softmax", [f"lr={lr}", *COMMON, *extra, "progress=false", f"out={tmp_path / 'direct'}"], quiet=True)


def test_asha_stops_the_bad_trials_early_and_picks_the_best_config(ray_cluster, tmp_path, capsys):
    code = sweep.main(["softmax", "lr=0.5,0.1,0.001,0.0001", *COMMON, "--scheduler", "asha",
                       "--out", str(tmp_path), "--quiet"])
    assert code == 0
    d = _sweep_dir(tmp_path)
    res = json.loads((d / "results.json").read_text())
    rows = {r["lr"]: r for r in res["trials"]}
    assert sorted(rows) == [0.0001, 0.001, 0.1, 0.5] and res["metric"] == "eval/val_accuracy"

    # Every trial is an ordinary run with its own directory, grouped under the sweep's name.
    for lr, r in rows.items():
        rd = Path(r["run_dir"])
        assert rd.parent == d / "trials"
        for f in ("config.yaml", "metrics.jsonl", "summary.json", "checkpoints/latest.pt"):
            assert (rd / f).exists(), (lr, f)
        cfg = (rd / "config.yaml").read_text()
        assert f"lr: {lr}" in cfg and f"group: {d.name}" in cfg and "job_type: sweep" in cfg  # W&B group, job type

    # The two trials that start first run to the end; lr=1e-4 (10% accuracy after 10 steps) reaches
    # the first rung after them, below their median, and ASHA stops it there.
    assert rows[0.5]["status"] == "finished" and rows[0.5]["steps"] == 60
    assert rows[0.0001]["status"] == "stopped early at step 10" and rows[0.0001]["steps"] == 10
    low = json.loads((Path(rows[0.0001]["run_dir"]) / "summary.json").read_text())
    assert low["stopped_early"] and low["steps"] == 10
    evals = [json.loads(x)["step"] for x in open(Path(rows[0.0001]["run_dir"]) / "metrics.jsonl")
             if "eval/val_accuracy" in x]
    assert evals == [10]

    # The best config is the best final validation accuracy, and it is what a plain run gives.
    finals = {lr: r["eval/val_accuracy"] for lr, r in rows.items() if r["status"] == "finished"}
    assert res["best"]["lr"] == max(finals, key=finals.get) == 0.5
    assert res["best"]["eval/val_accuracy"] == pytest.approx(_direct(0.5, tmp_path)["eval/val_accuracy"], abs=1e-7)

    md = (d / "sweep.md").read_text()
    assert all(r["trial"] in md for r in rows.values()) and "best: lr=0.5" in md
    assert "| trial | lr | eval/val_accuracy | steps | status |" in capsys.readouterr().out
    import matplotlib.pyplot as plt

    assert plt.imread(d / "sweep.png").shape[0] > 100


def test_a_crashed_trial_is_reported_and_an_interrupted_sweep_resumes(ray_cluster, tmp_path):
    # A short and a long trial (and two that crash in setup): Ctrl-C lands once the short one has
    # finished and while the long one still runs, so the resume has one trial to keep and one to continue.
    args = ["softmax", "lr=0.5", "steps=60,3000", "data=digits,bogus", "eval_every=10", "logger.mode=disabled",
            "--scheduler", "fifo", "--out", str(tmp_path), "--quiet"]
    stop = threading.Event()

    def interrupt():  # what Ctrl-C does, once the first trial has finished: Tune saves its state and returns
        while not stop.is_set():
            if list(tmp_path.glob("sweep-*/trials/*/summary.json")):
                stop.wait(0.5)  # let Tune record the finished trial before the interruption
                if signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, None):  # Tune's handler is in place
                    os.kill(os.getpid(), signal.SIGUSR1)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=interrupt, daemon=True)
    watcher.start()
    try:
        code = sweep.main(args)
    finally:
        stop.set()
    assert code == 130
    d = _sweep_dir(tmp_path)
    first = json.loads((d / "results.json").read_text())
    assert first["interrupted"]
    done = {r["trial"]: Path(r["run_dir"]) / "summary.json" for r in first["trials"] if r["status"] == "finished"}
    assert done
    stamps = {t: p.stat().st_mtime_ns for t, p in done.items()}

    assert sweep.main(["--resume", str(d), "--quiet"]) == 0
    res = json.loads((d / "results.json").read_text())
    assert len(res["trials"]) == 4 and not res["interrupted"]
    for r in res["trials"]:
        if r["data"] == "bogus":  # crashed in setup; reported, and the sweep went on
            assert r["status"].startswith("error:") and "bad value for 'data'" in r["status"]
        else:  # finished, resumed or not, with exactly the numbers of an uninterrupted run
            assert r["status"] == "finished"
            direct = run("softmax", ["lr=0.5", f"steps={r['steps']}", "eval_every=10", "logger.mode=disabled",
                                     "progress=false", f"out={tmp_path / 'direct'}"], quiet=True)
            assert r["eval/val_accuracy"] == pytest.approx(direct["eval/val_accuracy"], abs=1e-7)
    assert sorted(r["steps"] for r in res["trials"] if r["data"] == "digits") == [60, 3000]
    for t, p in done.items():  # trials that had finished were not run again
        assert p.stat().st_mtime_ns == stamps[t]
    assert "error: " in (d / "sweep.md").read_text()


def test_search_space_syntax_maps_to_tune_distributions():
    import numpy as np

    from gymlab.runners.registry import get

    space, fixed = sweep.parse_space(get("softmax"), [
        "lr=loguniform(1e-4,1e-1)", "reg=uniform(0,0.01)", "batch_size=randint(16,20)", "data=choice(digits)",
        "seed=0,1,2", "steps=60", "logger.tags=[a,b]"])
    assert fixed == ["steps=60", "logger.tags=[a,b]"]  # single values and lists are fixed overrides
    assert space["seed"] == ("grid", [0, 1, 2]) and space["lr"] == ("loguniform", [1e-4, 0.1])
    domains = sweep.tune_space(space)
    assert domains["seed"] == {"grid_search": [0, 1, 2]}
    rng = np.random.default_rng(0)
    lr = np.array(domains["lr"].sample(size=4000, random_state=rng))
    assert lr.min() >= 1e-4 and lr.max() < 0.1
    assert np.log10(lr).mean() == pytest.approx(-2.5, abs=0.03)  # uniform in the exponent: mean of [-4, -1]
    assert np.mean(lr < 1e-3) == pytest.approx(1 / 3, abs=0.03)  # one decade in three
    k = domains["batch_size"].sample(size=2000, random_state=rng)
    assert set(k) == {16, 17, 18, 19}  # the upper bound is excluded
    reg = np.array(domains["reg"].sample(size=2000, random_state=rng))
    assert reg.min() >= 0 and reg.max() < 0.01 and reg.mean() == pytest.approx(0.005, abs=3e-4)
    assert domains["data"].sample(random_state=rng) == "digits"


@pytest.mark.parametrize("space, message", [
    ("lr=loguniform(1e-3)", "loguniform takes two numbers (lo,hi)"),
    ("lr=gauss(0,1)", "unknown gauss()"),
    ("lr=loguniform(0,1)", "need 0 < lo < hi"),
    ("lr=0.1,fast", "bad value for 'lr': 'fast'"),
    ("lrr=0.1,0.2", "unknown key 'lrr' (did you mean 'lr'?)"),
])
def test_bad_search_space_is_one_line_and_nonzero(space, message, tmp_path, capsys):
    assert cli(["sweep", "softmax", space, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("gymlab: error:")
    assert not list(tmp_path.iterdir())  # nothing started


def test_unreachable_address_is_one_line_and_nonzero(tmp_path, capsys):
    assert cli(["sweep", "softmax", "lr=0.1,0.5", "--address", "127.0.0.1:9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Ray cluster at '127.0.0.1:9'" in err and "\n" not in err
    assert not list(tmp_path.iterdir())


def test_ray_address_in_the_environment_is_the_default_address(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    assert cli(["sweep", "softmax", "lr=0.1,0.5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Ray cluster at '127.0.0.1:9'" in err and "\n" not in err
    assert not list(tmp_path.iterdir())

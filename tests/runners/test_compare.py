import json
import os

from gymlab.runners.compare import compare


def test_compare_two_experiments_two_seeds_writes_table_and_plot(tmp_path):
    r = compare(["softmax", "svm"], ["seeds=2", "steps=40", "eval_every=10", "logger.mode=disabled",
                                     f"out={tmp_path}"], quiet=True)
    table = open(r["markdown"]).read()
    rows = [line for line in table.splitlines() if line.startswith("| softmax") or line.startswith("| svm")]
    assert len(rows) == 2 and "±" in rows[0] and "eval/accuracy" in table and "time/wall_s" in table
    assert os.path.getsize(r["plot"]) > 1000
    folder = r["folder"]
    for name in ("softmax", "svm"):
        for seed in (0, 1):
            s = json.load(open(os.path.join(folder, f"{name}-s{seed}", "summary.json")))
            assert s["seed"] == seed and s["steps"] == 40
    a = json.load(open(os.path.join(folder, "softmax-s0", "summary.json")))["eval/accuracy"]
    assert r["table"][0]["experiment"] == "softmax" and r["table"][0]["seeds"] == 2
    assert isinstance(a, float)


def test_compare_runs_seeds_on_ray_workers_with_the_same_numbers(tmp_path):
    """workers=2: the seeds run in parallel on Ray, and each gives exactly the numbers of a serial run."""
    common = ["seeds=2", "steps=30", "eval_every=10", "logger.mode=disabled"]
    par = compare(["softmax"], [*common, "workers=2", f"out={tmp_path / 'par'}"], quiet=True)
    ser = compare(["softmax"], [*common, f"out={tmp_path / 'ser'}"], quiet=True)
    for seed in (0, 1):
        a = json.load(open(os.path.join(par["folder"], f"softmax-s{seed}", "summary.json")))
        b = json.load(open(os.path.join(ser["folder"], f"softmax-s{seed}", "summary.json")))
        assert a["eval/accuracy"] == b["eval/accuracy"] and a["steps"] == b["steps"] == 30
    assert par["table"][0]["eval/accuracy"] == ser["table"][0]["eval/accuracy"]

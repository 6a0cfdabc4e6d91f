import json
import os

from runners.compare import compare


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

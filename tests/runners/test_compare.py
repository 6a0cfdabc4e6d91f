import contextlib
import io
import json
import os

import numpy as np
import pytest

from gymlab.agents import stats
from gymlab.runners import compare as compare_mod
from gymlab.runners import registry
from gymlab.runners.compare import compare

COMMON = ["steps=40", "eval_every=10", "logger.mode=disabled"]


def test_compare_two_experiments_two_seeds_writes_table_and_plot(tmp_path):
    r = compare(["softmax", "svm"], ["seeds=2", *COMMON, f"out={tmp_path}"], quiet=True)
    table = open(r["markdown"]).read()
    assert "## eval/accuracy (higher is better)" in table and "IQM" in table and "95% CI" in table
    assert "| softmax | svm |" in table and "P(X > Y)" in table and "time/wall_s" in table
    assert os.path.getsize(r["plot"]) > 1000
    folder = r["folder"]
    for name in ("softmax", "svm"):
        for seed in (0, 1):
            s = json.load(open(os.path.join(folder, f"{name}-s{seed}", "summary.json")))
            assert s["seed"] == seed and s["steps"] == 40
    # the table's numbers are the estimators applied to the seeds' final values
    for name in ("softmax", "svm"):
        values = [json.load(open(os.path.join(folder, f"{name}-s{s}", "summary.json")))["eval/accuracy"]
                  for s in (0, 1)]
        row = next(t for t in r["table"] if t["experiment"] == name and t["metric"] == "eval/accuracy")
        assert row["main"] and row["seeds"] == 2 and row["values"] == values
        assert row["iqm"] == pytest.approx(stats.iqm(values)) and row["ci_low"] <= row["iqm"] <= row["ci_high"]
        assert row["mean"] == pytest.approx(np.mean(values)) and row["std"] == pytest.approx(np.std(values))
    pair = {(p["x"], p["y"]): p for p in r["improvement"]}
    assert pair["softmax", "svm"]["probability"] == pytest.approx(1 - pair["svm", "softmax"]["probability"])
    on_disk = json.load(open(os.path.join(folder, "compare.json")))
    assert on_disk["table"] == r["table"] and on_disk["confidence"] == 0.95


def test_compare_json_on_the_command_line_gives_numbers_not_strings(tmp_path):
    from gymlab.runners import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["compare", "softmax", "seeds=2", *COMMON, f"out={tmp_path}", "--json"]) == 0
    result = json.loads(out.getvalue())
    for row in result["table"]:
        assert all(isinstance(row[k], (int, float)) for k in ("iqm", "ci_low", "ci_high", "mean", "std", "seeds"))
        assert all(isinstance(v, float) for v in row["values"])


def test_probability_of_improvement_matches_rliable_on_the_seeds_and_flips_for_a_metric_to_minimise():
    rl_metrics = pytest.importorskip("rliable.metrics")
    a, b = np.array([0.9, 0.8, 0.95, 0.7]), np.array([0.85, 0.8, 0.6, 0.75])
    specs = [registry.Spec("a", object, "", "", "eval/x", "max", "eval/x"),
             registry.Spec("b", object, "", "", "eval/x", "max", "eval/x")]
    rows = compare_mod._improvement(specs, {"a": {"eval/x": a}, "b": {"eval/x": b}})
    assert rows[0]["x"] == "a" and rows[0]["probability"] == pytest.approx(
        float(rl_metrics.probability_of_improvement(a[:, None], b[:, None])))
    lower = [registry.Spec(s.name, object, "", "", "eval/x", "min", "eval/x") for s in specs]
    flipped = compare_mod._improvement(lower, {"a": {"eval/x": a}, "b": {"eval/x": b}})
    assert flipped[0]["probability"] == pytest.approx(1 - rows[0]["probability"])


def _write_run(path, env_steps_per_eval, returns):
    path.mkdir(parents=True)
    with open(path / "metrics.jsonl", "w") as f:
        for i, r in enumerate(returns, 1):
            f.write(json.dumps({"step": i, "train/loss": 0.1}) + "\n")
            f.write(json.dumps({"step": i, "eval/mean_return": r, "train/env_steps": i * env_steps_per_eval}) + "\n")
    return {"run_dir": str(path)}


def test_rl_curves_line_up_on_env_steps_and_the_y_axis_names_the_metric(tmp_path):
    """Ours does 512 env steps an iteration, SB3's 256: on env steps both curves end at 4096."""
    summaries = {("ppo", s): _write_run(tmp_path / f"ppo-{s}", 512, [10 * s + 20 * i for i in range(8)])
                 for s in range(3)}
    summaries.update({("sb3-ppo", s): _write_run(tmp_path / f"sb3-{s}", 256, [5 * s + 10 * i for i in range(16)])
                      for s in range(3)})
    specs = [registry.get("ppo"), registry.get("sb3-ppo")]
    finals = {n: compare_mod._finals(n, {k: {"eval/mean_return": 100.0 + k[1]} for k in summaries if k[0] == n})
              for n in ("ppo", "sb3-ppo")}
    fig = compare_mod._figure(specs, summaries, finals)
    curves, profile = fig.axes
    assert curves.get_xlabel() == "train/env_steps" and curves.get_ylabel() == "eval/mean_return"
    ends = [line.get_xdata()[-1] for line in curves.get_lines()]
    assert ends == [4096, 4096]
    assert profile.get_xlabel().startswith("tau (eval/mean_return") and len(profile.get_lines()) == 2


def test_compare_logs_to_the_configured_wandb_project_and_group(tmp_path):
    """Read back from the offline W&B files: project from logger.project, the group, job_type compare, the table."""
    from gymlab.runners.wandb_logger import read_offline_run

    r = compare(["softmax", "svm"], ["seeds=1", "steps=10", "eval_every=5", "logger.mode=offline",
                                     "logger.project=my-lab", "logger.group=g1", f"out={tmp_path}"], quiet=True)
    (path,) = (tmp_path / os.path.basename(r["folder"]) / "wandb").glob("offline-run-*")
    run = read_offline_run(path)
    assert run["run"]["project"] == "my-lab" and run["run"]["group"] == "g1" and run["run"]["job_type"] == "compare"
    logged = {k.split("/")[1] for k in run["summary"] if k.startswith("media/")}
    assert {"compare_table", "compare_improvement", "compare_plot"} <= logged


def test_compare_runs_seeds_on_ray_workers_with_the_same_numbers(ray_cluster, tmp_path):
    """workers=2: the seeds run in parallel on Ray (the tests' shared one; test_plugins lets compare
    start its own), and each gives exactly the numbers of a serial run."""
    common = ["seeds=2", "steps=30", "eval_every=10", "logger.mode=disabled"]
    par = compare(["softmax"], [*common, "workers=2", f"out={tmp_path / 'par'}"], quiet=True)
    ser = compare(["softmax"], [*common, f"out={tmp_path / 'ser'}"], quiet=True)
    for seed in (0, 1):
        a = json.load(open(os.path.join(par["folder"], f"softmax-s{seed}", "summary.json")))
        b = json.load(open(os.path.join(ser["folder"], f"softmax-s{seed}", "summary.json")))
        assert a["eval/accuracy"] == b["eval/accuracy"] and a["steps"] == b["steps"] == 30
    pick = [[r for r in t["table"] if r["metric"] == "eval/accuracy"][0] for t in (par, ser)]
    assert pick[0]["values"] == pick[1]["values"] and pick[0]["iqm"] == pick[1]["iqm"]


def test_an_unreachable_ray_address_is_one_line_before_any_folder(tmp_path, monkeypatch):
    from gymlab.runners.errors import GymlabError

    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # nothing listens there
    with pytest.raises(GymlabError, match="cannot reach the Ray cluster at '127.0.0.1:9'") as err:
        compare(["softmax"], ["seeds=2", "workers=2", *COMMON, f"out={tmp_path}"], quiet=True)
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())

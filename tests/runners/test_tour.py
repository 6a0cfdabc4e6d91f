from gymlab.runners import tour as tour_mod


def test_tour_runs_each_listed_experiment_and_prints_a_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tour_mod, "TOUR", [
        ("classification", "softmax", ["steps=30", "eval_every=10"], "eval/accuracy"),
        ("nowhere", "not-an-experiment", [], "eval/accuracy"),  # unregistered: skipped
        ("classification", "svm", ["steps=30", "eval_every=10"], "eval/accuracy"),
    ])
    rows = tour_mod.tour(out=str(tmp_path), extra=["logger.mode=disabled", "progress=false"])
    assert [r["experiment"] for r in rows] == ["softmax", "svm"]
    assert all(0.5 < r["value"] <= 1 for r in rows)
    out = capsys.readouterr().out
    assert "| classification | softmax |" in out and "2 experiments" in out
    assert list(tmp_path.glob("tour-*/tour.md"))

"""Coarse-to-fine random search (vision/nn/hparam_search.py): sampling, narrowing, the summary."""
import math

import pytest

from gymlab.vision.nn import hparam_search as hs

RANGES = {"lr": (1e-5, 10.0), "reg": (1e-6, 1.0)}


def test_sample_is_log_uniform_inside_the_ranges_and_fixed_by_seed_and_index():
    draws = [hs.sample(RANGES, 0, i) for i in range(400)]
    assert all(lo <= d[k] <= hi for d in draws for k, (lo, hi) in RANGES.items())
    below = sum(d["lr"] < 1e-2 for d in draws) / len(draws)  # half the log-range of lr lies below 1e-2
    assert 0.4 < below < 0.6
    assert hs.sample(RANGES, 0, 7) == draws[7] != hs.sample(RANGES, 1, 7)


def test_narrow_spans_the_best_trials_widened_by_the_margin_and_clipped():
    trials = [{"lr": 1e-3, "reg": 1e-4, "val_accuracy": 0.9}, {"lr": 1e-2, "reg": 0.5, "val_accuracy": 0.8},
              {"lr": 5.0, "reg": 1e-6, "val_accuracy": 0.1}]
    fine = hs.narrow(trials, RANGES, top_k=2, margin=2.0)
    assert fine["lr"] == pytest.approx((5e-4, 2e-2))
    assert fine["reg"] == pytest.approx((5e-5, 1.0))  # 0.5 * 2 = 1.0: the coarse bound


def test_propose_switches_to_the_fine_ranges_after_n_coarse_and_summary_reads_them():
    trials = []
    for i in range(5):
        stage, p, fine = hs.propose(trials, RANGES, n_coarse=3, top_k=2, margin=2.0, seed=0)
        assert (stage == "coarse") == (i < 3) and (fine is None) == (i < 3)
        if fine is not None:
            assert all(fine[k][0] <= p[k] <= fine[k][1] for k in p)
        trials.append({**p, "stage": stage, "val_accuracy": -abs(math.log10(p["lr"]) + 2), "accuracy": 0.5})
    s = hs.summary(trials, fine)
    assert s["trials"] == 5 and s["fine_lr_min"] == fine["lr"][0] and s["fine_best"] >= s["fine_median"]
    assert s["best_lr"] == max(trials, key=lambda t: t["val_accuracy"])["lr"]
    assert [r["val_accuracy"] for r in hs.trials_table(trials)] == sorted((t["val_accuracy"] for t in trials), reverse=True)

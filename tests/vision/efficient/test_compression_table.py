"""The compression table of a small trained-looking network and its headline (vision.efficient.compression_table)."""
import pytest
import torch

from gymlab.vision.efficient import compress as C
from gymlab.vision.efficient.compression_table import compression_table, headline
from gymlab.vision.efficient.plots import accuracy_vs_sparsity


def test_table_rows_sizes_and_headline():
    torch.manual_seed(0)
    make = lambda: C.DigitNet(4, 8)  # noqa: E731
    dense = make()
    x, y = torch.rand(40, 1, 8, 8), torch.randint(0, 10, (40,))
    snaps = {"dense": dense.state_dict()}
    for s in (0.5, 0.8):
        m = make()
        m.load_state_dict(dense.state_dict())
        C.apply_masks(m, C.magnitude_masks(m, s))
        snaps[f"prune{s}"], snaps[f"oneshot{s}"] = m.state_dict(), 0.1
    shared = C.kmeans_share(m, 2)
    snaps["share"], snaps["shared_before_finetune"] = m.state_dict(), 0.2
    rows = compression_table(make, snaps, [0.5, 0.8], 0.8, shared, 2, "global", x, y, x[:8], latency_batch=4, batch=16)
    assert [r["model"] for r in rows] == ["dense fp32", "pruned 50% + retrain", "pruned 80% + retrain",
                                          "pruned 80% + shared 2-bit", "dense int8 (post-training)"]
    assert rows[2]["sparsity"] == pytest.approx(0.8, abs=0.01) and rows[2]["accuracy_before_retrain"] == 0.1
    assert rows[1]["accuracy"] == rows[1]["dense_pruned_at_once"]  # the same weights: never retrained here
    assert rows[3]["bytes"] < rows[2]["bytes"] < rows[0]["bytes"] and rows[4]["bytes"] < rows[0]["bytes"]
    h = headline(rows, 0.8)
    assert h["pruned_accuracy"] == rows[2]["accuracy"] and h["shared_bytes"] == rows[3]["bytes"]
    assert h["int8_speedup"] == pytest.approx(rows[0]["latency_ms"] / rows[4]["latency_ms"])
    assert len(accuracy_vs_sparsity(rows).axes[0].lines) == 2

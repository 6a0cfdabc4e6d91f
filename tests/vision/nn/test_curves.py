"""Side-by-side figures (vision/nn/curves.py): one line per run, one panel per number."""
import matplotlib
import numpy as np

from gymlab.vision.nn.curves import bars_figure, loss_curves_figure

matplotlib.use("Agg")


def test_loss_curves_are_moving_averages_and_mark_runs():
    fig = loss_curves_figure({"a": list(range(1, 31)), "b": [1.0] * 5, "empty": []}, "t", smooth=10, marked=["b"])
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b (diverged)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.arange(1, 22) + 4.5)  # 21 windows of 10


def test_bars_one_panel_per_title_and_side_by_side_series():
    fig = bars_figure(["x", "y"], {"one": [1, 2], "two": {"train": [1, 2], "val": [3, 4]}}, log=("one",), ylabel="acc")
    one, two = fig.axes
    assert len(one.patches) == 2 and len(two.patches) == 4 and one.get_yscale() == "log" and two.get_ylabel() == "acc"

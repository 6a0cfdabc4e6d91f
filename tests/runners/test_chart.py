"""runners.chart: line charts drawn with PIL put each point where the mapping in its docstring says."""
import numpy as np
import pytest

from gymlab.runners.chart import COLOURS, Series, line_chart, nice_ticks
from gymlab.runners.media import Curve
from gymlab.runners.templates.rl import return_chart


def test_nice_ticks_are_multiples_of_1_2_or_5_inside_the_range():
    assert nice_ticks(0, 15000).tolist() == [0, 5000, 10000, 15000]
    assert nice_ticks(-0.3, 1.7) == pytest.approx([0, 0.5, 1.0, 1.5])
    assert nice_ticks(0.2, 0.9) == pytest.approx([0.2, 0.4, 0.6, 0.8])  # step 0.2: 0.1 would give 8
    assert nice_ticks(3, 3).tolist() == [3]


def pixel(x, y, x0, x1, y0, y1, size=(600, 350), left=62, right=600 - 16, top=48, bottom=350 - 42):
    """The docstring's mapping, with the ranges widened by 4% a side."""
    px, py = (x1 - x0) * 0.04, (y1 - y0) * 0.04
    x0, x1, y0, y1 = x0 - px, x1 + px, y0 - py, y1 + py
    return round(top + (y1 - y) / (y1 - y0) * (bottom - top)), round(left + (x - x0) / (x1 - x0) * (right - left))


def test_markers_land_on_the_mapped_pixels_and_non_finite_points_are_left_out():
    xs, ys = [0.0, 3.0, 7.0, 10.0], [2.0, np.nan, -1.0, 5.0]
    img = line_chart([Series("a", xs, ys, "tab:red", "markers")], "title", "x", "y")
    assert img.shape == (350, 600, 3) and img.dtype == np.uint8
    red = np.array(COLOURS["tab:red"])
    for x, y in [(0, 2), (7, -1), (10, 5)]:
        r, c = pixel(x, y, 0, 10, -1, 5)
        assert (img[r - 1:r + 2, c - 1:c + 2] == red).all(axis=-1).any(), (x, y)
    r, c = pixel(3, 0.5, 0, 10, -1, 5)  # the NaN's x: the line from (0, 2) to (7, -1) passes, no marker
    assert not (img[r - 6:r - 3, c - 1:c + 2] == red).all(axis=-1).any()


def test_the_return_chart_shows_episodes_their_mean_and_evaluations_with_error_bars():
    episodes = [(100 * i, float(i % 7)) for i in range(1, 120)]
    evals = [(4000, 3.0, 1.0), (8000, 5.0, 0.5)]
    img = return_chart(episodes, evals, "ppo on CartPole-v1")
    red, blue = np.array(COLOURS["tab:red"]), np.array(COLOURS["tab:blue"])
    assert (img == blue).all(-1).sum() > 200 and (img == red).all(-1).sum() > 50
    r_hi, c = pixel(4000, 4.0, 100, 11900, 0, 6)  # the top of the first error bar (3 + 1)
    assert (img[r_hi - 1:r_hi + 2, c - 1:c + 2] == red).all(axis=-1).any()
    assert return_chart([], [], "empty").shape == (350, 600, 3)


def test_a_curve_image_draws_each_line_in_its_own_colour():
    img = Curve({"train": ([1, 2, 3], [3.0, 2.0, 1.5]), "eval": ([2], [2.2])}, "step", "nats").image()
    for name in ("tab:blue", "tab:orange"):
        assert (img == np.array(COLOURS[name])).all(-1).sum() > 20, name


def test_log_y_puts_powers_of_ten_on_equally_spaced_rows_and_leaves_out_values_at_or_below_zero():
    from gymlab.runners.chart import log_ticks

    xs, ys = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 0.1, 0.01, 1e-3, 1e-4, 0.0]
    img = line_chart([Series("r", xs, ys, "tab:red", "markers")], "title", "x", "y", log_y=True)
    red = np.array(COLOURS["tab:red"])
    cells = [pixel(x, k, 0, 5, -4, 0) for x, k in zip(xs, [0, -1, -2, -3, -4])]  # the mapping in log10 y
    assert len({b[0] - a[0] for a, b in zip(cells, cells[1:])}) <= 2  # equally spaced rows (to a rounding)
    for r, c in cells:
        assert (img[r - 1:r + 2, c - 1:c + 2] == red).all(axis=-1).any(), (r, c)
    _, c0 = pixel(5, 0, 0, 5, -4, 0)  # y = 0 has no log: no marker, no line at x = 5
    assert not (img[48:308, c0 - 1:c0 + 2] == red).all(axis=-1).any()
    assert log_ticks(-8.3, 0.3) == pytest.approx(10.0 ** np.arange(-8, 1, 2))  # every 2nd of 9 decades
    assert log_ticks(-2.2, -0.9).tolist() == [0.01, 0.1]
    few = log_ticks(-0.5, 0.2)  # one power in range: nice ticks of the values
    assert len(few) >= 2 and (few >= 10 ** -0.5).all() and (few <= 10 ** 0.2).all()

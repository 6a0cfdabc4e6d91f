"""Line charts drawn with PIL and numpy: the runner's end-of-run plots (the RL return curve, a ``Curve``'s PNG)
without importing matplotlib, whose import alone costs a short run more than the rest of its media.

A point (x, y) of the data lands on pixel

    px = left + (x - x0) / (x1 - x0) * width,        py = top + (y1 - y) / (y1 - y0) * height

where [x0, x1] x [y0, y1] is the data's range widened by 4% on each side (a constant series gets +-1), and
[left, left + width] x [top, top + height] is the plot area. Ticks are "nice" numbers, multiples of
1, 2 or 5 x 10^k, about five to an axis. Non-finite values are left out.

With ``log_y`` the y mapping is the same in log10 y:

    py = top + (log10 y1 - log10 y) / (log10 y1 - log10 y0) * height

with [log10 y0, log10 y1] the range of log10 y widened by 4% a side, so powers of ten lie equally spaced; the
y ticks are powers of ten (every m-th decade when there are many; "nice" numbers when the range holds fewer
than two), and values y <= 0 are left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Series", "line_chart", "nice_ticks", "log_ticks", "COLOURS"]

# matplotlib's tab10, the colours its figures use
COLOURS = {"tab:blue": (31, 119, 180), "tab:orange": (255, 127, 14), "tab:green": (44, 160, 44),
           "tab:red": (214, 39, 40), "tab:purple": (148, 103, 189), "tab:brown": (140, 86, 75),
           "tab:pink": (227, 119, 194), "tab:grey": (127, 127, 127), "tab:olive": (188, 189, 34),
           "tab:cyan": (23, 190, 207)}


@dataclass
class Series:
    """One series: ``style`` "line" (joined), "markers" (joined, a dot at each point) or "dots" (points only, pale);
    ``yerr`` draws a bar of +-yerr at each point."""
    name: str
    xs: object
    ys: object
    colour: str = "tab:blue"
    style: str = "line"
    yerr: object = None


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """Multiples of a step in {1, 2, 5} x 10^k that lie in [lo, hi], the smallest step giving at most ``n`` + 1."""
    if not hi > lo:
        return np.array([lo])
    raw = (hi - lo) / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9)
    return np.array([k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)])


def log_ticks(lo: float, hi: float, n: int = 6) -> np.ndarray:
    """Powers of ten 10^k with k in [lo, hi] (a range of log10 values), every m-th decade so that at most ``n`` + 1;
    ``nice_ticks`` of the values themselves when fewer than two powers lie in the range."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if last - first < 1:
        return nice_ticks(10.0 ** lo, 10.0 ** hi)
    m = math.ceil((last - first) / n)
    return 10.0 ** np.arange(first, last + 1, m, dtype=np.float64)


def _log10(y) -> np.ndarray:
    """log10 of the values, NaN or -inf (left out) where y <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.asarray(y, dtype=np.float64))


def _label(v: float) -> str:
    return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.3g}"


def _range(values) -> tuple[float, float]:
    v = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in values]) if values else np.zeros(0)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return lo - 1.0, hi + 1.0
    pad = 0.04 * (hi - lo)
    return lo - pad, hi + pad


def line_chart(series: list[Series], title: str = "", x_label: str = "", y_label: str = "",
               size: tuple[int, int] = (600, 350), log_y: bool = False) -> np.ndarray:
    """The chart as an RGB image (H, W, 3) uint8: the series over nice ticks, a legend row under the title;
    ``log_y``: a logarithmic y axis."""
    from PIL import Image, ImageDraw

    from gymlab.runners.media import _font

    W, H = size
    font, small = _font(13), _font(11)
    left, right, top, bottom = 62, W - 16, 48 if series else 30, H - 42
    img = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(img)

    def errs(s):
        return [] if s.yerr is None else [np.asarray(s.ys, float) - s.yerr, np.asarray(s.ys, float) + s.yerr]

    fy = _log10 if log_y else (lambda y: np.asarray(y, float))  # noqa: E731  (y0, y1 below are in fy's units)
    x0, x1 = _range([s.xs for s in series])
    y0, y1 = _range([fy(y) for s in series for y in [s.ys, *errs(s)]])
    to_px = lambda x, y: (left + (np.asarray(x, float) - x0) / (x1 - x0) * (right - left),  # noqa: E731
                          top + (y1 - fy(y)) / (y1 - y0) * (bottom - top))

    for t in nice_ticks(x0, x1):
        px = float(to_px(t, y0)[0])
        draw.line([(px, top), (px, bottom)], fill=(235, 235, 235))
        draw.line([(px, bottom), (px, bottom + 4)], fill=(0, 0, 0))
        text = _label(t)
        draw.text((px - small.getlength(text) / 2, bottom + 6), text, fill=(0, 0, 0), font=small)
    for t in log_ticks(y0, y1) if log_y else nice_ticks(y0, y1):
        py = float(to_px(x0, t)[1])
        draw.line([(left, py), (right, py)], fill=(235, 235, 235))
        draw.line([(left - 4, py), (left, py)], fill=(0, 0, 0))
        text = _label(t)
        draw.text((left - 7 - small.getlength(text), py - 6), text, fill=(0, 0, 0), font=small)

    plot = Image.new("RGB", (right - left + 1, bottom - top + 1), (255, 255, 255))  # clips what leaves the area
    plot.paste(img.crop((left, top, right + 1, bottom + 1)))
    pd = ImageDraw.Draw(plot)
    for s in series:
        colour = COLOURS.get(s.colour, (0, 0, 0))
        xs, ys = (np.asarray(v, dtype=np.float64).ravel() for v in (s.xs, s.ys))
        ok = np.isfinite(xs) & np.isfinite(fy(ys))
        px, py = to_px(xs[ok], ys[ok])
        px, py = px - left, py - top
        pts = list(zip(px.tolist(), py.tolist()))
        if s.style == "dots":
            pale = tuple(int(c + 0.6 * (255 - c)) for c in colour)
            for x, y in pts:
                pd.rectangle([x - 1, y - 1, x + 1, y + 1], fill=pale)
            continue
        if s.yerr is not None:
            e = np.broadcast_to(np.asarray(s.yerr, dtype=np.float64), ys.shape)[ok]
            for x, y, d in zip(px, ys[ok], e):
                lo, hi = to_px(0, y - d)[1] - top, to_px(0, y + d)[1] - top
                lo = lo if np.isfinite(lo) else bottom - top + 4  # log_y: y - d <= 0 lies below the axis
                pd.line([(x, lo), (x, hi)], fill=colour)
                pd.line([(x - 3, lo), (x + 3, lo)], fill=colour)
                pd.line([(x - 3, hi), (x + 3, hi)], fill=colour)
        if len(pts) > 1:
            pd.line(pts, fill=colour, width=2, joint="curve")
        if s.style == "markers" or len(pts) == 1:
            for x, y in pts:
                pd.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
    img.paste(plot, (left, top))
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))

    if title:
        draw.text(((W - font.getlength(title)) / 2, 6), title, fill=(0, 0, 0), font=font)
    x = left
    for s in series:  # the legend: a swatch and the name of each series, in a row above the plot
        colour = COLOURS.get(s.colour, (0, 0, 0))
        if s.style == "dots":
            colour = tuple(int(c + 0.6 * (255 - c)) for c in colour)
        draw.rectangle([x, 31, x + 14, 37], fill=colour)
        draw.text((x + 19, 27), s.name, fill=(0, 0, 0), font=small)
        x += 19 + int(small.getlength(s.name)) + 16
    if x_label:
        draw.text(((left + right - font.getlength(x_label)) / 2, H - 20), x_label, fill=(0, 0, 0), font=font)
    if y_label:
        w = int(font.getlength(y_label)) + 2
        label = Image.new("RGB", (w, 16), (255, 255, 255))
        ImageDraw.Draw(label).text((1, 0), y_label, fill=(0, 0, 0), font=font)
        label = label.rotate(90, expand=True)
        img.paste(label, (4, int((top + bottom - label.height) / 2)))
    return np.asarray(img)

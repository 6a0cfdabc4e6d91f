"""The value map of a tabular MDP as an image, drawn with numpy and PIL (what ``agents.figures.value_map`` draws
with matplotlib, without its import, which costs a short tabular run more than the run itself).

On a grid (``mdp.grid_shape`` = (rows, cols), states numbered row-major, s = r * cols + c) a pixel means:

    the cell (r, c) is the square of ``cell`` x ``cell`` pixels with top-left corner (LEFT + c * cell, TOP + r * cell),
    coloured lut[min(255, floor((V(s) - min V) / (max V - min V) * 256))], lut = ``runners.media.colormap(cmap)``,
    cell = cell_size(rows, cols) = min(56, 560 // max(rows, cols)) pixels, at least 1

so the cell of largest V has the colour bar's top colour and the cell of smallest V its bottom one (all cells the
bottom colour when V is constant). On the cell, in black or white (whichever stands out on its colour): the letter
of the map (FrozenLake's holes H and goal G, CliffWalking's cliff C; G on other terminal states), else an arrow from
the centre the way the policy's action moves. The colour bar on the right is labelled with max V, the middle value
and min V. Grids of more than 560 cells a side (``max_px``) show every k-th row and column (said in the title);
arrows and letters are drawn on grids of at most 2,500 cells whose cells are at least 8 pixels wide.

Off the grid, a histogram of V (its outline, ``runners.chart.line_chart``).
"""
from __future__ import annotations

import math

import numpy as np

from gymlab.envs.gridworld import MOVES
from gymlab.runners.media import _font, colour_index, colormap

__all__ = ["value_image", "value_grid", "cell_size", "action_moves", "cell_labels", "LEFT", "TOP"]

LEFT, TOP = 16, 28  # the grid's top-left pixel (the title above it)

# (d_row, d_col) of each action: FrozenLake and gridworld: 0 left, 1 down, 2 right, 3 up (envs.gridworld.MOVES);
# CliffWalking: 0 up, 1 right, 2 down, 3 left (gymnasium's cliffwalking.py)
CLIFFWALKING_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])


def action_moves(env_name: str) -> np.ndarray:
    """(A, 2): the (d_row, d_col) each action of the grid env ``env_name`` moves."""
    return CLIFFWALKING_MOVES if env_name.startswith("CliffWalking") else MOVES


def cell_labels(env_name: str, shape: tuple[int, int]) -> np.ndarray:
    """(rows, cols) strings: FrozenLake's map (S F H G), CliffWalking's cliff (C), else "" everywhere."""
    if env_name.startswith("FrozenLake") or env_name.startswith("CliffWalking"):
        import gymnasium as gym

        u = gym.make(env_name).unwrapped
        if env_name.startswith("FrozenLake"):
            return np.asarray(u.desc).astype(str)
        return np.where(u._cliff, "C", "")
    return np.full(shape, "")


def value_image(mdp, V, policy, title: str, env_name: str = "", cmap: str = "RdBu_r") -> np.ndarray:
    """``agents.figures.value_map`` as an RGB image (H, W, 3) uint8. ``policy``: an (S,) array of actions drawn as
    arrows (None: none); arrows and letters on grids of at most 2,500 cells."""
    V = np.asarray(V, dtype=np.float64)
    if mdp.grid_shape is None:
        return value_histogram(V, f"{title}: values of the {mdp.S} states")
    rows, cols = mdp.grid_shape
    letters, arrows = None, None
    if rows * cols <= 2500:
        labels = cell_labels(env_name, (rows, cols))
        letters = np.where(np.isin(labels, ["H", "G", "C"]), labels, "")
        letters = np.where((letters == "") & np.asarray(mdp.terminal).reshape(rows, cols), "G", letters)
        if policy is not None:
            moves = action_moves(env_name)
            arrows = moves[np.asarray(policy, dtype=np.int64) % len(moves)].reshape(rows, cols, 2)
    what = "V and greedy policy" if arrows is not None else "V"
    return value_grid(V.reshape(rows, cols), f"{title}: {what} ({mdp.name})", arrows, letters, cmap)


def value_histogram(V: np.ndarray, title: str, bins: int = 50) -> np.ndarray:
    """The outline of a ``bins``-bin histogram of V: states per bin against V(s)."""
    from gymlab.runners.chart import Series, line_chart

    finite = V[np.isfinite(V)]
    counts, edges = np.histogram(finite, bins=bins) if finite.size else (np.zeros(bins), np.linspace(0, 1, bins + 1))
    xs = np.repeat(edges, 2)  # each bin's left and right edge at its height, down to 0 at the ends
    ys = np.concatenate([[0], np.repeat(counts, 2), [0]]).astype(np.float64)
    return line_chart([Series("states per bin", xs, ys)], title, "V(s)", "states", size=(500, 320))


def cell_size(rows: int, cols: int, max_px: int = 560) -> int:
    """The side of a cell in pixels: the grid at most ``max_px`` wide and tall, cells at most 56 pixels."""
    return max(1, min(56, max_px // max(rows, cols)))


def value_grid(values: np.ndarray, title: str = "", arrows: np.ndarray | None = None, letters: np.ndarray | None = None,
               cmap: str = "RdBu_r", max_px: int = 560) -> np.ndarray:
    """``values`` (rows, cols) as coloured cells (the module docstring's mapping) with a colour bar;
    ``arrows`` (rows, cols, 2): the (d_row, d_col) to point at; ``letters`` (rows, cols): a letter instead."""
    from PIL import Image, ImageDraw

    values = np.asarray(values, dtype=np.float64)
    rows, cols = values.shape
    k = max(1, math.ceil(max(rows, cols) / max_px))  # every k-th row and column on grids too large to show
    if k > 1:
        values, arrows, letters = values[::k, ::k], None, None
        title = f"{title}, every {k}-th row and column"
    r, c = values.shape
    cell = cell_size(r, c, max_px)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    lut = colormap(cmap)
    index = colour_index(values)
    cells = np.kron(lut[index], np.ones((cell, cell, 1), dtype=np.uint8))  # nearest-neighbour enlargement

    font, small = _font(13), _font(11)
    gw, gh = c * cell, r * cell
    bar_h, bar_w = max(gh, 120), 14
    labels = [f"{v:.4g}" for v in (hi, (lo + hi) / 2, lo)]
    x0, y0 = LEFT, TOP
    label_w = int(max(small.getlength(t) for t in labels))
    W = max(x0 + gw + 16 + bar_w + 6 + label_w + 8, int(font.getlength(title)) + 20)
    img = np.full((y0 + max(gh, bar_h) + 12, W, 3), 255, dtype=np.uint8)
    img[y0:y0 + gh, x0:x0 + gw] = cells
    bx = x0 + gw + 16  # the colour bar: the top row is lut[255], the bottom row lut[0]
    img[y0:y0 + bar_h, bx:bx + bar_w] = lut[np.round(np.linspace(255, 0, bar_h)).astype(np.int64)][:, None, :]

    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    draw.text(((W - font.getlength(title)) / 2, 6), title, fill=(0, 0, 0), font=font)
    draw.rectangle([bx - 1, y0 - 1, bx + bar_w, y0 + bar_h], outline=(0, 0, 0))
    for t, py in zip(labels, (y0, y0 + bar_h / 2, y0 + bar_h)):
        draw.line([(bx + bar_w, py), (bx + bar_w + 3, py)], fill=(0, 0, 0))
        draw.text((bx + bar_w + 6, py - 7), t, fill=(0, 0, 0), font=small)
    if cell >= 8 and (arrows is not None or letters is not None):
        letter_font = _font(max(8, cell // 2))
        ink = np.where(lut[index] @ np.array([0.299, 0.587, 0.114]) > 140, 0, 255)  # black on light cells
        for i in range(r):
            for j in range(c):
                cx, cy, colour = x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell, (int(ink[i, j]),) * 3
                if letters is not None and letters[i, j]:
                    t = str(letters[i, j])
                    box = letter_font.getbbox(t)
                    draw.text((cx - (box[0] + box[2]) / 2, cy - (box[1] + box[3]) / 2), t, fill=colour,
                              font=letter_font)
                elif arrows is not None:
                    _arrow(draw, cx, cy, arrows[i, j], cell, colour)
    return np.asarray(pil)


def _arrow(draw, cx: float, cy: float, move, cell: int, colour) -> None:
    """An arrow through the cell's centre (cx, cy) pointing (d_row, d_col) = ``move``: a shaft and a triangular head."""
    dy, dx = float(move[0]), float(move[1])
    n = math.hypot(dx, dy)
    if n == 0:
        return
    dx, dy = dx / n, dy / n
    tail, tip, head = 0.32 * cell, 0.38 * cell, 0.2 * cell
    draw.line([(cx - tail * dx, cy - tail * dy), (cx + (tip - head) * dx, cy + (tip - head) * dy)], fill=colour,
              width=max(1, cell // 14))
    bx, by = cx + (tip - head) * dx, cy + (tip - head) * dy  # the head's base centre, its half-width 0.6 head
    draw.polygon([(cx + tip * dx, cy + tip * dy), (bx - 0.6 * head * dy, by + 0.6 * head * dx),
                  (bx + 0.6 * head * dy, by - 0.6 * head * dx)], fill=colour)

"""Save what an experiment's ``media()`` returned into ``run_dir/media`` as files.

Accepted values: a matplotlib Figure, an image array (H, W) or (H, W, 3|4) (uint8, or float in
[0, 1]), a path to a file already written (a GIF, say), a list of row dicts (a table, saved as
Markdown and JSON), a string (saved as text), and the structured items below, which the W&B logger
turns into W&B's own types (``wandb_logger.wandb_media``) and which are saved here as plain files:

    Video(frames, fps)                         -> <name>.gif               (wandb.Video)
    Boxes(images, truth, pred, class_labels)   -> <name>.png, boxes drawn  (wandb.Image, boxes= overlays)
    Masks(images, truth, pred, class_labels)   -> <name>.png, masks beside (wandb.Image, masks= overlays)
    Confusion(y_true, y_pred, class_names)     -> <name>.png, <name>_per_class.md/.json
                                                  (wandb.plot.confusion_matrix, per-class wandb.Table)
    Curve(lines, x_label, title)               -> <name>.png               (wandb.plot.line_series)

Nothing here imports wandb: experiments describe media, the logger decides how W&B shows them.
"""
from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Video:
    """An animation: ``frames`` (T, H, W, 3) uint8."""
    frames: object
    fps: int = 30


@dataclass
class Boxes:
    """Images with boxes in pixels (x1, y1, x2, y2): ``truth[i]`` = {"boxes", "labels"}, ``pred[i]`` adds
    "scores"; ``class_labels``: class id -> name."""
    images: object
    truth: list
    pred: list | None
    class_labels: dict
    captions: list | None = None


@dataclass
class Masks:
    """Images with per-pixel class maps (ints): ``truth`` and ``pred`` (N, H, W); ``class_labels``: id -> name."""
    images: object
    truth: object
    pred: object | None
    class_labels: dict
    captions: list | None = None


@dataclass
class Confusion:
    """A classifier's predictions on a labelled set."""
    y_true: object
    y_pred: object
    class_names: list

    def matrix(self) -> np.ndarray:
        k = len(self.class_names)
        cm = np.zeros((k, k), dtype=np.int64)
        np.add.at(cm, (np.asarray(self.y_true, dtype=np.int64), np.asarray(self.y_pred, dtype=np.int64)), 1)
        return cm

    def per_class(self) -> list[dict]:
        """One row a class: support, precision, recall (= the class's accuracy), F1."""
        cm = self.matrix()
        rows = []
        for c, name in enumerate(self.class_names):
            tp, support, predicted = cm[c, c], cm[c].sum(), cm[:, c].sum()
            p = tp / predicted if predicted else 0.0
            r = tp / support if support else 0.0
            rows.append({"class": str(name), "support": int(support), "precision": round(float(p), 4),
                         "recall": round(float(r), 4), "f1": round(float(2 * p * r / (p + r)) if p + r else 0.0, 4)})
        return rows


@dataclass
class Curve:
    """Lines y(x) computed by the experiment: ``lines`` name -> (xs, ys)."""
    lines: dict
    x_label: str = "step"
    title: str = ""

    def image(self) -> np.ndarray:
        """The lines as an RGB image, drawn without matplotlib (``runners.chart``); a dot at each point of a
        line of at most 20."""
        from gymlab.runners.chart import COLOURS, Series, line_chart

        colours = list(COLOURS)
        return line_chart([Series(name, xs, ys, colours[i % len(colours)], "markers" if len(list(xs)) <= 20 else "line")
                           for i, (name, (xs, ys)) in enumerate(self.lines.items())], self.title, self.x_label)

    def figure(self):
        """The same lines as a matplotlib Figure (for a notebook)."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3))
        for name, (xs, ys) in self.lines.items():
            ax.plot(list(xs), list(ys), label=name)
        ax.set(xlabel=self.x_label, title=self.title)
        if self.lines:
            ax.legend()
        fig.tight_layout()
        return fig


def save_media(items: dict, folder: Path) -> dict:
    """Write each item; return name -> path (or the row list for tables, the item for Boxes, Masks,
    Confusion) for the logger."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, value in items.items():
        safe = name.replace("/", "_")
        if hasattr(value, "savefig"):
            import matplotlib.pyplot as plt

            path = folder / f"{safe}.png"
            value.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(value)
            out[name] = path
        elif isinstance(value, Curve):
            save_image(value.image(), folder / f"{safe}.png")
            out[name] = value
        elif isinstance(value, Video):
            out[name] = save_gif(value.frames, folder / f"{safe}.gif", value.fps)
        elif isinstance(value, Boxes):
            save_image(np.concatenate([draw_boxes(img, value.truth[i], value.pred[i] if value.pred else None)
                                       for i, img in enumerate(value.images)], axis=1), folder / f"{safe}.png")
            out[name] = value
        elif isinstance(value, Masks):
            rows = [np.concatenate([to_rgb(img), colour_mask(value.truth[i])] +
                                   ([colour_mask(value.pred[i])] if value.pred is not None else []), axis=1)
                    for i, img in enumerate(value.images)]
            save_image(np.kron(np.concatenate(rows, axis=0), np.ones((4, 4, 1), dtype=np.uint8)),  # 4x, nearest
                       folder / f"{safe}.png")
            out[name] = value
        elif isinstance(value, Confusion):
            save_confusion(value, folder / f"{safe}.png")
            rows = value.per_class()
            (folder / f"{safe}_per_class.json").write_text(json.dumps(rows, indent=1))
            (folder / f"{safe}_per_class.md").write_text(markdown_table(rows))
            out[name] = value
        elif isinstance(value, np.ndarray) or hasattr(value, "numpy"):
            path = folder / f"{safe}.png"
            save_image(np.asarray(value), path)
            out[name] = path
        elif isinstance(value, Path):
            path = folder / value.name
            if value.resolve() != path.resolve():
                shutil.copyfile(value, path)
            out[name] = path
        elif isinstance(value, list):
            (folder / f"{safe}.json").write_text(json.dumps(value, indent=1, default=str))
            (folder / f"{safe}.md").write_text(markdown_table(value))
            out[name] = value
        elif isinstance(value, str):
            (folder / f"{safe}.txt").write_text(value)
        else:
            raise TypeError(f"media {name!r}: unsupported type {type(value).__name__}")
    return out


# ------------------------------------------------------------------------ drawing (PIL, no matplotlib)
_PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                     [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
                     [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0]], dtype=np.uint8)


def to_uint8(img) -> np.ndarray:
    """(H, W), (H, W, C) or (C, H, W), uint8 or float in [0, 1] -> uint8 (H, W[, C])."""
    img = np.asarray(img.detach().cpu() if hasattr(img, "detach") else img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3, 4):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
    return img


def to_rgb(img) -> np.ndarray:
    img = to_uint8(img)
    return np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img[..., :3]


def colour_mask(mask) -> np.ndarray:
    m = np.asarray(mask.cpu() if hasattr(mask, "cpu") else mask).astype(np.int64)
    return _PALETTE[m % len(_PALETTE)]


def draw_boxes(img, truth: dict, pred: dict | None, scale: int = 4) -> np.ndarray:
    """The image enlarged ``scale`` times with the true boxes in green and the predicted ones in red."""
    from PIL import Image, ImageDraw

    rgb = Image.fromarray(to_rgb(img))
    rgb = rgb.resize((rgb.width * scale, rgb.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(rgb)
    for group, colour in ((truth, (0, 255, 0)), (pred, (255, 0, 0))):
        if group is None:
            continue
        scores = group.get("scores")
        for j, (b, lab) in enumerate(zip(np.asarray(group["boxes"]).tolist(), np.asarray(group["labels"]).tolist())):
            draw.rectangle([c * scale for c in b], outline=colour)
            text = str(lab) if scores is None else f"{lab}:{float(np.asarray(scores)[j]):.2f}"
            draw.text((b[0] * scale + 1, b[1] * scale + 1), text, fill=colour)
    return np.asarray(rgb)


@functools.lru_cache(maxsize=8)
def _font(size: int):
    """PIL's default font at ``size`` px, loaded once (loading it costs about as much as drawing a frame)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


# ColorBrewer's RdBu (matplotlib's "RdBu" is these 11 colours, linearly interpolated), blue to red reversed
_RDBU = ["67001f", "b2182b", "d6604d", "f4a582", "fddbc7", "f7f7f7", "d1e5f0", "92c5de", "4393c3", "2166ac", "053061"]
_CMAPS = {"gray": ["000000", "ffffff"], "RdBu_r": _RDBU[::-1]}


def colormap(name: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table: the anchor colours of ``name`` spaced evenly and linearly interpolated."""
    if name not in _CMAPS:
        raise ValueError(f"bad cmap {name!r}; valid: {', '.join(_CMAPS)}")
    anchors = np.array([[int(c[i:i + 2], 16) for i in (0, 2, 4)] for c in _CMAPS[name]], dtype=np.float64)
    x, at = np.linspace(0, 1, 256), np.linspace(0, 1, len(anchors))
    return np.round(np.stack([np.interp(x, at, anchors[:, k]) for k in range(3)], axis=1)).astype(np.uint8)


def colour_index(x: np.ndarray) -> np.ndarray:
    """Indices into a 256-colour map for ``x`` scaled to its own range: min(255, floor((x - min) / (max - min) *
    256)) over the finite values; 0 everywhere when they are constant (or absent), and 0 for NaN."""
    finite = x[np.isfinite(x)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if not hi > lo:
        return np.zeros(x.shape, dtype=np.int64)
    return np.clip(((np.nan_to_num(x, nan=lo) - lo) / (hi - lo) * 256).astype(np.int64), 0, 255)


def image_row(images, captions=None, cmap: str = "gray", height: int = 64, gap: int = 4) -> np.ndarray:
    """2-D arrays side by side as one RGB image, without matplotlib (a figure of small images costs 0.3 s of
    matplotlib; this, milliseconds): each image scaled to its own range, x -> (x - min) / (max - min), as
    ``imshow`` does, coloured by ``colormap(cmap)``, enlarged by an integer factor (nearest) to about
    ``height`` pixels, its caption above it, ``gap`` white pixels between them."""
    lut = colormap(cmap)
    tiles = []
    for img in images:
        x = np.asarray(img.detach().cpu() if hasattr(img, "detach") else img, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"image_row takes 2-D images; got shape {x.shape}")
        k = max(1, round(height / x.shape[0]))
        tiles.append(np.kron(lut[colour_index(x)], np.ones((k, k, 1), dtype=np.uint8)))
    top = 0
    if captions is not None:
        font = _font(12)
        top = max(font.getbbox(str(c))[3] for c in captions) + 4
    h = top + max(t.shape[0] for t in tiles)
    row = np.full((h, sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1), 3), 255, dtype=np.uint8)
    x0 = 0
    for i, t in enumerate(tiles):
        row[top:top + t.shape[0], x0:x0 + t.shape[1]] = t
        if captions is not None:
            from PIL import Image, ImageDraw

            strip = Image.fromarray(row[:top, x0:x0 + t.shape[1]])
            text = str(captions[i])
            ImageDraw.Draw(strip).text(((t.shape[1] - font.getlength(text)) / 2, 1), text, fill=(0, 0, 0), font=font)
            row[:top, x0:x0 + t.shape[1]] = np.asarray(strip)
        x0 += t.shape[1] + gap
    return row


def annotate(frame, text: str) -> np.ndarray:
    """``text`` drawn in the top-left corner of an RGB frame, on a dark strip so it reads on any scene.
    The frame is copied once, as numpy (the caller's frame is not changed); only the strip goes through PIL."""
    out = np.array(frame[..., :3], dtype=np.uint8)  # one contiguous copy
    _caption(out, text)
    return out


def _caption(out: np.ndarray, text: str) -> None:
    """``annotate``'s caption, drawn in place on ``out`` (H, W, 3) uint8."""
    from PIL import Image, ImageDraw

    font = _font(max(10, out.shape[0] // 22))
    right, bottom = font.getbbox(text)[2:]
    w, h = min(out.shape[1], right + 9), min(out.shape[0], bottom + 7)  # text at (4, 2), 4 px margin, inclusive
    strip = Image.new("L", (w, h))  # black; white text, the same in the three channels
    ImageDraw.Draw(strip).text((4, 2), text, fill=255, font=font)
    out[:h, :w] = np.asarray(strip)[..., None]


def _shrink_into(out: np.ndarray, frame: np.ndarray, k: int) -> None:
    """``out[:] = frame[::k, ::k, :3]``, a channel at a time: numpy copies a strided 2-D plane of bytes several
    times faster than interleaved 3-byte pixels."""
    rows = frame[::k]
    for c in range(3):
        out[..., c] = rows[:, ::k, c]


def episode_video(agent, env, seed: int = 10_000, fps: int = 30, max_frames: int = 500, every: int = 5,
                  max_width: int = 320) -> Video:
    """One deterministic episode of ``agent`` on ``env`` (an id or a factory), the return so far drawn
    on every frame. The episode plays up to ``max_frames`` steps; every ``every``-th step is rendered
    (at fps / every: the same duration) and frames wider than ``max_width`` are subsampled by 2 until they fit.
    Rendering, drawing and encoding cost in proportion to the frames kept: these defaults keep a 500-step
    CartPole episode to 101 frames of 300x200 at 6 fps (0.1 s of the simulation each): a small share of a
    short run (measured in benchmarks/bench_overhead.py) that still reads."""
    import gymlab.envs.pixels  # noqa: F401  (headless SDL settings for pygame-rendered envs)
    from gymlab.agents.base import make_env

    env = make_env(env, render_mode="rgb_array")
    if env.render_mode != "rgb_array":
        raise ValueError(f"an episode video needs an env with render_mode='rgb_array'; got {env.render_mode!r}")

    obs, _ = env.reset(seed=seed)
    first = env.render()
    k = 1
    while first.shape[1] > max_width * k:
        k *= 2
    shape = first[::k, ::k, :3].shape
    frames = np.empty((max_frames // every + 2, *shape), dtype=np.uint8)  # filled in place, no list to stack

    def keep(i, f, text):
        _shrink_into(frames[i], f, k)
        _caption(frames[i], text)

    keep(0, first, "return 0")
    n, ret, t, done = 1, 0.0, 0, False
    while not done and t < max_frames:
        action, _ = agent.predict(obs, deterministic=True)
        obs, reward, term, trunc, _ = env.step(action)
        ret, t, done = ret + float(reward), t + 1, term or trunc
        if t % every == 0 or done:
            keep(n, env.render(), f"return {ret:.4g}  step {t}")
            n += 1
    env.close()
    return Video(frames[:n] if 2 * n > len(frames) else frames[:n].copy(), max(1, round(fps / every)))


def save_gif(frames, path: Path, fps: int = 30) -> Path:
    """An animated GIF, every frame mapped to one palette taken from a few of them, without dithering
    (10-20x faster than a palette per frame, as imageio makes, for rendered scenes of few colours), and
    written without Pillow's palette optimisation (half the encoding time; the file about twice as large)."""
    from PIL import Image

    ims = [Image.fromarray(np.ascontiguousarray(np.asarray(f, dtype=np.uint8)[..., :3])) for f in frames]
    picks = ims[:: max(1, len(ims) // 4)][:4]  # the palette of a few frames side by side
    strip = Image.new("RGB", (sum(im.width for im in picks), max(im.height for im in picks)))
    x = 0
    for im in picks:
        strip.paste(im, (x, 0))
        x += im.width
    palette = strip.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    gif = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in ims]
    # optimize=False: Pillow's per-frame palette trimming doubles the encoding time for a third less file
    gif[0].save(path, save_all=True, append_images=gif[1:], duration=round(1000 / fps), loop=0, optimize=False)
    return Path(path)


def save_confusion(c: Confusion, path: Path) -> None:
    import matplotlib.pyplot as plt

    cm = c.matrix()
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix", xticks=range(len(cm)), yticks=range(len(cm)),
           xticklabels=c.class_names, yticklabels=c.class_names)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def save_image(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(to_uint8(img)).save(path)


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"
